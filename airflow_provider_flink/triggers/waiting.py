"""How operators, sensors and the reconcile executor wait: through a trigger, deferred to the
triggerer or run to its end in this process. Either way the wait ends in a :class:`WaitEvent`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from airflow_provider_flink.triggers.events import WaitEvent

if TYPE_CHECKING:
    from airflow_provider_flink.triggers.flink import FlinkPollingTrigger

# Grace given to Airflow's own deferral time-out beyond the trigger's deadline, so the trigger's
# clear "timed out waiting for ..." message is what the user sees.
DEFER_GRACE = 60.0


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, Airflow's switch for every deferrable operator."""
    try:
        from airflow.sdk import conf
    except ImportError:  # Airflow 3.1 / 3.2
        from airflow.configuration import conf  # type: ignore[assignment]

    return conf.getboolean("operators", "default_deferrable", fallback=False)


def ends_tasks_here() -> bool:
    """Whether this trigger runs in Airflow's triggerer, which can end a task itself; not in
    ``dag.test()``'s in-process stand-in, which resumes the task with the event's payload (a task
    end event's payload is its state alone: the task would resume without its result)."""
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:  # pragma: no cover - a task-only environment without the SDK's runner
        return False
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    return comms is not None and type(comms).__name__ != "InProcessSupervisorComms"


def run_inline(trigger: FlinkPollingTrigger) -> WaitEvent:
    """Run a trigger's wait to its event in this process (the non-deferred wait)."""
    return asyncio.run(trigger.wait_for_event())
