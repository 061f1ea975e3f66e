"""Every change of a deployment's record, each a function that returns a new record.

The executor and the observe step change a record only through these, and store the result with
:func:`~airflow_provider_flink.deployments.records.save_checked`: a record is never edited in
place, so what a run holds is always one whole revision, and the rule of each change (what an
operation in flight becomes when its job is recorded, what "stable" clears) is written once.
"""

from __future__ import annotations

from typing import Any, Literal

from airflow_provider_flink.deployments.records import (
    APPROVALS_KEPT,
    HISTORY_KEPT,
    AppliedSpec,
    Approval,
    DeploymentRecord,
    FailedSpec,
    HistoryEntry,
    Hold,
    Rescaled,
    Rescaling,
    SavepointEntry,
    Savepointing,
    Start,
    Submitting,
    Upgrading,
)

FAILED_TRIGGERS_KEPT = 20
RESTARTS_KEPT = 20


def _with(record: DeploymentRecord, **changes: Any) -> DeploymentRecord:
    return record.model_copy(update=changes)


def remembered(record: DeploymentRecord, entry: HistoryEntry) -> DeploymentRecord:
    """One action added to the history, keeping the newest ``HISTORY_KEPT``."""
    return _with(record, history=[*record.history, entry][-HISTORY_KEPT:])


# ---------------------------------------------------------------------- submissions
def intended(record: DeploymentRecord, start: Start, now: float) -> DeploymentRecord:
    """I4: the job about to be submitted, recorded before the request (and before the cancel that
    makes room for it). An upgrade in flight already records its own submission: it stays."""
    operation = record.operation
    if isinstance(operation, (Submitting, Upgrading)) and operation.start == start:
        return record
    return _with(record, operation=Submitting(start=start, started_at=now))


def upgrade_begun(record: DeploymentRecord, start: Start, now: float) -> DeploymentRecord:
    """An upgrade's intent: the spec it replaces and its new job's submission (I4)."""
    return _with(record, operation=Upgrading(from_hash=record.applied_hash, start=start, started_at=now))


def upgrade_of_never_stable(record: DeploymentRecord, start: Start, now: float) -> DeploymentRecord:
    """A spec that never ran healthy started again: judged as an upgrade from the stable spec (a
    failure rolls it back and marks it failed, it is never restarted until the limit)."""
    return _with(record, operation=Upgrading(from_hash=record.last_stable_hash, start=start, started_at=now))


def new_lineage(record: DeploymentRecord, now: float) -> DeploymentRecord:
    """A job started without state: its checkpoint ids begin again at 1."""
    return _with(record, lineage_since=now)


def submitted(record: DeploymentRecord, start: Start, spec: dict[str, Any], jar_id: str) -> DeploymentRecord:
    """Flink runs (or ran) the submitted job: it is the deployment's job now. A submission in
    flight is over; an upgrade stays in flight until its job is seen healthy."""
    operation = record.operation
    if isinstance(operation, Submitting) and operation.start.job_id == start.job_id:
        operation = None
    return _with(
        record,
        current_job_id=start.job_id,
        status="running",
        started=start,
        applied=AppliedSpec(spec_hash=start.spec_hash, spec=spec),
        uploads=[*(u for u in record.uploads if u != jar_id), jar_id],
        operation=operation,
    )


def adopted(record: DeploymentRecord, job_id: str) -> DeploymentRecord:
    """A job of the deployment found on the cluster, recorded as its job. One an earlier run
    submitted and died before recording is known by the hash it was submitted with."""
    start = record.submission
    if start is None or start.job_id != job_id:
        return _with(record, current_job_id=job_id, status="running")
    operation = None if isinstance(record.operation, Submitting) else record.operation
    applied = (
        record.applied if start.spec_hash == record.applied_hash else AppliedSpec(spec_hash=start.spec_hash)
    )
    return _with(
        record, current_job_id=job_id, status="running", started=start, applied=applied, operation=operation
    )


