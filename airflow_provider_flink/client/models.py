"""Pydantic models of the Flink REST requests and responses this provider uses.

Every response model ignores fields it does not know and gives defaults to fields that not every
Flink version sends, so one model reads both Flink 1.20 and 2.x. Field names follow Python; the
REST spellings (``slots-total``, ``external_path``, ``jid`` ...) are aliases.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, RootModel, field_validator

from airflow_provider_flink.client.errors import root_cause

HEX32 = r"^[0-9a-f]{32}$"


class _Response(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class _Tolerant(str, enum.Enum):
    """A Flink vocabulary read leniently: a value a future Flink adds is UNKNOWN, not an error."""

    @classmethod
    def _missing_(cls, value: object) -> _Tolerant:
        # A state added by a future Flink must not break parsing: it is simply not understood.
        return cls("UNKNOWN")


class JobState(_Tolerant):
    """A Flink job status, plus UNKNOWN for "could not be observed" (never the same as FAILED).

    Code compares states through these members and the named sets below, never as strings: a state
    that arrives as a string (a persisted cursor, a trigger's payload, a row of the Flink page) is
    read with ``JobState(value)`` first. Strings that leave the provider (messages, payloads, XCom)
    use ``.value``: ``str()`` and f-strings of a member give ``JobState.RUNNING``, not ``RUNNING``.
    """

    INITIALIZING = "INITIALIZING"
    CREATED = "CREATED"
    RUNNING = "RUNNING"
    FAILING = "FAILING"
    FAILED = "FAILED"
    CANCELLING = "CANCELLING"
    CANCELED = "CANCELED"
    FINISHED = "FINISHED"
    RESTARTING = "RESTARTING"
    SUSPENDED = "SUSPENDED"
    RECONCILING = "RECONCILING"
    UNKNOWN = "UNKNOWN"

    @property
    def is_globally_terminal(self) -> bool:
        """Flink will never run this job again (SUSPENDED is terminal only for one JobManager)."""
        return self in TERMINAL

    @property
    def is_failure(self) -> bool:
        return self in FAILURE


# The named sets of job states, defined here once; no set holds UNKNOWN (unknown is not failed, nor
# anything else). tests/unit/test_models.py checks how they relate.
#: Globally terminal: Flink will never run the job again.
TERMINAL: frozenset[JobState] = frozenset({JobState.FAILED, JobState.CANCELED, JobState.FINISHED})
#: The job failed, or is failing now.
FAILURE: frozenset[JobState] = frozenset({JobState.FAILING, JobState.FAILED})
#: A task failed and Flink is handling it: the job restarts (or, out of restarts, fails).
RECOVERING: frozenset[JobState] = frozenset({JobState.FAILING, JobState.RESTARTING})
#: Failed, failing or restarting after a failure: worth Flink's root cause, and a person at once.
FAILING_STATES: frozenset[JobState] = frozenset({JobState.FAILING, JobState.FAILED, JobState.RESTARTING})
#: Where a running job goes when something (a failure, a person, its end) took it out of RUNNING:
#: failing, ended or ending, suspended. A reconcile (or a person) must look at it.
LEFT_RUNNING: frozenset[JobState] = FAILING_STATES | frozenset(
    {JobState.CANCELLING, JobState.CANCELED, JobState.FINISHED, JobState.SUSPENDED}
)
#: A job in one of these may still become healthy (RESTARTING too: it is on its way back).
COMING_UP: frozenset[JobState] = frozenset(
    {JobState.CREATED, JobState.INITIALIZING, JobState.RUNNING, JobState.RECONCILING, JobState.RESTARTING}
)


def named_states(values: Iterable[str]) -> frozenset[JobState]:
    """The states ``values`` name, as Flink spells them (a sensor's ``target_states``, a trigger's
    ``states``). A string that names no state is left out, so it matches no job: not even one whose
    state is UNKNOWN, as ``JobState(value)`` would have it."""
    wanted = set(values)
    return frozenset(state for state in JobState if state.value in wanted)


class VertexState(_Tolerant):
    """A vertex's (or a task's) status in ``/jobs/{id}``: Flink's ExecutionState, a vocabulary of
    its own (SCHEDULED, DEPLOYING; CANCELING with one L), plus UNKNOWN for one not understood.
    ``Vertex.status`` keeps Flink's string, so progress lines show what Flink said."""

    CREATED = "CREATED"
    SCHEDULED = "SCHEDULED"
    DEPLOYING = "DEPLOYING"
    INITIALIZING = "INITIALIZING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    FAILED = "FAILED"
    RECONCILING = "RECONCILING"
    UNKNOWN = "UNKNOWN"


