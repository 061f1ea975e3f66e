"""Job-state events: the judge (``deployments.changes.job_changes``) and ``FlinkJobEventTrigger``
against a faked Flink REST API (the real one: tests/integration/test_real_components.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from airflow_provider_flink.client.models import COMING_UP, FAILING_STATES, LEFT_RUNNING, TERMINAL, JobState
from airflow_provider_flink.deployments.changes import (
    Health,
    JobChange,
    confirmed,
    health_changes,
    job_changes,
    kept_cursor,
    newest_jobs,
    settle,
    urgent,
)
from airflow_provider_flink.events import FlinkJobEventTrigger
from airflow_provider_flink.events.job_changes import CURSOR_KEY
from airflow_provider_flink.ids import deployment_prefix
from tests.unit.test_spec_watch import FakeStateStore


def jid(name: str, n: int = 0) -> str:
    return deployment_prefix(name) + f"{n:020x}"


def overview(*jobs: tuple[str, str, int]) -> dict[str, Any]:
    return {
        "jobs": [
            {"jid": j, "name": "x", "state": state, "start-time": start, "end-time": -1, "duration": 1,
             "last-modification": start, "tasks": {"total": 1, "running": 1}}
            for j, state, start in jobs
        ]
    }  # fmt: skip


def test_only_a_running_job_that_leaves_running_or_vanishes_is_a_change() -> None:
    a, b, c = jid("orders"), jid("clicks"), jid("payments")
    before = {
        "orders": (a, "RUNNING"),
        "clicks": (b, "RUNNING"),
        "payments": (c, "RUNNING"),
        "new": ("n", "CREATED"),
    }
    now = {"orders": (a, "FAILED"), "clicks": (b, "RUNNING"), "new": ("n", "RUNNING")}
    described = [c.describe() for c in job_changes(before, now)]
    assert described == [
        f"orders: job {a} RUNNING -> FAILED",
        f"payments: job {c} is gone from the cluster (was RUNNING)",
    ]
    # An upgrade: the old job FINISHED under a newer job that starts: nothing to act on.
    upgraded = {"orders": (jid("orders", 1), "INITIALIZING")}
    assert job_changes({"orders": (a, "RUNNING")}, upgraded) == []
    # A new job that fails at once is.
    [change] = job_changes({"orders": (a, "RUNNING")}, {"orders": (jid("orders", 1), "FAILED")})
    assert (change.job_id, change.after) == (jid("orders", 1), "FAILED")
    # A deployment that ended on purpose and whose job is then gone from the list is not.
    assert job_changes({"orders": (a, "FINISHED")}, {}) == []


def test_a_new_job_that_ended_between_two_looks_is_a_change_and_one_failure_is_one() -> None:
    """Seen in the real-components suite: an upgrade's new job, cancelled by hand within one poll
    interval, was never seen RUNNING, so the first rule (RUNNING -> ended) missed it."""
    a, b = jid("orders", 0), jid("orders", 1)
    [missed] = job_changes({"orders": (a, "FINISHED")}, {"orders": (b, "CANCELED")})
    assert (missed.job_id, missed.before, missed.after) == (b, "", "CANCELED")
    assert job_changes({"orders": (a, "FAILING")}, {"orders": (a, "FAILED")}) == []  # one failure, one event
    assert job_changes({"orders": (a, "CANCELLING")}, {"orders": (a, "CANCELED")}) == []
    [gave_up] = job_changes({"orders": (a, "RESTARTING")}, {"orders": (a, "FAILED")})
    assert (gave_up.before, gave_up.after) == ("RESTARTING", "FAILED")  # Flink's restarts gave up


def test_newest_jobs_picks_each_deployments_newest_job_and_ignores_others() -> None:
    from airflow_provider_flink.client.models import JobsOverview

    jobs = JobsOverview.model_validate(
        overview(
            (jid("orders", 0), "FINISHED", 1), (jid("orders", 1), "RUNNING", 2), ("f" * 32, "RUNNING", 3)
        )
    ).jobs
    assert newest_jobs(["orders", "clicks"], list(jobs)) == {"orders": (jid("orders", 1), "RUNNING")}


@pytest.mark.parametrize("state", list(JobState), ids=lambda state: state.value)
def test_the_watcher_judges_every_state_it_reads_as_a_string_by_the_named_sets(state: JobState) -> None:
    """The cursor and the events carry states as Flink spells them: each judge must read every one
    as its set says (a misspelt state string in a judge fails here for that state)."""
    a, said = jid("orders"), state.value
    left = job_changes({"orders": (a, "RUNNING")}, {"orders": (a, said)})
    assert bool(left) is (state in LEFT_RUNNING)
    change = JobChange("orders", a, "RUNNING", said)
    assert urgent(change) is (state in FAILING_STATES)  # a failure at once, an end once confirmed
    assert bool(confirmed([change], {"orders": (a, said)})) is (state is not JobState.RUNNING)
    gone = job_changes({"orders": (a, said)}, {})
    assert bool(gone) is (state not in TERMINAL)  # a job that ended may leave the list
    stuck = {"orders": Health(a, said, False, 1000.0)}
    late = health_changes(stuck, stuck, {"orders": 120.0}, 1200.0, set())
    assert bool(late) is (state in COMING_UP)  # the others are reported by their state
    restarts_gave_up = job_changes({"orders": (a, "RESTARTING")}, {"orders": (a, said)})
    assert bool(restarts_gave_up) is (state is JobState.FAILED)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name, cluster in (("orders", "flink_default"), ("elsewhere", "flink_other")):
        body = {"name": name, "cluster": cluster, "artifact": {"jar": "/j.jar"}, "entry_class": "a.B"}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(body))
    (tmp_path / "broken.yaml").write_text("name: [")
    return tmp_path


def answers(*bodies: dict[str, Any] | Exception) -> Iterator[httpx.Response | Exception]:
    for body in bodies:
        yield body if isinstance(body, Exception) else httpx.Response(200, json=body)
    while True:
        yield httpx.Response(200, json=bodies[-1]) if not isinstance(bodies[-1], Exception) else bodies[-1]


def first_event(trigger: FlinkJobEventTrigger, seconds: float = 3.0) -> dict[str, Any] | None:
    async def main() -> dict[str, Any] | None:
        async def first() -> dict[str, Any] | None:
            async for event in trigger.run():
                return dict(event.payload)
            return None

        try:
            return await asyncio.wait_for(first(), seconds)
        except asyncio.TimeoutError:
            return None

    return asyncio.run(main())


def test_a_failed_job_gives_one_event_with_its_root_cause_and_link(fake_flink: Any, folder: Path) -> None:
    job = jid("orders")
    flow = answers(overview((job, "RUNNING", 1)), overview((job, "FAILED", 1)))
    exceptions = {"root-exception": "java.lang.RuntimeException: boom\n\tat X", "all-exceptions": []}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/exceptions"):
            return httpx.Response(200, json={"exceptionHistory": {"entries": []}, **exceptions})
        answer = next(flow)
        assert isinstance(answer, httpx.Response)
        return answer

    seen = fake_flink(handler)
    event = first_event(FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05))
    assert event is not None
    assert event["flink_deployments"] == ["orders"]
    [change] = event["changes"]
    assert (change["job_id"], change["from"], change["to"]) == (job, "RUNNING", "FAILED")
    assert "boom" in change["root_cause"]
    assert change["flink_url"].endswith(f"/#/job/running/{job}/overview")
    # One /jobs/overview per poll; the deployment of another cluster is not watched here.
    paths = [r.url.path for r in seen]
    assert set(paths) == {"/jobs/overview", f"/jobs/{job}/exceptions"}


def test_no_answer_from_flink_is_not_a_change(fake_flink: Any, folder: Path) -> None:
    job = jid("orders")
    flow = answers(
        overview((job, "RUNNING", 1)),
        httpx.ConnectError("refused"),
        httpx.ConnectError("refused"),
        overview((job, "RUNNING", 1)),
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(flow)
        if isinstance(answer, Exception):
            raise answer
        return answer

    fake_flink(handler)
    assert first_event(FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05), 1.5) is None


def test_a_job_that_failed_while_no_triggerer_ran_is_reported_from_the_stored_look(
    fake_flink: Any, folder: Path
) -> None:
    job = jid("orders")
    fake_flink(lambda request: httpx.Response(200, json=overview((job, "CANCELED", 1))))
    trigger = FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05)
    store = FakeStateStore()
    store.values[CURSOR_KEY] = {"orders": [job, "RUNNING"]}
    trigger.asset_state_store = store
    event = first_event(trigger)
    assert event is not None
    assert [(c["from"], c["to"], c["root_cause"]) for c in event["changes"]] == [
        ("RUNNING", "CANCELED", None)
    ]


def test_serialize_round_trips_and_a_bad_interval_is_refused() -> None:
    trigger = FlinkJobEventTrigger("flink_default", "/specs", poll_interval=3)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_flink.events.job_changes.FlinkJobEventTrigger"
    assert FlinkJobEventTrigger(**kwargs).serialize() == (path, kwargs)
    with pytest.raises(ValueError, match="poll_interval must be > 0, got 0"):
        FlinkJobEventTrigger("flink_default", "/specs", poll_interval=0)


def test_an_upgrade_stopping_the_old_job_is_not_a_state_event_but_its_new_job_healthy_is(
    fake_flink: Any, folder: Path
) -> None:
    """The reconcile's own upgrade: the old job FINISHED, a moment later the new job runs. No one
    is paged for the stop; the only event is the new job becoming healthy, which starts the run
    that marks it stable (short runs do not wait for it)."""
    old, new = jid("orders", 0), jid("orders", 1)
    flow = answers(
        overview((old, "RUNNING", 1)),
        overview((old, "FINISHED", 1)),  # the look that falls between the stop and the submit
        overview((old, "FINISHED", 1), (new, "RUNNING", 2)),
    )
    fake_flink(lambda request: next(flow))  # type: ignore[arg-type,return-value]
    event = first_event(FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05), 1.0)
    assert event is not None
    assert [(c["job_id"], c["kind"], c["from"], c["to"]) for c in event["changes"]] == [
        (new, "healthy", "", "RUNNING")
    ]


def test_a_job_cancelled_outside_is_an_event_once_the_next_look_confirms_it(
    fake_flink: Any, folder: Path
) -> None:
    job = jid("orders")
    flow = answers(
        overview((job, "RUNNING", 1)), overview((job, "CANCELLING", 1)), overview((job, "CANCELED", 1))
    )
    fake_flink(lambda request: next(flow))  # type: ignore[arg-type,return-value]
    event = first_event(FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05))
    assert event is not None
    assert [(c["from"], c["to"]) for c in event["changes"]] == [("RUNNING", "CANCELED")]


def test_an_ended_job_is_reported_once_it_stayed_ended_for_the_window_not_after_one_look() -> None:
    a, b = jid("orders", 0), jid("orders", 1)
    cancel = JobChange("orders", a, "RUNNING", "CANCELLING")
    ended = {"orders": (a, "CANCELED")}
    # Seen at 10.0; a look at 11.0 (poll 1 s) is too soon for a 2 s window: held on, as it was seen.
    assert settle([(cancel, 10.0)], ended, 11.0, 2.0) == ([], [(cancel, 10.0)])
    # At 12.0 it is reported, as it is now (CANCELED).
    assert settle([(cancel, 10.0)], ended, 12.0, 2.0) == ([JobChange("orders", a, "RUNNING", "CANCELED")], [])
    # An upgrade's next job listed meanwhile (or the job running again): dropped, never reported.
    assert settle([(cancel, 10.0)], {"orders": (b, "INITIALIZING")}, 11.0, 2.0) == ([], [])
    assert settle([(cancel, 10.0)], {"orders": (a, "RUNNING")}, 13.0, 2.0) == ([], [])


def test_an_upgrades_next_job_listed_a_second_after_the_old_one_ended_is_no_event(
    fake_flink: Any, folder: Path
) -> None:
    """A poll faster than the window: the old job FINISHED for 1 s over 20 looks (the old rule,
    one look later, reported it and woke a reconcile and an alert for the provider's own upgrade);
    then the next job runs. The only event is the new job becoming healthy."""
    import time

    old, new = jid("orders", 0), jid("orders", 1)
    began = time.monotonic()

    def handler(request: httpx.Request) -> httpx.Response:
        elapsed = time.monotonic() - began
        if elapsed < 0.3:
            return httpx.Response(200, json=overview((old, "RUNNING", 1)))
        if elapsed < 1.3:
            return httpx.Response(200, json=overview((old, "FINISHED", 1)))
        return httpx.Response(200, json=overview((old, "FINISHED", 1), (new, "RUNNING", 2)))

    fake_flink(handler)
    event = first_event(FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05), 2.8)
    assert event is not None
    assert [(c["job_id"], c["kind"]) for c in event["changes"]] == [(new, "healthy")]


def test_the_kept_look_never_runs_ahead_of_a_held_change() -> None:
    a, b = jid("orders", 0), jid("clicks", 0)
    kept = {"orders": (a, "RUNNING"), "clicks": (b, "RUNNING")}
    now = {"orders": (a, "CANCELED"), "clicks": (b, "FAILED")}
    cancel = JobChange("orders", a, "RUNNING", "CANCELED")
    # The cancel is held (not reported yet): its deployment keeps its last kept look; the
    # reported failure is kept as it is now.
    assert kept_cursor(now, kept, [(cancel, 10.0)]) == {"orders": (a, "RUNNING"), "clicks": (b, "FAILED")}
    assert kept_cursor(now, kept, []) == now  # reported (or dropped): kept as it is
    assert kept_cursor(now, {}, [(cancel, 10.0)]) == now  # nothing kept before it: as it is


def test_a_cancel_seen_by_a_watcher_that_died_before_reporting_it_is_reported_by_the_next(
    fake_flink: Any, folder: Path
) -> None:
    """The triggerer died (or its database went down) between the first look at a cancelled job
    and the event, 2 s later: the next watcher must still report it. Keeping each look as it was
    seen made the next one start from CANCELED and never report it (the soak: a job cancelled while
    PostgreSQL was down stayed down)."""
    job = jid("orders")
    fake_flink(lambda request: httpx.Response(200, json=overview((job, "CANCELED", 1))))
    store = FakeStateStore()
    store.values[CURSOR_KEY] = {"orders": [job, "RUNNING"]}
    first = FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05)
    first.asset_state_store = store
    assert first_event(first, 1.0) is None  # stopped within the 2 s an ended job is held
    assert store.values[CURSOR_KEY] == {"orders": [job, "RUNNING"]}
    second = FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05)
    second.asset_state_store = store
    event = first_event(second)
    assert event is not None
    assert [(c["job_id"], c["from"], c["to"]) for c in event["changes"]] == [(job, "RUNNING", "CANCELED")]


def test_a_store_that_answers_only_at_the_second_ask_still_gives_the_last_look(
    fake_flink: Any, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A watcher started again with its database (PostgreSQL restarted) asks the store before it
    answers: it asks again, not "starting from now" (which would miss the cancel)."""
    monkeypatch.setattr("airflow_provider_flink.events.state.LOAD_PAUSE", 0.05)
    job = jid("orders")
    fake_flink(lambda request: httpx.Response(200, json=overview((job, "CANCELED", 1))))

    class Waking(FakeStateStore):
        asked = 0

        async def aget(self, key: str) -> Any:
            self.asked += 1
            if self.asked == 1:
                raise ConnectionError("server closed the connection unexpectedly")
            return await super().aget(key)

    store = Waking()
    store.values[CURSOR_KEY] = {"orders": [job, "RUNNING"]}
    trigger = FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05)
    trigger.asset_state_store = store
    event = first_event(trigger, 3.5)
    assert event is not None
    assert [(c["from"], c["to"]) for c in event["changes"]] == [("RUNNING", "CANCELED")]
    assert store.asked == 2


