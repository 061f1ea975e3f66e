"""Two steps the operators and the reconcile take alike, each written once.

* :func:`begin_savepoint`: a savepoint, or a stop with a savepoint, under a trigger id recorded
  *before* the request (I4): a retried task or the next reconcile run polls that id instead of
  taking a second savepoint, and a lost answer is settled by asking Flink about it (I3). Who
  records it differs (the task's state store, the deployment record): the caller passes how.
* :func:`checkpoint_first`: a checkpoint right before a rescale in place. Flink 1.x rescales at
  once from the job's latest checkpoint and re-processes everything since (up to a checkpoint
  interval); a fresh one keeps that short. A refused one only logs: the rescale then restarts
  from the latest periodic checkpoint, still the job's own state.

The waits that follow are the shared triggers (:class:`~airflow_provider_flink.triggers.FlinkSavepointTrigger`,
:class:`~airflow_provider_flink.triggers.FlinkCheckpointTrigger`): deferred by a task, in-process by the reconcile.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

from airflow_provider_flink import crashpoints
from airflow_provider_flink.client import FlinkApiError, models
from airflow_provider_flink.hooks.flink import FlinkHook


def begin_savepoint(
    hook: FlinkHook,
    job_id: str,
    trigger_id: str,
    *,
    operation: Literal["savepoint", "stop"],
    record: Callable[[str], None],
    crash_prefix: str,
    target_directory: str | Callable[[], str | None] | None = None,
    format_type: models.SavepointFormat = "CANONICAL",
    drain: bool = False,
) -> None:
    """Record ``trigger_id`` (``record``), then ask Flink for the savepoint or the stop under it.
    ``crash_prefix`` names the campaign's crash points around the request ("stop-task:", "stop:");
    a callable ``target_directory`` is asked after the record (a run that lost the deployment to
    another actor while recording asks Flink nothing)."""
    record(trigger_id)
    crashpoints.reach(f"{crash_prefix}id-recorded")
    target = target_directory() if callable(target_directory) else target_directory
    if operation == "stop":
        hook.stop_job(job_id, trigger_id, drain=drain, target_directory=target, format_type=format_type)
    else:
        hook.trigger_savepoint(job_id, trigger_id, target, format_type)
    crashpoints.reach(f"{crash_prefix}requested")


def checkpoint_first(hook: FlinkHook, job_id: str, trigger_id: str, log: logging.Logger | Any) -> bool:
    """Ask for a checkpoint of ``job_id`` under ``trigger_id`` before a rescale; False when Flink
    refused (logged: the rescale goes on from the latest checkpoint there is)."""
    try:
        hook.trigger_checkpoint(job_id, trigger_id)
    except FlinkApiError as err:
        log.warning("Job %s: no checkpoint before the rescale (%s): from its latest one", job_id, err)
        return False
    log.info("Taking checkpoint %s of job %s before rescaling it", trigger_id, job_id)
    return True