#: A vertex that does not keep its RUNNING job from being healthy: RUNNING, or FINISHED while the
#: job runs on (a source subtask with no split to read ends FINISHED at once).
VERTEX_UP: frozenset[VertexState] = frozenset({VertexState.RUNNING, VertexState.FINISHED})


# ------------------------------------------------------------------------- cluster
class ClusterOverview(_Response):
    taskmanagers: int = 0
    slots_total: int = Field(0, alias="slots-total")
    slots_available: int = Field(0, alias="slots-available")
    jobs_running: int = Field(0, alias="jobs-running")
    jobs_finished: int = Field(0, alias="jobs-finished")
    jobs_cancelled: int = Field(0, alias="jobs-cancelled")
    jobs_failed: int = Field(0, alias="jobs-failed")
    flink_version: str = Field("", alias="flink-version")
    flink_commit: str = Field("", alias="flink-commit")


class ConfigEntry(_Response):
    key: str
    value: str


class JobManagerConfig(RootModel[list[ConfigEntry]]):
    """``GET /jobmanager/config``: a list of key/value pairs."""

    def as_dict(self) -> dict[str, str]:
        return {entry.key: entry.value for entry in self.root}


class TaskManager(_Response):
    id: str
    slots_number: int = Field(0, alias="slotsNumber")
    free_slots: int = Field(0, alias="freeSlots")


class TaskManagers(_Response):
    taskmanagers: list[TaskManager] = Field(default_factory=list)


# ------------------------------------------------------------------------- jobs
class _Job(_Response):
    """What ``/jobs/overview`` and ``/jobs/{id}`` both say of a job."""

    jid: str
    name: str = ""
    state: JobState = JobState.UNKNOWN
    start_time: int = Field(-1, alias="start-time")
    end_time: int = Field(-1, alias="end-time")


class JobOverview(_Job):
    tasks: dict[str, int] = Field(default_factory=dict)


class JobsOverview(_Response):
    jobs: list[JobOverview] = Field(default_factory=list)

    def by_id(self) -> dict[str, JobOverview]:
        return {job.jid: job for job in self.jobs}


class VertexIO(_Response):
    """A vertex's counters in ``/jobs/{id}``, summed over its subtasks since the job started (the
    JobManager's metric fetcher refreshes them every ``metrics.fetcher.update-interval``)."""

    read_records: int = Field(0, alias="read-records")
    write_records: int = Field(0, alias="write-records")
    # Milliseconds the subtasks spent back-pressured, summed over them.
    backpressured_ms: int = Field(0, alias="accumulated-backpressured-time")


class Vertex(_Response):
    id: str
    name: str = ""
    parallelism: int = 0
    max_parallelism: int | None = Field(None, alias="maxParallelism")
    status: str = "UNKNOWN"
    metrics: VertexIO = Field(default_factory=VertexIO)


class PlanInput(_Response):
    id: str


class PlanNode(_Response):
    id: str
    inputs: list[PlanInput] = Field(default_factory=list)
    # The chained operators' names, HTML ("Source: ticks<br/>+- sink: Writer<br/>"): what lineage
    # reads sources and sinks from (lineage/datasets.py).
    description: str = ""


class JobPlan(_Response):
    nodes: list[PlanNode] = Field(default_factory=list)


class JobDetail(_Job):
    vertices: list[Vertex] = Field(default_factory=list)
    plan: JobPlan = Field(default_factory=JobPlan)
    job_type: str | None = Field(None, alias="job-type")  # STREAMING or BATCH
    # The scheduler running this job ("Adaptive", "Default", ...): Flink 2.3 says so per job; 1.20
    # does not (None), and then only the cluster's configuration tells.
    scheduler_type: str | None = Field(None, alias="schedulerType")


# ------------------------------------------------------------------------- resource requirements
class ParallelismBounds(_Response):
    """The range the adaptive scheduler keeps one vertex's parallelism within."""

    lower_bound: int = Field(alias="lowerBound")
    upper_bound: int = Field(alias="upperBound")


class VertexRequirements(_Response):
    parallelism: ParallelismBounds


