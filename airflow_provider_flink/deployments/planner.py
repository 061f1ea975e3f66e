"""The reconcile planner: desired specs + observed cluster + records -> ordered actions. No I/O.

Job identity makes observation cheap: every job the provider submits for a deployment has the id
``<12 hex of the name's digest><12 hex of the spec hash><8 hex of the transition>``, so one ``/jobs/overview``
per cluster tells which deployment each job belongs to and which spec it runs. With no drift the
whole plan costs that one call.

Decisions per deployment, in order:

1. cluster not observable -> nothing (I3), and the run says so;
2. more than one live job of the deployment -> nothing: a human decides which one stays;
3. a submission recorded by an earlier run but not seen on the cluster -> submit it again with the
   *same* job id (Flink refuses a duplicate, so this can never start a second copy);
4. desired ``suspended`` (in the file, or held by a person's "suspend" until their "resume")
   -> stop with a savepoint if a job runs;
5. an upgraded job that ended FAILED -> roll back;
6. no live job -> first deploy, restart a FAILED job (restart policy), resume a suspended one,
   leave a bounded job that FINISHED (run the new spec once if it changed),
   or recover a job lost by a JobManager restart;
7. an upgraded job not healthy within its timeout -> roll back;
8. live job runs another spec -> upgrade (unless a savepoint is pending);
9. a job that never ran healthy (not an upgrade) still not healthy after ``health_timeout_seconds``
   -> reported for a person (nothing to roll back to);
10. otherwise housekeeping: mark an upgrade stable, a savepoint a person asked for, the periodic
   savepoint, retention.

Blackout windows (the spec's ``blackout_windows``) hold back upgrades and periodic savepoints: the
plan says which window and until when. A savepoint or suspend a person asks for, restarts,
recoveries and rollbacks are not held back: they are asked for now, or repair a failure.

A run acts and returns (short runs): it does not wait for a new job to become healthy. The next
run (the job watcher starts one when the job becomes healthy, fails, or outlasts its health
timeout) marks it stable or rolls it back: rules 5, 7 and 10 judge what Flink shows then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Literal, TypedDict, get_args

from typing_extensions import Unpack

from airflow_provider_flink.client import models
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.deployments.approvals import (
    STARTS,
    UPGRADES,
    approval_key,
    restore_words,
    risks_of,
    waiting,
)
from airflow_provider_flink.deployments.fields import field_changes
from airflow_provider_flink.deployments.lifecycle import Lifecycle, lifecycle
from airflow_provider_flink.deployments.records import Approval, DeploymentRecord
from airflow_provider_flink.deployments.snapshots import Snapshot
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.deployments.windows import active_window, until
from airflow_provider_flink.ids import PREFIX_LENGTH, deployment_prefix, spec_part, transition_id
from airflow_provider_flink.triggers.conditions import is_healthy

ActionKind = Literal[
    "deploy",
    "resubmit",
    "upgrade",
    "rollback",
    "suspend",
    "resume",
    "restart",
    "recover",
    "savepoint",
    "dispose",
    "adopt",
    "mark-stable",
    "hold",
    "release",
    "rescale",
    "clear-restarts",
    "ask-approval",
]
ACTION_KINDS: tuple[str, ...] = get_args(ActionKind)


# ------------------------------------------------------------------------------ identity
def running_spec(job_id: str, record: DeploymentRecord) -> str:
    """The 12 hex of the spec a live job runs: its id says the spec it was submitted with, the
    record says when a rescale in place changed it since (the job keeps its id)."""
    rescaled = record.rescaled
    if rescaled is not None and rescaled.job_id == job_id:
        return rescaled.spec_hash[:12]
    return spec_part(job_id)


# ------------------------------------------------------------------------------ observation
@dataclass(frozen=True)
class ClusterView:
    """One cluster as seen by one ``GET /jobs/overview``; ``jobs`` is None when it could not be seen."""

    cluster: str
    jobs: tuple[models.JobOverview, ...] | None
    error: str | None = None

    def jobs_of(self, name: str) -> list[models.JobOverview]:
        """The deployment's jobs, oldest first: one dict lookup, so planning n deployments costs O(n)."""
        return self._by_prefix.get(deployment_prefix(name), [])

    def unobservable(self) -> str:
        """Why nothing is planned on this cluster (I3: what cannot be seen is not acted on)."""
        return f"cluster {self.cluster} could not be observed ({self.error}): no action taken"

    @cached_property
    def _by_prefix(self) -> dict[str, list[models.JobOverview]]:
        """Every observed job under its deployment prefix, built once per view."""
        index: dict[str, list[models.JobOverview]] = {}
        for job in sorted(self.jobs or (), key=lambda j: j.start_time):
            index.setdefault(job.jid[:PREFIX_LENGTH], []).append(job)
        return index


