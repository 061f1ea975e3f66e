"""Desired against actual, field by field, and what the reconcile would do about it now.

The Flink page shows, for each deployment, the fields in which the declared spec differs from the
one its job runs ("parallelism: 2 -> 1 (declared)"), both spec hashes, and why nothing is being
done about a difference when nothing is. That last judgement is the planner's own:
:func:`judge` runs :func:`~airflow_provider_flink.deployments.planner.plan_deployment` on the same
record and the same cluster view a reconcile run would see, and reports its actions ("the next run
will: upgrade ...") or the reason it skips (a blackout window until ..., a failed spec, the health
wait, a pending savepoint). Nothing here decides anything the planner does not.

What the page cannot know without acting: a jar that is neither pinned (``artifact.sha256``) nor a
file on the api-server has no digest until a reconcile fetches it, so the declared hash is then
"not known" (said, never guessed); the fields still differ or not.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_flink.artifacts.fetch import local_sha256
from airflow_provider_flink.artifacts.python_program import PythonProgram, StagedFile, StagedProgram
from airflow_provider_flink.artifacts.sql import RUNNER_JAR_SHA256
from airflow_provider_flink.deployments.approvals import required_risks
from airflow_provider_flink.deployments.fields import FieldChange, field_changes
from airflow_provider_flink.deployments.planner import ClusterView, plan_deployment, running_spec
from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.spec import DeploymentSpec, spec_hash

# The plan's stand-in for a declared hash that is not known on this server while the fields
# differ: no job's spec part is ever "?", so the planner sees "another spec is declared".
UNKNOWN_HASH = "?" * 64


def only_parallelism_changed(
    spec: DeploymentSpec, stored: DeploymentRecord | None, digest: str
) -> int | None:
    """The parallelism the deployment's job runs, when the declared spec differs from what it runs
    in the parallelism alone (the same spec at the old parallelism hashes to the applied hash)."""
    applied = stored.applied if stored is not None else None
    if applied is None or applied.spec is None:  # the fields of what runs are not known
        return None
    before = applied.spec.get("parallelism")
    if not isinstance(before, int) or before == spec.parallelism:
        return None
    same = spec_hash(spec.model_copy(update={"parallelism": before}), digest) == applied.spec_hash
    return before if same else None


def declared_digest(spec: DeploymentSpec) -> tuple[str | None, str | None]:
    """The digest of the declared jar where it is known without fetching it, else None and why:
    a SQL job's jar is the provider's runner; a pinned jar's digest is its pin; a jar that is a
    file here is read (once per change of the file)."""
    if spec.sql is not None:
        return RUNNER_JAR_SHA256, None
    if spec.python is not None:
        return _program_digest(spec.python.program())
    found = _known_digest(spec.artifact.jar, spec.artifact.sha256)
    if found is not None:
        return found, None
    return None, (
        "not known here: the jar is not pinned (artifact.sha256) nor a file on this server; "
        "the reconcile hashes it when it fetches it"
    )


def _known_digest(location: str, pinned: str | None) -> str | None:
    """A file's digest without fetching it: its pin, or its content when it is a file here."""
    return pinned or local_sha256(location)


def _program_digest(program: PythonProgram) -> tuple[str | None, str | None]:
    """A Python program's digest (what the spec hash holds) when every file's is known here."""
    staged = []
    for file in program.all_files():
        found = _known_digest(file.location, file.sha256 or file.read_sha256)
        if found is None:
            return None, (
                f"not known here: the Python file {file.name} is not pinned (sha256) nor a file on this server; "
                "the reconcile hashes it when it fetches it"
            )
        staged.append(StagedFile(file.name, found, "", ""))
    return StagedProgram(program, tuple(staged)).digest, None


@dataclass(frozen=True)
class Judgement:
    """A deployment's desired against actual, as the page shows it."""

    declared_hash: str | None  # None: not known here (declared_hash_note says why)
    declared_hash_note: str | None
    running_hash: str | None  # 12 hex: the spec the live job runs (its id, or a rescale in place)
    changes: list[FieldChange]  # the declared job fields that differ from the applied spec
    in_sync: bool | None  # the live job (else the record) runs the declared spec; None: not known
    next_step: list[str]  # what a reconcile run would do now (the planner's actions)
    why_not_applied: str | None  # why nothing is being done about a difference, when nothing is


def judge(
    spec: DeploymentSpec,
    record: DeploymentRecord | None,
    view: ClusterView,
    now: float,
    reconcile_paused: bool = False,
    digest: tuple[str | None, str | None] | None = None,
    cluster_requires: frozenset[str] = frozenset(),
    checkpoint_age: float | None = None,
) -> Judgement:
    """Desired against actual for one deployment, and the plan a reconcile run would make now
    (``reconcile_paused``: no run will: the reconcile DAG is paused). ``digest``: the declared
    jar's digest and note (:func:`declared_digest`, computed when not given). The risks a person
    must approve are the spec's and ``cluster_requires`` (its connection's); ``checkpoint_age``:
    of the live job's latest checkpoint, when known."""
    found, note = digest if digest is not None else declared_digest(spec)
    declared = spec_hash(spec, found) if found is not None else None
    applied = record.applied if record is not None else None
    changes = field_changes(spec, applied.spec if applied is not None else None)
    live = [j for j in view.jobs_of(spec.name) if not j.state.is_globally_terminal] if view.jobs else []
    running = running_spec(live[-1].jid, record) if live and record is not None else None
    if running is None and live:
        running = live[-1].jid[12:24]
    compared = running or (applied.spec_hash[:12] if applied is not None else None)
    if declared is not None:
        in_sync: bool | None = compared == declared[:12] if compared is not None else False
    else:
        # Not known: equal fields say nothing of the jar's content, different fields say enough.
        in_sync = False if changes else None
    planned_hash = declared or (applied.spec_hash if applied is not None and not changes else UNKNOWN_HASH)
    plan = plan_deployment(
        spec,
        planned_hash,
        view,
        record,
        now,
        rescale_from=only_parallelism_changed(spec, record, found) if found is not None else None,
        approvals=required_risks(spec, cluster_requires),
        checkpoint_age=checkpoint_age,
    )
    steps = [action.describe() for action in plan.actions]
    return Judgement(
        declared_hash=declared[:12] if declared is not None else None,
        declared_hash_note=note,
        running_hash=running,
        changes=changes,
        in_sync=in_sync,
        next_step=steps,
        why_not_applied=_why_not(plan.skipped, steps, in_sync, reconcile_paused, spec, record),
    )


def _why_not(
    skipped: str | None,
    steps: list[str],
    in_sync: bool | None,
    paused: bool,
    spec: DeploymentSpec,
    record: DeploymentRecord | None,
) -> str | None:
    if paused and (steps or in_sync is False):
        return "reconcile paused: the flink_reconcile DAG is paused, so no run applies it"
    if skipped:  # the planner's words: something waits (even beside steps it takes, a retention)
        return skipped
    if steps:
        return None  # the next run acts: next_step says how
    if in_sync is False:
        held = record is not None and record.hold is not None
        if spec.state == "suspended" or held:
            who = "declared suspended" if spec.state == "suspended" else "held suspended by a person"
            return f"{who}: the declared spec runs when it is resumed"
    return None
