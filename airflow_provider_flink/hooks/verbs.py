"""The Flink verbs' shared rules, and the async verbs the triggers use.

:class:`~airflow_provider_flink.hooks.flink.FlinkHook` holds the sync verbs (operators, executor);
:class:`AsyncFlinkVerbs` the async ones (triggers, in the triggerer or in-process). Where a verb has
a rule (404 means "no such job", what a killed task does to its job, how an upload is named), the
rule is a function here that both call, so the two paths cannot drift apart.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from airflow_provider_flink import ids
from airflow_provider_flink.client import AsyncFlinkClient, FlinkApiError, calls, models
from airflow_provider_flink.client.calls import Call

KillAction = Literal["none", "cancel", "stop"]


def raise_unless_not_found(err: FlinkApiError) -> None:
    """A 404 for a job means Flink does not know it (never submitted, or lost in a JobManager
    restart without HA); anything else is re-raised."""
    if not err.is_not_found:
        raise err


def upload_name(path: Path, digest: str, display_name: str | None = None) -> str:
    """``<stem>.sha256-<digest>.jar``: the content digest in the name makes uploads reusable."""
    stem = Path(display_name.split("?")[0].rstrip("/")).stem if display_name else path.stem
    return f"{stem}.sha256-{digest}.jar"


def kill_call(job_id: str, action: KillAction, log: logging.Logger | Any) -> Call[Any] | None:
    """The request a killed task sends for its job (logged), or None for ``"none"``."""
    if action == "cancel":
        log.warning("Task killed: cancelling Flink job %s (no savepoint)", job_id)
        return calls.cancel_job(job_id)
    if action == "stop":
        trigger_id = ids.new_id()
        log.warning("Task killed: stopping Flink job %s with a savepoint (trigger %s)", job_id, trigger_id)
        return calls.stop_job(job_id, trigger_id)
    return None


class AsyncFlinkVerbs:
    """The verbs a wait needs, over one async client (open it with ``FlinkHook.async_verbs()``)."""

    def __init__(self, client: AsyncFlinkClient, log: logging.Logger | Any) -> None:
        self.client = client
        self.log = log

    async def overview(self) -> models.ClusterOverview:
        return await self.client.call(calls.overview())

    async def jobs(self) -> list[models.JobOverview]:
        """Every job of the cluster with its state and task counts, in one call."""
        return (await self.client.call(calls.jobs_overview())).jobs

    async def find_job(self, job_id: str) -> models.JobDetail | None:
        try:
            return await self.client.call(calls.job(job_id))
        except FlinkApiError as err:
            raise_unless_not_found(err)
            return None

    async def job_metrics(self, job_id: str, names: list[str]) -> dict[str, float]:
        return (await self.client.call(calls.job_metrics(job_id, names))).numbers()

    async def latest_checkpoint(self, job_id: str) -> models.CheckpointInfo | None:
        return (await self.client.call(calls.job_checkpoints(job_id))).latest.completed

    async def root_cause(self, job_id: str) -> str | None:
        """The job's latest failure as one line (Flink's exception history)."""
        return (await self.client.call(calls.job_exceptions(job_id))).root_cause()

    async def failures_since(self, job_id: str, since_ms: int) -> tuple[int, str | None]:
        """How many failures (each one a restart, or the end) Flink recorded for the job since
        ``since_ms``, and the latest one's root cause."""
        exceptions = await self.client.call(calls.job_exceptions(job_id))
        recent = [e for e in exceptions.exception_history.entries if e.timestamp >= since_ms]
        return len(recent), exceptions.root_cause() if recent else None

    async def savepoint_status(self, job_id: str, trigger_id: str) -> models.AsyncOperationStatus:
        return await self.client.call(calls.savepoint_status(job_id, trigger_id))

    async def checkpoint_status(self, job_id: str, trigger_id: str) -> models.CheckpointTriggerStatus:
        return await self.client.call(calls.checkpoint_status(job_id, trigger_id))

    async def disposal_status(self, trigger_id: str) -> models.AsyncOperationStatus:
        return await self.client.call(calls.disposal_status(trigger_id))

    async def kill_job(self, job_id: str, action: KillAction) -> None:
        call = kill_call(job_id, action, self.log)
        if call is not None:
            await self.client.call(call)
