"""The job watcher's sampler (events/sampling.py): uptime counted from the polls, samples written
beside them, failures that cost a sample and never the watcher. Against Flink itself:
tests/integration/test_samples.py."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from airflow_provider_flink.client.models import JobDetail
from airflow_provider_flink.deployments.changes import Health
from airflow_provider_flink.deployments.samples import Counters, Sample
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.deployments.stores import MemoryRecordStore
from airflow_provider_flink.events.sampling import MAX_GAP, Sampler, availability
from airflow_provider_flink.ids import deployment_prefix

log = logging.getLogger("test-sampler")


def spec(name: str, **fields: Any) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": name, "artifact": {"jar": "/j.jar"}, "entry_class": "a.B", **fields}
    )


def kept(store: Any) -> Any:
    """The sampler's store factory (awaited on the event loop) giving ``store``."""

    async def factory() -> Any:
        return store

    return factory


def job_id(name: str) -> str:
    return deployment_prefix(name) + "0" * 20


def health(name: str, state: str = "RUNNING", healthy: bool = True) -> Health:
    return Health(job_id(name), state, healthy, 1.0)


class FakeFlink:
    """The two verbs a sample asks, answering from canned Flink 2.3 answers (or raising)."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.asked: list[str] = []
        self.written = 0

    async def find_job(self, jid: str) -> JobDetail:
        self.asked.append(jid)
        if self.fail:
            raise self.fail
        self.written += 100
        vertex = {"id": "v" * 32, "parallelism": 1, "metrics": {"write-records": self.written}}
        return JobDetail.model_validate(
            {"jid": jid, "state": "RUNNING", "start-time": 1000, "vertices": [vertex]}
        )

    async def job_metrics(self, jid: str, names: list[str]) -> dict[str, float]:
        return {"numRestarts": 0.0, "lastCheckpointDuration": 12.0}


class FakeHook:
    def __init__(self, flink: FakeFlink) -> None:
        self.flink = flink

    @asynccontextmanager
    async def async_verbs(self) -> AsyncIterator[FakeFlink]:
        yield self.flink


def test_each_poll_counts_for_every_declared_deployment() -> None:
    specs = {"a": spec("a"), "b": spec("b"), "off": spec("off", state="suspended")}
    sampler = Sampler("c", kept(None), 60.0, 3600.0, log)
    sampler.poll({"a": health("a")}, specs, 100.0)  # the first poll: the start, nothing counted
    sampler.poll({"a": health("a"), "b": health("b", "RESTARTING", healthy=False)}, specs, 102.0)
    sampler.poll(None, None, 105.0)  # Flink did not answer: unknown for the deployments known
    sampler.poll({"a": health("a")}, specs, 105.0 + MAX_GAP + 1)  # a stalled triggerer: unknown
    assert sampler.uptime.take("a") == {"up": 2.0, "unknown": 3.0 + MAX_GAP + 1}
    assert sampler.uptime.take("b") == {"down": 2.0, "unknown": 3.0 + MAX_GAP + 1}
    assert sampler.uptime.take("off") == {"off": 2.0, "unknown": 3.0 + MAX_GAP + 1}


def test_availability_is_off_when_declared_suspended_up_only_when_healthy() -> None:
    assert availability(spec("a", state="suspended"), health("a")) == "off"
    assert availability(spec("a"), health("a")) == "up"
    assert availability(spec("a"), health("a", "RUNNING", healthy=False)) == "down"
    assert availability(spec("a"), None) == "down"


def test_a_sample_is_due_every_interval_and_never_with_one_still_running() -> None:
    sampler = Sampler("c", kept(None), 60.0, 3600.0, log)
    sampler.sampled = 1000.0
    assert not sampler.due(1059.0)
    assert sampler.due(1060.0)
    assert not Sampler("c", kept(None), 0.0, 3600.0, log).due(10**12)  # 0: never


def _sample_once(sampler: Sampler, hook: FakeHook, healths: dict[str, Health], now: float) -> None:
    sampler.clock = lambda: now  # the counters are read at the sample's time

    async def go() -> None:
        sampler.start(hook, healths, now)  # type: ignore[arg-type]
        assert sampler.running is not None
        await sampler.running

    asyncio.run(go())


def test_samples_of_live_jobs_are_written_with_rates_from_the_second_look() -> None:
    store = MemoryRecordStore()
    flink = FakeFlink()
    specs = {"a": spec("a"), "gone": spec("gone")}
    sampler = Sampler("c", kept(store), 60.0, 3600.0, log)
    sampler.sampled = 1000.0  # the job started at 1 s: long before
    sampler.poll({"a": health("a")}, specs, 1000.0)
    sampler.poll({"a": health("a")}, specs, 1060.0)
    _sample_once(sampler, FakeHook(flink), {"a": health("a")}, 1060.0)
    sampler.poll({"a": health("a")}, specs, 1120.0)
    _sample_once(sampler, FakeHook(flink), {"a": health("a")}, 1120.0)
    assert flink.asked == [job_id("a"), job_id("a")]  # only the live job is asked, once per sample
    first, second = store.samples("c", "a", 0.0)
    assert (first.at, first.up_s, first.records_in_per_s) == (1060.0, 60.0, None)  # started long before
    assert second.up_s == 60.0
    assert second.records_in_per_s == 1.667  # 100 records in 60 s, rounded as stored
    assert second.checkpoint_duration_ms == 12.0
    [gone, _] = store.samples("c", "gone", 0.0)
    assert (gone.down_s, gone.job_id) == (60.0, None)


def test_a_job_flink_cannot_describe_costs_its_rates_not_the_sample(caplog: pytest.LogCaptureFixture) -> None:
    store = MemoryRecordStore()
    sampler = Sampler("c", kept(store), 60.0, 3600.0, log)
    sampler.poll({"a": health("a")}, {"a": spec("a")}, 0.0)
    sampler.poll({"a": health("a")}, {"a": spec("a")}, 30.0)
    flink = FakeFlink(fail=ConnectionError("refused"))
    with caplog.at_level(logging.WARNING):
        _sample_once(sampler, FakeHook(flink), {"a": health("a")}, 30.0)
        _sample_once(sampler, FakeHook(flink), {"a": health("a")}, 90.0)
    samples = store.samples("c", "a", -1.0)
    assert [(s.up_s, s.job_id) for s in samples] == [(30.0, None), (0.0, None)]
    said = [r.getMessage() for r in caplog.records]
    assert said == [f"Job {job_id('a')} not sampled (ConnectionError: refused)"]  # once per kind


def test_without_a_store_of_samples_nothing_is_asked_of_flink_and_it_is_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flink = FakeFlink()
    sampler = Sampler("c", kept(None), 60.0, 3600.0, log)
    sampler.poll({"a": health("a")}, {"a": spec("a")}, 0.0)
    with caplog.at_level(logging.WARNING):
        _sample_once(sampler, FakeHook(flink), {"a": health("a")}, 60.0)
    assert flink.asked == []
    assert sampler.every == 0.0
    assert not sampler.due(10**12)
    assert [r.getMessage() for r in caplog.records] == [
        "No samples are taken for the Flink page's charts: the record store is Airflow Variables (set "
        "[flink] record_store_conn_id to keep records, and samples, in SQL)"
    ]


def test_a_store_that_fails_costs_the_sample_and_old_samples_are_pruned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryRecordStore()
    store.add_samples("c", {"a": Sample(at=1.0, seconds=1.0)})
    store.add_samples("other", {"a": Sample(at=1.0, seconds=1.0)})  # another cluster's sampler's
    sampler = Sampler("c", kept(store), 60.0, 3600.0, log)
    sampler.poll({}, {"a": spec("a")}, 5000.0)
    sampler.pruned = 5000.0 - 3600.0  # the first deletion comes an hour after the start
    _sample_once(sampler, FakeHook(FakeFlink()), {}, 5000.0)
    assert [s.at for s in store.samples("c", "a", 0.0)] == [5000.0]  # the one of t=1 pruned (older than 1 h)
    assert [s.at for s in store.samples("other", "a", 0.0)] == [1.0]  # each cluster deletes its own

    def broken(cluster: str, samples: Any) -> None:
        raise RuntimeError("database is locked")

    store.add_samples = broken  # type: ignore[method-assign]
    assert [r.getMessage() for r in caplog.records] == ["Deleted 1 samples older than 1 h"]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _sample_once(sampler, FakeHook(FakeFlink()), {}, 5060.0)
    assert [r.getMessage() for r in caplog.records] == [
        "Samples of c not kept (RuntimeError: database is locked)"
    ]


def test_stop_cancels_a_sample_in_progress() -> None:
    class Slow(FakeFlink):
        async def find_job(self, jid: str) -> JobDetail:
            await asyncio.sleep(60)
            raise AssertionError("not reached")

    sampler = Sampler("c", kept(MemoryRecordStore()), 60.0, 3600.0, log)
    sampler.poll({"a": health("a")}, {"a": spec("a")}, 0.0)

    async def go() -> bool:
        sampler.start(FakeHook(Slow()), {"a": health("a")}, 60.0)  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        sampler.stop()
        assert sampler.running is not None
        await asyncio.gather(sampler.running, return_exceptions=True)
        return sampler.running.cancelled()

    assert asyncio.run(go())


def test_the_first_deletion_waits_an_hour_after_the_start() -> None:
    store = MemoryRecordStore()
    store.add_samples("c", {"a": Sample(at=1.0, seconds=1.0)})
    sampler = Sampler("c", kept(store), 60.0, 3600.0, log)
    sampler.poll({}, {"a": spec("a")}, sampler.sampled)
    _sample_once(sampler, FakeHook(FakeFlink()), {}, sampler.sampled + 60)
    assert next(s.at for s in store.samples("c", "a", 0.0)) == 1.0


def test_a_restarting_job_is_read_and_a_job_not_read_keeps_its_last_look() -> None:
    store = MemoryRecordStore()
    flink = FakeFlink()
    specs = {"a": spec("a")}
    sampler = Sampler("c", kept(store), 60.0, 3600.0, log)
    sampler.poll({"a": health("a")}, specs, 1000.0)
    _sample_once(sampler, FakeHook(flink), {"a": health("a", "RESTARTING", healthy=False)}, 1060.0)
    assert flink.asked == [job_id("a")]  # a restarting job's restarts are what matter
    looked = sampler.looks["a"]
    _sample_once(sampler, FakeHook(FakeFlink(fail=ConnectionError("refused"))), {"a": health("a")}, 1120.0)
    assert sampler.looks["a"] is looked  # kept: the next reading is compared with it
    _sample_once(sampler, FakeHook(flink), {"a": health("a")}, 1180.0)
    last = store.samples("c", "a", 1170.0)[0]
    assert last.records_in_per_s == round(100 / 120, 3)  # over the two intervals since that look
    ended = {"a": health("a", "FAILED", healthy=False)}
    _sample_once(sampler, FakeHook(flink), ended, 1240.0)
    assert flink.asked == [job_id("a")] * 2  # a job that ended is not read


def test_the_jobs_read_longest_ago_are_read_first() -> None:
    sampler = Sampler("c", kept(MemoryRecordStore()), 60.0, 3600.0, log)
    flink = FakeFlink()
    names = ["a", "b", "c"]
    sampler.looks = {
        "a": Counters(job_id("a"), 900.0, 1.0, 0, 0, ()),
        "c": Counters(job_id("c"), 800.0, 1.0, 0, 0, ()),
    }
    sampler.poll({n: health(n) for n in names}, {n: spec(n) for n in names}, 1000.0)
    _sample_once(sampler, FakeHook(flink), {n: health(n) for n in names}, 1060.0)
    assert flink.asked == [job_id("b"), job_id("c"), job_id("a")]  # never read, then oldest first
