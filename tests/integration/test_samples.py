"""The job watcher's samples for the Flink page's charts, taken from the real local Flink (both
versions) and checked against what Flink itself says of the job."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.client import calls
from airflow_provider_flink.deployments.samples import Sample
from airflow_provider_flink.events import FlinkJobEventTrigger
from airflow_provider_flink.events import job_changes as watcher
from tests.integration.conftest import VERSIONS, Cluster, wait_for
from tests.integration.test_reconcile import Deployments

pytestmark = pytest.mark.integration

RATE = 40  # records per second, over all source subtasks (the rate limiter is global)


@pytest.fixture
def deployments(airflow: Cluster, tmp_path: Path) -> Deployments:
    folder = tmp_path / "deployments"
    folder.mkdir()
    return Deployments(folder, airflow)


def _watch(deployments: Deployments, seconds: float, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Run the job watcher (samples every 2 s) for ``seconds``; the events it yielded."""

    async def store() -> Any:
        return deployments.store

    monkeypatch.setattr(watcher, "asample_store", store)
    trigger = FlinkJobEventTrigger(
        "flink_default", str(deployments.folder), poll_interval=0.5, sample_interval=2.0
    )
    events: list[Any] = []

    async def watch() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    async def bounded() -> None:
        task = asyncio.ensure_future(watch())
        await asyncio.sleep(seconds)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(bounded())
    return events


def _samples(deployments: Deployments, name: str) -> list[Sample]:
    return deployments.store.samples("flink_default", name, 0.0)


def test_samples_of_a_running_job_agree_with_flinks_own_metrics(
    deployments: Deployments, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployments.declare("sampled", parallelism=2, args=["--rate", str(RATE)])
    deployments.run()
    job = deployments.the_job("sampled")
    deployments.flink.wait_all_running(job)
    deployments.counted(job, RATE * 3)  # records flow, a checkpoint or two are done
    # Flink's own count of what the sources emitted, read before and after the watch, independently
    # of the sampler's sums (Flink's ...PerSecond meters average over 60 s: not comparable). The
    # JobManager answers from its metric store and fetches anew after the answer: each reading is
    # asked twice, the second answer being the fresh one.
    source = next(v for v in deployments.flink.job(job).vertices if v.name.startswith("Source"))

    def emitted() -> tuple[float, float]:
        asked = calls.vertex_metrics(job, source.id, ["numRecordsOut"])
        deployments.flink.client.call(asked)
        at = time.monotonic()
        time.sleep(1.2)
        return at, deployments.flink.client.call(asked).by_id()["numRecordsOut"].sum or 0.0

    (t1, n1) = emitted()
    _watch(deployments, 7.0, monkeypatch)
    (t2, n2) = emitted()
    flink_rate = (n2 - n1) / (t2 - t1)

    samples = _samples(deployments, "sampled")
    assert len(samples) >= 3, samples
    with_rates = [s for s in samples if s.records_in_per_s is not None]
    assert with_rates, samples  # the first look at a job started before the watcher gives none
    last = with_rates[-1]
    assert last.job_id == job
    assert last.job_state == "RUNNING"
    mean = sum((s.records_in_per_s or 0.0) * s.seconds for s in with_rates) / sum(
        s.seconds for s in with_rates
    )
    assert mean == pytest.approx(RATE, rel=0.35)
    assert mean == pytest.approx(flink_rate, rel=0.35)
    assert last.records_out_per_s == pytest.approx(last.records_in_per_s, rel=0.35)  # keyBy: all go through
    assert last.backpressure is not None
    assert 0.0 <= last.backpressure < 0.5
    assert last.restarts == 0
    assert last.checkpoints_failed == 0
    checkpoints = deployments.flink.client.call(calls.job_checkpoints(job))
    assert last.checkpoint_duration_ms is not None
    assert last.checkpoint_duration_ms >= 0
    assert last.checkpoint_size_bytes is not None
    assert last.checkpoint_size_bytes > 0
    assert checkpoints.counts.completed >= 1
    # Uptime: every counted second of a healthy job is up.
    assert sum(s.up_s for s in samples) >= 5.0
    assert sum(s.down_s for s in samples) == 0.0


def test_a_cancelled_job_counts_as_down_and_its_samples_carry_no_rates(
    deployments: Deployments, monkeypatch: pytest.MonkeyPatch
) -> None:
    if deployments.flink.version != VERSIONS[0]:
        pytest.skip(f"runs on Flink {VERSIONS[0]} in this suite (the watcher's uptime needs no version)")
    deployments.declare("downtime", args=["--rate", str(RATE)])
    deployments.run()
    job = deployments.the_job("downtime")
    deployments.flink.wait_all_running(job)
    deployments.flink.client.call(calls.cancel_job(job))
    wait_for("the job cancelled", lambda: not deployments.live_jobs("downtime") or None, 60)
    began = time.time()
    events = _watch(deployments, 5.0, monkeypatch)

    samples = [s for s in _samples(deployments, "downtime") if s.at >= began]
    assert samples
    assert sum(s.down_s for s in samples) >= 3.0
    assert sum(s.up_s for s in samples) == 0.0
    assert all(s.records_in_per_s is None and s.job_state == "CANCELED" for s in samples)
    assert events == []  # the cancel happened before the watcher's first look: its baseline