def stable(record: DeploymentRecord, spec_hash: str, spec: dict[str, Any]) -> DeploymentRecord:
    """The job of ``spec`` ran healthy: it becomes the rollback target, an upgrade is over, and a
    failed mark of the same spec (a retry asked for) is lifted."""
    made = AppliedSpec(spec_hash=spec_hash, spec=spec)
    failed = record.failed_spec
    return _with(
        record,
        stable=made,
        applied=made,
        operation=None if isinstance(record.operation, Upgrading) else record.operation,
        failed_spec=None if failed is not None and failed.spec_hash == spec_hash else failed,
    )


def upgrade_over(record: DeploymentRecord) -> DeploymentRecord:
    """A rollback replaced the upgrade's job: nothing of the upgrade is in flight any more."""
    return _with(record, operation=None) if record.upgrading is not None else record


def failed(record: DeploymentRecord, spec_hash: str, reason: str, now: float) -> DeploymentRecord:
    """A spec that failed (an upgrade rolled back, a rescale not reached): not applied again until
    it changes or a person asks for a retry."""
    return _with(record, failed_spec=FailedSpec(spec_hash=spec_hash, reason=reason, failed_at=now))


def submission_refused(record: DeploymentRecord, start: Start, reason: str, now: float) -> DeploymentRecord:
    """Flink answered the submission with a refusal and no job of it exists (a restore it cannot
    read, a program whose main failed): the intent is over, never finished by a later run (it
    would be refused again, run after run). A spec that never ran healthy is failed: not applied
    again until it changes or a person asks for a retry; a refused stable spec is tried again."""
    operation = record.operation
    if isinstance(operation, (Submitting, Upgrading)) and operation.start.job_id == start.job_id:
        operation = None
    failed_spec = record.failed_spec
    if start.spec_hash != record.last_stable_hash:
        failed_spec = FailedSpec(spec_hash=start.spec_hash, reason=reason, failed_at=now)
    return _with(record, operation=operation, failed_spec=failed_spec)


def restarted(record: DeploymentRecord, now: float) -> DeploymentRecord:
    """One more restart counted against the limit (the newest ``RESTARTS_KEPT``)."""
    return _with(record, restarts=[*record.restarts, now][-RESTARTS_KEPT:])


def restarts_cleared(record: DeploymentRecord) -> DeploymentRecord:
    """A person cleared the restart limit: no restart is counted against it any more."""
    return _with(record, restarts=[])


def approval_asked(record: DeploymentRecord, asked: Approval) -> DeploymentRecord:
    """A request for a person's approval, recorded before it is asked (once per key)."""
    kept = [a for a in record.approvals if a.key != asked.key]
    return _with(record, approvals=[*kept, asked][-APPROVALS_KEPT:])


def approval_decided(
    record: DeploymentRecord, key: str, approved: bool, by: str, now: float, note: str | None = None
) -> DeploymentRecord:
    """A person's answer to a request (a request not in the record any more is left alone). A
    rejected suspend of a person's hold releases the hold: what was asked is not done, and the
    deployment follows its file again (a hold kept would freeze it: no upgrade, no restart)."""
    decision: Literal["approved", "rejected"] = "approved" if approved else "rejected"
    approvals = [
        a.model_copy(update={"decision": decision, "by": by, "decided_at": now, "note": note})
        if a.key == key
        else a
        for a in record.approvals
    ]
    asked = record.approval(key)
    release = not approved and asked is not None and asked.kind == "suspend" and record.hold is not None
    return _with(record, approvals=approvals, hold=None if release else record.hold)


