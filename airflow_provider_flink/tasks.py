"""What every Flink operator and sensor does the same way around a wait, in one place below both:
the ``deferrable`` default, deferring with the trigger's own deadline, reading the finished wait,
and the "Flink Job" link.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.lineage import events as lineage
from airflow_provider_flink.links import FlinkJobLink
from airflow_provider_flink.triggers import (
    DEFER_GRACE,
    FlinkJobTrigger,
    FlinkPollingTrigger,
    WaitEvent,
    default_deferrable,
)
from airflow_provider_flink.triggers.waiting import airflow_conf


def deferrable_or_default(deferrable: bool | None) -> bool:
    """The task's choice, else Airflow's ``[operators] default_deferrable``."""
    return default_deferrable() if deferrable is None else deferrable


def defer_wait(task: BaseOperator, trigger: FlinkPollingTrigger, wait_seconds: float) -> None:
    """Hand the wait to the triggerer. Airflow's own time-out gets a grace beyond the trigger's
    deadline, so the trigger's clear "timed out waiting for ..." is what the user sees."""
    task.defer(
        trigger=trigger,
        method_name="execute_complete",
        timeout=timedelta(seconds=float(wait_seconds) + DEFER_GRACE),
    )


# How long a task watches in the worker before it defers. Most waits end within a second or two
# (a job reaching RUNNING, a small job's savepoint); a deferral costs seconds of scheduling and a
# sensor whose condition already holds must not defer at all. `[flink] defer_after_seconds`
# changes it for an installation (0: every wait is deferred at once).
CHECK_BEFORE_DEFER = 5.0


def defer_after() -> float:
    """``[flink] defer_after_seconds`` (``AIRFLOW__FLINK__DEFER_AFTER_SECONDS``), default
    :data:`CHECK_BEFORE_DEFER`; a value that is not a number >= 0 is an error that says so."""
    raw = airflow_conf().get("flink", "defer_after_seconds", fallback=None)
    if raw in (None, ""):
        return CHECK_BEFORE_DEFER
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        raise ValueError(f"[flink] defer_after_seconds must be a number of seconds >= 0, got {raw!r}")
    return seconds


def end_in_triggerer(task: BaseOperator, xcoms: dict[str, str] | None) -> dict[str, str] | None:
    """What the triggerer pushes when it ends the task itself (XCom key -> the wait event's field),
    or None when the task must resume in a worker: it has outlets (their asset events are a
    worker's), lineage is on (the job's OpenLineage events and the task's COMPLETE are a worker's:
    a task the triggerer ends sends neither), or nothing to push."""
    if not xcoms or getattr(task, "outlets", None) or lineage.active():
        return None
    if not getattr(task, "do_xcom_push", True):
        xcoms = {key: name for key, name in xcoms.items() if key != "return_value"}
    return xcoms or None


def defer_unless_done(
    task: BaseOperator,
    trigger: FlinkPollingTrigger,
    wait_seconds: float,
    look: float | None = None,
    end_xcoms: dict[str, str] | None = None,
) -> WaitEvent:
    """Observe first (fast polls, at most ``look`` seconds, default :data:`CHECK_BEFORE_DEFER`):
    the event when the wait ended in that time; otherwise hand the wait to the triggerer (this
    does not return). ``end_xcoms``: a task whose resumption after a successful wait would only
    return these values lets the triggerer end it (see :func:`end_in_triggerer`); a wait that
    fails still resumes in a worker, which raises the task's error and leaves retries to Airflow."""
    look = min(defer_after() if look is None else look, float(wait_seconds))
    early = asyncio.run(trigger.look(look)) if look > 0 else None
    if early is not None:
        return early
    task.log.info("Still waiting after %.1f s: deferring to the triggerer", look)
    trigger.end_xcoms = end_in_triggerer(task, end_xcoms)
    if isinstance(trigger, FlinkJobTrigger):
        trigger.coalesce = True  # in the triggerer, job waits on one cluster share their polls
    defer_wait(task, trigger, wait_seconds)
    raise AssertionError("unreachable: defer() raises TaskDeferred")  # pragma: no cover


def completed(task: BaseOperator, event: Any) -> WaitEvent:
    """The event of a wait that reached its goal (logged); anything else fails the task with the
    event's own message."""
    done = WaitEvent.checked(event, task.task_id)
    task.log.info("%s", done.message)
    return done


def no_job_link_yet(context: Any) -> None:
    """An empty "Flink Job" link when a try starts (not when it resumes from a deferral, whose link
    was pushed before it deferred). At a task's end Airflow reads every extra link's XCom, and a
    try that failed before its job id was known (a jar refused, a bad argument) logged ``[error]
    XCom not found … _link_FlinkJobLink`` under its real error."""
    ti = context.get("ti") if context else None
    server = getattr(ti, "_ti_context_from_server", None)
    if ti is None or server is None or getattr(server, "next_method", None):
        return
    FlinkJobLink().persist(context, "")


def push_job_link(task: BaseOperator, context: Any, hook: FlinkHook, job_id: str) -> None:
    """Store the job's Flink UI URL for the "Flink Job" button before waiting (no call to Flink)."""
    url = hook.job_url(job_id)
    FlinkJobLink().persist(context, url)
    task.log.info("Flink job %s: %s", job_id, url)
