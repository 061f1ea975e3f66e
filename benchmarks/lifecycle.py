"""Deploy latency and upgrade downtime: the provider's operators against raw REST and the ``flink`` CLI.

All three run in the same process against the same freshly started local Flink, rounds interleaved:

* **deploy latency**: start -> the job and all its vertices RUNNING.
  - operator: ``FlinkDeployJobOperator.execute`` (not deferred; digest check, submit with a recorded
    job id, wait through the same trigger the triggerer runs);
  - raw REST: ``POST /jars/upload``, ``POST /jars/{id}/run``, ``GET /jobs/{id}`` every 0.1 s;
    on a Flink with applications (2.3) also the same through ``POST /jars/{id}/run-application``
    (the route the operator takes there);
  - CLI: ``flink run -d`` (the ``apache-flink`` package's CLI, its own default conf), then the same
    0.1 s REST poll (the CLI does not wait for RUNNING).
* **upgrade downtime**: stop request to the old job -> the new job restored from its savepoint and RUNNING.
  - operators: ``FlinkStopJobOperator`` (waits for the savepoint *and* the old job's end) then
    ``FlinkDeployJobOperator(savepoint_path=...)``;
  - raw REST: ``POST /jobs/{id}/stop``, poll the savepoint status, poll until the old job is FINISHED,
    ``POST /jars/{id}/run`` with ``savepointPath``, poll the job;
  - "raw, unsafe": the same without waiting for the old job's end (restores while it still finishes:
    two copies for ~0.4 s, which the provider never does; shown for transparency);
  - CLI: ``flink stop -p`` then ``flink run -d -s``, then the REST poll.

    .venv/bin/python -m benchmarks.lifecycle [--version 2.3.0] [--rounds 5] [--cli-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))

from airflow_provider_flink.client import ClientSettings, FlinkClient, calls
from airflow_provider_flink.ids import new_id
from benchmarks.common import local_flink
from harness.flink_cluster import LocalFlink
from harness.job_jars import COUNTER_JOB, build_jar
from harness.task_context import task_context

POLL = 0.1


def _wait_running(session: requests.Session, url: str, job_id: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = session.get(f"{url}/jobs/{job_id}", timeout=10)
        if job.status_code == 200:
            body = job.json()
            if body["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in body["vertices"]):
                return
        time.sleep(POLL)
    raise RuntimeError(f"job {job_id} never ran")


def raw_run(session: requests.Session, url: str, jar: Path, body: dict[str, Any]) -> str:
    """The raw REST baseline of a deploy: ``POST /jars/upload``, ``POST /jars/{id}/run`` with
    ``body`` and a new job id, ``GET /jobs/{id}`` until every vertex runs; the job id."""
    with jar.open("rb") as fh:
        uploaded = session.post(f"{url}/jars/upload", files={"jarfile": (jar.name, fh)}, timeout=30).json()
    jar_id = uploaded["filename"].rsplit("/", 1)[-1]
    answer = session.post(f"{url}/jars/{jar_id}/run", json={**body, "jobId": new_id()}, timeout=60)
    answer.raise_for_status()
    job_id = str(answer.json()["jobid"])
    _wait_running(session, url, job_id)
    return job_id


def raw_run_application(session: requests.Session, url: str, jar: Path, body: dict[str, Any]) -> str:
    """The raw REST deploy through Flink 2.3's applications: ``POST /jars/upload``,
    ``POST /jars/{id}/run-application`` (202 before ``main`` runs) with a new id as job and
    application id, ``GET /jobs/{id}`` until every vertex runs (404 until ``main`` started it)."""
    with jar.open("rb") as fh:
        uploaded = session.post(f"{url}/jars/upload", files={"jarfile": (jar.name, fh)}, timeout=30).json()
    jar_id = uploaded["filename"].rsplit("/", 1)[-1]
    job_id = new_id()
    answer = session.post(
        f"{url}/jars/{jar_id}/run-application",
        json={**body, "jobId": job_id, "applicationId": job_id},
        timeout=60,
    )
    answer.raise_for_status()
    _wait_running(session, url, job_id)
    return job_id


def has_applications(session: requests.Session, url: str) -> bool:
    return session.get(f"{url}/applications/overview", timeout=10).status_code == 200


def _raw_deploy(session: requests.Session, url: str, jar: Path, savepoint: str | None = None) -> str:
    body: dict[str, Any] = {"entryClass": COUNTER_JOB}
    if savepoint:
        body["savepointPath"] = savepoint
    return raw_run(session, url, jar, body)


def _raw_stop(session: requests.Session, url: str, job_id: str, wait_finished: bool = True) -> str:
    """Stop with a savepoint; by default also wait until the old job has ended, as a safe script must:
    restoring earlier briefly runs two copies (the old one still finishing, holding its slots)."""
    trigger = new_id()
    session.post(f"{url}/jobs/{job_id}/stop", json={"drain": False, "triggerId": trigger}, timeout=30)
    while True:
        status = session.get(f"{url}/jobs/{job_id}/savepoints/{trigger}", timeout=10).json()
        if status["status"]["id"] == "COMPLETED":
            break
        time.sleep(POLL)
    while wait_finished and session.get(f"{url}/jobs/{job_id}", timeout=10).json()["state"] != "FINISHED":
        time.sleep(POLL)
    return str(status["operation"]["location"])


def _cli(flink: LocalFlink, *args: str) -> str:
    host = flink.rest_url.removeprefix("http://")
    out = subprocess.run(
        [str(flink.home / "bin" / "flink"), *args[:1], "-m", host, *args[1:]],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, FLINK_CONF_DIR=str(flink.home / "conf")),
    )
    return out.stdout


def _cli_deploy(flink: LocalFlink, session: requests.Session, jar: Path, savepoint: str | None = None) -> str:
    extra = ["-s", savepoint] if savepoint else []
    out = _cli(flink, "run", "-d", *extra, "-c", COUNTER_JOB, str(jar))
    match = re.search(r"JobID ([0-9a-f]{32})", out)
    if not match:
        raise RuntimeError(f"flink run printed no JobID: {out}")
    _wait_running(session, flink.rest_url, match.group(1))
    return match.group(1)


def _cli_stop(flink: LocalFlink, job_id: str, target: Path) -> str:
    out = _cli(flink, "stop", "-p", str(target), job_id)
    match = re.search(r"Savepoint completed\. Path: (\S+)", out)
    if not match:
        raise RuntimeError(f"flink stop printed no path: {out}")
    return match.group(1)


def _op_deploy(jar: Path, savepoint: str | None = None) -> str:
    from airflow_provider_flink.operators import FlinkDeployJobOperator

    op = FlinkDeployJobOperator(
        task_id="deploy", jar=str(jar), entry_class=COUNTER_JOB, savepoint_path=savepoint, deferrable=False
    )
    return str(op.execute(task_context()))


def _op_stop(job_id: str) -> str:
    from airflow_provider_flink.operators import FlinkStopJobOperator

    return str(FlinkStopJobOperator(task_id="stop", job_id=job_id, deferrable=False).execute(task_context()))


def _cancel_all(client: FlinkClient) -> None:
    for job in client.call(calls.jobs_overview()).jobs:
        if not job.state.is_globally_terminal:
            client.call(calls.cancel_job(job.jid))
    while any(not j.state.is_globally_terminal for j in client.call(calls.jobs_overview()).jobs):
        time.sleep(0.1)


def _timed(fn: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cli-rounds", type=int, default=3)
    args = parser.parse_args()
    jar = build_jar(args.version)
    deploy: dict[str, list[float]] = {"operator": [], "raw REST": [], "flink CLI": []}
    upgrade: dict[str, list[float]] = {"operators": [], "raw REST": [], "raw, unsafe": [], "flink CLI": []}
    with local_flink(args.version) as flink, requests.Session() as session:
        url = flink.rest_url
        os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
            {"conn_type": "flink", "host": "127.0.0.1", "port": flink.rest_port}
        )
        client = FlinkClient(ClientSettings(url))
        # Flink 2.3: the operator submits through run-application; the same raw sequence beside it.
        applications = has_applications(session, url)
        if applications:
            deploy["raw REST, run-application"] = []
        _cancel_all(client)
        _op_deploy(jar)  # warm-up: first job after start is slow in Flink itself
        _cancel_all(client)
        for round_ in range(max(args.rounds, args.cli_rounds)):
            if round_ < args.rounds:
                seconds, job = _timed(lambda: _op_deploy(jar))
                deploy["operator"].append(seconds)
                upgrade["operators"].append(_timed(lambda j=job: _op_deploy(jar, _op_stop(j)))[0])
                _cancel_all(client)
                seconds, job = _timed(lambda: _raw_deploy(session, url, jar))
                deploy["raw REST"].append(seconds)
                upgrade["raw REST"].append(
                    _timed(lambda j=job: _raw_deploy(session, url, jar, _raw_stop(session, url, j)))[0]
                )
                _cancel_all(client)
                if applications:
                    seconds, _ = _timed(
                        lambda: raw_run_application(session, url, jar, {"entryClass": COUNTER_JOB})
                    )
                    deploy["raw REST, run-application"].append(seconds)
                    _cancel_all(client)
                job = _raw_deploy(session, url, jar)
                upgrade["raw, unsafe"].append(
                    _timed(lambda j=job: _raw_deploy(session, url, jar, _raw_stop(session, url, j, False)))[0]
                )
                _cancel_all(client)
            if round_ < args.cli_rounds:
                seconds, job = _timed(lambda: _cli_deploy(flink, session, jar))
                deploy["flink CLI"].append(seconds)
                target = flink.savepoint_dir / f"cli-{round_}"
                upgrade["flink CLI"].append(
                    _timed(lambda j=job, t=target: _cli_deploy(flink, session, jar, _cli_stop(flink, j, t)))[
                        0
                    ]
                )
                _cancel_all(client)
        client.close()
    _print("Deploy latency (start -> all vertices RUNNING)", deploy, "operator")
    _print("Upgrade downtime (stop request -> restored job all vertices RUNNING)", upgrade, "operators")


def _print(title: str, results: dict[str, list[float]], ours: str) -> None:
    print(f"\n{title}")
    medians = {name: statistics.median(samples) for name, samples in results.items()}
    for name, samples in results.items():
        print(
            f"  {name:<26} median {medians[name]:6.3f} s  min {min(samples):6.3f} s  max {max(samples):6.3f} s  n={len(samples)}"
        )
    for name, median in medians.items():
        if name != ours:
            print(
                f"  ratio {ours} / {name}: {medians[ours] / median:.2f}x   ({name} / {ours}: {median / medians[ours]:.2f}x)"
            )


if __name__ == "__main__":
    main()