def approval_expired(
    record: DeploymentRecord, key: str, now: float, note: str | None = None
) -> DeploymentRecord:
    """Nobody answered a request in time: the next run that plans the same action asks again. An
    unanswered suspend releases a person's hold, as a rejected one does (what was asked is not
    done; a hold kept while nobody answers would freeze the deployment)."""
    approvals = [
        a.model_copy(update={"decision": "expired", "by": "timeout", "decided_at": now, "note": note})
        if a.key == key
        else a
        for a in record.approvals
    ]
    asked = record.approval(key)
    release = asked is not None and asked.kind == "suspend" and record.hold is not None
    return _with(record, approvals=approvals, hold=None if release else record.hold)


def approval_used(record: DeploymentRecord, key: str) -> DeploymentRecord:
    """An approved action is done: its approval does not cover the same action planned again."""
    approvals = [a.model_copy(update={"decision": "used"}) if a.key == key else a for a in record.approvals]
    return _with(record, approvals=approvals)


def upload_dropped(record: DeploymentRecord, jar_id: str) -> DeploymentRecord:
    return _with(record, uploads=[u for u in record.uploads if u != jar_id])


# ---------------------------------------------------------------------- savepoints
def savepoint_begun(
    record: DeploymentRecord, job_id: str, trigger_id: str, reason: str, now: float
) -> DeploymentRecord:
    """A savepoint's trigger id, recorded before the request (I4)."""
    return _with(
        record,
        operation=Savepointing(job_id=job_id, trigger_id=trigger_id, reason=reason, started_at=now),
    )


def _savepoint_over(record: DeploymentRecord) -> Any:
    return None if isinstance(record.operation, Savepointing) else record.operation


def savepoint_filed(record: DeploymentRecord, entry: SavepointEntry) -> DeploymentRecord:
    """A completed savepoint into the history; the savepoint in flight is over."""
    return _with(record, savepoints=[*record.savepoints, entry], operation=_savepoint_over(record))


def savepoint_failed(record: DeploymentRecord, trigger_id: str | None) -> DeploymentRecord:
    """The savepoint in flight is over without one. ``trigger_id``: Flink completed it with a
    failure, so that id is not sent again (Flink would answer it with the same failure); None: it
    may still complete (a time-out), and the same id is asked again."""
    failed_triggers = record.failed_triggers
    if trigger_id is not None:
        failed_triggers = [*failed_triggers, trigger_id][-FAILED_TRIGGERS_KEPT:]
    return _with(record, operation=_savepoint_over(record), failed_triggers=failed_triggers)


def disposed(record: DeploymentRecord, path: str) -> DeploymentRecord:
    """A savepoint disposed through Flink (or gone from storage) leaves the history."""
    return _with(record, savepoints=[s for s in record.savepoints if s.path != path])


def suspended(record: DeploymentRecord) -> DeploymentRecord:
    return _with(record, status="suspended")


# ---------------------------------------------------------------------- rescale in place
def rescale_begun(record: DeploymentRecord, flight: Rescaling) -> DeploymentRecord:
    """A rescale in place, recorded before the request (I4)."""
    return _with(record, operation=flight)


def rescale_given_up(record: DeploymentRecord) -> DeploymentRecord:
    """The rescale in place is over without a new parallelism (Flink refused, or not reached)."""
    return _with(record, operation=None) if record.rescaling is not None else record


def rescaled(record: DeploymentRecord, job_id: str, spec_hash: str, spec: dict[str, Any]) -> DeploymentRecord:
    """The job runs at the new parallelism: it runs ``spec`` now, under the same job id."""
    # stable() records the spec as the applied one too: it is the one the job runs.
    return stable(
        _with(rescale_given_up(record), rescaled=Rescaled(job_id=job_id, spec_hash=spec_hash)),
        spec_hash,
        spec,
    )


# ---------------------------------------------------------------------- a person's hold
def held(record: DeploymentRecord, now: float, by: str | None) -> DeploymentRecord:
    return _with(record, hold=Hold(at=now, by=by))


def released(record: DeploymentRecord) -> DeploymentRecord:
    return _with(record, hold=None)
