"""The typed wait event: what every wait ends with, read back the same way by every waiter."""

from __future__ import annotations

import pytest

from airflow_provider_flink.exceptions import FlinkOperatorError
from airflow_provider_flink.triggers import WaitEvent

J = "a" * 32


def test_payload_is_plain_json_and_reads_back_equal() -> None:
    event = WaitEvent(status="success", message="Job x is RUNNING", state="RUNNING", job_id=J)
    assert event.payload() == {
        "status": "success",
        "message": "Job x is RUNNING",
        "state": "RUNNING",
        "job_id": J,
    }
    assert WaitEvent.from_payload(event.payload(), "t") == event


def test_an_event_from_an_older_version_keeps_what_this_one_knows() -> None:
    """A trigger deferred before an upgrade may send fields this version dropped: never an error."""
    old = {
        "status": "success",
        "message": "ok",
        "state": "RUNNING",
        "job_id": J,
        "ok": True,
        "adopted": False,
    }
    assert WaitEvent.from_payload(old, "t") == WaitEvent(
        status="success", message="ok", state="RUNNING", job_id=J
    )


def test_checked_passes_success_and_raises_the_events_own_message() -> None:
    assert WaitEvent.checked(
        {"status": "success", "message": "done", "location": "file:/sp"}, "t"
    ).location == ("file:/sp")
    with pytest.raises(FlinkOperatorError, match=r"^Savepoint of job x failed: disk full$"):
        WaitEvent.checked({"status": "failed", "message": "Savepoint of job x failed: disk full"}, "t")


def test_a_wrongly_typed_field_is_a_loud_error() -> None:
    with pytest.raises(FlinkOperatorError, match=r"^t resumed with an unreadable event"):
        WaitEvent.from_payload({"status": "success", "message": "m", "free_slots": "many"}, "t")