# ------------------------------------------------------------------------------ plan
@dataclass(frozen=True)
class Action:
    """One step the planner decided. A class per kind (``class Upgrade(Action, kind="upgrade")``),
    each with exactly the fields that kind needs (set by the planner, typed, never optional when
    the executor cannot go without them); the executor's handler table has one entry per class,
    checked when it is imported."""

    kind: ClassVar[ActionKind]
    deployment: str
    reason: str

    def __init_subclass__(cls, kind: ActionKind | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind is not None:
            cls.kind = kind

    def describe(self) -> str:
        parts = [f"{self.kind} {self.deployment}"]
        for label, field_name in (("job ", "job_id"), ("-> ", "new_job_id")):
            if value := getattr(self, field_name, None):
                parts.append(f"{label}{value}")
        if mode := getattr(self, "mode", None):
            parts.append(f"({mode})")
        if path := getattr(self, "path", None):
            parts.append(f"[{path}]")
        return " ".join(parts) + f": {self.reason}"


@dataclass(frozen=True)
class Deploy(Action, kind="deploy"):
    """Submit a new job of the declared spec (first deployment, a bounded job's new version)."""

    new_job_id: str
    spec_hash: str
    path: str | None = None  # the state it starts from (the spec's initial savepoint)


class Resubmit(Deploy, kind="resubmit"):
    """Finish a submission an earlier run recorded (I4), with its id, spec and state."""


@dataclass(frozen=True)
class Upgrade(Action, kind="upgrade"):
    """Replace the live job by one of the declared spec, its state carried over as ``mode`` says."""

    job_id: str
    new_job_id: str
    spec_hash: str
    mode: str


class Rescale(Upgrade, kind="rescale"):
    """Only the parallelism changed: in place where the cluster can, else the upgrade it is."""

    def describe(self) -> str:
        # In place the job keeps its id: the new one is used only if Flink cannot rescale it.
        return (
            f"rescale {self.deployment} job {self.job_id} in place "
            f"(else a {self.mode} upgrade -> {self.new_job_id}): {self.reason}"
        )


@dataclass(frozen=True)
class Rollback(Action, kind="rollback"):
    """Replace a failing upgraded job by the last stable spec, from the upgrade's savepoint (``path``)."""

    job_id: str
    new_job_id: str
    spec_hash: str | None
    path: str | None = None


@dataclass(frozen=True)
class StartFromNewest(Action):
    """Start the deployment's next job from its newest snapshot (I7) after ``job_id`` (None: not
    known); ``mode`` "stable": with the last stable spec, the declared one having failed; ``path``:
    the newest snapshot as the plan saw it (the executor looks again)."""

    job_id: str | None
    new_job_id: str
    spec_hash: str
    mode: str | None = None
    path: str | None = None


class Resume(StartFromNewest, kind="resume"):
    """Declared running again, or the job ended outside the provider."""


class Restart(StartFromNewest, kind="restart"):
    """The job FAILED: a restart counted against the restart policy's limit."""


class Recover(StartFromNewest, kind="recover"):
    """The job is gone from the cluster: never started without state."""


@dataclass(frozen=True)
class Suspend(Action, kind="suspend"):
    job_id: str  # stopped with a savepoint


@dataclass(frozen=True)
class Savepoint(Action, kind="savepoint"):
    job_id: str
    mode: str | None = None  # "asked": by a person; None: the periodic policy


@dataclass(frozen=True)
class Dispose(Action, kind="dispose"):
    path: str  # disposed through Flink, then dropped from the history


@dataclass(frozen=True)
class Adopt(Action, kind="adopt"):
    job_id: str  # a job of the deployment the record does not name yet


@dataclass(frozen=True)
class MarkStable(Action, kind="mark-stable"):
    """The healthy job's spec becomes the rollback target; ``mode`` "applied": the spec the job
    runs, not the declared one (its file changed since)."""

    job_id: str
    spec_hash: str
    mode: str | None = None


class Hold(Action, kind="hold"):
    """A person's suspend, recorded: the deployment stays suspended until they resume it."""


class Release(Action, kind="release"):
    """A person's resume: the hold is released and the file is followed again."""


class ClearRestarts(Action, kind="clear-restarts"):
    """A person cleared the restart limit: the restarts counted in the window are forgotten, so a
    FAILED job is restarted again under the policy's rules (the restore rules do not change)."""


@dataclass(frozen=True)
class AskApproval(Action, kind="ask-approval"):
    """Record a request for a person's approval of a risky action (deployments/approvals.py); the
    action itself waits for the answer."""

    approval: Approval


# Every kind has its class: a kind without one is an import error.
ACTION_TYPES: tuple[type[Action], ...] = (
    Deploy, Resubmit, Upgrade, Rescale, Rollback, Resume, Restart, Recover,
    Suspend, Savepoint, Dispose, Adopt, MarkStable, Hold, Release, ClearRestarts, AskApproval,
)  # fmt: skip
if {t.kind for t in ACTION_TYPES} ^ set(ACTION_KINDS) or len(ACTION_TYPES) != len(ACTION_KINDS):
    raise ImportError("every action kind needs exactly one Action class")


@dataclass
class DeploymentPlan:
    spec: DeploymentSpec
    record: DeploymentRecord
    actions: list[Action] = field(default_factory=list)
    skipped: str | None = None
    # The reason for skipping needs a person (two live copies, a job that keeps failing): the run
    # reports it as a problem, so the reconcile task is red, not green.
    needs_human: bool = False
    # What the deployment is doing as the plan found it (one derivation: deployments/lifecycle.py).
    lifecycle: Lifecycle = Lifecycle.UNKNOWN
    # The approvals the plan's risky actions act on (the action described -> its request's key).
    approved: dict[str, str] = field(default_factory=dict)

    def refuse(self, reason: str) -> DeploymentPlan:
        self.skipped, self.needs_human = reason, True
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "deployment": self.spec.name,
            "cluster": self.spec.cluster,
            "lifecycle": self.lifecycle.value,
            "actions": [a.describe() for a in self.actions],
            "skipped": self.skipped,
        }