def test_the_alert_dag_writes_one_line_per_change() -> None:
    import runpy

    dag_file = Path(__file__).resolve().parents[2] / "dags" / "flink_job_alerts.py"
    alert_lines = runpy.run_path(str(dag_file))["alert_lines"]

    class Event:
        extra = {
            "from_trigger": True,
            "payload": {
                "cluster": "flink_default",
                "flink_deployments": ["orders"],
                "changes": [
                    {"deployment": "orders", "job_id": "j1", "from": "RUNNING", "to": "FAILED",
                     "root_cause": "java.lang.RuntimeException: boom", "flink_url": "http://f/#/job/running/j1/overview"},
                ],
            },
        }  # fmt: skip

    assert alert_lines({"flink_job_states": [Event()]}) == [
        "Flink deployment orders on flink_default: job j1 RUNNING -> FAILED; cause: "
        "java.lang.RuntimeException: boom (http://f/#/job/running/j1/overview)"
    ]
    assert alert_lines(None) == []


def test_a_look_that_never_answers_is_given_up_and_the_watch_goes_on(
    fake_flink: Any, folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A connection lookup through the triggerer's supervisor that never answered once left the
    watcher silent for good; now a look has a time budget, and the next one starts afresh."""
    from airflow_provider_flink.hooks.flink import FlinkHook

    job = jid("orders")
    flow = answers(overview((job, "RUNNING", 1)), overview((job, "FAILED", 1)))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/exceptions"):
            return httpx.Response(404, json={"errors": ["none"]})
        answer = next(flow)
        assert isinstance(answer, httpx.Response)
        return answer

    fake_flink(handler)
    real_aget_conn = FlinkHook.aget_conn
    calls = {"n": 0}

    async def hangs_once(self: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:  # the second look's lookup never answers
            await asyncio.sleep(3600)
        return await real_aget_conn(self)

    monkeypatch.setattr(FlinkHook, "aget_conn", hangs_once)
    trigger = FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05)
    trigger._budget = 0.3
    event = first_event(trigger, 4.0)
    assert event is not None
    assert [(c["from"], c["to"]) for c in event["changes"]] == [("RUNNING", "FAILED")]
    assert "No look at flink_default within 0.3 s" in capsys.readouterr().out


def test_the_health_judges_report_a_job_that_became_healthy_and_one_stuck_past_its_timeout() -> None:
    from airflow_provider_flink.deployments.changes import Health, health_changes

    a, b = jid("orders", 0), jid("orders", 1)
    before = {"orders": Health(a, "RUNNING", True, 1000.0), "clicks": Health(b, "RUNNING", False, 1000.0)}
    now = {"orders": Health(b, "RUNNING", True, 1100.0), "clicks": Health(b, "RUNNING", True, 1000.0)}
    changes = health_changes(before, now, {}, 1200.0, set())
    assert [c.describe() for c in changes] == [
        f"clicks: job {b} became healthy",
        f"orders: job {b} became healthy",
    ]
    assert health_changes(None, now, {}, 1200.0, set()) == []  # the first look is the base
    reported: set[str] = set()
    stuck = {"orders": Health(b, "INITIALIZING", False, 1000.0)}
    [late] = health_changes(stuck, stuck, {"orders": 120.0}, 1200.0, reported)
    assert (late.kind, late.note) == (
        "unhealthy",
        "not healthy 200 s after it started (INITIALIZING; health timeout 120 s)",
    )
    assert health_changes(stuck, stuck, {"orders": 120.0}, 1300.0, reported) == []  # once per job
    young = {"orders": Health(a, "RUNNING", False, 1150.0)}
    assert health_changes(young, young, {"orders": 120.0}, 1200.0, set()) == []
    failing = {"orders": Health(a, "FAILING", False, 1000.0)}  # reported by its state, not here
    assert health_changes(failing, failing, {"orders": 120.0}, 1200.0, set()) == []


def test_a_checkpoint_older_than_the_spec_allows_is_stale() -> None:
    from airflow_provider_flink.deployments.changes import Health, stale_checkpoint

    seen = Health(jid("orders"), "RUNNING", True, 1000.0)
    assert stale_checkpoint("orders", seen, 1500.0, 600.0, 1800.0) is None
    change = stale_checkpoint("orders", seen, 1100.0, 600.0, 1800.0)
    assert change is not None
    assert (change.deployment, change.kind, change.note) == (
        "orders",
        "checkpoints-stale",
        "checkpoints stale: its last completed checkpoint 11.7 min ago (allowed 10 min)",
    )
    never = stale_checkpoint("orders", seen, None, 600.0, 1800.0)
    assert never is not None
    assert (
        never.note
        == "checkpoints stale: no checkpoint completed since it started, 13.3 min ago (allowed 10 min)"
    )
    assert (
        stale_checkpoint("orders", Health(seen.job_id, "RUNNING", False, 1000.0), None, 600.0, 1800.0) is None
    )


def test_the_alert_dag_skips_good_news_and_words_health_and_checkpoint_alerts() -> None:
    import runpy

    dag_file = Path(__file__).resolve().parents[2] / "dags" / "flink_job_alerts.py"
    alert_lines = runpy.run_path(str(dag_file))["alert_lines"]

    class Event:
        extra = {
            "payload": {
                "cluster": "flink_default",
                "changes": [
                    {"deployment": "orders", "job_id": "j2", "kind": "healthy", "from": "", "to": "RUNNING",
                     "note": "became healthy", "flink_url": "u2"},
                    {"deployment": "clicks", "job_id": "j3", "kind": "checkpoints-stale", "from": "RUNNING",
                     "to": "RUNNING", "note": "checkpoints stale: its last completed checkpoint 12.0 min ago "
                     "(allowed 10 min)", "flink_url": "u3"},
                ],
            },
        }  # fmt: skip

    assert alert_lines({"flink_job_states": [Event()]}) == [
        "Flink deployment clicks on flink_default: job j3 checkpoints stale: its last completed checkpoint "
        "12.0 min ago (allowed 10 min) (u3)"
    ]


def test_the_watcher_reports_stale_checkpoints_once_per_checkpoint(fake_flink: Any, folder: Path) -> None:
    spec_file = folder / "orders.yaml"
    spec_file.write_text(spec_file.read_text() + "max_checkpoint_age_minutes: 1\n")
    job = jid("orders")
    old_ms = 1_000_000  # 1970: far older than a minute

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/checkpoints"):
            return httpx.Response(
                200, json={"counts": {}, "latest": {"completed": {"id": 7, "trigger_timestamp": old_ms}}}
            )
        return httpx.Response(200, json=overview((job, "RUNNING", old_ms)))

    fake_flink(handler)
    event = first_event(FlinkJobEventTrigger("flink_default", str(folder), poll_interval=0.05))
    assert event is not None
    [change] = event["changes"]
    assert (change["deployment"], change["kind"], change["job_id"]) == ("orders", "checkpoints-stale", job)
    assert change["note"].startswith("checkpoints stale: its last completed checkpoint ")
