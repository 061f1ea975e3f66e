"""A minimal task context for running operators outside a DAG run (benchmarks, focused tests).

``task_state_store`` keeps values in memory with the interface of Airflow's task state store;
``ti.xcom_push`` records pushes. Real DAG runs get Airflow's own (see tests/integration/test_dags.py).
"""

from __future__ import annotations

from typing import Any


class MemoryTaskState(dict[str, Any]):
    def set(self, key: str, value: Any, **_: Any) -> None:
        self[key] = value


class RecordingTi:
    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def task_context(store: MemoryTaskState | None = None) -> dict[str, Any]:
    return {"task_state_store": store if store is not None else MemoryTaskState(), "ti": RecordingTi()}