def rebuild_record(spec: DeploymentSpec, view: ClusterView) -> DeploymentRecord:
    """A record from what Flink shows, when the stored one is missing or unreadable."""
    live = [j for j in view.jobs_of(spec.name) if not j.state.is_globally_terminal]
    if len(live) == 1:
        return DeploymentRecord(
            name=spec.name, cluster=spec.cluster, rebuilt=True, current_job_id=live[0].jid, status="running"
        )
    return DeploymentRecord(name=spec.name, cluster=spec.cluster, rebuilt=True)


Request = Literal["suspend", "resume"]


class PlanInputs(TypedDict, total=False):
    """What a run brings to a plan beyond the spec, the view and the record (:func:`_plan`)."""

    retry_failed: bool
    savepoint_now: bool
    request: Request | None
    rescale_from: int | None
    restore: Snapshot | None
    clear_restarts: bool


def plan_deployment(
    spec: DeploymentSpec,
    desired_hash: str,
    view: ClusterView,
    stored: DeploymentRecord | None,
    now: float,
    approvals: frozenset[str] = frozenset(),
    checkpoint_age: float | None = None,
    **asked: Unpack[PlanInputs],
) -> DeploymentPlan:
    """Plan one deployment (:func:`_plan`, with what a person asked in ``asked``), then stop at
    the first action that waits for a person's approval (``approvals``: the risks that need one;
    ``checkpoint_age``: of the checkpoint a last-state upgrade would restore, when known): see
    :func:`_gate`."""
    plan = _plan(spec, desired_hash, view, stored, now, **asked)
    if not approvals:
        return plan
    waiting_on = _gate(plan, approvals, checkpoint_age, now)
    if waiting_on is not None and waiting_on.kind in UPGRADES:
        _housekeeping_while_waiting(plan, view, waiting_on, now, approvals, checkpoint_age)
    return plan


