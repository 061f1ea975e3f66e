"""How operators, sensors and the reconcile executor wait: through a trigger, deferred to the
triggerer or run to its end in this process. Either way the wait ends in a :class:`WaitEvent`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow_provider_flink.triggers.events import WaitEvent

if TYPE_CHECKING:
    from airflow_provider_flink.triggers.flink import FlinkPollingTrigger

# Grace given to Airflow's own deferral time-out beyond the trigger's deadline, so the trigger's
# clear "timed out waiting for ..." message is what the user sees.
DEFER_GRACE = 60.0


def airflow_conf() -> Any:
    """Airflow's configuration, where this Airflow keeps it."""
    try:
        from airflow.sdk import conf
    except ImportError:  # Airflow 3.1 / 3.2
        from airflow.configuration import conf  # type: ignore[assignment]
    return conf


def default_deferrable() -> bool:
    """``[operators] default_deferrable``, Airflow's switch for every deferrable operator."""
    return bool(airflow_conf().getboolean("operators", "default_deferrable", fallback=False))


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


async def push_xcoms(task_instance: Any, xcoms: dict[str, Any]) -> None:
    """Push a task's XComs from its trigger, stored as a worker stores them.

    Not through ``TaskSuccessEvent(xcoms=...)``: the triggerer stores those JSON-encoded once more
    than a worker does (Airflow 3.1 to 3.4), and a downstream task read the deploy's job id as
    ``"<job id>"``, quotes included. Raises when this triggerer cannot (the caller then lets the
    task resume in a worker, which pushes them)."""
    from airflow.sdk.execution_time import task_runner
    from airflow.sdk.execution_time.comms import SetXCom
    from airflow.sdk.execution_time.xcom import XCom

    comms = task_runner.SUPERVISOR_COMMS
    for key, value in xcoms.items():
        message = SetXCom(
            key=key,
            value=XCom.serialize_value(value),
            dag_id=task_instance.dag_id,
            run_id=task_instance.run_id,
            task_id=task_instance.task_id,
            map_index=task_instance.map_index,
        )
        await comms.asend(message)


def run_inline(trigger: FlinkPollingTrigger) -> WaitEvent:
    """Run a trigger's wait to its event in this process (the non-deferred wait)."""
    return asyncio.run(trigger.wait_for_event())
