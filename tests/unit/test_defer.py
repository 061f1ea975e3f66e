"""Check before deferring: a deferrable task observes first and defers only when the wait goes on
(each deferral costs seconds of scheduling); a sensor whose condition holds never defers."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from airflow_provider_flink import tasks
from airflow_provider_flink.exceptions import TaskDeferred
from airflow_provider_flink.sensors import FlinkClusterHealthSensor, FlinkJobStateSensor
from airflow_provider_flink.triggers import FlinkJobTrigger
from harness.task_context import task_context
from tests.unit.conftest import Handler, recorded

J = "ffffffffffffffffffffffffffffff01"


def _job(state: str) -> Handler:
    body = recorded("flink-2.3.0-running-job.json")
    body["state"] = state
    if state != "RUNNING":
        for vertex in body["vertices"]:
            vertex["status"] = state
            vertex["tasks"] = dict.fromkeys(vertex["tasks"], 0)
    return lambda request: httpx.Response(200, json=body)


def test_a_sensor_whose_condition_holds_does_not_defer(
    fake_flink: Callable[[Handler], list[httpx.Request]],
) -> None:
    seen = fake_flink(lambda request: httpx.Response(200, json=recorded("flink-2.3.0-overview.json")))
    sensor = FlinkClusterHealthSensor(task_id="healthy", deferrable=True, timeout=600)
    assert sensor.execute(task_context()) is not None  # no TaskDeferred raised
    assert len(seen) == 1  # one look was enough


def test_a_wait_that_ends_within_the_look_does_not_defer(
    fake_flink: Callable[[Handler], list[httpx.Request]],
) -> None:
    answers = [_job("INITIALIZING"), _job("INITIALIZING"), _job("RUNNING")]
    seen = fake_flink(lambda request: answers[min(len(seen) - 1, 2)](request))
    sensor = FlinkJobStateSensor(task_id="running", job_id=J, deferrable=True, timeout=600)
    began = time.monotonic()
    sensor.execute(task_context())
    assert len(seen) == 3
    assert time.monotonic() - began < tasks.CHECK_BEFORE_DEFER


def test_a_long_wait_defers_after_the_look(
    fake_flink: Callable[[Handler], list[httpx.Request]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "CHECK_BEFORE_DEFER", 0.3)
    fake_flink(_job("INITIALIZING"))
    sensor = FlinkJobStateSensor(task_id="running", job_id=J, deferrable=True, timeout=600)
    began = time.monotonic()
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(task_context())
    assert 0.3 <= time.monotonic() - began < 2
    trigger = deferred.value.trigger
    assert isinstance(trigger, FlinkJobTrigger)
    assert trigger.job_id == J
    assert trigger.deadline > time.time() + 500  # the trigger keeps the whole wait, not the look's
    assert trigger.coalesce  # in the triggerer it shares its polls with the other waits
    assert trigger.end_xcoms == {"return_value": "state"}  # the triggerer ends the task on success


def test_a_task_the_triggerer_may_not_end_resumes_in_a_worker() -> None:
    from airflow.sdk import Asset

    sensor = FlinkJobStateSensor(task_id="s", job_id=J)
    assert tasks.end_in_triggerer(sensor, {"return_value": "state"}) == {"return_value": "state"}
    # its asset events are a worker's to emit
    with_outlets = FlinkJobStateSensor(task_id="o", job_id=J, outlets=[Asset("flink://x")])
    assert tasks.end_in_triggerer(with_outlets, {"return_value": "state"}) is None
    quiet = FlinkJobStateSensor(task_id="q", job_id=J, do_xcom_push=False)
    assert tasks.end_in_triggerer(quiet, {"return_value": "state"}) is None
    assert tasks.end_in_triggerer(quiet, {"return_value": "job_id", "final_state": "state"}) == {
        "final_state": "state"
    }


def test_with_lineage_on_a_task_resumes_in_a_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    """A task the triggerer ends sends no OpenLineage events (the Flink run's, the task's COMPLETE)."""
    from airflow_provider_flink.lineage import events as lineage

    sensor = FlinkJobStateSensor(task_id="s", job_id=J)
    monkeypatch.setattr(lineage, "active", lambda: True)
    assert tasks.end_in_triggerer(sensor, {"return_value": "state"}) is None
    monkeypatch.setattr(lineage, "active", lambda: False)
    assert tasks.end_in_triggerer(sensor, {"return_value": "state"}) == {"return_value": "state"}


def test_a_sensors_target_states_keep_flinks_spelling_whether_strings_or_members() -> None:
    from airflow_provider_flink.client.models import JobState

    healthy = FlinkJobStateSensor(task_id="m", job_id=J, target_states=[JobState.RUNNING]).make_trigger(0.0)
    assert isinstance(healthy, FlinkJobTrigger)
    assert (healthy.target, healthy.states) == ("running", ["RUNNING"])  # not "JOBSTATE.RUNNING"
    either = FlinkJobStateSensor(task_id="s", job_id=J, target_states=["finished", JobState.FAILED])
    trigger = either.make_trigger(0.0)
    assert isinstance(trigger, FlinkJobTrigger)
    assert (trigger.target, trigger.states) == ("states", ["FINISHED", "FAILED"])
    assert trigger.serialize()[1]["states"] == ["FINISHED", "FAILED"]  # the payload: plain strings


def test_an_installation_sets_how_long_a_task_looks_before_it_defers(
    fake_flink: Callable[[Handler], list[httpx.Request]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``[flink] defer_after_seconds = 0``: every wait is deferred at once (a worker slot is never
    held for a wait); a value that is not a number of seconds is refused by name."""
    seen = fake_flink(_job("RUNNING"))
    monkeypatch.setenv("AIRFLOW__FLINK__DEFER_AFTER_SECONDS", "0")
    assert tasks.defer_after() == 0
    sensor = FlinkJobStateSensor(task_id="running", job_id=J, deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred):
        sensor.execute(task_context())
    assert seen == []  # not even one look in the worker
    monkeypatch.setenv("AIRFLOW__FLINK__DEFER_AFTER_SECONDS", "soon")
    with pytest.raises(
        ValueError, match=r"^\[flink\] defer_after_seconds must be a number of seconds >= 0, got 'soon'$"
    ):
        tasks.defer_after()
    monkeypatch.delenv("AIRFLOW__FLINK__DEFER_AFTER_SECONDS")
    assert tasks.defer_after() == tasks.CHECK_BEFORE_DEFER