def _housekeeping_while_waiting(
    plan: DeploymentPlan,
    view: ClusterView,
    waiting_on: Action,
    now: float,
    approvals: frozenset[str],
    checkpoint_age: float | None,
) -> None:
    """An upgrade that waits for a person (or was rejected) may wait days: the running job's
    periodic savepoints and the retention go on meanwhile, as they do while an upgrade waits for a
    blackout window to end. A disposal the deployment wants approved waits for its own answer."""
    job_id = getattr(waiting_on, "job_id", None)
    job = next((j for j in view.jobs_of(plan.spec.name) if j.jid == job_id), None)
    if job is None or job.state.is_globally_terminal:
        return
    extra = DeploymentPlan(plan.spec, plan.record, lifecycle=plan.lifecycle)

    def act(action: Action) -> DeploymentPlan:
        extra.actions.append(action)
        return extra

    _plan_housekeeping(extra, job, plan.record, now, act)
    _gate(extra, approvals, checkpoint_age, now)
    plan.actions += extra.actions
    plan.approved.update(extra.approved)


def _gate(
    plan: DeploymentPlan, required: frozenset[str], checkpoint_age: float | None, now: float
) -> Action | None:
    """Keep the plan's actions up to the first risky one a person has not approved: that one and
    the ones after it wait. A request not asked yet (or whose approval was used by the same action
    before, or that nobody answered in time) is recorded first (``ask-approval``). The keys of the
    approved ones go with the plan: the executor marks each used once its action is done. Returns
    the action the plan stops at, if any (the plan's ``skipped`` says why it waits)."""
    for index, action in enumerate(plan.actions):
        mode = getattr(action, "mode", None)
        job_id, path = getattr(action, "job_id", None), getattr(action, "path", None)
        target: str | None = getattr(action, "spec_hash", None)
        # A start of another spec than the job it replaces ran (the file changed while no job ran,
        # or its upgrade waits for an approval): it applies that spec too.
        replaced = job_id[PREFIX_LENGTH:24] if job_id else (plan.record.applied_hash or "")[:12]
        changes_spec = action.kind in STARTS and target is not None and target[:12] != replaced
        risks = risks_of(action.kind, mode, plan.spec, required, checkpoint_age, changes_spec)
        if not risks:
            continue
        key = approval_key(plan.spec.name, action.kind, job_id, target, mode, path, [r.kind for r in risks])
        asked = plan.record.approval(key)
        if asked is not None and asked.decision == "approved":
            plan.approved[action.describe()] = key
            continue
        plan.actions = plan.actions[:index]
        if asked is None or asked.decision in ("used", "expired"):  # asked (again)
            applied = plan.record.applied
            changes = (
                field_changes(plan.spec, applied.spec)
                if applied is not None and (action.kind in UPGRADES or changes_spec)
                else []
            )
            asked = Approval(
                key=key,
                kind=action.kind,
                action=action.describe(),
                risks=[r.text for r in risks],
                changes=[c.text for c in changes],
                restore=restore_words(action.kind, mode, job_id, path, checkpoint_age),
                asked_at=now,
            )
            plan.actions.append(
                AskApproval(plan.spec.name, f"{action.kind} needs a person's approval", approval=asked)
            )
        plan.skipped = waiting(asked, now)
        return action
    return None


