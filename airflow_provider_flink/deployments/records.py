"""Deployment records: what Flink cannot tell, kept in a record store (:mod:`.stores`).

Flink is the truth for what runs. A record adds what it cannot say: the spec applied, the job id
about to be submitted (intent, written *before* the request: I4), the savepoint history with
reasons, the last spec that ran healthy (for rollback), an upgrade in flight, recent restarts.

A missing or unreadable record is rebuilt from what Flink shows, with a warning; it never stops
the reconcile with a cryptic error.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

log = logging.getLogger(__name__)

VARIABLE_PREFIX = "flink_deployment"


class SavepointEntry(BaseModel):
    path: str
    taken_at: float
    reason: str
    job_id: str
    checkpoint_id: int | None = None  # from its _metadata: what orders it among the deployment's snapshots


class Start(BaseModel):
    """One job submission: the job id chosen before the request (I1), the spec it runs (by hash)
    and the snapshot it restores from (None: without state)."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    spec_hash: str
    restore_from: str | None = None


class InFlight(BaseModel):
    """What every operation in flight has: when it began (epoch seconds)."""

    model_config = ConfigDict(frozen=True)

    started_at: float = 0.0


class Submitting(InFlight):
    """A job about to be submitted (deploy, resume, restart, recover, rollback): intent, written
    before the request and before the cancel that makes room for it (I4). Over once the job is
    recorded as the deployment's."""

    kind: Literal["submit"] = "submit"
    start: Start


class Upgrading(InFlight):
    """An upgrade: its new job's submission, then that job until it is seen healthy (the rollback
    material: the spec it replaced and the state it started from)."""

    kind: Literal["upgrade"] = "upgrade"
    from_hash: str | None
    start: Start

    @property
    def new_job_id(self) -> str:
        return self.start.job_id

    @property
    def to_hash(self) -> str:
        return self.start.spec_hash

    @property
    def savepoint_path(self) -> str | None:
        return self.start.restore_from


class Rescaling(InFlight):
    """A rescale in place asked for (intent, written before the request): the job keeps its id, so
    the record is what says which spec it runs once it runs at the new parallelism."""

    kind: Literal["rescale"] = "rescale"
    job_id: str
    from_parallelism: int
    to_parallelism: int
    to_hash: str


class Savepointing(InFlight):
    """A savepoint (or a stop with one) under a trigger id recorded before the request: a run that
    dies waiting for it leaves the next one the id to ask Flink about (I3, I4)."""

    kind: Literal["savepoint"] = "savepoint"
    job_id: str
    trigger_id: str
    reason: str


# What the deployment is in the middle of: at most one operation at a time, each with what the
# next run needs to finish it. An upgrade's stop and a rollback's stop are savepoints in flight
# before the submission they make room for.
Operation = Annotated[Submitting | Upgrading | Rescaling | Savepointing, Field(discriminator="kind")]


class FailedSpec(BaseModel):
    """A spec whose upgrade failed and was rolled back: not applied again until the declared spec
    changes or a person asks for a retry (``retry_failed``), so a broken spec does not cost a
    savepoint, a failing job and a rollback on every run."""

    spec_hash: str
    reason: str
    failed_at: float


class HistoryEntry(BaseModel):
    """One action the reconcile took on the deployment, as it ended: what the Flink page's history
    shows (the newest ``HISTORY_KEPT``, oldest first)."""

    at: float  # when the action ended (epoch seconds)
    kind: str  # the action: deploy, upgrade, rollback, savepoint, suspend, hold, release, ...
    ok: bool
    detail: str  # what the reconcile said of it (shortened)
    job_id: str | None = None  # the job it acted on, or the one it started
    run: str | None = None  # "dag_id/run_id/task_id/try_number" of the task that acted, if any


class AppliedSpec(BaseModel):
    """A spec by its hash, with its fields where they are known: the one the current job runs
    (``applied``; made the rollback target when that job is seen healthy after its file already
    changed again), or the last one seen healthy (``stable``, the rollback target)."""

    spec_hash: str
    spec: dict[str, Any] | None = None  # None: only the hash is known (a job adopted from an earlier run)


class Rescaled(BaseModel):
    """Job ``job_id`` runs spec ``spec_hash`` since a rescale in place (its id names the spec it was
    submitted with)."""

    job_id: str
    spec_hash: str


class Hold(BaseModel):
    """A suspend asked by a person (the Flink page's "suspend", or a run's ``suspend`` conf): the
    deployment stays suspended, whatever its file declares, until a "resume" releases it."""

    at: float
    by: str | None = None  # the run that recorded it


