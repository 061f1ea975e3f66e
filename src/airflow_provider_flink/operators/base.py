"""What every Flink operator shares: the hook, waiting (deferred or in-process), events, links.

Waiting is always done by a trigger from :mod:`airflow_provider_flink.triggers`: deferred to the
triggerer when ``deferrable`` (default from ``[operators] default_deferrable``), or run in the
worker process otherwise. Both paths therefore judge the same observations the same way, and both
end in the operator's ``execute_complete`` with the trigger's event.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, conf
from airflow.sdk.exceptions import AirflowException

from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.links import FlinkJobLink
from airflow_provider_flink.triggers.flink import FlinkPollingTrigger

# Grace given to Airflow's own deferral time-out beyond the trigger's deadline, so the trigger's
# clear "timed out waiting for ..." message is what the user sees.
DEFER_GRACE = 60.0


class FlinkOperatorError(AirflowException):
    """A Flink operation did not reach its goal; the message carries Flink's cause."""


def default_deferrable() -> bool:
    return conf.getboolean("operators", "default_deferrable", fallback=False)


def run_inline(trigger: FlinkPollingTrigger) -> dict[str, Any]:
    """Run a trigger's wait to its event in this process (the non-deferred wait)."""
    return asyncio.run(trigger.wait_for_event())


def checked_event(event: dict[str, Any] | None, task: str) -> dict[str, Any]:
    """The payload of a successful event; anything else raises with the event's own message."""
    if not isinstance(event, dict) or "status" not in event:
        raise FlinkOperatorError(
            f"{task} resumed with no usable trigger event ({event!r}); cannot tell the outcome"
        )
    if event["status"] == "success":
        return event
    if event["status"] in ("failed", "timeout"):
        raise FlinkOperatorError(str(event.get("message") or event))
    raise FlinkOperatorError(f"{task} resumed with an unknown event status {event['status']!r}: {event}")


def task_state(context: Any) -> Any:
    """The task state store (Airflow 3.3+), which keeps ids across tries of one task instance."""
    store = context.get("task_state_store")
    if store is None:
        raise FlinkOperatorError(
            "This Airflow has no task state store (context['task_state_store'], Airflow 3.3+): the provider "
            "needs it to record job and trigger ids before acting, so that a retry never submits twice"
        )
    return store


class FlinkBaseOperator(BaseOperator):
    """Common parameters: ``flink_conn_id``, ``deferrable``, ``poll_interval``, ``wait_timeout`` (s)."""

    operator_extra_links = (FlinkJobLink(),)

    def __init__(
        self,
        *,
        flink_conn_id: str = FlinkHook.default_conn_name,
        deferrable: bool | None = None,
        poll_interval: float = 2.0,
        wait_timeout: float = 600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.flink_conn_id = flink_conn_id
        self.deferrable = default_deferrable() if deferrable is None else deferrable
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout

    @cached_property
    def hook(self) -> FlinkHook:
        return FlinkHook(self.flink_conn_id)

    def deadline(self) -> float:
        return time.time() + float(self.wait_timeout)

    def push_job_link(self, context: Any, job_id: str) -> None:
        url = self.hook.job_url(job_id)
        FlinkJobLink().persist(context, url)
        self.log.info("Flink job %s: %s", job_id, url)

    def wait(self, context: Any, trigger: FlinkPollingTrigger) -> Any:
        """Defer to the triggerer, or run the same trigger here; either way end in execute_complete."""
        if self.deferrable:
            self.defer(
                trigger=trigger,
                method_name="execute_complete",
                timeout=timedelta(seconds=float(self.wait_timeout) + DEFER_GRACE),
            )
        return self.execute_complete(context, run_inline(trigger))

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    def post_execute(self, context: Any, result: Any = None) -> None:
        super().post_execute(context, result)
        if "hook" in self.__dict__:
            self.hook.close()
