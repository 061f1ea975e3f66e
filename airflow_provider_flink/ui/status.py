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
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from airflow_provider_flink.client.models import FAILING_STATES, JobOverview, JobState
from airflow_provider_flink.client.resilience import RetryPolicy
from airflow_provider_flink.deployments.approvals import cluster_risks
from airflow_provider_flink.deployments.drift import judge
from airflow_provider_flink.deployments.lifecycle import Lifecycle, lifecycle
from airflow_provider_flink.deployments.observe import observe
from airflow_provider_flink.deployments.planner import ClusterView
from airflow_provider_flink.deployments.records import DeploymentRecord, HistoryEntry
from airflow_provider_flink.deployments.samples import Sample, charts
from airflow_provider_flink.deployments.spec import RISKS, DeploymentSpec, SpecPath, load_specs
from airflow_provider_flink.deployments.stores import RecordStore
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.ids import PREFIX_LENGTH
from airflow_provider_flink.triggers.conditions import is_healthy

T = TypeVar("T")

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
    "clear-restarts": "clear the restart limit",
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
class JobRow:
    """The deployment's newest job, told apart from its other jobs: every job id of a deployment
    starts with the same 12 hex (its name's digest), so the page shows what follows them."""

    id: str
    tag: str  # the 12 hex of the spec it was submitted with, then the 8 of its transition
    spec: str  # the 12 hex of the spec it runs now (a rescale in place keeps the id)
    started_at: float | None  # epoch seconds (Flink's start time)
    exceptions_url: str | None  # its exceptions in the Flink UI


@dataclass(frozen=True)
class DriftRow:
    """A job field the declared spec changes (deployments/drift.py)."""

    field: str
    applied: Any
    declared: Any
    text: str  # "parallelism: 2 -> 1 (declared)"


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
    # Desired against actual (deployments/drift.py: the planner's own judgement).
    declared_hash: str | None  # 12 hex; None: not known here (declared_hash_note says why)
    declared_hash_note: str | None
    drift: list[DriftRow]
    in_sync: bool | None
    next_step: list[str]  # what a reconcile run would do now
    why_not_applied: str | None
    actual_parallelism: int | None  # the live job's, as Flink reports it (its widest task)
    job: JobRow | None
    restart_limit: int
    restart_window_minutes: float
    restart_limit_reached: bool
    root_cause: str | None  # the failed job's latest exception, one line (Flink's exception history)

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

    def as_dict(self, may_not: str | None = None) -> dict[str, Any]:
        """The row as JSON; ``actions`` says what each action would do now: null when the page may
        start it, else why it refuses (``may_not``: why this person may start none)."""
        row: dict[str, Any] = plain(self)
        return {**row, "actions": {a: may_not or refusal(self, a) for a in ACTIONS}}


def deployment_status(
    spec: DeploymentSpec,
    record: DeploymentRecord | None,
    view: ClusterView,
    job_url: str | None,
    now: float,
    checkpoint_at: float | None = None,
    facts: JobFacts | None = None,
    reconcile_paused: bool = False,
    cluster_requires: frozenset[str] = frozenset(),
) -> DeploymentStatus:
    facts = facts or JobFacts(checkpoint_at=checkpoint_at)
    checkpoint_at = facts.checkpoint_at
    jobs = view.jobs_of(spec.name) if view.jobs is not None else []
    newest = jobs[-1] if jobs else None
    state = JobState.UNKNOWN if view.jobs is None else newest.state if newest is not None else None
    savepoint = record.last_savepoint() if record is not None else None
    policy = spec.restart_policy
    window = policy.window_minutes * 60
    restarts = len([t for t in (record.restarts if record else []) if now - t <= window])
    limit_reached = policy.enabled and restarts >= policy.max_restarts
    judged = judge(
        spec,
        record,
        view,
        now,
        reconcile_paused,
        cluster_requires=cluster_requires,
        checkpoint_age=_age(now, checkpoint_at),
    )
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
        attention=_attention(
            spec, state, failed, view, hold is not None, _age(now, checkpoint_at), limit_reached, restarts
        ),
        held=hold is not None,
        held_age_s=_age(now, hold.at) if hold is not None else None,
        record_status=record.status if record is not None else None,
        last_action=action_entry(record.history[-1], now) if record is not None and record.history else None,
        declared_hash=judged.declared_hash,
        declared_hash_note=judged.declared_hash_note,
        drift=[DriftRow(c.field, c.applied, c.declared, c.text) for c in judged.changes],
        in_sync=judged.in_sync,
        next_step=judged.next_step,
        why_not_applied=judged.why_not_applied,
        actual_parallelism=facts.parallelism,
        job=_job_row(newest, judged.running_hash, job_url, facts.exceptions_url),
        restart_limit=policy.max_restarts,
        restart_window_minutes=policy.window_minutes,
        restart_limit_reached=limit_reached,
        root_cause=facts.root_cause,
    )