class Approval(BaseModel):
    """A person's approval of one risky action (docs/approvals.md): asked once per ``key`` (the
    action's kind, job, spec and state, derived: every run planning the same action names the
    same request), then approved or rejected by a person through Airflow's human-in-the-loop."""

    key: str
    kind: str = ""  # the action's kind (upgrade, rescale, suspend, dispose, restart, ...)
    action: str  # the action as the plan describes it
    risks: list[str]  # why it needs a person: "stateless upgrade: the job's state is dropped", ...
    changes: list[str] = Field(default_factory=list)  # the declared fields it applies, "field: a -> b"
    restore: str | None = None  # the snapshot the new job would start from (or what is lost)
    asked_at: float
    # "used": approved, then done; "expired": nobody answered in time. Either way the same action
    # planned again is asked again (a rejection stands until the spec or the job changes).
    decision: Literal["approved", "rejected", "used", "expired"] | None = None
    by: str | None = None  # who decided ("timeout" when nobody answered in time)
    decided_at: float | None = None
    note: str | None = None  # what the person wrote, or why it was rejected


APPROVALS_KEPT = 10
HISTORY_KEPT = 50
LEGACY_SPEC_FIELDS = ("applied_hash", "applied_spec", "last_stable_hash", "last_stable_spec")
LEGACY_OPERATION_FIELDS = (
    "intended_job_id",
    "intended_hash",
    "intended_savepoint",
    "upgrade",
    "rescale",
    "pending_savepoint",
)


