"""REST calls of the job-state watcher with many declared deployments on one cluster, and how soon a
job that leaves RUNNING becomes an event.

One run: a local Flink; ``--deployments`` spec files in a folder, ``--live`` of them with a running
job (submitted with the deployment's job-id prefix, as the reconcile does); ``FlinkJobEventTrigger``
(what the ``flink_job_states`` asset's watcher runs in the triggerer) for ``--seconds`` through a
counting proxy; one job is cancelled half-way and the time to the event is taken. Baseline in the
same run, same proxy: a watch per deployment, each polling its deployment's job
(``GET /jobs/{id}``) every interval, as per-deployment sensors would.

    .venv/bin/python -m benchmarks.job_watch [--version 2.3.0] [--deployments 100] [--live 3] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import yaml

from airflow_provider_flink.client import ClientSettings, FlinkClient, FlinkError, calls, models
from airflow_provider_flink.events import FlinkJobEventTrigger
from airflow_provider_flink.ids import deployment_prefix
from airflow_provider_flink.triggers.conditions import is_healthy
from benchmarks.common import local_flink
from harness.fault_proxy import FaultProxy
from harness.job_jars import COUNTER_JOB, build_jar
from harness.waiting import wait_for

INTERVAL = 2.0


async def watcher(
    folder: Path, seconds: float, cancel: tuple[str, str], cancel_at: float
) -> tuple[float | None, dict[str, object] | None]:
    """Run the trigger; cancel ``cancel[1]`` (on ``cancel[0]``'s REST API) at ``cancel_at`` s; the event's delay."""
    trigger = FlinkJobEventTrigger("flink_default", str(folder), poll_interval=INTERVAL)
    cancelled: list[float] = []

    async def cancel_later() -> None:
        await asyncio.sleep(cancel_at)
        async with httpx.AsyncClient() as client:
            await client.patch(f"{cancel[0]}/jobs/{cancel[1]}", params={"mode": "cancel"})
        cancelled.append(time.monotonic())

    async def first() -> dict[str, object] | None:
        """The first event about a job leaving RUNNING (a job becoming healthy is an event too)."""
        async for event in trigger.run():
            if any(change["kind"] == "state" for change in event.payload["changes"]):
                return dict(event.payload)
        return None

    task = asyncio.create_task(cancel_later())
    try:
        payload = await asyncio.wait_for(first(), seconds)
        delay = time.monotonic() - cancelled[0] if cancelled else None
    except asyncio.TimeoutError:
        payload, delay = None, None
    task.cancel()
    return delay, payload


async def per_deployment(proxy_url: str, job_ids: list[str], seconds: float) -> None:
    """The baseline: every deployment's watch asks for its own job each interval."""
    async with httpx.AsyncClient(base_url=proxy_url, timeout=60) as client:

        async def one(job_id: str) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                await client.get(f"/jobs/{job_id}")
                await asyncio.sleep(INTERVAL)

        await asyncio.gather(*(one(job_id) for job_id in job_ids))


def _running(client: FlinkClient, job_id: str) -> Callable[[], bool]:
    """Healthy (every task up), so the watcher's first look is the base and no job becomes healthy in the window."""
    return lambda: is_healthy(client.call(calls.job(job_id)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--live", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with local_flink(args.version) as flink, tempfile.TemporaryDirectory() as tmp:
        jar = build_jar(args.version, Path(tmp))
        folder = Path(tmp) / "specs"
        folder.mkdir()
        names = [f"dep-{n:03d}" for n in range(args.deployments)]
        for name in names:
            spec = {"name": name, "artifact": {"jar": str(jar)}, "entry_class": COUNTER_JOB}
            (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))
        proxy = FaultProxy(flink.rest_url).start()
        os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
            {"conn_type": "flink", "host": "127.0.0.1", "port": proxy.port}
        )
        job_ids = [deployment_prefix(name) + os.urandom(10).hex() for name in names]
        with FlinkClient(ClientSettings(flink.rest_url)) as client:
            jar_id = client.call(calls.upload_jar(jar)).jar_id
            for job_id in job_ids[: args.live]:
                request = models.JarRunRequest(
                    entry_class=COUNTER_JOB, job_id=job_id, program_args=["--rate", "5"]
                )
                client.call(calls.run_jar(jar_id, request))
            for job_id in job_ids[: args.live]:
                wait_for(f"{job_id} RUNNING", _running(client, job_id))
            try:
                proxy.requests.clear()
                began = time.monotonic()
                delay, payload = asyncio.run(
                    watcher(folder, args.seconds, (flink.rest_url, job_ids[0]), args.seconds / 2)
                )
                ours = len(proxy.requests)
                ours_seconds = time.monotonic() - began
                overview = sum(1 for _, path in proxy.requests if path == "/jobs/overview")
                proxy.requests.clear()
                asyncio.run(per_deployment(proxy.url, job_ids, args.seconds / 2))
                base = len(proxy.requests)
            finally:
                for job_id in job_ids[: args.live]:
                    with contextlib.suppress(FlinkError):  # the cancelled one has ended already
                        client.call(calls.cancel_job(job_id))
                proxy.stop()
    intervals = ours_seconds / INTERVAL
    print(
        f"\n{args.deployments} declared deployments ({args.live} with a running job) on one cluster, poll interval {INTERVAL:g} s:"
    )
    print(
        f"- the watcher: {ours} requests in {ours_seconds:.1f} s ({overview} /jobs/overview): {ours / intervals:.2f} per interval"
    )
    print(
        f"- per-deployment watches (baseline): {base} requests in {args.seconds / 2:.0f} s: {base / (args.seconds / 2 / INTERVAL):.1f} per interval"
    )
    if delay is not None and payload is not None:
        print(f"- a job cancelled on Flink -> event in {delay:.1f} s: {payload['changes']}")
    else:
        print("- no event within the window")


if __name__ == "__main__":
    main()
