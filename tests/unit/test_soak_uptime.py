"""The soak's outside sampler (faults/soak/uptime.py) on scripted Flink answers: when a
deployment is up, and the check that its keyed state never goes back."""

from __future__ import annotations

from typing import Any

from faults.soak.uptime import UptimeSampler


class Script:
    """What Flink answers, set by the test between samples."""

    def __init__(self) -> None:
        self.listing: list[dict[str, Any]] = []
        self.records: dict[str, int] = {}
        self.counters: dict[str, float] = {}
        self.snapshot_ms: dict[str, int] = {}
        self.completed: dict[str, int] = {}
        self.running = True

    def jobs(self) -> list[dict[str, Any]] | None:
        return self.listing

    def job(self, jid: str) -> dict[str, Any]:
        status = "RUNNING" if self.running else "INITIALIZING"
        vertices = [
            {"name": "Source: ticks", "status": status, "metrics": {"write-records": self.records[jid]}},
            {"name": "count", "status": status, "metrics": {"read-records": self.records[jid]}},
        ]
        return {"state": "RUNNING", "vertices": vertices}

    def counter(self, jid: str, detail: dict[str, Any]) -> float | None:
        return self.counters.get(jid)

    def get(self, path: str, **params: str) -> Any:
        jid = path.split("/")[2]
        return {
            "latest": {"completed": {"trigger_timestamp": self.snapshot_ms.get(jid, 0)}},
            "counts": {"completed": self.completed.get(jid, 0)},
        }


def sampler(script: Script) -> UptimeSampler:
    found = UptimeSampler("http://flink.test:8081", ["a"])
    found.reader.close()
    found.reader = script  # type: ignore[assignment]
    script.listing = []
    return found


def job(jid: str, start: int) -> dict[str, Any]:
    return {"jid": jid, "name": "a.g1", "state": "RUNNING", "start-time": start}


def test_a_job_is_up_from_its_first_sample_with_records_and_down_when_they_stop_growing(
    monkeypatch: Any,
) -> None:
    clock = iter(range(100, 200))
    monkeypatch.setattr("faults.soak.uptime.time.time", lambda: float(next(clock)))
    script = Script()
    seen = sampler(script)
    script.listing = [job("j1", 1)]
    script.records["j1"] = 0
    seen.sample()  # running, nothing processed yet
    script.records["j1"] = 40
    seen.sample()  # grew: up
    script.listing, script.records["j2"] = [job("j2", 2)], 25
    seen.sample()  # a new job seen first with records: up at once (no second sample needed)
    seen.sample()  # 25 again, within the window: up (a sample between two metric refreshes)
    seen.sample()
    seen.sample()  # no growth over 2.5 s: down
    script.records["j2"], script.running = 30, False
    seen.sample()  # grew, but a vertex is not running: down
    assert [state["a"] if state else None for _, state in seen.samples] == [
        (False, "j1"),
        (True, "j1"),
        (True, "j2"),
        (True, "j2"),
        (True, "j2"),
        (False, "j2"),
        (False, "j2"),
    ]


def test_state_going_back_is_judged_against_the_old_jobs_newest_snapshot(monkeypatch: Any) -> None:
    clock = iter(range(100, 200))
    monkeypatch.setattr("faults.soak.uptime.time.time", lambda: float(next(clock)))
    script = Script()
    seen = sampler(script)
    script.listing, script.records["old"] = [job("old", 1)], 10
    for counter in (100.0, 120.0, 140.0):  # at 100, 101, 102
        script.counters["old"] = counter
        seen.sample()
    script.snapshot_ms["old"] = 101_500  # its newest checkpoint: after the 120 read at 101
    seen.sample()  # the snapshot is read (the counter at 103: 140)
    # The next job restored from that checkpoint starts at 120 or more: not back.
    script.listing, script.records["ok"], script.counters["ok"] = [job("ok", 2)], 5, 125.0
    seen.sample()
    assert seen.back == []
    # A job of the deployment after "ok" that starts from nothing: back, named against "ok".
    script.snapshot_ms["ok"] = 105_000
    seen.sample()
    script.listing, script.records["fresh"], script.counters["fresh"] = [job("fresh", 3)], 5, 3.0
    seen.sample()
    assert seen.back == [
        "a: job fresh started at counter 3, below the 125 job ok had counted by its newest snapshot"
    ]


def test_a_job_after_one_without_state_is_held_to_the_older_jobs_count(monkeypatch: Any) -> None:
    """A failing spec's job (no counter, no snapshot) between two: the rollback after it is still
    held to what the job before it had counted (the check once looked at the job just before)."""
    clock = iter(range(100, 200))
    monkeypatch.setattr("faults.soak.uptime.time.time", lambda: float(next(clock)))
    script = Script()
    seen = sampler(script)
    script.listing, script.records["old"] = [job("old", 1)], 10
    for counter in (100.0, 120.0):
        script.counters["old"] = counter
        seen.sample()
    script.snapshot_ms["old"] = 101_500
    seen.sample()
    script.listing, script.records["failing"] = [job("failing", 2)], 0  # no counter reported
    seen.sample()
    script.listing, script.records["rollback"], script.counters["rollback"] = [job("rollback", 3)], 5, 7.0
    seen.sample()
    assert seen.back == [
        "a: job rollback started at counter 7, below the 120 job old had counted by its newest snapshot"
    ]


def test_a_late_sample_compares_with_the_one_before_it(monkeypatch: Any) -> None:
    times = iter([100.0, 101.0, 105.0, 109.0])  # the last two came 4 s after the one before
    monkeypatch.setattr("faults.soak.uptime.time.time", lambda: next(times))
    script = Script()
    seen = sampler(script)
    script.listing, script.records["j"] = [job("j", 1)], 10
    seen.sample()
    script.records["j"] = 20
    seen.sample()
    script.records["j"] = 30
    seen.sample()  # grew since 101: up, though nothing lies within the last 2.5 s
    seen.sample()  # 30 again: down
    assert [state["a"][0] if state else None for _, state in seen.samples] == [True, True, True, False]


def test_a_job_whose_metrics_froze_is_up_while_its_checkpoints_complete(monkeypatch: Any) -> None:
    """After a TaskManager's loss Flink's metrics (the records) stood still for 600 s while the
    job ran; its completed checkpoints, which the JobManager keeps, went on: up while they grow."""
    clock = iter(range(100, 200))
    monkeypatch.setattr("faults.soak.uptime.time.time", lambda: float(next(clock)))
    script = Script()
    seen = sampler(script)
    script.listing, script.records["j"] = [job("j", 1)], 50
    for completed in (1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 3):  # one every 2 s, then none (at 107 on)
        script.completed["j"] = completed
        seen.sample()
    ups = [state["a"][0] if state else None for _, state in seen.samples]
    # up while first seen (records from 0), then by the checkpoints; down 5 s after the last one
    assert ups == [True, True, True, True, True, True, True, True, True, True, False]
