"""The record store's rules: a checked write bumps the revision (I8), a missing record is not an
unreadable one, and Airflow Variables hold each record under its own key (the SQL store and the
leases: test_stores.py)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_flink.deployments.records import DeploymentRecord, parse_record, record_key
from airflow_provider_flink.deployments.stores import MemoryRecordStore, VariableRecordStore
from airflow_provider_flink.exceptions import DeploymentBusyError, RecordStoreError


def record(**fields: Any) -> DeploymentRecord:
    return DeploymentRecord.model_validate({"name": "orders", "cluster": "c", **fields})


def test_each_checked_write_bumps_the_revision_by_one() -> None:
    store = MemoryRecordStore()
    mine = record()
    first = store.write(mine)
    assert (mine.revision, first.revision) == (0, 1)  # records are values: the write returns the new one
    second = store.write(first)
    assert second.revision == 2
    stored = store.get("c", "orders")
    assert stored is not None
    assert stored.revision == 2
    with pytest.raises(DeploymentBusyError):
        store.write(first)  # a revision already written over: another actor's, as far as it knows


def test_a_write_after_another_actors_is_refused() -> None:
    store = MemoryRecordStore()
    mine, theirs = record(), record()
    store.write(theirs)
    with pytest.raises(DeploymentBusyError, match=r"\(revision 1 in the memory store, this run had 0\)"):
        store.write(mine)
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
        "Record of deployment orders on c is unreadable (Invalid JSON: key must be a string at "
        "line 1 column 2): rebuilding it from Flink"
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


class BrokenVariable(FakeVariable):
    """The api-server answers every write with an error (an HTTP 500 in the Task SDK)."""

    @classmethod
    def set(cls, key: str, value: str, description: str | None = None) -> None:
        raise RuntimeError("API_SERVER_ERROR: 500 Internal Server Error\ntraceback ...")


def test_a_variable_write_that_fails_is_a_store_error_not_a_lost_race(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import airflow.sdk

    monkeypatch.setattr(airflow.sdk, "Variable", BrokenVariable)
    monkeypatch.setattr(FakeVariable, "values", {})
    with pytest.raises(RecordStoreError) as raised:
        VariableRecordStore().write(record())
    assert not isinstance(raised.value, DeploymentBusyError)
    assert str(raised.value) == (
        "Airflow Variables could not write the record of orders: RuntimeError: API_SERVER_ERROR: "
        "500 Internal Server Error"
    )


def test_a_failed_write_says_what_the_record_would_have_held() -> None:
    from airflow_provider_flink.deployments.records import SavepointEntry, Submitting, summary

    assert summary(record()) == "revision 1, job none"
    full = record(
        revision=4,
        current_job_id="a" * 32,
        applied={"spec_hash": "0123456789abcdef"},
        operation=Submitting(start={"job_id": "b" * 32, "spec_hash": "h"}),
        savepoints=[
            SavepointEntry(path="/s/old", taken_at=1.0, reason="upgrade", job_id="a" * 32),
            SavepointEntry(path="/s/new", taken_at=2.0, reason="periodic", job_id="a" * 32),
        ],
    )
    assert summary(full) == (
        f"revision 5, job {'a' * 32}, spec 0123456789ab, submit in flight, newest savepoint /s/new"
    )
