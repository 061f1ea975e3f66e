"""Rescale downtime: a rescale in place against a savepoint upgrade of the same change (1 -> 2).

One local Flink with the adaptive scheduler (``jobmanager.scheduler: adaptive``); rounds
interleaved. Each round starts the CounterJob (a rate-limited source feeding a keyed counter) at
parallelism 1, lets it count, changes its parallelism to 2 and lets it count again:

* **in place**: ``FlinkRescaleJobOperator`` (on Flink 1.x a checkpoint first, then
  ``PUT /jobs/{id}/resource-requirements``, then the wait until every vertex runs at 2; same job id,
  restart from the latest checkpoint);
* **in place, no checkpoint first**: ``FlinkHook.rescale_job`` and the same wait, without the
  checkpoint the operator takes on 1.x (what a bare ``PUT`` does; on 2.x the same as in place);
* **savepoint upgrade**: ``FlinkStopJobOperator`` (stop with a savepoint, wait for the old job's end)
  then ``FlinkDeployJobOperator(savepoint_path=..., parallelism=2)`` (new job id, restored).

All run non-deferred in this process, as the lifecycle benchmark's operators do. A thread reads
the counter of the cluster's live job (``GET .../subtasks/metrics``, max over subtasks) every 0.1 s
throughout; the benchmark's cluster fetches metrics from the task manager every 0.1 s (the
harness default is 1 s; only the REST side's polling changes, not the job).

Downtime is the **counter stall**: the longest time around the change during which the count did
not go past its highest value so far. A job restarted from a checkpoint first re-counts the
records since that checkpoint, and that time counts as stalled too: those records are processed
late. It is good to about 0.2 s (the longest stall seen while nothing changes is printed beside
it). Records not processed in time are the stall times the rate before the change.

Why not a line fitted through the count before and after: after the change the CounterJob
counts at half its rate, in both variants alike. Its generator source made one split at
parallelism 1 and keeps it in its state; at parallelism 2 one reader reads it, limited to half the
rate (the rates fitted before and after are printed). A gap between the two lines would mix that
in with the downtime.

The adaptive scheduler's cooldown (30 s by default between the job's start or last rescale and
a rescale) is cut to 1 s as in the tests (``QUICK_RESCALE``): it delays when a rescale begins,
while the job keeps running, so it is not downtime; ``--flink-defaults`` keeps it (each in-place
round then waits up to 30 s for it).

    .venv/bin/python -m benchmarks.rescale [--version 2.3.0] [--rounds 5] [--rate 200]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))

from airflow_provider_flink.client import ClientSettings, FlinkClient, FlinkError, calls, models
from airflow_provider_flink.ids import new_id
from airflow_provider_flink.triggers.conditions import is_healthy
from harness.flink_cluster import QUICK_RESCALE, LocalFlink
from harness.job_jars import COUNTER_JOB, build_jar, read_counter
from harness.task_context import task_context
from harness.waiting import wait_for

PRE = 5.0  # seconds of counting fitted before the change
SETTLE = 2.0  # seconds after the change before the second fit starts (metrics catch up)
POST = 5.0  # seconds of counting fitted after


@dataclass
class Sampler:
    """Reads the counter of the cluster's one live job every 0.1 s in a thread: (time, count).

    It follows whichever job runs (the bench runs one at a time), so the savepoint upgrade's new
    job is counted from its first record, not from when the deploy task returned."""

    client: FlinkClient
    samples: list[tuple[float, float]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                live = [
                    j.jid for j in self.client.call(calls.jobs_overview()).jobs if j.state.value == "RUNNING"
                ]
                count = read_counter(self.client, live[0]) if len(live) == 1 else None
            except (FlinkError, StopIteration):  # the job is gone or has no vertices yet: no sample
                count = None
            if count:  # 0: no record counted yet, or a subtask that just started
                self.samples.append((time.monotonic(), count))
            time.sleep(0.1)

    @contextmanager
    def running(self) -> Iterator[Sampler]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join()


@dataclass
class Round:
    variant: str
    change_s: float  # the operators' own time: asked -> new parallelism RUNNING
    stall_s: float  # around the change
    idle_stall_s: float  # the longest stall in the 5 s before the change: the measure's resolution
    rate_s: float  # records per second fitted before the change
    rate_after_s: float  # and after

    @property
    def late_records(self) -> float:
        return self.stall_s * self.rate_s


def slope(points: list[tuple[float, float]]) -> float:
    """Records per second: the least-squares slope of the count."""
    return statistics.linear_regression([t for t, _ in points], [c for _, c in points]).slope


def analyse(variant: str, samples: list[tuple[float, float]], asked: float, done: float) -> Round:
    before = [(t, c) for t, c in samples if asked - PRE <= t < asked]
    after = [(t, c) for t, c in samples if done + SETTLE <= t < done + SETTLE + POST]
    if len(before) < 10 or len(after) < 10:
        raise RuntimeError(f"{variant}: too few samples ({len(before)} before, {len(after)} after)")
    around = [(t, c) for t, c in samples if asked - 1.0 <= t < done + SETTLE + POST]
    return Round(variant, done - asked, _stall(around), _stall(before), slope(before), slope(after))


def _stall(points: list[tuple[float, float]]) -> float:
    """The longest time the count did not go past its highest value so far. After a restart from a
    checkpoint the count first re-counts the records since that checkpoint: it is not past its
    highest value until it has done so, and that time counts as stalled too."""
    highest, rises = 0.0, []
    for t, count in points:
        if count > highest:
            highest = count
            rises.append(t)
    return max((b - a for a, b in itertools.pairwise(rises)), default=0.0)


class Bench:
    def __init__(self, flink: LocalFlink, jar: Path, rate: int) -> None:
        self.flink, self.jar, self.rate = flink, jar, rate
        self.client = FlinkClient(ClientSettings(flink.rest_url))
        self.jar_id = self.client.call(calls.upload_jar(jar)).jar_id

    def start_counting(self) -> str:
        request = models.JarRunRequest(
            entry_class=COUNTER_JOB, job_id=new_id(), program_args=["--rate", str(self.rate)], parallelism=1
        )
        job_id = self.client.call(calls.run_jar(self.jar_id, request, self.flink.version)).jobid
        wait_for(f"{job_id} healthy", lambda: is_healthy(self.client.call(calls.job(job_id))) or None)
        wait_for(f"{job_id} counting", lambda: read_counter(self.client, job_id) or None)
        return job_id

    def one_round(self, variant: str, change: Callable[[str], None], warmup: float) -> Round:
        job_id = self.start_counting()
        sampler = Sampler(self.client)
        with sampler.running():
            time.sleep(warmup + PRE)
            asked = time.monotonic()
            change(job_id)
            done = time.monotonic()
            time.sleep(SETTLE + POST + 0.2)
        self.cancel_all()
        return analyse(variant, sampler.samples, asked, done)

    def cancel_all(self) -> None:
        live = [
            j.jid for j in self.client.call(calls.jobs_overview()).jobs if not j.state.is_globally_terminal
        ]
        for job_id in live:
            self.client.call(calls.cancel_job(job_id))
        wait_for(
            "all jobs ended",
            lambda: (
                all(j.state.is_globally_terminal for j in self.client.call(calls.jobs_overview()).jobs)
                or None
            ),
        )


def in_place(job_id: str) -> None:
    from airflow_provider_flink.operators import FlinkRescaleJobOperator

    FlinkRescaleJobOperator(
        task_id="rescale", job_id=job_id, parallelism=2, deferrable=False, poll_interval=0.1, wait_timeout=120
    ).execute(task_context())


def in_place_without_checkpoint(job_id: str) -> None:
    from airflow_provider_flink.hooks import FlinkHook
    from airflow_provider_flink.triggers import FlinkJobTrigger, run_inline

    hook = FlinkHook()
    hook.rescale_job(job_id, 2)
    run_inline(FlinkJobTrigger("flink_default", job_id, time.time() + 120, poll_interval=0.1, parallelism=2))
    hook.close()


def savepoint_upgrade(jar: Path, rate: int) -> Callable[[str], None]:
    def change(job_id: str) -> None:
        from airflow_provider_flink.operators import FlinkDeployJobOperator, FlinkStopJobOperator

        stop = FlinkStopJobOperator(task_id="stop", job_id=job_id, deferrable=False, poll_interval=0.1)
        savepoint = stop.execute(task_context())
        deploy = FlinkDeployJobOperator(
            task_id="deploy",
            jar=str(jar),
            entry_class=COUNTER_JOB,
            args=["--rate", str(rate)],
            parallelism=2,
            savepoint_path=savepoint,
            deferrable=False,
            poll_interval=0.1,
        )
        deploy.execute(task_context())

    return change


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=int, default=200, help="records per second of the CounterJob")
    parser.add_argument(
        "--flink-defaults", action="store_true", help="keep the adaptive scheduler's 30 s cooldown"
    )
    args = parser.parse_args()
    jar = build_jar(args.version)
    with tempfile.TemporaryDirectory(prefix="flink-bench-rescale-") as tmp:
        flink = LocalFlink(
            version=args.version,
            workdir=Path(tmp),
            adaptive_scheduler=True,
            # Metrics fetched every 0.1 s instead of 1 s: the counter stall is then good to ~0.2 s.
            # Only the REST side's polling of the task manager changes, not the job.
            extra_config={"metrics.fetcher.update-interval": "100"}
            | ({} if args.flink_defaults else dict(QUICK_RESCALE)),
        )
        began = time.monotonic()
        flink.start()
        print(
            f"Flink {args.version} (adaptive scheduler) up at {flink.rest_url} in {time.monotonic() - began:.1f} s"
        )
        host, port = flink.rest_url.removeprefix("http://").split(":")
        os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
            {"conn_type": "flink", "host": host, "port": int(port)}
        )
        try:
            bench = Bench(flink, jar, args.rate)
            bench.cancel_all()
            warmup = 30.0 if args.flink_defaults else 1.0  # the cooldown counts from the job's start
            variants: dict[str, Callable[[str], None]] = {
                "in place": in_place,
                "savepoint upgrade": savepoint_upgrade(jar, args.rate),
                "in place, no ckpt first": in_place_without_checkpoint,
            }
            bench.one_round("warm-up", savepoint_upgrade(jar, args.rate), 1.0)  # Flink's first jobs are slow
            rounds: list[Round] = []
            for number in range(args.rounds):
                for name, change in variants.items():
                    done = bench.one_round(name, change, warmup)
                    rounds.append(done)
                    print(
                        f"round {number + 1} {name:<23} change {done.change_s:5.2f} s  "
                        f"stall {done.stall_s:5.2f} s ({done.late_records:4.0f} records late) "
                        f"(idle {done.idle_stall_s:4.2f} s)  rate {done.rate_s:6.1f}/s -> {done.rate_after_s:6.1f}/s",
                        flush=True,
                    )
        finally:
            flink.stop()
    report(args.version, rounds)


def report(version: str, rounds: list[Round]) -> None:
    names = ("in place", "savepoint upgrade", "in place, no ckpt first")
    print(f"\nFlink {version}, medians of {len(rounds) // len(names)} rounds each")
    print("| | counter stall | records late | operators' time (asked -> RUNNING at 2) |")
    print("|---|---|---|---|")
    medians: dict[str, dict[str, float]] = {}
    for name in names:
        mine = [r for r in rounds if r.variant == name]
        medians[name] = {
            "stall": statistics.median(r.stall_s for r in mine),
            "late": statistics.median(r.late_records for r in mine),
            "change": statistics.median(r.change_s for r in mine),
            "idle": max(r.idle_stall_s for r in mine),
        }
        m = medians[name]
        print(f"| {name} | {m['stall']:.2f} s | {m['late']:.0f} | {m['change']:.2f} s |")
    upgrade = medians["savepoint upgrade"]["stall"]
    for name in ("in place", "in place, no ckpt first"):
        print(
            f"{name} / savepoint upgrade: {medians[name]['stall'] / upgrade:.2f}x the stall (goal: under 0.5x)"
        )
    print(
        f"stall resolution (longest stall with nothing happening): {max(m['idle'] for m in medians.values()):.2f} s"
    )


if __name__ == "__main__":
    main()