def _job_row(
    job: JobOverview | None, running: str | None, url: str | None, exceptions: str | None
) -> JobRow | None:
    if job is None:
        return None
    return JobRow(
        id=job.jid,
        tag=f"{job.jid[PREFIX_LENGTH:24]}·{job.jid[24:]}",
        spec=running or job.jid[PREFIX_LENGTH:24],
        started_at=job.start_time / 1000 if job.start_time > 0 else None,
        exceptions_url=exceptions,
    )


@dataclass(frozen=True)
class JobFacts:
    """What the page asks Flink of one job beyond the job list (each None when not asked, or
    Flink did not answer: a page view never fails for it)."""

    checkpoint_at: float | None = None  # when its latest completed checkpoint was triggered
    parallelism: int | None = None  # its widest task's parallelism
    root_cause: str | None = None  # a failed job's latest exception
    exceptions_url: str | None = None


def _age(now: float, at: float | None) -> float | None:
    return None if at is None else round(max(0.0, now - at), 1)


def _attention(
    spec: DeploymentSpec,
    state: JobState | None,  # None: no job
    failed: str | None,
    view: ClusterView,
    held: bool,
    checkpoint_age: float | None,
    limit_reached: bool = False,
    restarts: int = 0,
) -> str | None:
    if view.jobs is None:
        return f"cluster {spec.cluster} not observed: {view.error}"
    if failed:
        return f"declared spec rolled back: {failed}"
    if held:  # a person suspended it: no job is what they asked for
        return None
    if spec.state == "running" and state is JobState.FAILED and limit_reached:
        policy = spec.restart_policy
        return (
            f"job FAILED: restart limit reached ({restarts} restarts in {policy.window_minutes:g} min, "
            f"limit {policy.max_restarts}); not restarted until it is cleared"
        )
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
    if action == "clear-restarts":
        return (
            None
            if row.restarts_in_window
            else f"no restart counted in the last {row.restart_window_minutes:g} min: nothing to clear"
        )
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


# The reconcile's own restarts of a deployment's job (a failed or lost job started again).
PROVIDER_RESTARTS = frozenset({"restart", "recover"})


def chart_view(
    record: DeploymentRecord | None, samples: list[Sample] | None, hours: float, now: float, every: float
) -> dict[str, Any]:
    """One deployment's charts over the last ``hours``: the samples (None: the store keeps none)
    and the provider's restarts from the record's history."""
    since = now - hours * 3600
    restarts = [e.at for e in (record.history if record else []) if e.kind in PROVIDER_RESTARTS and e.ok]
    view = charts(samples or [], restarts, since, now)
    view.update(hours=hours, every_s=every, kept=samples is not None)
    if samples is None:
        view["why"] = (
            "no samples are kept: the record store is Airflow Variables; set [flink] record_store_conn_id "
            "(docs/records.md) and the job watcher keeps samples in its tables"
        )
    elif every <= 0:
        view["why"] = "no samples are taken: [flink] sample_interval_seconds is 0"
    elif not samples:
        view["why"] = (
            f"no samples in the last {hours:g} h: the job watcher (the flink_reconcile DAG's asset "
            "watcher, in the triggerer) takes one per deployment every "
            f"{every:g} s while a triggerer runs"
        )
    return view


CHECKPOINT_ROWS = 100  # up to this many deployments, every live job's checkpoint age is shown
CHECKPOINT_CALLS_AT_ONCE = 8
# At most this many jobs are asked about per cluster per view (failed jobs' root causes on a large
# page included): a page of thousands stays about one job list's time.
MAX_FACT_CALLS = 200