def _plan(
    spec: DeploymentSpec,
    desired_hash: str,
    view: ClusterView,
    stored: DeploymentRecord | None,
    now: float,
    retry_failed: bool = False,
    savepoint_now: bool = False,
    request: Request | None = None,
    rescale_from: int | None = None,
    restore: Snapshot | None = None,
    clear_restarts: bool = False,
) -> DeploymentPlan:
    """Plan one deployment. What a person asked (the Flink page, a run's conf): ``retry_failed``,
    apply the declared spec even though its upgrade failed before (see
    :class:`~airflow_provider_flink.deployments.records.FailedSpec`); ``savepoint_now``, a savepoint
    of the healthy job now; ``request``, hold the deployment suspended or release that hold.
    ``rescale_from``: the parallelism the live job runs when the declared spec differs from it in
    nothing else (the reconcile computed it from the record's applied spec): a rescale in place.
    ``restore``: the deployment's newest snapshot as the observe step found it when no job of it
    runs (I7): a resume, restart or recovery names it, or is refused when it is gone; the executor
    asks storage again as it acts. ``clear_restarts``: a person cleared the restart limit (the
    Flink page): the restarts counted so far are forgotten, first, then the rules below apply."""
    record = stored if stored is not None else rebuild_record(spec, view)
    seen = view.jobs_of(spec.name) if view.jobs is not None else None
    plan = DeploymentPlan(spec, record, lifecycle=lifecycle(stored, spec.state == "suspended", seen))
    name = spec.name

    def act(action: Action) -> DeploymentPlan:
        plan.actions.append(action)
        return plan

    if plan.lifecycle is Lifecycle.UNKNOWN:
        plan.skipped = view.unobservable()
        return plan
    # A person's suspend is recorded first (the hold is the intent: a run killed after it still
    # keeps the deployment suspended), and kept until their resume; the file's state is not changed.
    held = record.hold is not None
    if request == "suspend" and not held:
        act(Hold(name, "suspend asked by a person: held suspended until resumed"))
        held = True
    elif request == "resume" and held:
        act(Release(name, "resume asked by a person: the hold is released"))
        held = False
    if clear_restarts and record.restarts:
        # Recorded first, like a hold: the run plans from the record as it will be written.
        act(
            ClearRestarts(
                name, f"restart limit cleared by a person ({len(record.restarts)} restarts forgotten)"
            )
        )
        record = record.model_copy(update={"restarts": []})
    jobs = view.jobs_of(name)
    taken = {j.jid for j in jobs}

    def next_id(replaces: str | None, spec_hash: str = desired_hash) -> str:
        return transition_id(name, spec_hash, replaces, taken)

    live = [j for j in jobs if not j.state.is_globally_terminal]
    if len(live) > 1:
        ids = ", ".join(f"{j.jid} ({j.state.value})" for j in live)
        return plan.refuse(
            f"{len(live)} live jobs belong to this deployment ({ids}): refusing to act; cancel the extra ones"
        )
    job = live[0] if live else None

    # An earlier run recorded a submission it may not have finished: finish it with the same id.
    submission = record.submission
    intended = submission.job_id if submission is not None else None
    current = record.current_job_id
    if submission is not None and intended is not None:
        ended = next((j for j in jobs if j.jid == intended), None) if job is None else None
        if job is not None and job.jid == intended:
            act(Adopt(name, "the job an earlier run submitted is on the cluster", job_id=intended))
            current = intended
        elif ended is not None:
            # Submitted by a run that died before recording it, and ended since: it is the job
            # whose end the rules below judge (a bounded job done, a restart, a resume), not a
            # reason to deploy a second copy.
            act(Adopt(name, f"the job an earlier run submitted ended {ended.state.value}", job_id=intended))
            current = intended
        elif (
            job is None
            and not any(j.jid == intended for j in jobs)
            # the intent is of the declared spec, or of a rollback to the stable one: a stale intent
            # of a spec declared no more is dropped, and the run plans from what Flink shows
            and submission.spec_hash in (desired_hash, record.last_stable_hash)
            # nor is one of a spec that failed since (Flink refused it: asked again, it refuses again)
            and not (
                record.failed_spec is not None
                and record.failed_spec.spec_hash == submission.spec_hash
                and submission.spec_hash != record.last_stable_hash
                and not retry_failed
            )
        ):
            return act(
                Resubmit(
                    name,
                    "an earlier run recorded this submission but the job is not on the cluster",
                    new_job_id=intended,
                    spec_hash=submission.spec_hash,
                    path=submission.restore_from,
                )
            )

    if spec.state == "suspended" or held:
        why = "declared suspended" if spec.state == "suspended" else "held suspended by a person"
        if job is not None:
            return act(Suspend(name, f"{why}: stop with a savepoint", job_id=job.jid))
        if request == "resume" and spec.state == "suspended":
            plan.skipped = "declared suspended in its file: a resume asked from outside does not override it"
        return plan

    upgrade = record.upgrading

    def roll_back(bad: models.JobOverview, savepoint: str | None, why: str) -> DeploymentPlan:
        return act(
            Rollback(
                name,
                why,
                job_id=bad.jid,
                new_job_id=next_id(bad.jid, record.last_stable_hash or desired_hash),
                spec_hash=record.last_stable_hash,
                path=savepoint,
            )
        )

    if job is None and upgrade is not None:
        # The upgraded job ended FAILED (an earlier run died before it could roll back): roll back
        # now, never "restart" or "recover" the failing spec.
        broken = next((j for j in jobs if j.jid == upgrade.new_job_id and j.state is JobState.FAILED), None)
        if broken is not None:
            return roll_back(broken, upgrade.savepoint_path, f"the upgraded job {broken.jid} FAILED")

    if job is None:
        failed = record.failed_spec
        if (
            failed is not None
            and failed.spec_hash == desired_hash
            and not retry_failed
            and record.last_stable_hash
            and record.last_stable_spec
        ):
            # A failed spec stays failed everywhere: a job started again (resume, restart, recover)
            # runs the last stable spec, as the upgrade rule keeps the stable job running.
            return _plan_no_live_job(
                plan, jobs, record, current, record.last_stable_hash, now, next_id, act, restore, stable=True
            )
        return _plan_no_live_job(plan, jobs, record, current, desired_hash, now, next_id, act, restore)

    if upgrade is not None and job.jid == upgrade.new_job_id and not is_healthy(job):
        waited = now - upgrade.started_at
        if waited > spec.health_timeout_seconds:
            why = f"the upgraded job is not healthy after {waited:.0f} s ({job.state.value})"
            return roll_back(job, upgrade.savepoint_path, why)
        plan.skipped = f"waiting for the upgraded job {job.jid} to become healthy ({waited:.0f} s so far)"
        return plan

    rescaling = record.rescaling
    if rescaling is not None and rescaling.job_id == job.jid:
        # An earlier run asked Flink to rescale and did not see it end: finish it (asking again is
        # harmless: the same bounds are not sent twice), then the rules below see what runs.
        return act(
            Rescale(
                name,
                f"finish the rescale in place to parallelism {rescaling.to_parallelism} an earlier run asked for",
                job_id=job.jid,
                new_job_id=next_id(job.jid, rescaling.to_hash),
                spec_hash=rescaling.to_hash,
                mode=spec.upgrade_mode,
            )
        )

    runs = running_spec(job.jid, record)
    if runs != desired_hash[:12]:
        pending = record.savepointing
        if pending is not None:  # still in progress: the run filed it before planning if it had ended
            plan.skipped = f"a savepoint ({pending.trigger_id}) is pending: the upgrade waits for it"
            return plan
        failed = record.failed_spec
        if failed is not None and failed.spec_hash == desired_hash and not retry_failed:
            plan.skipped = (
                f"the declared spec failed {_age(now - failed.failed_at)} ago and was rolled back "
                f"({failed.reason}); it is not applied again until the spec changes or a retry is asked "
                f"(retry_failed={name!r})"
            )
            _plan_housekeeping(plan, job, record, now, act, savepoint_now)  # the stable job's savepoints
            return plan
        applied = record.applied_spec
        if record.last_stable_hash != record.applied_hash and upgrade is None:
            # Short runs: the job was submitted by a run that did not wait for it, and its file
            # changed before a later run saw it healthy. Made stable first, it is what the upgrade
            # rolls back to; while it still starts, the upgrade waits (a savepoint needs it running).
            if is_healthy(job) and applied is not None and runs == applied.spec_hash[:12]:
                act(
                    MarkStable(
                        name,
                        "the running job is healthy: its spec becomes the rollback target before the upgrade",
                        job_id=job.jid,
                        spec_hash=applied.spec_hash,
                        mode="applied",
                    )
                )
            elif not is_healthy(job) and job.start_time > 0 and spec.upgrade_mode != "stateless":
                waited = now - job.start_time / 1000
                if waited <= spec.health_timeout_seconds:
                    plan.skipped = f"the upgrade waits for job {job.jid} to become healthy ({waited:.0f} s so far, {_tasks(job)})"
                    return plan
        blackout = active_window(spec.blackout_windows, now)
        if blackout is not None:
            plan.skipped = f"the upgrade waits: {until(*blackout)}"
            _plan_housekeeping(plan, job, record, now, act, savepoint_now)  # retention still runs
            return plan
        if (
            rescale_from is not None
            and is_healthy(job)
            and not spec.bounded
            and spec.upgrade_mode != "stateless"
        ):
            # Only the parallelism changed: in place where the cluster can (same job, restarted by
            # Flink from its latest checkpoint), else the savepoint upgrade below, saying why.
            return act(
                Rescale(
                    name,
                    f"only the parallelism changed ({rescale_from} -> {spec.parallelism}): in place where the "
                    "cluster can, else a savepoint upgrade",
                    job_id=job.jid,
                    new_job_id=next_id(job.jid),
                    spec_hash=desired_hash,
                    mode=spec.upgrade_mode,
                )
            )
        return act(
            Upgrade(
                name,
                "the declared spec changed",
                job_id=job.jid,
                new_job_id=next_id(job.jid),
                spec_hash=desired_hash,
                mode=spec.upgrade_mode,
            )
        )

    if current != job.jid:
        act(Adopt(name, "running job of this deployment not yet in the record", job_id=job.jid))
    never_stable = record.last_stable_hash != desired_hash
    if is_healthy(job) and (upgrade is not None or never_stable):
        act(
            MarkStable(
                name,
                "the job runs healthy: its spec becomes the rollback target",
                job_id=job.jid,
                spec_hash=desired_hash,
            )
        )
    elif never_stable and upgrade is None and not is_healthy(job) and job.start_time > 0:
        waited = now - job.start_time / 1000
        if waited > spec.health_timeout_seconds and not spec.bounded:
            # Nothing to roll back to (it is not an upgrade): a person looks at Flink's exceptions.
            return plan.refuse(
                f"job {job.jid} is not healthy {waited:.0f} s after it started ({job.state.value}, "
                f"{_tasks(job)}): see its exceptions in the Flink UI"
            )
        plan.skipped = f"waiting for job {job.jid} to become healthy ({waited:.0f} s so far, {_tasks(job)})"
    _plan_housekeeping(plan, job, record, now, act, savepoint_now)
    return plan