class DeploymentRecord(BaseModel):
    """What the reconcile keeps of one deployment. Immutable: a change is a function of
    :mod:`~airflow_provider_flink.deployments.transitions` that returns a new record, so a run
    holds one value at a time and every write stores a whole, checked revision."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    cluster: str
    status: Literal["new", "running", "suspended"] = "new"
    applied: AppliedSpec | None = None  # the spec the current job runs
    rescaled: Rescaled | None = None
    current_job_id: str | None = None
    started: Start | None = None  # the submission of the current job: what it started from
    operation: Operation | None = None  # the one operation in flight
    savepoints: list[SavepointEntry] = Field(default_factory=list)
    stable: AppliedSpec | None = None  # the last spec seen running healthy: the rollback target
    failed_spec: FailedSpec | None = None
    restarts: list[float] = Field(default_factory=list)
    hold: Hold | None = None
    approvals: list[Approval] = Field(default_factory=list)  # newest last (APPROVALS_KEPT)
    # When the deployment last started a job without state (first deploy, stateless upgrade): its
    # checkpoint ids begin again at 1, so snapshots completed before belong to an earlier lineage.
    lineage_since: float | None = None
    history: list[HistoryEntry] = Field(default_factory=list)
    uploads: list[str] = Field(default_factory=list)  # jar ids on the cluster, oldest first
    # Trigger ids of savepoints Flink completed with a failure: the next attempt derives another id
    # (Flink keeps an operation's result for a while and would answer a reused id with the failure).
    failed_triggers: list[str] = Field(default_factory=list)
    # Bumped by every write of this record: a run that finds another revision stored than the one
    # it last read or wrote has met another actor on the deployment and stops acting (I8).
    revision: int = 0
    # This run rebuilt the record from Flink (it said so once); never stored, or every later run
    # would warn again about a record that is fine.
    rebuilt: bool = Field(False, exclude=True)

    def approval(self, key: str) -> Approval | None:
        return next((a for a in self.approvals if a.key == key), None)

    @model_validator(mode="before")
    @classmethod
    def _stored_once(cls, data: Any) -> Any:
        """Records written before the applied and stable specs were stored once (hash and spec in
        two fields each), and before one operation in flight replaced four fields, read as the new
        shape; an applied spec whose hash was not the applied hash any more (a job adopted since)
        keeps only the hash."""
        if not isinstance(data, dict) or not {*LEGACY_SPEC_FIELDS, *LEGACY_OPERATION_FIELDS} & data.keys():
            return data
        data = dict(data)
        applied_hash, applied_spec = data.pop("applied_hash", None), data.pop("applied_spec", None)
        stable_hash, stable_spec = data.pop("last_stable_hash", None), data.pop("last_stable_spec", None)
        if isinstance(applied_spec, AppliedSpec):
            applied_spec = applied_spec.model_dump()
        if "applied" not in data and (applied_hash or applied_spec):
            fits = applied_spec and applied_hash in (None, applied_spec.get("spec_hash"))
            data["applied"] = applied_spec if fits else {"spec_hash": applied_hash}
        if "stable" not in data and stable_hash:
            data["stable"] = {"spec_hash": stable_hash, "spec": stable_spec}
        if {*LEGACY_OPERATION_FIELDS} & data.keys():
            _one_operation(data)
        return data

    @property
    def applied_hash(self) -> str | None:
        return self.applied.spec_hash if self.applied is not None else None

    @property
    def applied_spec(self) -> AppliedSpec | None:
        """The applied spec when its fields are known (a rescale in place needs them)."""
        return self.applied if self.applied is not None and self.applied.spec is not None else None

    @property
    def last_stable_hash(self) -> str | None:
        return self.stable.spec_hash if self.stable is not None else None

    @property
    def last_stable_spec(self) -> dict[str, Any] | None:
        return self.stable.spec if self.stable is not None else None

    @property
    def upgrading(self) -> Upgrading | None:
        return self.operation if isinstance(self.operation, Upgrading) else None

    @property
    def rescaling(self) -> Rescaling | None:
        return self.operation if isinstance(self.operation, Rescaling) else None

    @property
    def savepointing(self) -> Savepointing | None:
        return self.operation if isinstance(self.operation, Savepointing) else None

    @property
    def submission(self) -> Start | None:
        """A submission in flight: intended (its id recorded) and not yet recorded as the job."""
        op = self.operation
        if isinstance(op, (Submitting, Upgrading)) and op.start.job_id != self.current_job_id:
            return op.start
        return None

    def last_savepoint(self) -> SavepointEntry | None:
        return max(self.savepoints, key=lambda s: s.taken_at) if self.savepoints else None


def _one_operation(data: dict[str, Any]) -> None:
    """The four shapes an operation in flight had before, as one: a savepoint in flight first
    (the next run settles it), then an upgrade, a rescale, a submission not yet recorded."""
    intended = data.pop("intended_job_id", None)
    intended_hash = data.pop("intended_hash", None)
    intended_savepoint = data.pop("intended_savepoint", None)
    upgrade, rescale, pending = (
        data.pop("upgrade", None),
        data.pop("rescale", None),
        data.pop("pending_savepoint", None),
    )
    start = (
        {"job_id": intended, "spec_hash": intended_hash, "restore_from": intended_savepoint}
        if intended and intended_hash
        else None
    )
    if start is not None and intended == data.get("current_job_id"):
        data.setdefault("started", start)
    if "operation" in data:
        return
    if pending:
        data["operation"] = {"kind": "savepoint", **pending}
    elif upgrade:
        up_start = {
            "job_id": upgrade["new_job_id"],
            "spec_hash": upgrade["to_hash"],
            "restore_from": upgrade.get("savepoint_path"),
        }
        data["operation"] = {
            "kind": "upgrade",
            "from_hash": upgrade.get("from_hash"),
            "start": up_start,
            "started_at": upgrade["started_at"],
        }
    elif rescale:
        data["operation"] = {"kind": "rescale", **rescale}
    elif start is not None and intended != data.get("current_job_id"):
        data["operation"] = {"kind": "submit", "start": start}


def summary(record: DeploymentRecord) -> str:
    """What a record says of the deployment, in one line (for a write that failed)."""
    parts = [f"revision {record.revision + 1}", f"job {record.current_job_id or 'none'}"]
    if record.applied_hash:
        parts.append(f"spec {record.applied_hash[:12]}")
    if record.operation is not None:
        parts.append(f"{record.operation.kind} in flight")
    newest = record.last_savepoint()
    if newest is not None:
        parts.append(f"newest savepoint {newest.path}")
    return ", ".join(parts)


def record_key(cluster: str, name: str) -> str:
    return f"{VARIABLE_PREFIX}.{cluster}.{name}"


def parse_record(raw: str | None, cluster: str, name: str) -> DeploymentRecord | None:
    """The stored record, or None when missing or unreadable (logged: it will be rebuilt)."""
    if raw in (None, ""):
        return None
    try:
        # Parsed by pydantic's own JSON reader: a cluster's thousands of records are read at once.
        return DeploymentRecord.model_validate_json(str(raw))
    except (ValueError, ValidationError) as err:
        log.warning(
            "Record of deployment %s on %s is unreadable (%s): rebuilding it from Flink",
            name,
            cluster,
            _first(err),
        )
        return None


def _first(err: ValueError) -> str:
    """The first thing wrong with a stored record, where it is: "status: Input should be ..."."""
    if isinstance(err, ValidationError) and err.errors():
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(err).splitlines()[0] if str(err) else type(err).__name__