class JobResourceRequirements(RootModel[dict[str, VertexRequirements]]):
    """``GET`` and ``PUT /jobs/{id}/resource-requirements`` (the same shape both ways, on Flink
    1.20 and 2.x): per job vertex id, ``{"parallelism": {"lowerBound": l, "upperBound": u}}``.

    Only the adaptive scheduler answers or applies it. A ``PUT`` must name every vertex of the job
    (Flink refuses an incomplete one), with 1 <= lower <= upper <= the vertex's max parallelism.
    """

    model_config = ConfigDict(frozen=True)

    @classmethod
    def of(cls, bounds: dict[str, tuple[int, int]]) -> JobResourceRequirements:
        """Requirements from ``{vertex id: (lower, upper)}``, checked as Flink checks them, so a
        bad request fails here before anything is sent."""
        if not bounds:
            raise ValueError("resource requirements must name at least one job vertex")
        for vertex, (lower, upper) in bounds.items():
            if lower < 1 or upper < 1:
                raise ValueError(
                    f"parallelism bounds of vertex {vertex} must be at least 1, got {lower}..{upper}"
                )
            if lower > upper:
                raise ValueError(f"lower bound {lower} of vertex {vertex} is above its upper bound {upper}")
        return cls.model_validate(
            {v: {"parallelism": {"lowerBound": lo, "upperBound": up}} for v, (lo, up) in bounds.items()}
        )

    def bounds(self) -> dict[str, tuple[int, int]]:
        """``{vertex id: (lower, upper)}``."""
        return {v: (r.parallelism.lower_bound, r.parallelism.upper_bound) for v, r in self.root.items()}

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = self.model_dump(by_alias=True)
        return data


class ExceptionEntry(_Response):
    exception_name: str = Field("", alias="exceptionName")
    stacktrace: str = ""
    timestamp: int = 0
    task_name: str | None = Field(None, alias="taskName")


class ExceptionHistory(_Response):
    entries: list[ExceptionEntry] = Field(default_factory=list)
    truncated: bool = False


class ExecutionConfig(_Response):
    # The job's global job parameters (``pipeline.global-job-parameters``): where the provider puts
    # what started the job (airflow.* keys), shown in the Flink UI's Configuration tab.
    user_config: dict[str, Any] = Field(default_factory=dict, alias="user-config")


class JobConfig(_Response):
    """``GET /jobs/{id}/config``."""

    execution_config: ExecutionConfig = Field(default_factory=ExecutionConfig, alias="execution-config")


class JobExceptions(_Response):
    """``GET /jobs/{id}/exceptions``; 1.x also sends the deprecated ``root-exception``."""

    exception_history: ExceptionHistory = Field(default_factory=ExceptionHistory, alias="exceptionHistory")
    legacy_root_exception: str | None = Field(None, alias="root-exception")

    def root_cause(self) -> str | None:
        """The latest failure's deepest cause as one line, or None when the job never failed."""
        entries = sorted(self.exception_history.entries, key=lambda e: e.timestamp, reverse=True)
        if entries and entries[0].stacktrace:
            return root_cause(entries[0].stacktrace)
        if self.legacy_root_exception:
            return root_cause(self.legacy_root_exception)
        return None


class CheckpointInfo(_Response):
    id: int = 0
    status: str = ""
    is_savepoint: bool = False
    external_path: str | None = None
    trigger_timestamp: int | None = None
    restore_timestamp: int | None = None


class LatestCheckpoints(_Response):
    completed: CheckpointInfo | None = None
    savepoint: CheckpointInfo | None = None
    failed: CheckpointInfo | None = None
    restored: CheckpointInfo | None = None


class CheckpointCounts(_Response):
    restored: int = 0
    total: int = 0
    in_progress: int = 0
    completed: int = 0
    failed: int = 0


class JobCheckpoints(_Response):
    counts: CheckpointCounts = Field(default_factory=CheckpointCounts)
    latest: LatestCheckpoints = Field(default_factory=LatestCheckpoints)


class Externalization(_Response):
    enabled: bool = False
    delete_on_cancellation: bool = True


class CheckpointConfig(_Response):
    """``GET /jobs/{id}/checkpoints/config``: what the running job does with its checkpoints."""

    externalization: Externalization = Field(default_factory=Externalization)

    @property
    def survives_cancel(self) -> bool:
        """Whether a cancel leaves the job's completed checkpoints on storage. Flink's default
        (DELETE_ON_CANCELLATION, or none retained at all) deletes them."""
        return self.externalization.enabled and not self.externalization.delete_on_cancellation


