"""What every Flink operator shares: the hook, waiting (deferred or in-process), the job link.

Waiting is always done by a trigger from :mod:`airflow_provider_flink.triggers`: deferred to the
triggerer when ``deferrable`` (default from ``[operators] default_deferrable``), or run in the
worker process otherwise. Both paths therefore judge the same observations the same way, and both
end in the operator's ``execute_complete`` with the trigger's :class:`WaitEvent`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, BaseOperatorLink

from airflow_provider_flink import tasks
from airflow_provider_flink.exceptions import FlinkOperatorError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.links import FlinkJobLink
from airflow_provider_flink.triggers import (
    FlinkJobTrigger,
    FlinkPollingTrigger,
    JobTarget,
    KillAction,
    WaitEvent,
    run_inline,
)

__all__ = ["FlinkBaseOperator", "FlinkOperatorError"]


def airflow_origin(context: Any) -> dict[str, str]:
    """The task instance that submits a job: DAG, run, task and try, as ``airflow.*`` global job
    parameters (the Flink UI's Configuration tab, User Configuration)."""
    ti: Any = context.get("ti") if context else None
    fields = {
        "airflow.dag-id": "dag_id",
        "airflow.run-id": "run_id",
        "airflow.task-id": "task_id",
        "airflow.try-number": "try_number",
    }
    return {
        key: str(getattr(ti, name)) for key, name in fields.items() if getattr(ti, name, None) is not None
    }


class FlinkBaseOperator(BaseOperator):
    """Common parameters: ``flink_conn_id``, ``deferrable``, ``poll_interval``, ``wait_timeout`` (s),
    ``max_restarts``: a job that fails and restarts this many times while the task waits for it
    (a restart loop, or no free slots) fails the wait with Flink's root cause before the time-out
    (None: wait for the time-out)."""

    operator_extra_links: tuple[BaseOperatorLink, ...] = (FlinkJobLink(),)

    def pre_execute(self, context: Any) -> None:
        if self.operator_extra_links:
            tasks.no_job_link_yet(context)

    def __init__(
        self,
        *,
        flink_conn_id: str = FlinkHook.default_conn_name,
        deferrable: bool | None = None,
        poll_interval: float = 2.0,
        wait_timeout: float = 600.0,
        max_restarts: int | None = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_restarts = max_restarts
        self.flink_conn_id = flink_conn_id
        self.deferrable = tasks.deferrable_or_default(deferrable)
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout

    @cached_property
    def hook(self) -> FlinkHook:
        return FlinkHook(self.flink_conn_id)

    def deadline(self) -> float:
        return time.time() + float(self.wait_timeout)

    def push_job_link(self, context: Any, job_id: str) -> None:
        tasks.push_job_link(self, context, self.hook, job_id)

    def wait(self, context: Any, trigger: FlinkPollingTrigger) -> Any:
        """Run the trigger here, or (deferrable) look for a moment and defer to the triggerer only
        if the wait goes on; either way end in execute_complete with the event as a dict (what
        Airflow hands over after a deferral)."""
        if self.deferrable:
            event = tasks.defer_unless_done(
                self, trigger, self.wait_timeout, end_xcoms=self.end_xcoms(trigger)
            )
        else:
            event = run_inline(trigger)
        return self.execute_complete(context, event.payload())

    def wait_for_job(
        self,
        context: Any,
        job_id: str,
        target: JobTarget,
        states: Sequence[str] = (),
        kill_action: KillAction = "none",
        asked_parallelism: int | None = None,
    ) -> Any:
        """Wait until the job is ``target`` (see :class:`FlinkJobTrigger`), then execute_complete."""
        trigger = FlinkJobTrigger(
            self.flink_conn_id,
            job_id,
            self.deadline(),
            target=target,
            states=states,
            poll_interval=self.poll_interval,
            kill_action=kill_action,
            max_restarts=self.max_restarts,
            asked_parallelism=asked_parallelism,
        )
        return self.wait(context, trigger)

    def end_xcoms(self, trigger: FlinkPollingTrigger) -> dict[str, str] | None:
        """The XComs (key -> the wait event's field) a successful deferred wait of ``trigger``
        pushes when the triggerer ends the task itself; None: the task resumes in a worker (its
        ``execute_complete`` does more than return a value)."""
        return None

    def completed(self, event: dict[str, Any] | None) -> WaitEvent:
        """The event of a wait that reached its goal (logged); anything else fails the task."""
        return tasks.completed(self, event)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def post_execute(self, context: Any, result: Any = None) -> None:
        super().post_execute(context, result)
        if "hook" in self.__dict__:
            self.hook.close()
