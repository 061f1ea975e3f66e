"""The observe step: what a run learns before anything is planned (controller-runtime's "observe,
then reconcile").

* :func:`observe`: one ``GET /jobs/overview`` per cluster, every deployment's jobs at once; any
  failure means "not observable" and no action on that cluster (I3).
* :func:`catch_up`: a record that lags behind Flink is brought up to date (I7): a savepoint an
  earlier run started and did not see finish (it was killed while waiting) is filed from the
  trigger's status, or from the job's checkpoint history once Flink forgot the trigger, so the next
  restore starts from it and not from an older one. Whatever is filed or not, the restore itself
  asks storage for the deployment's newest snapshot (:mod:`~airflow_provider_flink.deployments.snapshots`).
"""

from __future__ import annotations

import logging

from airflow_provider_flink.client import FlinkApiError, FlinkError
from airflow_provider_flink.deployments import transitions
from airflow_provider_flink.deployments.planner import ClusterView
from airflow_provider_flink.deployments.records import (
    DeploymentRecord,
    SavepointEntry,
    Savepointing,
)
from airflow_provider_flink.deployments.snapshots import Snapshot, known_checkpoint_id, newest_snapshot
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.deployments.stores import DryRun, RunRecords
from airflow_provider_flink.exceptions import AirflowNotFoundException, FlinkConnectionError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.ids import deployment_prefix

log = logging.getLogger(__name__)


def observe(hook: FlinkHook, cluster: str) -> ClusterView:
    """The one call a cluster costs when nothing drifted; any failure means "not observable" (I3),
    a connection that is not defined included: its deployments are reported, the others go on."""
    try:
        return ClusterView(cluster, tuple(hook.jobs()))
    except (FlinkError, FlinkConnectionError, AirflowNotFoundException) as err:
        return ClusterView(cluster, None, str(err))


def newest_state(
    hook: FlinkHook,
    spec: DeploymentSpec,
    record: DeploymentRecord | None,
    view: ClusterView,
    now: float,
    neighbours: frozenset[str] = frozenset(),
) -> Snapshot | None:
    """The deployment's newest completed snapshot (I7: Flink's storage is the arbiter) when no job
    of it runs and it ran before, else None: what a resume, restart or recovery would restore,
    known before anything is planned (a dry run and the plan name it, or the refusal)."""
    jobs = view.jobs_of(spec.name)
    if record is None or record.current_job_id is None or any(not j.state.is_globally_terminal for j in jobs):
        return None
    ended = jobs[-1].jid if jobs else record.current_job_id
    try:
        return newest_snapshot(
            hook, spec, record, deployment_prefix(spec.name), [ended], now, neighbours=neighbours
        )
    except FlinkError as err:  # I3: what cannot be seen is not restored from
        return Snapshot(refusal=f"its newest snapshot is not known: Flink did not answer ({err})")


def catch_up(hook: FlinkHook, store: RunRecords | DryRun, record: DeploymentRecord) -> DeploymentRecord:
    """Bring a record that lags behind Flink up to date before anything is planned (I7); returns
    the record as it is now. If Flink cannot be asked, the record stays as it is (the planner then
    waits: I3)."""
    if record.savepointing is None:
        return record
    try:
        record, outcome = settle_pending(hook, store, record)
        log.info("Deployment %s: %s", record.name, outcome)
    except Exception as err:
        log.warning("Deployment %s: pending savepoint not settled yet (%s)", record.name, err)
    return record


def filed(pending: Savepointing, path: str) -> SavepointEntry:
    """A pending savepoint that Flink proved complete, as a history entry."""
    return SavepointEntry(
        path=path,
        taken_at=pending.started_at,
        reason=pending.reason,
        job_id=pending.job_id,
        checkpoint_id=known_checkpoint_id(path),
    )


def settle_pending(
    hook: FlinkHook, store: RunRecords | DryRun, record: DeploymentRecord
) -> tuple[DeploymentRecord, str]:
    """A savepoint an earlier run started but did not see finish: keep it if it completed. Returns
    the record (stored when it changed) and what became of the savepoint."""
    pending = record.savepointing
    if pending is None:
        return record, "nothing pending any more"
    try:
        status = hook.savepoint_status(pending.job_id, pending.trigger_id)
    except FlinkApiError as err:
        if err.status >= 500:
            raise
        return _from_history(hook, store, record, pending)
    if status.in_progress:
        return record, f"savepoint {pending.trigger_id} is still in progress"
    if status.succeeded and status.location:
        record = transitions.savepoint_filed(record, filed(pending, status.location))
        outcome = f"kept: {status.location}"
    else:
        record = transitions.savepoint_failed(record, pending.trigger_id)
        outcome = f"failed: {status.failure}"
    return store.write(record), f"savepoint {pending.trigger_id} {outcome}"


def _from_history(
    hook: FlinkHook, store: RunRecords | DryRun, record: DeploymentRecord, pending: Savepointing
) -> tuple[DeploymentRecord, str]:
    """Flink forgot the trigger (its status is kept 5 minutes): the job's checkpoint history
    still names its latest savepoint; one taken since the trigger was recorded is that one."""
    try:
        latest = hook.latest_savepoint(pending.job_id)
    except FlinkApiError as err:
        if err.status >= 500:
            raise
        latest = None  # the job is gone too (a JobManager restart without HA)
    since = pending.started_at * 1000  # Flink's timestamps are in ms
    if latest is not None and latest.external_path and (latest.trigger_timestamp or 0) >= since:
        record = store.write(transitions.savepoint_filed(record, filed(pending, latest.external_path)))
        return record, (
            f"savepoint {pending.trigger_id} kept from job {pending.job_id}'s history: {latest.external_path}"
        )
    record = store.write(transitions.savepoint_failed(record, None))
    return record, (
        f"Flink no longer knows savepoint {pending.trigger_id}: dropped from the record (a restore still "
        "finds it on storage)"
    )
