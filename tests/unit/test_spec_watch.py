"""``FlinkSpecChangeTrigger`` on real files: when a change is reported, and what it names.

The trigger runs in an event loop here as in the triggerer; the folder is edited by a second task
of the same loop (with short intervals so the timing rules show in a second or two).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_flink.deployments import MemoryRecordStore, reconcile
from airflow_provider_flink.deployments.changes import look
from airflow_provider_flink.events import FlinkSpecChangeTrigger
from airflow_provider_flink.events.spec_changes import CURSOR_KEY, LAST_EVENT_KEY, REPLAY_SECONDS
from airflow_provider_flink.operators.reconcile import names_from_events

POLL = 0.05
QUIET = 0.2


def spec(folder: Path, name: str, **fields: object) -> None:
    body = {"name": name, "artifact": {"jar": "/jobs/a.jar"}, "entry_class": "a.B", **fields}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(body))


class FakeStateStore:
    """The asset state store's async accessor, as the triggerer injects it on Airflow 3.3."""

    def __init__(self, value: Any = None) -> None:
        self.values: dict[str, Any] = {} if value is None else {CURSOR_KEY: value}

    async def aget(self, key: str) -> Any:
        return self.values.get(key)

    async def aset(self, key: str, value: Any) -> None:
        self.values[key] = value


def collect(
    trigger: FlinkSpecChangeTrigger, edits: Callable[[], Awaitable[None]], seconds: float
) -> list[dict[str, Any]]:
    """The events the trigger yields while ``edits`` runs and for ``seconds`` in all."""

    async def main() -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []

        async def watch() -> None:
            async for event in trigger.run():
                events.append(event.payload)

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(POLL * 3)  # the first look is taken
        await edits()
        await asyncio.sleep(seconds)
        watcher.cancel()
        return events

    return asyncio.run(main())


def watcher(folder: Path, store: FakeStateStore | None = None) -> FlinkSpecChangeTrigger:
    """A watcher as Airflow 3.3's triggerer runs it: with an asset state store (empty by default)."""
    trigger = FlinkSpecChangeTrigger(str(folder), poll_interval=POLL, quiet_seconds=QUIET)
    trigger.asset_state_store = FakeStateStore() if store is None else store
    return trigger


def test_a_burst_of_edits_gives_one_event_after_the_last(tmp_path: Path) -> None:
    spec(tmp_path, "orders")

    async def burst() -> None:
        for parallelism in range(1, 6):  # five saves, each sooner than the quiet time
            spec(tmp_path, "orders", parallelism=parallelism)
            spec(tmp_path, "clicks", parallelism=parallelism)
            await asyncio.sleep(QUIET / 3)

    events = collect(watcher(tmp_path), burst, 1.0)
    assert events == [
        {"flink_deployments": ["clicks", "orders"], "files": ["clicks.yaml", "orders.yaml"],
         "invalid_files": [], "jars": []},
    ]  # fmt: skip


def test_swap_files_and_unchanged_content_start_nothing(tmp_path: Path) -> None:
    spec(tmp_path, "orders")

    async def edits() -> None:
        (tmp_path / ".orders.yaml.swp").write_text("vim")
        (tmp_path / "orders.yaml~").write_text("backup")
        spec(tmp_path, "orders")  # saved again, same content

    assert collect(watcher(tmp_path), edits, 0.8) == []


