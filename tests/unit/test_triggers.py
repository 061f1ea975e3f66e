"""Triggers against faked HTTP: serialization, unknown-is-not-failed, deadlines, root causes, kill."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from airflow_provider_flink.client.resilience import breaker_for
from airflow_provider_flink.triggers import (
    FlinkClusterHealthTrigger,
    FlinkDisposalTrigger,
    FlinkJobTrigger,
    FlinkSavepointTrigger,
)
from tests.unit.conftest import recorded

J = "a" * 32
T = "b" * 32
Handler = Callable[[httpx.Request], httpx.Response]


def run(trigger: Any) -> dict[str, Any]:
    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    return asyncio.run(first())


def in_turn(answers: Iterator[httpx.Response | Exception]) -> Callable[[httpx.Request], httpx.Response]:
    """A fake Flink that gives these answers (or raises these errors) in turn."""

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handler


def job_body(state: str, vertex: str = "RUNNING") -> dict[str, Any]:
    return {"jid": J, "state": state, "vertices": [{"id": "v", "name": "count", "status": vertex}]}


@pytest.mark.parametrize(
    "trigger",
    [
        FlinkJobTrigger(
            "flink_default",
            J,
            123.0,
            target="states",
            states=["CANCELED"],
            checkpoint_within=5.0,
            kill_action="stop",
        ),
        FlinkSavepointTrigger("flink_default", J, request_id=T, deadline=123.0, operation="stop"),
        FlinkClusterHealthTrigger("flink_default", 123.0, min_taskmanagers=2, min_free_slots=3),
        FlinkDisposalTrigger("flink_default", T, "file:/sp/1", 123.0),
    ],
)
def test_serialize_round_trips_with_plain_values(trigger: Any) -> None:
    path, kwargs = trigger.serialize()
    json.dumps(kwargs)  # plain values only
    module, name = path.rsplit(".", 1)
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (path, kwargs)


def test_job_becomes_running_after_unknown_polls(fake_flink: Any) -> None:
    answers = iter(
        [
            httpx.ConnectError("Connection refused"),
            httpx.Response(503, text="starting"),
            httpx.Response(200, json=job_body("RUNNING", "DEPLOYING")),
            httpx.Response(200, json=job_body("RUNNING")),
        ]
    )

    fake_flink(in_turn(answers))
    event = run(FlinkJobTrigger("flink_default", J, time.time() + 30, poll_interval=0.01))
    assert event["status"] == "success"
    assert event["job_id"] == J
    assert event["message"] == f"Job {J} is RUNNING with all 1 vertices RUNNING"


def test_unreachable_until_the_deadline_is_a_timeout_not_a_failure(fake_flink: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused")

    seen = fake_flink(handler)
    event = run(FlinkJobTrigger("flink_default", J, time.time() + 0.3, poll_interval=0.05))
    assert event == {
        "status": "timeout",
        "job_id": J,
        "state": "UNKNOWN",
        "message": f"Timed out waiting for job {J} to be RUNNING with all vertices RUNNING; last seen: UNKNOWN",
    }
    assert len(seen) >= 2


def test_timeout_names_the_last_state_seen(fake_flink: Any) -> None:
    fake_flink(lambda r: httpx.Response(200, json=job_body("RUNNING", "INITIALIZING")))
    event = run(FlinkJobTrigger("flink_default", J, time.time() + 0.2, poll_interval=0.05))
    assert event["status"] == "timeout"
    assert event["message"].endswith("last seen: RUNNING, vertices not running yet: count=INITIALIZING")


def test_failed_job_event_carries_the_root_cause(fake_flink: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/exceptions"):
            return httpx.Response(200, json=recorded("flink-2.3.0-failed-job-exceptions.json"))
        return httpx.Response(200, json=job_body("FAILED", "FAILED"))

    fake_flink(handler)
    event = run(FlinkJobTrigger("flink_default", J, time.time() + 5, target="finished"))
    assert event["status"] == "failed"
    assert event["root_cause"] == "java.lang.IllegalStateException: failing on purpose after 20 records"
    assert event["message"] == (
        f"Job {J} ended FAILED while waiting for it to be FINISHED. "
        "Root cause: java.lang.IllegalStateException: failing on purpose after 20 records"
    )


def test_failed_job_without_reachable_exceptions_still_fails(fake_flink: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/exceptions"):
            return httpx.Response(500, text="oops")
        return httpx.Response(200, json=job_body("FAILED", "FAILED"))

    fake_flink(handler)
    event = run(FlinkJobTrigger("flink_default", J, time.time() + 5, target="finished"))
    assert event["status"] == "failed"
    assert event["root_cause"].startswith("(root cause not available: Flink answered HTTP 500")


def test_unknown_job_is_reported_as_not_found(fake_flink: Any) -> None:
    fake_flink(
        lambda r: httpx.Response(
            404, json={"errors": ["org.apache.flink.runtime.rest.NotFoundException: Job x not found"]}
        )
    )
    event = run(FlinkJobTrigger("flink_default", J, time.time() + 5))
    assert event["status"] == "failed"
    assert event["state"] == "NOT_FOUND"
    assert event["message"] == (
        f"Flink does not know job {J}: never submitted to this cluster, or lost in a JobManager restart "
        "without high availability"
    )


def test_client_error_ends_the_wait_with_flinks_message(fake_flink: Any) -> None:
    fake_flink(lambda r: httpx.Response(400, json={"errors": ["bad request: no savepoint operation"]}))
    event = run(FlinkSavepointTrigger("flink_default", J, request_id=T, deadline=time.time() + 5))
    assert event["status"] == "failed"
    assert (
        event["message"]
        == f"Flink answered HTTP 400 to GET /jobs/{J}/savepoints/{T}: bad request: no savepoint operation."
    )


def test_healthy_with_checkpoint_window_reads_checkpoints(fake_flink: Any) -> None:
    now_ms = int(time.time() * 1000)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/checkpoints"):
            return httpx.Response(
                200, json={"latest": {"completed": {"id": 3, "trigger_timestamp": now_ms - 1000}}}
            )
        return httpx.Response(200, json=job_body("RUNNING"))

    seen = fake_flink(handler)
    event = run(FlinkJobTrigger("flink_default", J, time.time() + 5, checkpoint_within=30))
    assert event["status"] == "success"
    assert "last checkpoint" in event["message"]
    assert [r.url.path for r in seen] == [f"/jobs/{J}", f"/jobs/{J}/checkpoints"]


def test_savepoint_trigger_waits_then_returns_the_location(fake_flink: Any) -> None:
    answers = iter(
        [
            {"status": {"id": "IN_PROGRESS"}},
            {"status": {"id": "COMPLETED"}, "operation": {"location": "file:/sp/9"}},
        ]
    )
    fake_flink(lambda r: httpx.Response(200, json=next(answers)))
    event = run(
        FlinkSavepointTrigger("flink_default", J, request_id=T, deadline=time.time() + 5, poll_interval=0.01)
    )
    assert event["status"] == "success"
    assert event["location"] == "file:/sp/9"
    assert event["trigger_id"] == T


def test_cluster_health_trigger(fake_flink: Any) -> None:
    answers = iter(
        [
            {"taskmanagers": 0, "slots-total": 0, "slots-available": 0, "flink-version": "2.3.0"},
            {"taskmanagers": 1, "slots-total": 4, "slots-available": 4, "flink-version": "2.3.0"},
        ]
    )
    fake_flink(lambda r: httpx.Response(200, json=next(answers)))
    event = run(FlinkClusterHealthTrigger("flink_default", time.time() + 5, 1, 2, poll_interval=0.01))
    assert event["status"] == "success"
    assert event["free_slots"] == 4


@pytest.mark.parametrize(
    ("action", "method", "path"), [("cancel", "PATCH", f"/jobs/{J}"), ("stop", "POST", f"/jobs/{J}/stop")]
)
def test_on_kill_cancels_or_stops_when_asked(fake_flink: Any, action: Any, method: str, path: str) -> None:
    seen = fake_flink(lambda r: httpx.Response(202, json={"request-id": T}))
    asyncio.run(FlinkJobTrigger("flink_default", J, time.time() + 5, kill_action=action).on_kill())
    assert [(r.method, r.url.path) for r in seen] == [(method, path)]


def test_on_kill_does_nothing_by_default(fake_flink: Any) -> None:
    seen = fake_flink(lambda r: httpx.Response(202, json={}))
    asyncio.run(FlinkJobTrigger("flink_default", J, time.time() + 5).on_kill())
    assert seen == []


def test_stop_is_over_only_when_the_job_has_ended(fake_flink: Any) -> None:
    states = iter(["RUNNING", "FINISHED"])

    def handler(request: httpx.Request) -> httpx.Response:
        if "/savepoints/" in request.url.path:
            return httpx.Response(
                200, json={"status": {"id": "COMPLETED"}, "operation": {"location": "file:/sp/1"}}
            )
        return httpx.Response(200, json=job_body(next(states)))

    seen = fake_flink(handler)
    trigger = FlinkSavepointTrigger(
        "flink_default", J, request_id=T, deadline=time.time() + 5, operation="stop", poll_interval=0.01
    )
    event = run(trigger)
    assert event["status"] == "success"
    assert event["state"] == "FINISHED"
    assert event["message"] == f"Stop-with-savepoint of job {J} completed at file:/sp/1; the job is FINISHED"
    assert len(seen) == 4  # status, job (still RUNNING), status, job (FINISHED)


def test_a_job_in_a_restart_loop_ends_the_wait_early_with_its_root_cause(fake_flink: Any) -> None:
    """A job looping RESTARTING (a failing task, or no slots) once left a deferred task at
    "trigger starting" until the full timeout; it fails after max_restarts with Flink's cause."""
    since = time.time()
    failures = [
        {"exceptionName": "x", "stacktrace": f"java.lang.IllegalStateException: no slot {n}", "timestamp": ms}
        for n, ms in enumerate([int(since * 1000) - 60_000, int(since * 1000) + 10, int(since * 1000) + 20])
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/exceptions"):
            return httpx.Response(200, json={"exceptionHistory": {"entries": failures}})
        return httpx.Response(200, json=job_body("RESTARTING", "CANCELED"))

    seen = fake_flink(handler)
    trigger = FlinkJobTrigger(
        "flink_default", J, time.time() + 600, poll_interval=0.01, max_restarts=2, since=since
    )
    began = time.monotonic()
    event = run(trigger)
    assert time.monotonic() - began < 5  # not the 600 s deadline
    assert event["status"] == "failed"
    assert event["message"] == (
        f"Job {J} failed and restarted 2 times while waiting for it to be RUNNING with all vertices "
        "RUNNING (max_restarts=2). Root cause: java.lang.IllegalStateException: no slot 2"
    )
    assert event["root_cause"] == "java.lang.IllegalStateException: no slot 2"
    # the failure before the wait began is not counted; no restart check without a RESTARTING job
    assert sum(r.url.path.endswith("/exceptions") for r in seen) >= 1


def test_unknown_is_logged_once_per_change_and_progress_at_a_modest_rate(
    fake_flink: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """An outage during the fast poll phase once wrote 30 warnings in 3 s."""
    answers = [httpx.ConnectError("Connection refused")] * 8 + [httpx.Response(503, text="x")] * 8
    answers += [httpx.Response(200, json=job_body("RUNNING", "DEPLOYING"))] * 5
    answers += [httpx.Response(200, json=job_body("RUNNING"))]
    fake_flink(in_turn(iter(answers)))
    breaker_for("http://flink.test:8081", threshold=100)  # this test is about the log, not the breaker
    caplog.set_level(logging.INFO)
    trigger = FlinkJobTrigger("flink_default", J, time.time() + 60, poll_interval=0.01)
    trigger._log = logging.getLogger("test.trigger")  # what the trigger logs, as records
    event = run(trigger)
    assert event["status"] == "success"
    unknown = [r.getMessage() for r in caplog.records if "Flink state unknown" in r.getMessage()]
    assert len(unknown) == 2  # connection refused, then the 503: each change once
    progress = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Waiting for job")]
    assert progress == [
        f"Waiting for job {J} to be RUNNING with all vertices RUNNING: RUNNING, vertices not running yet: count=DEPLOYING"
    ]
    assert any("Flink answers again" in r.getMessage() for r in caplog.records)


def test_job_waits_in_one_process_share_one_jobs_overview_per_poll(fake_flink: Any) -> None:
    """In the triggerer 50 deferred waits on one cluster cost 50 requests per interval; waits that
    coalesce share one /jobs/overview and fetch their job's details only once it may be over."""
    jobs = [f"{n:032x}" for n in range(20)]
    start = time.time()

    def handler(request: httpx.Request) -> httpx.Response:
        up = time.time() - start > 1.0
        if request.url.path == "/jobs/overview":
            tasks = {"running": 1, "total": 1} if up else {"running": 0, "total": 1}
            listing = [
                {"jid": j, "name": "c", "state": "RUNNING", "start-time": 1, "tasks": tasks} for j in jobs
            ]
            return httpx.Response(200, json={"jobs": listing})
        jid = request.url.path.rsplit("/", 1)[1]
        vertex = {"id": "v", "name": "count", "status": "RUNNING" if up else "DEPLOYING"}
        return httpx.Response(200, json={"jid": jid, "state": "RUNNING", "vertices": [vertex]})

    seen = fake_flink(handler)
    triggers = [
        FlinkJobTrigger("flink_default", j, time.time() + 30, poll_interval=0.2, coalesce=True) for j in jobs
    ]

    async def wait_all() -> list[Any]:
        return list(await asyncio.gather(*(t.wait_for_event() for t in triggers)))

    events = asyncio.run(wait_all())
    assert all(e.ok for e in events)
    overviews = sum(r.url.path == "/jobs/overview" for r in seen)
    details = [r.url.path for r in seen if r.url.path != "/jobs/overview"]
    assert sorted(details) == sorted(f"/jobs/{j}" for j in jobs)  # one detail per job, at the end
    # about 10 fast polls in the second before the jobs are up: one overview each, not one per wait
    assert 5 <= overviews <= 20


def test_a_poking_sensor_gives_the_root_cause_and_says_what_it_sees(
    fake_flink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """Poke mode judges as the deferred wait does: one judgement, the root cause included (it said
    only "ended FAILED while waiting for it to be FINISHED"); and its log says what it waits on."""
    from airflow_provider_flink.exceptions import FlinkOperatorError
    from airflow_provider_flink.sensors import FlinkJobStateSensor

    states = iter(["RUNNING", "FAILED"])
    now: dict[str, str] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/exceptions"):
            return httpx.Response(200, json=recorded("flink-2.3.0-failed-job-exceptions.json"))
        return httpx.Response(200, json=job_body(now["state"], now["state"]))

    fake_flink(handler)
    sensor = FlinkJobStateSensor(
        task_id="s", job_id=J, target_states=["FINISHED"], deferrable=False, mode="poke", max_restarts=None
    )
    now["state"] = next(states)
    assert sensor.poke({}) is False
    assert f"Waiting for job {J} to be FINISHED: RUNNING" in capsys.readouterr().out
    now["state"] = next(states)
    with pytest.raises(FlinkOperatorError) as info:
        sensor.poke({})
    assert str(info.value) == (
        f"Job {J} ended FAILED while waiting for it to be FINISHED. "
        "Root cause: java.lang.IllegalStateException: failing on purpose after 20 records"
    )


def test_a_job_healthy_below_its_asked_parallelism_is_said_so(fake_flink: Any) -> None:
    """Flink's adaptive scheduler ran a job asked at 4 at 2 (2 free slots) and nothing said so."""
    body = {
        "jid": J,
        "state": "RUNNING",
        "vertices": [{"id": "v", "name": "count", "status": "RUNNING", "parallelism": 2}],
    }
    fake_flink(lambda r: httpx.Response(200, json=body))
    event = run(FlinkJobTrigger("flink_default", J, time.time() + 5, asked_parallelism=4))
    assert event["status"] == "success"
    assert event["message"] == (
        f"Job {J} is RUNNING with all 1 vertices RUNNING; it runs at parallelism 2, below the 4 asked: "
        "Flink's adaptive scheduler started it with the task slots it had; it scales up when slots free up "
        "(see the cluster's free slots, or set capacity_check='fail' to refuse instead)"
    )
    at_two = run(FlinkJobTrigger("flink_default", J, time.time() + 5, asked_parallelism=2))
    assert at_two["message"] == f"Job {J} is RUNNING with all 1 vertices RUNNING"


def test_a_wait_that_reaches_its_goal_ends_the_task_in_the_triggerer(
    fake_flink: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No worker is scheduled to resume a task just to return a value (1.5-3 s per deferred wait);
    the XComs are pushed as a worker pushes them; a wait that fails still resumes the task, which
    raises its error and keeps its retries."""
    from types import SimpleNamespace

    from airflow.sdk.execution_time import task_runner
    from airflow.triggers.base import TaskSuccessEvent

    from airflow_provider_flink.triggers import flink as module

    sent: list[Any] = []

    class Comms:
        async def asend(self, message: Any) -> None:
            sent.append(message)

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", Comms(), raising=False)
    monkeypatch.setattr(module, "ends_tasks_here", lambda: True)
    fake_flink(lambda r: httpx.Response(200, json=job_body("RUNNING")))
    trigger = FlinkJobTrigger("flink_default", J, time.time() + 5, end_xcoms={"return_value": "job_id"})
    _, kwargs = trigger.serialize()
    assert kwargs["end_xcoms"] == {"return_value": "job_id"}
    again = FlinkJobTrigger(**kwargs)
    again.task_instance = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=-1)  # type: ignore[assignment]

    async def first() -> Any:
        async for event in again.run():
            return event
        raise AssertionError("no event")

    ended = asyncio.run(first())
    assert isinstance(ended, TaskSuccessEvent)
    assert ended.xcoms is None  # not through the event: the triggerer would store them JSON-encoded twice
    assert [(m.key, m.value, m.dag_id, m.run_id, m.task_id, m.map_index) for m in sent] == [
        ("return_value", J, "d", "r", "t", -1)
    ]

    class Broken:
        async def asend(self, message: Any) -> None:
            raise RuntimeError("no supervisor")

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", Broken(), raising=False)
    resumed_to_push = asyncio.run(first())  # the XComs could not be pushed: the worker will
    assert not isinstance(resumed_to_push, TaskSuccessEvent)
    assert resumed_to_push.payload["status"] == "success"
    fake_flink(lambda r: httpx.Response(200, json=job_body("CANCELED", "CANCELED")))
    resumed = asyncio.run(first())
    assert not isinstance(resumed, TaskSuccessEvent)
    assert resumed.payload["status"] == "failed"
    # without end_xcoms (a task that does more when it resumes) the event goes to the task
    plain = FlinkJobTrigger("flink_default", J, time.time() + 5)
    assert "end_xcoms" not in plain.serialize()[1]


def test_only_airflows_triggerer_ends_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    """dag.test() runs triggers in-process and resumes the task with the event's payload: a task
    end event there would resume it without its result."""
    from airflow.sdk.execution_time import task_runner

    from airflow_provider_flink.triggers.waiting import ends_tasks_here

    class InProcessSupervisorComms:
        pass

    class TriggerCommsDecoder:
        pass

    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", None, raising=False)
    assert not ends_tasks_here()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", InProcessSupervisorComms(), raising=False)
    assert not ends_tasks_here()
    monkeypatch.setattr(task_runner, "SUPERVISOR_COMMS", TriggerCommsDecoder(), raising=False)
    assert ends_tasks_here()
