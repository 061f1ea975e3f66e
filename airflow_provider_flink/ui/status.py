"""Desired against actual for every declared deployment: what the Flink page shows.

:func:`collect` reads the deployment files, each deployment's record and each cluster's job list
(one ``GET /jobs/overview`` per cluster, whatever the number of deployments; a cluster that does
not answer shows its deployments as UNKNOWN, never as failed). :func:`deployment_status` is the
pure part: one spec, its record, the observed view -> one row.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_flink.deployments.planner import ClusterView
from airflow_provider_flink.deployments.reconciler import observe
from airflow_provider_flink.deployments.records import DeploymentRecord, RecordStore
from airflow_provider_flink.deployments.spec import DeploymentSpec, SpecPath, load_specs
from airflow_provider_flink.hooks.flink import FlinkHook


@dataclass(frozen=True)
class DeploymentStatus:
    name: str
    cluster: str
    declared_state: str  # running | suspended
    parallelism: int
    upgrade_mode: str
    job_id: str | None
    job_state: str  # Flink's state of the newest job; NONE (no job) or UNKNOWN (cluster not observed)
    tasks_running: int | None
    tasks_total: int | None
    applied_hash: str | None  # the spec hash the running job was made from (12 characters)
    last_savepoint: str | None
    last_savepoint_age_s: float | None
    restarts_in_window: int
    failed_spec: str | None  # why the declared spec was rolled back (not applied again until it changes)
    upgrade_in_flight: bool
    flink_url: str | None
    attention: str | None  # the one thing a person should look at, or None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def deployment_status(
    spec: DeploymentSpec, record: DeploymentRecord | None, view: ClusterView, job_url: str | None, now: float
) -> DeploymentStatus:
    jobs = view.jobs_of(spec.name) if view.jobs is not None else []
    newest = jobs[-1] if jobs else None
    state = "UNKNOWN" if view.jobs is None else newest.state.value if newest is not None else "NONE"
    savepoint = record.last_savepoint() if record is not None else None
    window = spec.restart_policy.window_minutes * 60
    restarts = len([t for t in (record.restarts if record else []) if now - t <= window])
    failed = record.failed_spec.reason if record is not None and record.failed_spec else None
    tasks = newest.tasks if newest is not None else {}
    attention = _attention(spec, state, failed, view)
    return DeploymentStatus(
        name=spec.name,
        cluster=spec.cluster,
        declared_state=spec.state,
        parallelism=spec.parallelism,
        upgrade_mode=spec.upgrade_mode,
        job_id=newest.jid if newest is not None else None,
        job_state=state,
        tasks_running=tasks.get("running") if tasks else None,
        tasks_total=tasks.get("total") if tasks else None,
        applied_hash=record.applied_hash[:12] if record is not None and record.applied_hash else None,
        last_savepoint=savepoint.path if savepoint else None,
        last_savepoint_age_s=round(now - savepoint.taken_at, 1) if savepoint else None,
        restarts_in_window=restarts,
        failed_spec=failed,
        upgrade_in_flight=bool(record and record.upgrade),
        flink_url=job_url if newest is not None else None,
        attention=attention,
    )


def _attention(spec: DeploymentSpec, state: str, failed: str | None, view: ClusterView) -> str | None:
    if view.jobs is None:
        return f"cluster {spec.cluster} not observed: {view.error}"
    if failed:
        return f"declared spec rolled back: {failed}"
    if spec.state == "running" and state in ("FAILED", "FAILING", "RESTARTING"):
        return f"job {state}"
    if spec.state == "running" and state in ("NONE", "CANCELED") and not spec.bounded:
        return "declared running, no job runs"
    return None


def collect(
    folder: SpecPath, store: RecordStore, now: float | None = None
) -> tuple[list[DeploymentStatus], list[str]]:
    """Every declared deployment's row (sorted by cluster, name) and the files that do not parse."""
    now = time.time() if now is None else now
    specs, problems = load_specs(folder)
    rows: list[DeploymentStatus] = []
    for cluster in sorted({spec.cluster for spec in specs}):
        hook = FlinkHook(cluster)
        try:
            view = observe(hook, cluster)
            for spec in sorted((s for s in specs if s.cluster == cluster), key=lambda s: s.name):
                jobs = view.jobs_of(spec.name) if view.jobs is not None else []
                url = _job_url(hook, jobs[-1].jid) if jobs else None
                rows.append(deployment_status(spec, store.get(cluster, spec.name), view, url, now))
        finally:
            hook.close()
    return rows, [str(p) for p in problems]


def _job_url(hook: FlinkHook, job_id: str) -> str | None:
    try:
        return hook.job_url(job_id)
    except Exception:  # a connection without a usable URL: the row still shows
        return None