class AggregatedMetric(_Response):
    id: str
    min: float | None = None
    max: float | None = None
    avg: float | None = None
    sum: float | None = None


class AggregatedMetrics(RootModel[list[AggregatedMetric]]):
    def by_id(self) -> dict[str, AggregatedMetric]:
        return {m.id: m for m in self.root}


class MetricValue(_Response):
    id: str
    value: str | None = None


class Metrics(RootModel[list[MetricValue]]):
    """``GET /jobs/{id}/metrics?get=a,b``: ``[{"id": "a", "value": "14"}]``; a metric the job does
    not have is left out of the answer."""

    def numbers(self) -> dict[str, float]:
        """The values that are numbers, by name (Flink sends them as strings)."""
        found: dict[str, float] = {}
        for metric in self.root:
            try:
                found[metric.id] = float(metric.value) if metric.value is not None else float("nan")
            except ValueError:
                continue
            if found[metric.id] != found[metric.id]:  # NaN: not a number after all
                del found[metric.id]
        return found


# ------------------------------------------------------------------------- jars
class JarUploaded(_Response):
    filename: str
    status: str = ""

    @property
    def jar_id(self) -> str:
        """Flink names an uploaded jar by the basename of the stored file."""
        return self.filename.rsplit("/", 1)[-1]


class JarEntry(_Response):
    name: str
    description: str | None = None


class JarFile(_Response):
    id: str
    name: str = ""
    uploaded: int = 0
    entry: list[JarEntry] = Field(default_factory=list)


class JarList(_Response):
    address: str = ""
    files: list[JarFile] = Field(default_factory=list)


ClaimMode = Literal["CLAIM", "NO_CLAIM", "LEGACY"]