def test_a_half_written_file_that_is_completed_in_time_is_one_valid_event(tmp_path: Path) -> None:
    spec(tmp_path, "orders")
    whole = (tmp_path / "orders.yaml").read_text().replace("a.B", "a.C")

    async def two_step_save() -> None:
        (tmp_path / "orders.yaml").write_text(whole[: len(whole) // 2] + "\n  [")
        await asyncio.sleep(QUIET * 2)  # longer than the quiet time, shorter than an invalid file's
        (tmp_path / "orders.yaml").write_text(whole)

    events = collect(watcher(tmp_path), two_step_save, 1.2)
    assert [(e["flink_deployments"], e["invalid_files"]) for e in events] == [(["orders"], [])]


def test_a_file_broken_for_good_is_reported_after_its_grace(tmp_path: Path) -> None:
    spec(tmp_path, "orders")

    async def break_it() -> None:
        (tmp_path / "orders.yaml").write_text("name: [")

    events = collect(watcher(tmp_path), break_it, QUIET * 5 + 0.8)
    assert [(e["flink_deployments"], e["invalid_files"]) for e in events] == [(["orders"], ["orders.yaml"])]


def test_a_change_made_while_no_triggerer_ran_is_reported_from_the_stored_state(tmp_path: Path) -> None:
    spec(tmp_path, "orders")
    store = FakeStateStore(look(tmp_path).as_dict())  # what the last triggerer reported
    spec(tmp_path, "orders", parallelism=3)  # changed while it was down
    trigger = watcher(tmp_path)
    trigger.asset_state_store = store

    async def nothing() -> None:
        return None

    events = collect(trigger, nothing, 0.8)
    assert [e["flink_deployments"] for e in events] == [["orders"]]
    assert store.values[CURSOR_KEY] == look(tmp_path).as_dict()  # stored after the event


def test_without_a_stored_state_a_new_watcher_starts_from_what_is_there(tmp_path: Path) -> None:
    spec(tmp_path, "orders", parallelism=3)
    store = FakeStateStore()
    trigger = watcher(tmp_path)
    trigger.asset_state_store = store

    async def nothing() -> None:
        return None

    assert collect(trigger, nothing, 0.5) == []
    assert store.values[CURSOR_KEY] == look(tmp_path).as_dict()


def test_a_folder_that_cannot_be_read_is_logged_once_and_watched_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec(tmp_path, "orders")
    trigger = watcher(tmp_path)
    failures = iter([None] + [RuntimeError("store down")] * 4)  # the first look works
    real_look = look

    def flaky(folder: Any) -> Any:
        error = next(failures, None)
        if error is not None:
            raise error
        return real_look(folder)

    async def edit() -> None:
        spec(tmp_path, "orders", parallelism=2)

    import airflow_provider_flink.events.spec_changes as module

    original = module.look
    module.look = flaky
    try:
        events = collect(trigger, edit, 1.0)
    finally:
        module.look = original
    assert [e["flink_deployments"] for e in events] == [["orders"]]  # seen once readable again
    output = capsys.readouterr().out
    assert output.count("Cannot read") == 1, output
    assert f"Cannot read {tmp_path} (RuntimeError: store down); trying again" in output


def test_serialize_round_trips_and_bad_timing_is_refused(tmp_path: Path) -> None:
    trigger = FlinkSpecChangeTrigger(str(tmp_path), poll_interval=5, quiet_seconds=3)
    path, kwargs = trigger.serialize()
    assert path == "airflow_provider_flink.events.spec_changes.FlinkSpecChangeTrigger"
    assert FlinkSpecChangeTrigger(**kwargs).serialize() == (path, kwargs)
    with pytest.raises(ValueError, match="poll_interval must be > 0 and quiet_seconds >= 0, got 0 and 1"):
        FlinkSpecChangeTrigger(str(tmp_path), poll_interval=0, quiet_seconds=1)


class Event:
    def __init__(self, extra: Any) -> None:
        self.extra = extra


def test_the_reconcile_looks_at_the_deployments_its_events_name() -> None:
    ours = {"from_trigger": True, "payload": {"flink_deployments": ["orders"], "files": ["orders.yaml"]}}
    also = {"from_trigger": True, "payload": {"flink_deployments": ["clicks", "orders"]}}
    assert names_from_events({"asset": [Event(ours), Event(also)]}) == ["clicks", "orders"]
    assert names_from_events({"asset": [Event({"payload": {"flink_deployments": []}})]}) == []
    # Anything else means every deployment: no events (scheduled, manual), or an event of a team's own.
    assert names_from_events(None) is None
    assert names_from_events({}) is None
    assert names_from_events({"asset": [Event(ours), Event({"source": "ci"})]}) is None


def test_an_event_that_names_no_deployment_acts_on_none_but_reports_the_bad_file(tmp_path: Path) -> None:
    (tmp_path / "orders.yaml").write_text("name: [")
    spec(tmp_path, "clicks", cluster="flink_unreachable_test")
    report = reconcile(tmp_path, MemoryRecordStore(), names=[])
    assert report.deployments == []  # "clicks" was not touched: no cluster was even asked
    assert [p.split(":")[0] for p in report.invalid] == ["orders.yaml"]


def test_a_state_store_that_does_not_answer_never_stops_the_watcher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Silent(FakeStateStore):
        async def aget(self, key: str) -> Any:
            await asyncio.sleep(3600)

        async def aset(self, key: str, value: Any) -> None:
            await asyncio.sleep(3600)

    monkeypatch.setattr("airflow_provider_flink.events.state.TIMEOUT", 0.1)
    monkeypatch.setattr("airflow_provider_flink.events.state.LOAD_ATTEMPTS", 1)  # asked again: elsewhere
    spec(tmp_path, "orders")
    trigger = watcher(tmp_path)
    trigger.asset_state_store = Silent()

    async def edit() -> None:
        spec(tmp_path, "orders", parallelism=4)

    events = collect(trigger, edit, 1.2)
    assert [e["flink_deployments"] for e in events] == [["orders"]]
    output = capsys.readouterr().out
    assert "The asset state store did not give flink_spec_state (TimeoutError" in output
    assert "The asset state store did not keep flink_spec_state (TimeoutError" in output


def test_a_bounded_wait_gives_up_in_time_and_passes_a_cancel_on() -> None:
    from airflow_provider_flink.events.state import within

    async def main() -> tuple[bool, bool]:
        slow = asyncio.ensure_future(asyncio.sleep(3600))
        with pytest.raises(asyncio.TimeoutError, match=r"no answer within 0\.05 s"):
            await within(slow, 0.05)
        await asyncio.sleep(0)
        inner = asyncio.ensure_future(asyncio.sleep(3600))
        outer = asyncio.ensure_future(within(inner, 3600))
        await asyncio.sleep(0.01)
        outer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await outer
        await asyncio.sleep(0)
        return slow.cancelled(), inner.cancelled()

    assert asyncio.run(main()) == (True, True)
    assert asyncio.run(within(asyncio.sleep(0, result="done"), 1)) == "done"


def _running_at_1() -> tuple[Any, Any]:
    """A spec at parallelism 1 and the record of its job, as a deploy leaves them."""
    from airflow_provider_flink.deployments.records import DeploymentRecord
    from airflow_provider_flink.deployments.spec import DeploymentSpec, spec_hash

    running = DeploymentSpec.model_validate(
        {"name": "orders", "artifact": {"jar": "/j.jar"}, "parallelism": 1}
    )
    applied = spec_hash(running, "d" * 64)
    record = DeploymentRecord(
        name="orders",
        cluster="flink_default",
        applied_hash=applied,
        applied_spec={"spec_hash": applied, "spec": running.model_dump(mode="json")},
    )
    return running, record


def test_only_a_parallelism_change_is_told_apart_from_any_other_change() -> None:
    from airflow_provider_flink.deployments.drift import only_parallelism_changed

    running, record = _running_at_1()
    assert only_parallelism_changed(running.model_copy(update={"parallelism": 2}), record, "d" * 64) == 1
    assert only_parallelism_changed(running, record, "d" * 64) is None  # nothing changed
    both = running.model_copy(update={"parallelism": 2, "args": ["--rate", "9"]})
    assert only_parallelism_changed(both, record, "d" * 64) is None  # more than the parallelism
    assert (
        only_parallelism_changed(running.model_copy(update={"parallelism": 2}), record, "e" * 64) is None
    )  # a new jar
    assert only_parallelism_changed(running.model_copy(update={"parallelism": 2}), None, "d" * 64) is None


def test_a_parallelism_change_is_a_rescale_only_on_a_cluster_with_the_adaptive_scheduler() -> None:
    """Asked once per run, and only when a parallelism alone changed; not known: an upgrade."""
    from airflow_provider_flink.deployments.planner import ClusterView
    from airflow_provider_flink.deployments.reconciler import _ClusterRun
    from airflow_provider_flink.deployments.stores import MemoryRecordStore, RunRecords

    running, record = _running_at_1()
    asked: list[str] = []

    class Hook:
        def __init__(self, config: dict[str, str] | Exception) -> None:
            self.config = config

        def cluster_config(self) -> dict[str, str]:
            asked.append("config")
            if isinstance(self.config, Exception):
                raise self.config
            return self.config

    def run(config: dict[str, str] | Exception) -> _ClusterRun:
        view = ClusterView("flink_default", ())
        return _ClusterRun(Hook(config), RunRecords(MemoryRecordStore(), "t"), {}, view, False, None, None)  # type: ignore[arg-type]

    wider = running.model_copy(update={"parallelism": 2})
    adaptive = run({"jobmanager.scheduler": "adaptive"})
    assert adaptive._rescale_from(running, record, "d" * 64) is None
    assert asked == []  # nothing changed: nothing asked
    assert adaptive._rescale_from(wider, record, "d" * 64) == 1
    assert adaptive._rescale_from(wider, record, "d" * 64) == 1
    assert asked == ["config"]  # once per run
    assert run({})._rescale_from(wider, record, "d" * 64) is None  # Flink's default scheduler
    assert run(RuntimeError("no answer"))._rescale_from(wider, record, "d" * 64) is None


async def _nothing() -> None:
    return None


def test_a_starting_watcher_sends_its_recent_event_again(tmp_path: Path) -> None:
    """Airflow drops an event sent while its DAG is paused and restarts the watcher when the DAG
    is unpaused: an edit saved seconds after pausing started no run when unpaused."""
    spec(tmp_path, "orders")

    async def edit() -> None:
        spec(tmp_path, "orders", parallelism=2)

    store = FakeStateStore()
    first = watcher(tmp_path, store)
    assert [e["flink_deployments"] for e in collect(first, edit, 0.8)] == [["orders"]]
    assert store.values[LAST_EVENT_KEY]["payload"]["flink_deployments"] == ["orders"]
    # the DAG is unpaused: a new watcher starts from the store and sends the event again, once
    again = collect(watcher(tmp_path, store), _nothing, 0.8)
    assert [e["flink_deployments"] for e in again] == [["orders"]]
    # long after its last event, a starting watcher sends nothing
    store.values[LAST_EVENT_KEY]["sent_at"] -= REPLAY_SECONDS
    assert collect(watcher(tmp_path, store), _nothing, 0.5) == []


def test_without_a_state_store_a_starting_watcher_asks_one_run_for_every_deployment(tmp_path: Path) -> None:
    """Airflow 3.1/3.2: nothing is known of what changed while no watcher ran (a paused DAG, a
    triggerer down)."""
    spec(tmp_path, "orders")
    spec(tmp_path, "clicks")
    trigger = FlinkSpecChangeTrigger(str(tmp_path), poll_interval=POLL, quiet_seconds=QUIET)
    assert collect(trigger, _nothing, 0.5) == [
        {"flink_deployments": ["clicks", "orders"], "files": [], "invalid_files": [], "jars": []}
    ]
