"""Deployment records: what Flink cannot tell, kept in Airflow's metadata DB (Variables, Task SDK).

Flink is the truth for what runs. A record adds what it cannot say: the spec applied, the job id
about to be submitted (intent, written *before* the request: I4), the savepoint history with
reasons, the last spec that ran healthy (for rollback), an upgrade in flight, recent restarts.

A missing or unreadable record is rebuilt from what Flink shows, with a warning; it never stops
the reconcile with a cryptic error.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from airflow_provider_flink.exceptions import DeploymentBusyError

log = logging.getLogger(__name__)

VARIABLE_PREFIX = "flink_deployment"


class SavepointEntry(BaseModel):
    path: str
    taken_at: float
    reason: str
    job_id: str
    checkpoint_id: int | None = None  # from its _metadata: what orders it among the deployment's snapshots


class PendingSavepoint(BaseModel):
    job_id: str
    trigger_id: str
    reason: str
    started_at: float


class FailedSpec(BaseModel):
    """A spec whose upgrade failed and was rolled back: not applied again until the declared spec
    changes or a person asks for a retry (``retry_failed``), so a broken spec does not cost a
    savepoint, a failing job and a rollback on every run."""

    spec_hash: str
    reason: str
    failed_at: float


class UpgradeInFlight(BaseModel):
    """An upgrade whose new job has not yet been seen healthy: rollback material."""

    from_hash: str | None
    to_hash: str
    savepoint_path: str | None
    started_at: float
    new_job_id: str


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


class RescaleInFlight(BaseModel):
    """A rescale in place asked for (intent, written before the request): the job keeps its id, so
    the record is what says which spec it runs once it runs at the new parallelism."""

    job_id: str
    from_parallelism: int
    to_parallelism: int
    to_hash: str
    started_at: float


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


HISTORY_KEPT = 50
LEGACY_SPEC_FIELDS = ("applied_hash", "applied_spec", "last_stable_hash", "last_stable_spec")


class DeploymentRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    cluster: str
    status: Literal["new", "running", "suspended"] = "new"
    applied: AppliedSpec | None = None  # the spec the current job runs
    rescale: RescaleInFlight | None = None
    rescaled: Rescaled | None = None
    current_job_id: str | None = None
    intended_job_id: str | None = None
    intended_hash: str | None = None
    intended_savepoint: str | None = None
    savepoints: list[SavepointEntry] = Field(default_factory=list)
    pending_savepoint: PendingSavepoint | None = None
    stable: AppliedSpec | None = None  # the last spec seen running healthy: the rollback target
    upgrade: UpgradeInFlight | None = None
    failed_spec: FailedSpec | None = None
    restarts: list[float] = Field(default_factory=list)
    hold: Hold | None = None
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

    @model_validator(mode="before")
    @classmethod
    def _stored_once(cls, data: Any) -> Any:
        """Records written before the applied and stable specs were stored once (hash and spec in
        two fields each) read as the new shape; an applied spec whose hash was not the applied hash
        any more (a job adopted since) keeps only the hash."""
        if not isinstance(data, dict) or not {*LEGACY_SPEC_FIELDS} & data.keys():
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

    def last_savepoint(self) -> SavepointEntry | None:
        return max(self.savepoints, key=lambda s: s.taken_at) if self.savepoints else None

    def remember(self, entry: HistoryEntry) -> None:
        """Add one action to the history, keeping the newest ``HISTORY_KEPT``."""
        self.history = [*self.history, entry][-HISTORY_KEPT:]


class RecordStore(Protocol):
    def get(self, cluster: str, name: str) -> DeploymentRecord | None: ...

    def put(self, record: DeploymentRecord) -> None: ...


def save_checked(store: RecordStore, record: DeploymentRecord) -> None:
    """Write the record, unless another actor wrote it since this run read it (I8).

    Airflow Variables have no compare-and-set, so this check and the write are two steps: two
    writers can still pass it together. It makes the loser of a race stop early; what makes a
    race safe is that both actors derive the same job and trigger ids (Flink runs each once).
    """
    stored = store.get(record.cluster, record.name)
    if stored is not None and stored.revision != record.revision:
        raise DeploymentBusyError(
            f"another reconcile changed the record of {record.name} while this run acted on it "
            f"(revision {stored.revision}, this run had {record.revision}): this run stops acting "
            "on it and leaves it to the other"
        )
    record.revision += 1
    store.put(record)


def note_failed_trigger(record: DeploymentRecord, trigger_id: str) -> None:
    """A savepoint Flink completed with a failure: its trigger id is not sent again."""
    record.failed_triggers = [*record.failed_triggers, trigger_id][-20:]


def record_key(cluster: str, name: str) -> str:
    return f"{VARIABLE_PREFIX}.{cluster}.{name}"


def parse_record(raw: str | None, cluster: str, name: str) -> DeploymentRecord | None:
    """The stored record, or None when missing or unreadable (logged: it will be rebuilt)."""
    if raw in (None, ""):
        return None
    try:
        return DeploymentRecord.model_validate(json.loads(str(raw)))
    except (ValueError, ValidationError) as err:
        log.warning(
            "Record of deployment %s on %s is unreadable (%s): rebuilding it from Flink",
            name,
            cluster,
            str(err).splitlines()[0],
        )
        return None


class VariableRecordStore:
    """Records as Airflow Variables ``flink_deployment.<cluster>.<name>`` (JSON)."""

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        from airflow.sdk import Variable

        return parse_record(Variable.get(record_key(cluster, name), default=None), cluster, name)

    def put(self, record: DeploymentRecord) -> None:
        from airflow.sdk import Variable

        Variable.set(
            record_key(record.cluster, record.name),
            record.model_dump_json(),
            description=f"Flink deployment record of {record.name} (written by airflow-provider-flink)",
        )


class MemoryRecordStore:
    """Records in a dict: for tests and dry runs."""

    def __init__(self) -> None:
        self.raw: dict[str, str] = {}

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        return parse_record(self.raw.get(record_key(cluster, name)), cluster, name)

    def put(self, record: DeploymentRecord) -> None:
        self.raw[record_key(record.cluster, record.name)] = record.model_dump_json()