class JarRunRequest(BaseModel):
    """Body of ``POST /jars/{id}/run``.

    ``job_id`` is chosen by the caller (32 lowercase hex) so that a repeated submission is
    recognised by Flink as a duplicate instead of starting a second copy (invariant I1).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    entry_class: str | None = Field(None, alias="entryClass")
    program_args: list[str] | None = Field(None, alias="programArgsList")
    parallelism: int | None = Field(None, ge=1)
    job_id: str | None = Field(None, alias="jobId", pattern=HEX32)
    savepoint_path: str | None = Field(None, alias="savepointPath")
    allow_non_restored_state: bool | None = Field(None, alias="allowNonRestoredState")
    claim_mode: ClaimMode | None = None
    flink_configuration: dict[str, str] | None = Field(None, alias="flinkConfiguration")

    @field_validator("flink_configuration", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        # Flink's configuration values are strings; YAML/JSON users write numbers and booleans.
        if isinstance(value, dict):
            return {str(k): _as_flink_value(v) for k, v in value.items()}
        return value

    def body(self, flink_version: str | None = None) -> dict[str, Any]:
        """The JSON body; the claim mode goes under the name this Flink version reads."""
        data = self.model_dump(by_alias=True, exclude_none=True, exclude={"claim_mode"})
        if self.claim_mode is not None:
            data[_claim_mode_field(flink_version)] = self.claim_mode
        return data


def _as_flink_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _claim_mode_field(flink_version: str | None) -> str:
    """``claimMode`` from Flink 1.20 on (the only name in 2.x); ``restoreMode`` before."""
    if not flink_version:
        return "claimMode"
    try:
        major, minor = (int(part) for part in flink_version.split(".")[:2])
    except ValueError:
        return "claimMode"
    return "claimMode" if (major, minor) >= (1, 20) else "restoreMode"


class JobSubmitted(_Response):
    jobid: str


# ------------------------------------------------------------------------- applications (Flink 2.3+)
class ApplicationState(_Tolerant):
    """An application's status (FLIP-549), plus UNKNOWN. FAILING and CANCELING are on the way to
    FAILED and CANCELED, not the end: only :data:`APPLICATION_ENDED` is."""

    CREATED = "CREATED"
    RUNNING = "RUNNING"
    FAILING = "FAILING"
    FAILED = "FAILED"
    CANCELING = "CANCELING"
    CANCELED = "CANCELED"
    FINISHED = "FINISHED"
    UNKNOWN = "UNKNOWN"


#: Flink will never run the application's ``main`` (or start a job of it) again.
APPLICATION_ENDED: frozenset[ApplicationState] = frozenset(
    {ApplicationState.FAILED, ApplicationState.CANCELED, ApplicationState.FINISHED}
)


class ApplicationSubmitted(_Response):
    """The 202 of ``POST /jars/{id}/run-application``; Flink 2.3.0 spells the field ``applicationid``."""

    application_id: str = Field(validation_alias=AliasChoices("applicationid", "applicationId"))


class ApplicationOverview(_Response):
    """One application in ``GET /applications/overview``."""

    id: str
    name: str = ""
    status: ApplicationState = ApplicationState.UNKNOWN
    start_time: int = Field(0, alias="start-time")

    @property
    def ended(self) -> bool:
        return self.status in APPLICATION_ENDED


class ApplicationsOverview(_Response):
    applications: list[ApplicationOverview] = Field(default_factory=list)


class ApplicationDetail(_Response):
    """``GET /applications/{id}``: the application and the jobs its ``main`` has started so far."""

    id: str
    name: str = ""
    status: ApplicationState = ApplicationState.UNKNOWN
    jobs: list[JobOverview] = Field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.status in APPLICATION_ENDED

    def job(self, job_id: str) -> JobOverview | None:
        return next((job for job in self.jobs if job.jid == job_id), None)


class ApplicationExceptions(_Response):
    """``GET /applications/{id}/exceptions``: why the application failed (its ``main``, or a job)."""

    exception_history: ExceptionHistory = Field(default_factory=ExceptionHistory, alias="exceptionHistory")

    def stack_traces(self) -> list[str]:
        """Every recorded stack trace, oldest first: the last one is the newest failure's (the
        one whose innermost cause an error reports)."""
        entries = sorted(self.exception_history.entries, key=lambda e: e.timestamp)
        return [entry.stacktrace for entry in entries if entry.stacktrace]


# ------------------------------------------------------------------------- async operations
class TriggerAccepted(_Response):
    request_id: str = Field(alias="request-id")


class FailureCause(_Response):
    class_name: str = Field("", alias="class")
    stack_trace: str = Field("", alias="stack-trace")

    def describe(self) -> str:
        return root_cause(self.stack_trace) if self.stack_trace else self.class_name


class OperationResult(_Response):
    location: str | None = None
    failure_cause: FailureCause | None = Field(None, alias="failure-cause")


class QueueStatus(_Response):
    id: str


class AsyncOperationStatus(_Response):
    """Status of a savepoint, stop-with-savepoint or disposal.

    Flink reports a *failed* operation as ``COMPLETED`` with a ``failure-cause``: only a
    COMPLETED status without one is a success.
    """

    status: QueueStatus
    operation: OperationResult | None = None

    @property
    def in_progress(self) -> bool:
        return self.status.id != "COMPLETED"

    @property
    def succeeded(self) -> bool:
        return not self.in_progress and (self.operation is None or self.operation.failure_cause is None)

    @property
    def failure(self) -> str | None:
        """Flink's root cause of a failed operation, else None."""
        if self.in_progress or self.operation is None or self.operation.failure_cause is None:
            return None
        return self.operation.failure_cause.describe()

    @property
    def location(self) -> str | None:
        return self.operation.location if self.operation else None


class CheckpointResult(_Response):
    checkpoint_id: int | None = Field(None, alias="checkpointId")
    failure_cause: FailureCause | None = Field(None, alias="failureCause")


class CheckpointTriggerStatus(_Response):
    """``GET /jobs/{id}/checkpoints/{trigger id}`` (Flink 1.19+): a checkpoint asked for through
    ``POST /jobs/{id}/checkpoints``. As with savepoints, a failed one also says ``COMPLETED``, with a
    ``failureCause`` (camel case here) instead of a ``checkpointId``."""

    status: QueueStatus
    operation: CheckpointResult | None = None

    @property
    def in_progress(self) -> bool:
        return self.status.id != "COMPLETED"

    @property
    def checkpoint_id(self) -> int | None:
        return self.operation.checkpoint_id if self.operation else None

    @property
    def failure(self) -> str | None:
        """Flink's root cause of a failed checkpoint, else None."""
        if self.in_progress or self.operation is None:
            return None
        if self.operation.failure_cause is not None:
            return self.operation.failure_cause.describe()
        return None if self.operation.checkpoint_id is not None else "Flink reported no checkpoint id"


SavepointFormat = Literal["CANONICAL", "NATIVE"]
