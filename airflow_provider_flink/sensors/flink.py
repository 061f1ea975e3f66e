"""Sensors: cluster health and job state, in poke, reschedule or deferrable mode.

``poke`` makes one observation through the same trigger class the deferrable mode runs, so a
sensor judges exactly as the triggerer would. An observation that fails (no answer, 5xx) is
*unknown*: the poke returns False and the sensor keeps waiting; only Flink's own answer ends it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseSensorOperator

from airflow_provider_flink import tasks
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.exceptions import FlinkOperatorError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.links import FlinkJobLink
from airflow_provider_flink.triggers import FlinkClusterHealthTrigger, FlinkJobTrigger, FlinkPollingTrigger


class _FlinkSensor(BaseSensorOperator):
    def __init__(
        self,
        *,
        flink_conn_id: str = FlinkHook.default_conn_name,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.flink_conn_id = flink_conn_id
        self.deferrable = tasks.deferrable_or_default(deferrable)
        self._poking: FlinkPollingTrigger | None = None

    def make_trigger(self, deadline: float) -> FlinkPollingTrigger:
        raise NotImplementedError

    def execute(self, context: Any) -> Any:
        if not self.deferrable:
            return super().execute(context)
        # A condition that already holds (or holds within a moment) never defers.
        trigger = self.make_trigger(time.time() + float(self.timeout))
        # A successful deferred wait only returns the state it saw: the triggerer ends the task.
        event = tasks.defer_unless_done(self, trigger, self.timeout, end_xcoms={"return_value": "state"})
        return self.execute_complete(context, event.payload())

    def poke(self, context: Any) -> bool:
        # One trigger for all pokes of this try: its progress lines say what the wait sees when it
        # changes (and every minute), not once per poke.
        if self._poking is None:
            self._poking = self.make_trigger(time.time())
        event = asyncio.run(self._poking.check_once())
        if event is None:
            return False
        if not event.ok:
            raise FlinkOperatorError(event.message)
        self.log.info("%s", event.message)
        return True

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        return tasks.completed(self, event).state


class FlinkClusterHealthSensor(_FlinkSensor):
    """Wait until Flink's REST API answers with >= ``min_taskmanagers`` and >= ``min_free_slots``."""

    def __init__(self, *, min_taskmanagers: int = 1, min_free_slots: int = 1, **kwargs: Any) -> None:
        kwargs.setdefault("poke_interval", 2.0)
        super().__init__(**kwargs)
        self.min_taskmanagers = min_taskmanagers
        self.min_free_slots = min_free_slots

    def make_trigger(self, deadline: float) -> FlinkPollingTrigger:
        return FlinkClusterHealthTrigger(
            self.flink_conn_id,
            deadline,
            self.min_taskmanagers,
            self.min_free_slots,
            float(self.poke_interval),
        )


class FlinkJobStateSensor(_FlinkSensor):
    """Wait until a job reaches one of ``target_states``.

    With ``healthy=True`` (the default when waiting for RUNNING) RUNNING means the job *and all its
    vertices* run; with ``checkpoint_within`` (seconds) a checkpoint must also have completed within
    that window. A job that ends in another terminal state fails the sensor (FAILED with Flink's
    root cause), and so does (deferred) a job that fails and restarts ``max_restarts`` times while
    the sensor waits for it (None: only the time-out ends the wait).
    """

    template_fields: Sequence[str] = ("job_id",)
    operator_extra_links = (FlinkJobLink(),)

    def __init__(
        self,
        *,
        job_id: str,
        target_states: Sequence[str] = (JobState.RUNNING.value,),
        healthy: bool = True,
        checkpoint_within: float | None = None,
        max_restarts: int | None = 3,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poke_interval", 2.0)
        super().__init__(**kwargs)
        self.max_restarts = max_restarts
        self.job_id = job_id
        # Flink's spelling, as the trigger carries them; a JobState member gives its value (str() of
        # one is "JobState.RUNNING").
        self.target_states = [s.value if isinstance(s, JobState) else str(s).upper() for s in target_states]
        self.healthy = healthy
        self.checkpoint_within = checkpoint_within

    def make_trigger(self, deadline: float) -> FlinkPollingTrigger:
        healthy_running = self.healthy and [JobState(s) for s in self.target_states] == [JobState.RUNNING]
        return FlinkJobTrigger(
            self.flink_conn_id,
            str(self.job_id),
            deadline,
            target="running" if healthy_running else "states",
            states=self.target_states,
            checkpoint_within=self.checkpoint_within if healthy_running else None,
            poll_interval=float(self.poke_interval),
            max_restarts=self.max_restarts,
        )

    def pre_execute(self, context: Any) -> None:
        tasks.no_job_link_yet(context)

    def execute(self, context: Any) -> Any:
        hook = FlinkHook(self.flink_conn_id)
        try:
            tasks.push_job_link(self, context, hook, str(self.job_id))
        finally:
            hook.close()
        return super().execute(context)