def collect(
    folder: SpecPath,
    store: RecordStore,
    now: float | None = None,
    only: str | None = None,
    checkpoints: bool = True,
    hook_for: Callable[[str], FlinkHook] | None = None,
    reconcile_paused: bool = False,
) -> tuple[list[DeploymentStatus], list[str]]:
    """Every declared deployment's row (sorted by cluster, name; ``only``: that one) and the files
    that do not parse. ``checkpoints``: ask Flink of live jobs (their checkpoint age and, on a page
    of at most :data:`CHECKPOINT_ROWS` deployments, their parallelism; past that only the jobs
    whose spec limits the checkpoint age) and of failed jobs (their root cause), a few calls at
    once. ``reconcile_paused``: the reconcile DAG is paused (rows say so where a difference waits)."""
    now = time.time() if now is None else now
    specs, problems = load_specs(folder)
    specs = [s for s in specs if only is None or s.name == only]
    make_hook = hook_for or (lambda cluster: FlinkHook(cluster, retry=PAGE_RETRY))
    rows: list[DeploymentStatus] = []
    every = len(specs) <= CHECKPOINT_ROWS
    for cluster in sorted({spec.cluster for spec in specs}):
        members = sorted((s for s in specs if s.cluster == cluster), key=lambda s: s.name)
        records = store.get_many(cluster, None if only is None else [only])  # one query per cluster
        hook = make_hook(cluster)
        try:
            view = observe(hook, cluster)
            requires = _cluster_requires(hook, cluster) if view.jobs is not None else frozenset()
            newest = {spec.name: _newest(view, spec.name) for spec in members}
            asked = [
                job
                for spec in members
                if checkpoints
                and (job := newest[spec.name]) is not None
                and (every or spec.max_checkpoint_age_minutes or job.state in FAILING_STATES)
            ][:MAX_FACT_CALLS]
            with ThreadPoolExecutor(CHECKPOINT_CALLS_AT_ONCE) as pool:
                found = dict(
                    zip((j.jid for j in asked), pool.map(partial(_facts, hook, every), asked), strict=True)
                )
            for spec in members:
                job = newest[spec.name]
                rows.append(
                    deployment_status(
                        spec,
                        records.get(spec.name),
                        view,
                        _job_url(hook, job) if job is not None else None,
                        now,
                        facts=found.get(job.jid) if job is not None else None,
                        reconcile_paused=reconcile_paused,
                        cluster_requires=requires,
                    )
                )
        finally:
            hook.close()
    return rows, [str(p) for p in problems]


def _cluster_requires(hook: FlinkHook, cluster: str) -> frozenset[str]:
    """The risks the cluster's connection wants approved. A wrong word: the page judges as the
    reconcile would not act at all there (it refuses the cluster), so every risk counts."""
    try:
        return cluster_risks(hook.approval_required_for, cluster)
    except ValueError:
        return frozenset(RISKS)


def _newest(view: ClusterView, name: str) -> JobOverview | None:
    jobs = view.jobs_of(name) if view.jobs is not None else []
    return jobs[-1] if jobs else None


def _facts(hook: FlinkHook, every: bool, job: JobOverview) -> JobFacts:
    """What Flink says of one job beyond the list: a live job's checkpoint age (and, on a page of
    at most :data:`CHECKPOINT_ROWS`, its parallelism), a failed job's root cause."""
    ended = job.state.is_globally_terminal
    return JobFacts(
        checkpoint_at=None if ended else _checkpoint_at(hook, job.jid),
        parallelism=_parallelism(hook, job.jid) if every and not ended else None,
        root_cause=_quiet(lambda: hook.root_cause(job.jid)) if job.state in FAILING_STATES else None,
        exceptions_url=_quiet(lambda: hook.job_url(job.jid, ended=ended, tab="exceptions")),
    )


def _quiet(ask: Callable[[], T]) -> T | None:
    """Flink's answer, or None: unreachable, timed out, an answer it could not read, a
    connection without a usable URL. The cell shows "-": a page view never fails for it."""
    try:
        return ask()
    except Exception:
        return None


def _checkpoint_at(hook: FlinkHook, job_id: str) -> float | None:
    """When the job's latest completed checkpoint was triggered (epoch s), or None: none yet, or
    Flink did not say."""
    found = _quiet(lambda: hook.checkpoint_history(job_id))
    completed = found.latest.completed if found is not None else None
    stamp = completed.trigger_timestamp if completed is not None else None
    return stamp / 1000 if stamp else None


def _parallelism(hook: FlinkHook, job_id: str) -> int | None:
    detail = _quiet(lambda: hook.find_job(job_id))
    widths = [v.parallelism for v in detail.vertices] if detail is not None else []
    return max(widths) if widths else None


def _job_url(hook: FlinkHook, job: JobOverview) -> str | None:
    return _quiet(lambda: hook.job_url(job.jid, ended=job.state.is_globally_terminal))
