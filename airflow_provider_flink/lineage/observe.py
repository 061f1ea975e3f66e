"""A Flink job as lineage sees it: :class:`~airflow_provider_flink.lineage.events.FlinkRun` from
one ``GET /jobs/{id}`` (name, state, type and plan), never failing the task that asks."""

from __future__ import annotations

import logging

from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.lineage.datasets import job_endpoints
from airflow_provider_flink.lineage.events import FlinkRun

log = logging.getLogger(__name__)


def observed_run(
    hook: FlinkHook,
    job_id: str,
    job_name: str,
    *,
    sql: str | None = None,
    savepoint: str | None = None,
) -> FlinkRun:
    """The job as Flink shows it now; if Flink cannot be asked, what is known without it (its id,
    link and, for a SQL job, the statements' tables): lineage never fails a task."""
    try:
        detail = hook.find_job(job_id)
    except Exception as err:
        log.warning("Lineage: cannot read job %s (%s); its plan's datasets are left out", job_id, err)
        detail = None
    try:
        url = hook.job_url(job_id)
    except Exception:
        url = ""
    return FlinkRun(
        job_id=job_id,
        job_name=job_name,
        flink_name=detail.name if detail else "",
        state=detail.state.value if detail else "UNKNOWN",
        url=url,
        cluster=hook.flink_conn_id,
        processing="BATCH" if detail and (detail.job_type or "").upper() == "BATCH" else "STREAMING",
        endpoints=job_endpoints(detail.plan if detail else None, sql),
        sql=sql,
        savepoint=savepoint,
    )
