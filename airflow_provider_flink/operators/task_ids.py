"""Where an operator keeps the ids it acts with across tries of one task instance.

Airflow 3.3+ has the task state store (``context["task_state_store"]``): the operator records a job
or trigger id there *before* the request, and a retry reads it back. Airflow 3.1 and 3.2 have
none; there the ids are derived from the task instance itself (DAG, run, task, map index) and the
try number, and a retry asks Flink which earlier try's id it knows, newest first. Flink lets the
caller choose both ids, so a retry still adopts the job or polls the savepoint an earlier try
started instead of starting a second one.

What differs without the store: an earlier try's id is found only while Flink still knows it
(a job: until the JobManager forgets it, hours by default; a savepoint trigger: about 5 minutes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from airflow_provider_flink import ids


class IdStore(Protocol):
    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...


class DerivedIds:
    """The ids of one task instance's tries, derived instead of stored (Airflow < 3.3)."""

    def __init__(self, ti: Any) -> None:
        self.identity = [str(getattr(ti, name, "")) for name in ("dag_id", "run_id", "task_id", "map_index")]
        self.try_number = max(int(getattr(ti, "try_number", 1) or 1), 1)

    def for_try(self, key: str, try_number: int) -> str:
        return ids.task_try_id(key, self.identity, try_number)

    def earlier(self, key: str) -> list[str]:
        """The ids earlier tries would have used, newest first."""
        return [self.for_try(key, n) for n in range(self.try_number - 1, 0, -1)]

    def get(self, key: str) -> Any:
        return None  # nothing is stored: see recorded_id

    def set(self, key: str, value: Any) -> None:
        """Nothing to store: the next try derives the same ids and asks Flink."""


def id_store(context: Any) -> IdStore | DerivedIds:
    """The task state store when Airflow has one (3.3+), else ids derived from the task instance."""
    store = context.get("task_state_store")
    if store is not None:
        return store  # type: ignore[no-any-return]
    return DerivedIds(context.get("ti"))


def recorded_id(store: IdStore | DerivedIds, key: str, known: Callable[[str], bool]) -> str | None:
    """The id an earlier try of this task instance acted with: the stored one, or (derived ids)
    the newest earlier try's id that Flink still knows (``known``)."""
    if isinstance(store, DerivedIds):
        return next((candidate for candidate in store.earlier(key) if known(candidate)), None)
    value = store.get(key)
    return str(value) if value else None


def fresh_id(store: IdStore | DerivedIds, key: str) -> str:
    """The id for a new operation of this try: random (then stored), or derived from the try."""
    if isinstance(store, DerivedIds):
        return store.for_try(key, store.try_number)
    return ids.new_id()
