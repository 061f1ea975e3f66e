"""Approval before risk: which planned actions lose or risk state, and what a person is asked.

A deployment's spec (``approval.required_for``) or its cluster's connection (extra
``approval_required_for``) names the risks that wait for a person:

* ``stateless-upgrade``: an upgrade that starts the new job without state;
* ``drop-state``: an upgrade with ``allow_non_restored_state``, whose new job may leave state behind;
* ``old-checkpoint``: a last-state upgrade (or rescale) from a checkpoint older than
  ``approval.checkpoint_older_than_minutes`` (or of an age not known);
* ``dispose``: a savepoint the retention would dispose;
* ``suspend``: stopping the job until it is resumed.

The planner (:func:`~airflow_provider_flink.deployments.planner.plan_deployment`) asks
:func:`risks_of` of each action it planned. A risky action is done only when the deployment's
record holds an approval of its :func:`approval_key` (its kind, job, spec, mode and path: the same
action planned by any run has the same key, a changed one another). Otherwise the plan stops at
it: a request is recorded (``ask-approval``) and asked through Airflow's human-in-the-loop by the
approval DAG (operators/approval.py), or the plan says it waits for the answer, or was rejected.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from airflow_provider_flink.deployments.records import Approval
from airflow_provider_flink.deployments.spec import RISKS, DeploymentSpec
from airflow_provider_flink.ids import derived_id

UPGRADES = ("upgrade", "rescale")
# A job started again after it ended: from its newest snapshot, of the declared spec.
STARTS = ("restart", "resume", "recover")


class Risk(NamedTuple):
    kind: str  # one of spec.RISKS
    text: str  # what the person reads


def required_risks(spec: DeploymentSpec, cluster_requires: Iterable[str] = ()) -> frozenset[str]:
    """What waits for a person on this deployment: its spec's list and its cluster's."""
    return frozenset(spec.approval.required_for) | frozenset(cluster_requires)


def cluster_risks(raw: object, cluster: str) -> frozenset[str]:
    """A connection's extra ``approval_required_for`` (a list, or one comma-separated string)
    read and checked: an unknown word is a ValueError that names it and the known ones."""
    if raw in (None, "", []):
        return frozenset()
    words = [w.strip() for w in raw.split(",")] if isinstance(raw, str) else raw
    if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
        raise ValueError(
            f"connection {cluster}: extra approval_required_for must be a list of risks or one "
            f"comma-separated string, got {raw!r}"
        )
    unknown = sorted(set(words) - set(RISKS))
    if unknown:
        raise ValueError(
            f"connection {cluster}: extra approval_required_for names {', '.join(map(repr, unknown))}: "
            f"known risks are {', '.join(RISKS)}"
        )
    return frozenset(words)


def risks_of(
    kind: str,
    mode: str | None,
    spec: DeploymentSpec,
    required: frozenset[str],
    checkpoint_age_s: float | None,
    changes_spec: bool = False,
) -> list[Risk]:
    """Why a planned action (``kind``, its ``mode``) needs a person's approval, one per risk it
    runs that ``required`` names; empty: it needs none. ``changes_spec``: a start (restart, resume,
    recover) that runs another spec than the job it replaces ran: it restores the newest
    snapshot, so it risks what a savepoint upgrade risks (state the new spec does not map)."""
    found: list[Risk] = []
    if kind in STARTS:
        if changes_spec and spec.allow_non_restored_state and "drop-state" in required:
            found.append(
                Risk(
                    "drop-state",
                    f"{kind} with a changed spec and allow_non_restored_state: state the new job does not map is dropped",
                )
            )
    elif kind in UPGRADES:
        if mode == "stateless" and "stateless-upgrade" in required:
            found.append(
                Risk(
                    "stateless-upgrade",
                    "stateless upgrade: the new job starts without the running job's state",
                )
            )
        if mode != "stateless" and spec.allow_non_restored_state and "drop-state" in required:
            found.append(
                Risk("drop-state", "allow_non_restored_state: state the new job does not map is dropped")
            )
        limit = spec.approval.checkpoint_older_than_minutes
        if mode == "last-state" and "old-checkpoint" in required:
            if checkpoint_age_s is None:
                found.append(
                    Risk(
                        "old-checkpoint",
                        "last-state upgrade: the age of the checkpoint it restores is not known",
                    )
                )
            elif checkpoint_age_s > limit * 60:
                found.append(
                    Risk(
                        "old-checkpoint",
                        f"last-state upgrade from a checkpoint {checkpoint_age_s / 60:.1f} min old "
                        f"(approval needed past {limit:g} min)",
                    )
                )
    elif kind == "dispose" and "dispose" in required:
        found.append(Risk("dispose", "dispose: the savepoint is deleted for good"))
    elif kind == "suspend" and "suspend" in required:
        found.append(Risk("suspend", "suspend: the job stops until it is resumed"))
    return found


def approval_key(
    deployment: str,
    kind: str,
    job_id: str | None,
    spec_hash: str | None,
    mode: str | None,
    path: str | None,
    risks: Iterable[str] = (),
) -> str:
    """The request's id: the same for every run that plans this very action (its kind, the job it
    acts on, the spec it applies, its mode and path, the kinds of risk it runs), another once any
    of them changes: a risk added since (``allow_non_restored_state`` set on the same spec) is
    asked anew, never covered by an approval of less."""
    return derived_id(
        "approval",
        deployment,
        kind,
        job_id or "-",
        spec_hash or "-",
        mode or "-",
        path or "-",
        *sorted(set(risks)),
    )


def restore_words(
    kind: str, mode: str | None, job_id: str | None, path: str | None, checkpoint_age_s: float | None
) -> str | None:
    """What the action's new job would start from (or what is given up), for the request."""
    if kind in STARTS:
        return f"the deployment's newest snapshot, restored into the declared spec (job {job_id} ran another)"
    if kind in UPGRADES:
        if mode == "stateless":
            return f"nothing: the new job starts empty; the state of job {job_id} is not carried over"
        if mode == "last-state":
            age = f", {checkpoint_age_s / 60:.1f} min old" if checkpoint_age_s is not None else ""
            return f"the latest checkpoint of job {job_id}{age}"
        return f"a savepoint of job {job_id}, taken as the upgrade stops it"
    if kind == "dispose":
        return f"{path} is deleted; it is not restored from again"
    if kind == "suspend":
        return f"job {job_id} stops with a savepoint; a resume starts from it"
    return None


def waiting(approval: Approval, now: float) -> str:
    """Why the plan stops at an action that waits for (or was refused) a person's approval."""
    if approval.decision == "rejected":
        why = f": {approval.note}" if approval.note else ""
        return (
            f"{approval.action} was rejected by {approval.by} {_ago(now - (approval.decided_at or now))}{why}; "
            "not done (it is asked again once the spec or the job changes)"
        )
    return f"waiting for a person's approval ({_ago(now - approval.asked_at)}): {approval.action}"


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h ago"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min ago"
    return f"{seconds:.0f} s ago"
