"""The samples behind the Flink page's charts (deployments/samples.py): counters read from Flink's
answers, rates between two looks, uptime, and the charts' points and totals."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.client.models import JobDetail
from airflow_provider_flink.deployments.samples import (
    MAX_POINTS,
    Counters,
    Sample,
    Uptime,
    charts,
    counters_of,
    sample_of,
)

JOB = "9880281608b4b6e712d3f7e12421c61c"
SOURCE, SINK = "46114d370e18a7da1e4362472aa88fba", "b71731f1c0df9c3076c4a455334d0ad6"


def _vertex(vid: str, parallelism: int, read: int, write: int, backpressured: int) -> dict[str, Any]:
    # The shape Flink 2.3.0 answers GET /jobs/{id} with (checked against the harness's Flink).
    return {
        "id": vid,
        "name": vid[:6],
        "parallelism": parallelism,
        "status": "RUNNING",
        "metrics": {
            "read-bytes": 0,
            "read-records": read,
            "read-records-complete": True,
            "write-records": write,
            "accumulated-backpressured-time": backpressured,
            "accumulated-idle-time": 53449,
            "accumulated-busy-time": 377.0,
        },
    }


def _job(
    *vertices: dict[str, Any], edges: dict[str, list[str]] | None = None, start_ms: int = 1_000_000
) -> JobDetail:
    edges = edges if edges is not None else {SINK: [SOURCE]}
    nodes = [
        {
            "id": v["id"],
            "inputs": [{"id": i, "num": 0, "ship_strategy": "HASH"} for i in edges.get(v["id"], [])],
        }
        for v in vertices
    ]
    return JobDetail.model_validate(
        {
            "jid": JOB,
            "name": "counter",
            "state": "RUNNING",
            "start-time": start_ms,
            "vertices": list(vertices),
            "plan": {"jid": JOB, "nodes": nodes},
        }
    )


METRICS = {
    "numRestarts": 1.0,
    "lastCheckpointDuration": 19.0,
    "lastCheckpointSize": 5443.0,
    "numberOfCompletedCheckpoints": 14.0,
    "numberOfFailedCheckpoints": 1.0,
}


def test_records_in_are_what_the_sources_emit_and_records_out_what_the_sinks_take_in() -> None:
    job = _job(_vertex(SOURCE, 2, 0, 540, 10), _vertex(SINK, 2, 530, 0, 4000))
    c = counters_of(job, METRICS, at=1_060.0)
    assert (c.job_id, c.at, c.started, c.records_in, c.records_out) == (JOB, 1_060.0, 1_000.0, 540, 530)
    assert c.backpressured == ((SOURCE, 10, 2), (SINK, 4000, 2))
    assert (c.restarts, c.checkpoints, c.checkpoints_failed) == (1, 14, 1)
    assert (c.checkpoint_duration_ms, c.checkpoint_size_bytes) == (19.0, 5443.0)


def test_a_job_of_one_vertex_sends_out_what_it_emits_and_missing_metrics_are_unknown() -> None:
    job = _job(_vertex(SOURCE, 1, 0, 77, 0), edges={})
    c = counters_of(job, {"numRestarts": -1.0}, at=5.0)  # Flink's -1: not known
    assert (c.records_in, c.records_out) == (77, 77)
    assert (c.restarts, c.checkpoints, c.checkpoint_duration_ms, c.checkpoint_size_bytes) == (
        None,
        None,
        None,
        None,
    )


def test_three_vertices_count_the_first_and_last_only() -> None:
    middle = "c" * 32
    job = _job(
        _vertex(SOURCE, 1, 0, 100, 0),
        _vertex(middle, 1, 100, 90, 0),
        _vertex(SINK, 1, 80, 0, 0),
        edges={middle: [SOURCE], SINK: [middle]},
    )
    c = counters_of(job, {}, at=1.0)
    assert (c.records_in, c.records_out) == (100, 80)


def _counters(
    at: float,
    records_in: int,
    records_out: int,
    bp: int,
    *,
    job: str = JOB,
    started: float = 0.0,
    restarts: int = 0,
    done: int = 0,
) -> Counters:
    return Counters(
        job,
        at,
        started,
        records_in,
        records_out,
        ((SOURCE, 0, 2), (SINK, bp, 2)),
        restarts,
        done,
        0,
        20.0,
        5000.0,
    )


def test_rates_are_the_differences_of_two_looks_at_the_same_job() -> None:
    before = _counters(100.0, 1_000, 900, 0, restarts=1, done=10)
    now = _counters(160.0, 1_600, 1_380, 30_000, restarts=3, done=40)
    s = sample_of(160.0, 60.0, {"up": 50.0, "down": 10.0}, "RUNNING", now, before)
    assert (s.records_in_per_s, s.records_out_per_s) == (10.0, 8.0)
    assert s.backpressure == 0.25  # 30 s of 2 subtasks x 60 s
    assert (s.restarts, s.checkpoints, s.checkpoints_failed) == (2, 30, 0)
    assert (s.up_s, s.down_s, s.unknown_s, s.off_s, s.job_id, s.job_state) == (
        50.0,
        10.0,
        0.0,
        0.0,
        JOB,
        "RUNNING",
    )
    assert (s.checkpoint_duration_ms, s.checkpoint_size_bytes) == (20.0, 5000.0)


def test_backpressure_is_capped_at_all_of_the_interval() -> None:
    s = sample_of(160.0, 60.0, {}, "RUNNING", _counters(160.0, 0, 0, 10**9), _counters(100.0, 0, 0, 0))
    assert s.backpressure == 1.0


def test_a_new_job_started_within_the_interval_counts_from_its_start() -> None:
    old = _counters(100.0, 50_000, 50_000, 0, job="a" * 32)
    new = _counters(160.0, 300, 200, 0, started=130.0, restarts=0, done=3)
    s = sample_of(160.0, 60.0, {"up": 25.0, "down": 35.0}, "RUNNING", new, old)
    assert (s.records_in_per_s, s.records_out_per_s, s.checkpoints, s.restarts) == (10.0, 6.667, 3, 0)


def test_a_job_first_seen_long_after_it_started_gives_no_rates() -> None:
    # The watcher (re)started: the counters since the job began say nothing of this interval.
    now = _counters(10_000.0, 5_000_000, 5_000_000, 0, started=100.0)
    s = sample_of(10_000.0, 60.0, {"up": 60.0}, "RUNNING", now, None)
    assert (s.records_in_per_s, s.records_out_per_s, s.backpressure, s.restarts) == (None, None, None, None)
    assert (s.job_id, s.checkpoint_duration_ms) == (JOB, 20.0)  # the last checkpoint is still known


def test_counters_that_went_down_give_no_rate() -> None:
    s = sample_of(
        160.0,
        60.0,
        {},
        "RUNNING",
        _counters(160.0, 10, 10, 0, restarts=0),
        _counters(100.0, 500, 500, 50, restarts=4),
    )
    assert (s.records_in_per_s, s.records_out_per_s, s.restarts, s.backpressure) == (None, None, None, None)


def test_no_job_is_a_sample_of_uptime_alone() -> None:
    s = sample_of(160.0, 60.0, {"down": 40.0, "unknown": 20.0}, None, None, None)
    assert s == Sample(at=160.0, seconds=60.0, down_s=40.0, unknown_s=20.0)
    assert Sample.model_validate_json(s.to_json()) == s
    assert s.to_json() == '{"at":160.0,"seconds":60.0,"down_s":40.0,"unknown_s":20.0}'


def test_uptime_adds_per_deployment_and_starts_again_when_taken() -> None:
    up = Uptime()
    up.add("a", "up", 2.0)
    up.add("a", "up", 2.5)
    up.add("a", "down", 1.0)
    up.add("a", "off", 0.0)  # nothing counted
    assert up.take("a") == {"up": 4.5, "down": 1.0}
    assert up.take("a") == {}


def _s(at: float, **values: Any) -> Sample:
    return Sample(at=at, seconds=60.0, **values)


def test_charts_count_the_window_and_put_the_providers_restarts_in_their_interval() -> None:
    samples = [
        _s(60.0, up_s=60.0, records_in_per_s=10.0, restarts=0, checkpoints=30),
        _s(
            120.0,
            up_s=30.0,
            down_s=30.0,
            records_in_per_s=4.0,
            restarts=2,
            checkpoints_failed=1,
            backpressure=0.5,
        ),
        _s(180.0, unknown_s=60.0),
        _s(240.0, off_s=60.0),
        _s(999.0, up_s=60.0),  # after the window
    ]
    out = charts(samples, restarts_at=[90.0, 100.0, 2000.0], since=0.0, until=240.0)
    assert out["samples"] == 4
    assert [p["at"] for p in out["points"]] == [60.0, 120.0, 180.0, 240.0]
    assert [p["provider_restarts"] for p in out["points"]] == [0, 2, 0, 0]
    assert [p["uptime"] for p in out["points"]] == [1.0, 0.5, None, None]
    assert [p["records_in_per_s"] for p in out["points"]] == [10.0, 4.0, None, None]
    assert out["totals"] == {
        "up_s": 90.0,
        "down_s": 30.0,
        "unknown_s": 60.0,
        "off_s": 60.0,
        "uptime": 0.75,
        "flink_restarts": 2,
        "provider_restarts": 2,
        "checkpoints": 30,
        "checkpoints_failed": 1,
    }


def test_long_windows_merge_neighbours_into_at_most_max_points() -> None:
    samples = [
        _s(
            float(i),
            up_s=1.0 if i % 2 else 0.0,
            down_s=0.0 if i % 2 else 1.0,
            records_in_per_s=float(i),
            backpressure=i / 10_000,
            restarts=1,
            checkpoint_size_bytes=float(i),
        )
        for i in range(1, 2 * MAX_POINTS + 2)
    ]
    out = charts(samples, restarts_at=[], since=0.0, until=1e9)
    points = out["points"]
    assert len(points) == 241 <= MAX_POINTS  # 721 samples in threes
    first = points[0]
    assert (first["at"], first["seconds"], first["uptime"]) == (3.0, 180.0, pytest.approx(2 / 3, abs=1e-4))
    assert first["records_in_per_s"] == 2.0  # a mean over time
    assert first["backpressure"] == 3 / 10_000  # the peak
    assert first["restarts"] == 3  # a sum
    assert first["checkpoint_size_bytes"] == 3.0  # the last
    assert out["totals"]["flink_restarts"] == 2 * MAX_POINTS + 1


def test_an_empty_window_has_no_points_and_no_uptime() -> None:
    out = charts([], restarts_at=[5.0], since=0.0, until=10.0)
    assert out["points"] == []
    assert out["totals"]["uptime"] is None
    assert out["totals"]["provider_restarts"] == 1


def test_the_checkpoint_size_is_the_whole_state_where_flink_says_it() -> None:
    job = _job(_vertex(SOURCE, 1, 0, 1, 0), _vertex(SINK, 1, 1, 0, 0))
    incremental = {**METRICS, "lastCheckpointFullSize": 48_000_000.0}  # the increment was 5,443 bytes
    assert counters_of(job, incremental, at=1.0).checkpoint_size_bytes == 48_000_000.0
    assert counters_of(job, METRICS, at=1.0).checkpoint_size_bytes == 5443.0  # no full size said
