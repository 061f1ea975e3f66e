"""Desired against actual for every declared deployment: what the Flink page shows.

:func:`collect` reads the deployment files, each deployment's record, each cluster's job list (one
``GET /jobs/overview`` per cluster, whatever the number of deployments; a cluster that does not
answer shows its deployments as UNKNOWN, never as failed) and, for each deployment whose newest
job is live, its checkpoint history (one ``GET /jobs/:id/checkpoints``, a few at once; a failure
shows "-"). Past :data:`CHECKPOINT_ROWS` deployments, only the jobs whose spec limits the checkpoint
age are asked (the others' age shows "-"): a page of thousands answers in about the time of one
``/jobs/overview`` and one read of the records.
:func:`deployment_status` is the pure part: one spec, its record, the observed view -> one row.
:func:`refusal` says which page actions apply to a row, for the page's buttons and its API alike.
:func:`history` is a deployment's record as the history view shows it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields, is_dataclass
from functools import partial
from typing import Any, Literal
from urllib.parse import quote

from airflow_provider_flink.client.models import FAILING_STATES, JobOverview, JobState
from airflow_provider_flink.client.resilience import RetryPolicy
from airflow_provider_flink.deployments.lifecycle import Lifecycle, lifecycle
from airflow_provider_flink.deployments.observe import observe
from airflow_provider_flink.deployments.planner import ClusterView
from airflow_provider_flink.deployments.records import DeploymentRecord, HistoryEntry
from airflow_provider_flink.deployments.spec import DeploymentSpec, SpecPath, load_specs
from airflow_provider_flink.deployments.stores import RecordStore
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.triggers.conditions import is_healthy

StatusFilter = Literal["all", "attention", "running", "not-running", "suspended"]
STATUS_FILTERS: dict[str, str] = {
    "all": "all",
    "attention": "needs attention",
    "running": "job running",
    "not-running": "job not running",
    "suspended": "suspended",
}
# The page's actions, in the order of its buttons: each starts a flink_reconcile run (app.py).
ACTIONS: dict[str, str] = {
    "savepoint": "savepoint now",
    "suspend": "suspend",
    "resume": "resume",
    "retry": "retry the failed spec",
    "reconcile": "reconcile now",
}
# A page view must answer within seconds: one more try, then the row says what it could not see
# (the reconcile's own calls keep the full retry policy). A person can reload.
PAGE_RETRY = RetryPolicy(attempts=2, initial=0.2, maximum=1.0, give_up_after=5.0)
# A row's job state when the deployment has no job on its cluster (not a state of Flink's).
NO_JOB = "NONE"


@dataclass(frozen=True)
class ActionEntry:
    """One action the reconcile took (a record's :class:`HistoryEntry`), as the page shows it."""

    at: float  # epoch seconds
    age_s: float
    kind: str
    ok: bool
    detail: str
    job_id: str | None
    task_log: str | None  # the acting task's log in the Airflow UI, relative to its root URL


@dataclass(frozen=True)
class DeploymentStatus:
    name: str
    cluster: str
    declared_state: str  # running | suspended
    parallelism: int
    upgrade_mode: str
    job_id: str | None
    job_state: str  # Flink's state of the newest job; NONE (no job) or UNKNOWN (cluster not observed)
    lifecycle: str  # what the deployment is doing (deployments/lifecycle.py: the planner's word too)
    tasks_running: int | None
    tasks_total: int | None
    tasks_finished: int | None  # a bounded source's subtasks end: not a problem (see healthy)
    healthy: bool  # RUNNING with every task running (or finished): the reconcile's own judgement
    applied_hash: str | None  # the spec hash the running job was made from (12 characters)
    checkpoint_age_s: float | None  # since the live job's latest completed checkpoint was triggered
    last_savepoint: str | None
    last_savepoint_age_s: float | None
    restarts_in_window: int
    failed_spec: str | None  # why the declared spec was rolled back (not applied again until it changes)
    upgrade_in_flight: bool
    savepoint_in_progress: str | None  # its Flink trigger id
    flink_url: str | None
    attention: str | None  # the one thing a person should look at, or None
    held: bool  # suspended by a person from the page, whatever the file declares, until resumed
    held_age_s: float | None
    record_status: str | None  # what the reconcile last recorded: new | running | suspended
    last_action: ActionEntry | None

    @property
    def state(self) -> JobState | None:
        """``job_state`` read back: None for no job, UNKNOWN for a cluster not observed."""
        return None if self.job_state == NO_JOB else JobState(self.job_state)

    @property
    def suspended(self) -> bool:
        """Suspended, or on its way there (a person's hold or the file, while the job still stops)."""
        return self.lifecycle == Lifecycle.SUSPENDED.value or self.held or self.declared_state == "suspended"

    def matches(self, status: StatusFilter) -> bool:
        return {
            "all": True,
            "attention": self.attention is not None,
            "running": self.state is JobState.RUNNING,
            "not-running": self.state is not JobState.RUNNING,
            "suspended": self.suspended,
        }[status]

    def as_dict(self) -> dict[str, Any]:
        # What each action would do now: null when the page may start it, else why it refuses.
        row: dict[str, Any] = plain(self)
        return {**row, "actions": {a: refusal(self, a) for a in ACTIONS}}


def deployment_status(
    spec: DeploymentSpec,
    record: DeploymentRecord | None,
    view: ClusterView,
    job_url: str | None,
    now: float,
    checkpoint_at: float | None = None,
) -> DeploymentStatus:
    jobs = view.jobs_of(spec.name) if view.jobs is not None else []
    newest = jobs[-1] if jobs else None
    state = JobState.UNKNOWN if view.jobs is None else newest.state if newest is not None else None
    savepoint = record.last_savepoint() if record is not None else None
    window = spec.restart_policy.window_minutes * 60
    restarts = len([t for t in (record.restarts if record else []) if now - t <= window])
    failed = record.failed_spec.reason if record is not None and record.failed_spec else None
    hold = record.hold if record is not None else None
    tasks = newest.tasks if newest is not None else {}
    return DeploymentStatus(
        name=spec.name,
        cluster=spec.cluster,
        declared_state=spec.state,
        parallelism=spec.parallelism,
        upgrade_mode=spec.upgrade_mode,
        job_id=newest.jid if newest is not None else None,
        job_state=state.value if state is not None else NO_JOB,
        lifecycle=lifecycle(record, spec.state == "suspended", jobs if view.jobs is not None else None).value,
        tasks_running=tasks.get("running") if tasks else None,
        tasks_total=tasks.get("total") if tasks else None,
        tasks_finished=tasks.get("finished") if tasks else None,
        healthy=newest is not None and view.jobs is not None and is_healthy(newest),
        applied_hash=record.applied_hash[:12] if record is not None and record.applied_hash else None,
        # Flink's clock and ours may differ by a little: never a negative age.
        checkpoint_age_s=_age(now, checkpoint_at),
        last_savepoint=savepoint.path if savepoint else None,
        last_savepoint_age_s=_age(now, savepoint.taken_at) if savepoint else None,
        restarts_in_window=restarts,
        failed_spec=failed,
        upgrade_in_flight=record is not None and record.upgrading is not None,
        savepoint_in_progress=(
            record.savepointing.trigger_id if record is not None and record.savepointing else None
        ),
        flink_url=job_url if newest is not None else None,
        attention=_attention(spec, state, failed, view, hold is not None, _age(now, checkpoint_at)),
        held=hold is not None,
        held_age_s=_age(now, hold.at) if hold is not None else None,
        record_status=record.status if record is not None else None,
        last_action=action_entry(record.history[-1], now) if record is not None and record.history else None,
    )


def _age(now: float, at: float | None) -> float | None:
    return None if at is None else round(max(0.0, now - at), 1)


def _attention(
    spec: DeploymentSpec,
    state: JobState | None,  # None: no job
    failed: str | None,
    view: ClusterView,
    held: bool,
    checkpoint_age: float | None,
) -> str | None:
    if view.jobs is None:
        return f"cluster {spec.cluster} not observed: {view.error}"
    if failed:
        return f"declared spec rolled back: {failed}"
    if held:  # a person suspended it: no job is what they asked for
        return None
    if spec.state == "running" and state is not None and state in FAILING_STATES:
        return f"job {state.value}"
    if spec.state == "running" and state in (None, JobState.CANCELED) and not spec.bounded:
        return "declared running, no job runs"
    limit = spec.max_checkpoint_age_minutes
    if state is JobState.RUNNING and limit and checkpoint_age is not None and checkpoint_age > limit * 60:
        # A restart or recovery would refuse a checkpoint this old (the spec's limit): say it first.
        return f"latest checkpoint {checkpoint_age / 60:.1f} min old (limit {limit:g} min)"
    return None


def refusal(row: DeploymentStatus, action: str) -> str | None:
    """Why the page does not start ``action`` for this row now, or None when it may.

    The reconcile stays the judge (it checks again when its run starts); this keeps the page from
    starting a run that would do nothing without saying so.
    """
    if action == "reconcile":
        return None  # always useful: it looks, and does what the rules say
    if row.state is JobState.UNKNOWN:
        return f"cluster {row.cluster} not observed: the reconcile takes no action on it until it answers"
    if action == "retry":
        return None if row.failed_spec else "no failed spec: the declared spec was not rolled back"
    if action == "savepoint":  # the reconcile takes one only of a healthy job, one at a time
        if row.savepoint_in_progress:
            return f"a savepoint ({row.savepoint_in_progress}) is already in progress"
        if row.state is not JobState.RUNNING:
            return f"no running job (job state {row.job_state})"
        return (
            None
            if row.healthy
            else f"job not healthy yet ({row.tasks_running}/{row.tasks_total} tasks running)"
        )
    if action == "suspend":
        if row.declared_state == "suspended":
            return "declared suspended in its file"
        if row.held:
            return "already suspended from the page"
        return "already suspended" if row.record_status == "suspended" else None
    if action == "resume":
        if row.declared_state == "suspended":
            return "declared suspended in its file: set state: running there"
        return None if row.held or row.record_status == "suspended" else "not suspended"
    raise ValueError(f"unknown action {action!r}")


def plain(value: Any) -> Any:
    """A row as JSON types. Why not ``dataclasses.asdict``: it deep-copies every value, 1.4 of the
    3.7 s a 10,000-deployment page took; the rows hold only plain values, lists and rows."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def task_log(run: str | None) -> str | None:
    """The Airflow UI's page of the task log a history entry names (``dag_id/run_id/task_id/try``),
    relative to the UI's root URL; None when the entry names none or cannot be read."""
    parts = (run or "").split("/")
    if len(parts) < 4 or not parts[-1].isdigit():
        return None
    # A run id may hold anything but the dag and task ids cannot hold "/": it is what lies between.
    dag_id, run_id, task_id, try_number = parts[0], "/".join(parts[1:-2]), parts[-2], parts[-1]
    dag, run_, task = (quote(s, safe="") for s in (dag_id, run_id, task_id))
    return f"dags/{dag}/runs/{run_}/tasks/{task}?try_number={try_number}"


def action_entry(entry: HistoryEntry, now: float) -> ActionEntry:
    return ActionEntry(
        at=entry.at,
        age_s=_age(now, entry.at) or 0.0,
        kind=entry.kind,
        ok=entry.ok,
        detail=entry.detail,
        job_id=entry.job_id,
        task_log=task_log(entry.run),
    )


@dataclass(frozen=True)
class SavepointRow:
    path: str
    taken_at: float
    age_s: float
    reason: str
    job_id: str


@dataclass(frozen=True)
class History:
    """A deployment's record as its history view shows it, newest first."""

    actions: list[ActionEntry]
    savepoints: list[SavepointRow]
    rollbacks: list[ActionEntry]  # rollbacks, and upgrades that failed
    held_by: str | None  # the run that recorded a hold

    def as_dict(self) -> dict[str, Any]:
        view: dict[str, Any] = plain(self)
        return view


def history(record: DeploymentRecord | None, now: float) -> History:
    if record is None:
        return History([], [], [], None)
    actions = [action_entry(e, now) for e in reversed(record.history)]
    savepoints = [
        SavepointRow(s.path, s.taken_at, _age(now, s.taken_at) or 0.0, s.reason, s.job_id)
        for s in sorted(record.savepoints, key=lambda s: s.taken_at, reverse=True)
    ]
    return History(
        actions=actions,
        savepoints=savepoints,
        rollbacks=[a for a in actions if a.kind == "rollback" or (a.kind == "upgrade" and not a.ok)],
        held_by=record.hold.by if record.hold is not None else None,
    )


CHECKPOINT_ROWS = 100  # up to this many deployments, every live job's checkpoint age is shown
CHECKPOINT_CALLS_AT_ONCE = 8


def collect(
    folder: SpecPath,
    store: RecordStore,
    now: float | None = None,
    only: str | None = None,
    checkpoints: bool = True,
    hook_for: Callable[[str], FlinkHook] | None = None,
) -> tuple[list[DeploymentStatus], list[str]]:
    """Every declared deployment's row (sorted by cluster, name; ``only``: that one) and the files
    that do not parse. ``checkpoints``: ask live jobs' checkpoint ages (one call per job; past
    :data:`CHECKPOINT_ROWS` deployments only those whose spec limits the age)."""
    now = time.time() if now is None else now
    specs, problems = load_specs(folder)
    specs = [s for s in specs if only is None or s.name == only]
    make_hook = hook_for or (lambda cluster: FlinkHook(cluster, retry=PAGE_RETRY))
    rows: list[DeploymentStatus] = []
    for cluster in sorted({spec.cluster for spec in specs}):
        members = sorted((s for s in specs if s.cluster == cluster), key=lambda s: s.name)
        records = store.get_many(cluster, None if only is None else [only])  # one query per cluster
        hook = make_hook(cluster)
        try:
            view = observe(hook, cluster)
            newest = {spec.name: _newest(view, spec.name) for spec in members}
            every = len(specs) <= CHECKPOINT_ROWS
            asked = [
                job.jid
                for spec in members
                if checkpoints
                and (job := newest[spec.name]) is not None
                and not job.state.is_globally_terminal
                and (every or spec.max_checkpoint_age_minutes)
            ]
            with ThreadPoolExecutor(CHECKPOINT_CALLS_AT_ONCE) as pool:
                ages = dict(zip(asked, pool.map(partial(_checkpoint_at, hook), asked), strict=True))
            for spec in members:
                job = newest[spec.name]
                url = _job_url(hook, job.jid) if job is not None else None
                checkpoint = ages.get(job.jid) if job is not None else None
                rows.append(deployment_status(spec, records.get(spec.name), view, url, now, checkpoint))
        finally:
            hook.close()
    return rows, [str(p) for p in problems]


def _newest(view: ClusterView, name: str) -> JobOverview | None:
    jobs = view.jobs_of(name) if view.jobs is not None else []
    return jobs[-1] if jobs else None


def _checkpoint_at(hook: FlinkHook, job_id: str) -> float | None:
    """When the job's latest completed checkpoint was triggered (epoch s), or None: none yet, or
    Flink did not say (a page view never fails for it)."""
    try:
        found = hook.checkpoint_history(job_id)
    except Exception:  # unreachable, timed out, an answer it could not read: the cell shows "-"
        return None
    completed = found.latest.completed if found is not None else None
    stamp = completed.trigger_timestamp if completed is not None else None
    return stamp / 1000 if stamp else None


def _job_url(hook: FlinkHook, job_id: str) -> str | None:
    try:
        return hook.job_url(job_id)
    except Exception:  # a connection without a usable URL: the row still shows
        return None
