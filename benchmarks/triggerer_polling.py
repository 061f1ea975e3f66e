"""REST calls and memory of many deferred waits on one cluster, as the triggerer runs them.

N job waits (``FlinkJobTrigger``, what a deferred deploy or job sensor hands to the triggerer) run
in one event loop for a fixed window against a real local Flink, through a counting proxy; each
waits for a state the job never reaches, so every one of them polls for the whole window. Two
variants in the same run, on the same jobs:

* ``coalesced``: the provider's triggerer path (one shared ``GET /jobs/overview`` per cluster per
  interval, a job's details only when its wait may be over);
* ``per-job`` (baseline): every wait polls ``GET /jobs/{id}`` itself, as each did before.

Memory per wait: tracemalloc's growth while the N triggers are built and polling, divided by N.

    .venv/bin/python -m benchmarks.triggerer_polling [--version 2.3.0] [--waits 50] [--seconds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from airflow_provider_flink import ids
from airflow_provider_flink.client import ClientSettings, FlinkClient, calls, models
from airflow_provider_flink.triggers import FlinkJobTrigger
from benchmarks.common import local_flink
from harness.fault_proxy import FaultProxy
from harness.job_jars import COUNTER_JOB, build_jar
from harness.waiting import wait_for

POLL_INTERVAL = 2.0
STEADY_AFTER = 12.0  # seconds: the polls have slowed down to the interval by then


async def _wait_all(triggers: list[FlinkJobTrigger]) -> list[object]:
    return list(await asyncio.gather(*(t.wait_for_event() for t in triggers)))


def measure(
    proxy: FaultProxy, jobs: list[str], waits: int, seconds: float, coalesce: bool
) -> dict[str, float]:
    proxy.requests.clear()
    proxy.timed.clear()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    deadline = time.time() + seconds
    triggers = [
        FlinkJobTrigger(
            "flink_default",
            jobs[n % len(jobs)],
            deadline,
            target="states",
            states=["CANCELED"],  # never reached: each wait polls for the whole window
            poll_interval=POLL_INTERVAL,
            coalesce=coalesce,
        )
        for n in range(waits)
    ]
    began = time.monotonic()
    events = asyncio.run(_wait_all(triggers))
    elapsed = time.monotonic() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert all(getattr(e, "status", None) == "timeout" for e in events), events[:3]
    counts = Counter("overview" if path == "/jobs/overview" else "job" for _, path in proxy.requests)
    # The first seconds poll fast (0.1 s for 3 s, then growing by 1.5x to the interval: about
    # 10 s in all; most waits end there); the steady state is what a long wait costs: requests
    # per poll interval after it.
    steady = [path for at, path in proxy.timed if at - began > STEADY_AFTER]
    per_interval = len(steady) / max((elapsed - STEADY_AFTER) / POLL_INTERVAL, 1)
    return {
        "requests": float(sum(counts.values())),
        "overview": float(counts["overview"]),
        "job": float(counts["job"]),
        "per_interval_steady": per_interval,
        "kib_per_wait": (peak - before) / 1024 / waits,
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--waits", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--jobs", type=int, default=2, help="running jobs the waits are spread over")
    args = parser.parse_args()
    with local_flink(args.version) as flink, tempfile.TemporaryDirectory() as tmp:
        jar = build_jar(args.version, Path(tmp))
        proxy = FaultProxy(flink.rest_url).start()
        conn = {"conn_type": "flink", "host": "127.0.0.1", "port": proxy.port}
        os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(conn)
        with FlinkClient(ClientSettings(flink.rest_url)) as client:
            jar_id = client.call(calls.upload_jar(jar)).jar_id
            jobs = []
            for _ in range(args.jobs):
                request = models.JarRunRequest(
                    entry_class=COUNTER_JOB, job_id=ids.new_id(), program_args=["--rate", "10"]
                )
                jobs.append(client.call(calls.run_jar(jar_id, request)).jobid)

            def running(job: str) -> bool:
                return client.call(calls.job(job)).state.value == "RUNNING"

            for job in jobs:
                wait_for(f"{job} RUNNING", lambda j=job: running(j))  # type: ignore[misc]
            try:
                results = {
                    name: measure(proxy, jobs, args.waits, args.seconds, coalesce)
                    for name, coalesce in (("per-job (baseline)", False), ("coalesced", True))
                }
            finally:
                for job in jobs:
                    client.call(calls.cancel_job(job))
                proxy.stop()
    print(
        f"\n{args.waits} waits on {args.jobs} jobs of one cluster, {args.seconds:.0f} s, poll interval {POLL_INTERVAL:g} s:"
    )
    print(
        "| variant | requests | /jobs/overview | /jobs/{id} | requests per interval (steady) | KiB per wait |"
    )
    print("|---|---|---|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['requests']:.0f} | {r['overview']:.0f} | {r['job']:.0f} | "
            f"{r['per_interval_steady']:.1f} | {r['kib_per_wait']:.1f} |"
        )
    base, ours = results["per-job (baseline)"], results["coalesced"]
    print(
        f"\nsteady-state requests per interval: {ours['per_interval_steady']:.1f} against "
        f"{base['per_interval_steady']:.1f} ({base['per_interval_steady'] / max(ours['per_interval_steady'], 0.1):.0f}x fewer)"
    )


if __name__ == "__main__":
    main()
