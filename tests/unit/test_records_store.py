"""The record store's rules: a checked write bumps the revision (I8), a missing record is not an
unreadable one, and Airflow Variables hold each record under its own key."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_flink.deployments.records import (
    DeploymentRecord,
    MemoryRecordStore,
    VariableRecordStore,
    parse_record,
    record_key,
    save_checked,
)
from airflow_provider_flink.exceptions import DeploymentBusyError


def record(**fields: Any) -> DeploymentRecord:
    return DeploymentRecord.model_validate({"name": "orders", "cluster": "c", **fields})


def test_each_checked_write_bumps_the_revision_by_one() -> None:
    store = MemoryRecordStore()
    mine = record()
    first = save_checked(store, mine)
    assert (mine.revision, first.revision) == (0, 1)  # records are values: the write returns the new one
    second = save_checked(store, first)
    assert second.revision == 2
    stored = store.get("c", "orders")
    assert stored is not None
    assert stored.revision == 2
    with pytest.raises(DeploymentBusyError):
        save_checked(store, first)  # a revision already written over: another actor's, as far as it knows


def test_a_write_after_another_actors_is_refused() -> None:
    store = MemoryRecordStore()
    mine, theirs = record(), record()
    save_checked(store, theirs)
    with pytest.raises(DeploymentBusyError, match=r"\(revision 1, this run had 0\)"):
        save_checked(store, mine)
    stored = store.get("c", "orders")
    assert stored is not None
    assert stored.revision == 1  # theirs, untouched


def test_failed_triggers_keep_the_newest_twenty() -> None:
    from airflow_provider_flink.deployments.transitions import savepoint_failed

    mine = record()
    for n in range(25):
        mine = savepoint_failed(mine, f"t{n}")
    assert mine.failed_triggers == [f"t{n}" for n in range(5, 25)]


def test_a_missing_record_is_not_reported_unreadable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert parse_record(None, "c", "orders") is None
    assert parse_record("", "c", "orders") is None
    assert caplog.records == []


def test_an_unreadable_record_is_logged_with_its_first_error_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    store = MemoryRecordStore()
    store.raw[record_key("c", "orders")] = "{broken"
    assert store.get("c", "orders") is None
    assert caplog.messages == [
        "Record of deployment orders on c is unreadable (Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)): rebuilding it from Flink"
    ]


class FakeVariable:
    values: dict[str, Any] = {}
    descriptions: dict[str, str] = {}

    @classmethod
    def get(cls, key: str, default: Any = "no default given") -> Any:
        return cls.values.get(key, default)

    @classmethod
    def set(cls, key: str, value: str, description: str | None = None) -> None:
        cls.values[key] = value
        cls.descriptions[key] = description or ""


def test_variable_store_keeps_each_record_under_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow.sdk

    monkeypatch.setattr(airflow.sdk, "Variable", FakeVariable)
    monkeypatch.setattr(FakeVariable, "values", {})
    monkeypatch.setattr(FakeVariable, "descriptions", {})
    store = VariableRecordStore()
    assert store.get("c", "orders") is None  # missing: the default, not an error
    store.put(record(status="running", current_job_id="a" * 32))
    assert list(FakeVariable.values) == ["flink_deployment.c.orders"]
    assert FakeVariable.descriptions == {
        "flink_deployment.c.orders": "Flink deployment record of orders (written by airflow-provider-flink)"
    }
    stored = store.get("c", "orders")
    assert stored == record(status="running", current_job_id="a" * 32)
    assert store.get("c", "payments") is None


def test_variable_store_reads_a_missing_variable_as_no_record_and_names_an_unreadable_one(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import airflow.sdk

    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(airflow.sdk, "Variable", FakeVariable)
    monkeypatch.setattr(FakeVariable, "values", {})
    store = VariableRecordStore()
    assert store.get("c", "orders") is None
    assert caplog.messages == []  # missing is not unreadable
    FakeVariable.values["flink_deployment.c.orders"] = "[]"
    assert store.get("c", "orders") is None
    assert len(caplog.messages) == 1
    assert caplog.messages[0].startswith("Record of deployment orders on c is unreadable (")