def _tasks(job: models.JobOverview) -> str:
    return f"{job.tasks.get('running', 0)}/{job.tasks.get('total', 0)} tasks running"


def _plan_no_live_job(
    plan: DeploymentPlan,
    jobs: list[models.JobOverview],
    record: DeploymentRecord,
    current: str | None,
    desired_hash: str,
    now: float,
    next_id: Callable[[str | None, str], str],
    act: Callable[..., DeploymentPlan],
    restore: Snapshot | None,
    stable: bool = False,
) -> DeploymentPlan:
    """No job of the deployment runs. Resume, restart and recover restore from the newest snapshot
    Flink can prove at the moment of acting (I7): the executor finds it, the plan names no path.
    ``stable``: the declared spec failed and was rolled back; ``desired_hash`` is then the last
    stable spec's, and the actions that start a job say so (mode "stable")."""
    spec, name = plan.spec, plan.spec.name
    last = jobs[-1] if jobs else None
    current_seen = last is not None and last.jid == current

    def start(kind: type[StartFromNewest], reason: str, replaces: str | None) -> DeploymentPlan:
        if restore is not None and restore.refusal:
            return plan.refuse(f"{kind.kind} refused: {restore.refusal}")
        if stable:
            reason += ", with the last stable spec (the declared one failed and was rolled back)"
        return act(
            kind(
                name,
                reason,
                job_id=replaces,
                new_job_id=next_id(replaces, desired_hash),
                spec_hash=desired_hash,
                mode="stable" if stable else None,
                path=restore.path if restore is not None else None,
            )
        )

    if record.status == "suspended":
        return start(Resume, "declared running again after a suspend", current)
    if spec.bounded and last is not None and last.state is JobState.FINISHED:
        # A bounded job that ran to its end is done: starting it again would process its input twice.
        if spec_part(last.jid) == desired_hash[:12]:
            if current != last.jid:  # an earlier run died before it could record the job
                act(Adopt(name, "the bounded job an earlier run submitted ran to its end", job_id=last.jid))
            plan.skipped = (
                f"the bounded job {last.jid} ran to its end (FINISHED); it runs again when the spec changes"
            )
            return plan
        return act(
            Deploy(
                name,
                "the bounded job ran to its end and the spec changed: run the new version once",
                new_job_id=next_id(last.jid, desired_hash),
                spec_hash=desired_hash,
                path=spec.initial_savepoint,
            )
        )
    if current is None:
        return act(
            Deploy(
                name,
                "first deployment",
                new_job_id=next_id(None, desired_hash),
                spec_hash=desired_hash,
                path=spec.initial_savepoint,
            )
        )
    if current_seen and last is not None and last.state is JobState.FAILED:
        policy = spec.restart_policy
        recent = [t for t in record.restarts if now - t <= policy.window_minutes * 60]
        if not policy.enabled:
            return plan.refuse(f"job {last.jid} FAILED and the restart policy is disabled")
        if len(recent) >= policy.max_restarts:
            return plan.refuse(
                f"job {last.jid} FAILED again: {len(recent)} restarts in the last "
                f"{policy.window_minutes:g} min reached the limit of {policy.max_restarts}"
            )
        return start(Restart, "the job FAILED: restart it from its latest state", last.jid)
    if current_seen and last is not None:
        stopped_here = [s for s in record.savepoints if s.job_id == last.jid and s.reason == "upgrade"]
        if last.state is JobState.FINISHED and stopped_here:
            # Not a person's stop: an upgrade's own stop-with-savepoint, by a run that ended before
            # it started the new job (the next run finishes it; the message said "outside").
            return start(
                Resume,
                f"an earlier run's upgrade stopped job {last.jid} with a savepoint and ended before it "
                "started the new job: start it now",
                last.jid,
            )
        return start(
            Resume, f"the job ended {last.state.value} outside the provider: start it again", last.jid
        )
    return start(
        Recover,
        "the job is gone from the cluster (JobManager restart without HA?): recover it from its newest snapshot",
        current,
    )


def _plan_housekeeping(
    plan: DeploymentPlan,
    job: models.JobOverview,
    record: DeploymentRecord,
    now: float,
    act: Callable[..., DeploymentPlan],
    savepoint_now: bool = False,
) -> None:
    policy, name = plan.spec.savepoint_policy, plan.spec.name
    pending = record.savepointing
    if pending is not None:  # still in progress: no second savepoint beside it
        if savepoint_now:
            plan.skipped = f"a savepoint ({pending.trigger_id}) is already in progress"
        return
    last = record.last_savepoint()
    if savepoint_now:
        if is_healthy(job):
            act(Savepoint(name, "asked by a person", job_id=job.jid, mode="asked"))
        else:
            plan.skipped = f"savepoint asked, but job {job.jid} is not healthy ({job.state.value}): not taken"
    elif policy.interval_minutes and is_healthy(job):
        due = last is None or now - last.taken_at >= policy.interval_minutes * 60
        blackout = active_window(plan.spec.blackout_windows, now) if due else None
        if blackout is not None:
            plan.skipped = plan.skipped or f"the periodic savepoint waits: {until(*blackout)}"
        elif due:
            act(
                Savepoint(name, f"periodic savepoint (every {policy.interval_minutes:g} min)", job_id=job.jid)
            )
    for old in retention_victims(record, policy.keep_last, policy.max_age_days, now):
        act(Dispose(name, f"retention ({old.reason} savepoint of {_age(now - old.taken_at)})", path=old.path))


def retention_victims(
    record: DeploymentRecord, keep_last: int, max_age_days: float | None, now: float
) -> list[Any]:
    """Savepoints to dispose: beyond the newest ``keep_last``, or older than ``max_age_days``.
    The newest savepoint is never disposed: it is the state the deployment resumes or rolls back from."""
    ordered = sorted(record.savepoints, key=lambda s: s.taken_at, reverse=True)
    victims = ordered[keep_last:]
    if max_age_days:
        victims += [s for s in ordered[1:keep_last] if now - s.taken_at > max_age_days * 86400]
    return sorted(victims, key=lambda s: s.taken_at)


def _age(seconds: float) -> str:
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds:.0f} s"
