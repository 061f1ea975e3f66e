"""The provider under real Airflow: trigger-to-RUNNING and the lifecycle DAG, waits in the worker
against waits deferred to the triggerer, beside raw REST.

One run starts a local Flink, a private PostgreSQL and the real Airflow components
(``harness.airflow_stack``: api-server, scheduler with LocalExecutor, dag-processor, triggerer),
stores the connection and the jar Variable through the REST API, and measures:

* **trigger -> RUNNING**: ``POST /api/v2/dags/flink_deploy_manual/dagRuns`` (with the job's
  arguments in the conf) -> Flink reports the new job and all its vertices RUNNING (polled every
  0.1 s on Flink's REST API, outside Airflow). Baseline in the same run: raw REST,
  ``POST /jars/upload`` + ``POST /jars/{id}/run`` + ``GET /jobs/{id}`` every 0.1 s.
* **lifecycle DAG**: ``flink_job_lifecycle`` (health sensor, deploy, savepoint, stop with a
  savepoint, redeploy from it at parallelism 2, health with a checkpoint, stop) from the trigger
  to the run's success.
* **a long wait's end**: ``test_real_wait``'s sensor waits for its job's end; the job is cancelled
  10 s after it runs (long enough to be deferred); measured from the cancel to the run's success.
* **a job that takes 8 s to start**: ``flink_deploy_manual`` with the counter job's
  ``--open-delay-seconds 8`` (its task stays INITIALIZING for 8 s), from the trigger to the run's
  success: the deploy's wait for a healthy job outlasts the look.
* **the lifecycle DAG with every wait deferred**: the same DAG, its jobs started with
  ``--open-delay-seconds 8 --snapshot-delay-seconds 8`` (8 s to start, 8 s per checkpoint and
  savepoint, as jobs with much state take), so that each of its six waits outlasts the look.

Each in both modes, in alternating rounds: ``default_deferrable`` off (every wait in the worker)
and on (a wait that outlasts the 5-s look is deferred), the scheduler restarted between the modes.

    .venv/bin/python -m benchmarks.real_airflow [--version 2.3.0] [--rounds 4]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

from benchmarks.common import local_flink
from harness.airflow_stack import AirflowStack
from harness.flink_cluster import LocalFlink
from harness.job_jars import COUNTER_JOB, build_jar
from harness.postgres import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
POLL = 0.1


def _job_ids(url: str) -> set[str]:
    return {job["jid"] for job in requests.get(f"{url}/jobs/overview", timeout=10).json()["jobs"]}


def _running(url: str, job_id: str) -> bool:
    body = requests.get(f"{url}/jobs/{job_id}", timeout=10).json()
    return body["state"] == "RUNNING" and all(v["status"] == "RUNNING" for v in body["vertices"])


def _wait_new_job_running(url: str, before: set[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for job_id in _job_ids(url) - before:
            if _running(url, job_id):
                return job_id
        time.sleep(POLL)
    raise RuntimeError("no new job RUNNING")


def _cancel_all(url: str) -> None:
    for job in requests.get(f"{url}/jobs/overview", timeout=10).json()["jobs"]:
        if job["state"] not in ("FINISHED", "CANCELED", "FAILED"):
            requests.patch(f"{url}/jobs/{job['jid']}?mode=cancel", timeout=10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = requests.get(f"{url}/jobs/overview", timeout=10).json()["jobs"]
        if all(j["state"] in ("FINISHED", "CANCELED", "FAILED") for j in jobs):
            return
        time.sleep(0.2)


def raw_rest_deploy(url: str, jar: Path) -> float:
    before = _job_ids(url)
    began = time.perf_counter()
    with jar.open("rb") as fh:
        uploaded = requests.post(f"{url}/jars/upload", files={"jarfile": (jar.name, fh)}, timeout=30).json()
    jar_id = uploaded["filename"].rsplit("/", 1)[-1]
    requests.post(f"{url}/jars/{jar_id}/run", json={"entryClass": COUNTER_JOB}, timeout=30).raise_for_status()
    _wait_new_job_running(url, before)
    return time.perf_counter() - began


DEFERRED = "deferring to the triggerer"  # the line a task logs when its wait goes to the triggerer


def deferrals(stack: AirflowStack, dag_id: str, run: str) -> int:
    """How many waits of the run were deferred, from the task logs."""
    return sum(
        stack.task_log(dag_id, run, task_id, ti["try_number"]).count(DEFERRED)
        for task_id, ti in stack.task_instances(dag_id, run).items()
    )


def airflow_deploy(stack: AirflowStack, url: str) -> tuple[float, int]:
    before = _job_ids(url)
    began = time.perf_counter()
    run = stack.trigger("flink_deploy_manual", {"args": ["--rate", "20"], "parallelism": 1})
    _wait_new_job_running(url, before)
    seconds = time.perf_counter() - began
    if stack.wait_run("flink_deploy_manual", run) != "success":
        raise RuntimeError(f"deploy run {run} failed: {stack.task_instances('flink_deploy_manual', run)}")
    return seconds, deferrals(stack, "flink_deploy_manual", run)


def slow_start(stack: AirflowStack, delay: int = 8) -> tuple[float, int]:
    """A job that takes ``delay`` s to become healthy: trigger -> the deploy run's success."""
    began = time.perf_counter()
    conf = {"args": ["--rate", "20", "--open-delay-seconds", str(delay)], "parallelism": 1}
    run = stack.trigger("flink_deploy_manual", conf)
    if stack.wait_run("flink_deploy_manual", run, timeout=240) != "success":
        raise RuntimeError(
            f"slow deploy run {run} failed: {stack.task_instances('flink_deploy_manual', run)}"
        )
    return time.perf_counter() - began, deferrals(stack, "flink_deploy_manual", run)


SLOW = ["--rate", "50", "--open-delay-seconds", "8", "--snapshot-delay-seconds", "8"]


def airflow_lifecycle(stack: AirflowStack, args: list[str] | None = None) -> tuple[float, int]:
    began = time.perf_counter()
    run = stack.trigger("flink_job_lifecycle", {"args": args} if args else None)
    if stack.wait_run("flink_job_lifecycle", run, timeout=600) != "success":
        raise RuntimeError(f"lifecycle run {run} failed: {stack.task_instances('flink_job_lifecycle', run)}")
    return time.perf_counter() - began, deferrals(stack, "flink_job_lifecycle", run)


def long_wait(stack: AirflowStack, url: str, wait: float) -> tuple[float, int]:
    """A wait that outlasts the look before deferring: ``test_real_wait``'s sensor waits until this
    function cancels the job, ``wait`` s after it runs. Measured: cancel -> the run's success, which
    is what deferring adds to (the triggerer's poll, the event, scheduling the resumed task)."""
    before = _job_ids(url)
    run = stack.trigger("test_real_wait", {"args": ["--rate", "20"]})
    job_id = _wait_new_job_running(url, before)
    time.sleep(wait)
    began = time.perf_counter()
    requests.patch(f"{url}/jobs/{job_id}?mode=cancel", timeout=10).raise_for_status()
    if stack.wait_run("test_real_wait", run, timeout=120) != "success":
        raise RuntimeError(f"wait run {run} failed: {stack.task_instances('test_real_wait', run)}")
    return time.perf_counter() - began, deferrals(stack, "test_real_wait", run)


def set_mode(stack: AirflowStack, deferrable: bool) -> None:
    """Restart the scheduler (its LocalExecutor workers parse the DAGs) with ``default_deferrable``."""
    stack.env_extra["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] = str(deferrable)
    if "scheduler" in stack.pids:
        stack.kill("scheduler", signal.SIGTERM)
    stack.restart("scheduler")
    stack.wait_healthy(120)


def start_stack(flink: LocalFlink, jar: Path, root: Path) -> tuple[LocalPostgres, AirflowStack]:
    dags = root / "dags"
    dags.mkdir()
    for source in [*(ROOT / "dags").glob("*.py"), ROOT / "tests/integration/dags/flink_test_dags.py"]:
        (dags / source.name).symlink_to(source)
    postgres = LocalPostgres().start()
    stack = AirflowStack(root / "home", dags, postgres.url)
    try:
        stack.start()
        host, port = flink.rest_url.removeprefix("http://").split(":")
        stack.api(
            "POST", "/connections",
            json={"connection_id": "flink_default", "conn_type": "flink", "host": host, "port": int(port)},
        )  # fmt: skip
        stack.api("POST", "/variables", json={"key": "flink_example_jar", "value": str(jar)})
        for dag_id in ("flink_deploy_manual", "flink_job_lifecycle", "test_real_wait"):
            stack.wait_dag(dag_id)
    except BaseException:
        stack.stop()
        postgres.stop()
        raise
    return postgres, stack


def _median(samples: list[float]) -> str:
    return f"{statistics.median(samples):6.2f} s (min {min(samples):.2f}, max {max(samples):.2f}, n={len(samples)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    jar = build_jar(args.version)
    results: dict[str, list[float]] = {}
    waits_deferred: dict[str, int] = {}
    with local_flink(args.version) as flink, tempfile.TemporaryDirectory(prefix="bench-real-airflow-") as tmp:
        url = flink.rest_url
        began = time.monotonic()
        postgres, stack = start_stack(flink, jar, Path(tmp))
        print(
            f"PostgreSQL + api-server, scheduler, dag-processor, triggerer up in {time.monotonic() - began:.1f} s"
        )
        try:
            # Warm-up (not measured): the first run of each kind pays for cold caches on both sides.
            raw_rest_deploy(url, jar)
            airflow_deploy(stack, url)
            _cancel_all(url)
            # Rounds alternate the modes (the scheduler restarted each time), so that drift over
            # the run (caches, the DB's size) hits both alike.
            for _ in range(args.rounds):
                for deferrable in (False, True):
                    mode = "deferred" if deferrable else "in-worker"
                    set_mode(stack, deferrable)
                    results.setdefault("raw REST deploy", []).append(raw_rest_deploy(url, jar))
                    _cancel_all(url)
                    measures: dict[str, Callable[[], tuple[float, int]]] = {
                        f"trigger -> RUNNING ({mode})": lambda: airflow_deploy(stack, url),
                        f"lifecycle DAG ({mode})": lambda: airflow_lifecycle(stack),
                        f"lifecycle, slow jobs ({mode})": lambda: airflow_lifecycle(stack, SLOW),
                        f"10-s wait: end -> success ({mode})": lambda: long_wait(stack, url, 10),
                        f"8-s start: trigger -> success ({mode})": lambda: slow_start(stack),
                    }
                    for name, measure in measures.items():
                        seconds, deferred = measure()
                        results.setdefault(name, []).append(seconds)
                        waits_deferred[name] = waits_deferred.get(name, 0) + deferred
                        _cancel_all(url)
        finally:
            stack.stop()
            postgres.stop()
    print()
    for name, samples in results.items():
        note = f"   waits deferred: {waits_deferred[name]}" if name in waits_deferred else ""
        print(f"{name:<40} median {_median(samples)}{note}")
    raw = statistics.median(results["raw REST deploy"])
    print()
    for mode in ("in-worker", "deferred"):
        deploy = statistics.median(results[f"trigger -> RUNNING ({mode})"])
        print(f"trigger -> RUNNING ({mode}) / raw REST: {deploy / raw:.1f}x")
    ratio = statistics.median(results["lifecycle DAG (deferred)"]) / statistics.median(
        results["lifecycle DAG (in-worker)"]
    )
    print(f"lifecycle deferred / in-worker: {ratio:.2f}x (waits within the look stay in the worker)")
    slow_ratio = statistics.median(results["lifecycle, slow jobs (deferred)"]) / statistics.median(
        results["lifecycle, slow jobs (in-worker)"]
    )
    print(
        f"lifecycle, slow jobs, deferred / in-worker: {slow_ratio:.2f}x (goal <= 1.10x, every wait deferred)"
    )
    slow = statistics.median(results["8-s start: trigger -> success (deferred)"]) / statistics.median(
        results["8-s start: trigger -> success (in-worker)"]
    )
    print(f"8-s start, deferred / in-worker: {slow:.2f}x (goal <= 1.10x)")
    extra = statistics.median(results["10-s wait: end -> success (deferred)"]) - statistics.median(
        results["10-s wait: end -> success (in-worker)"]
    )
    print(f"a deferred wait ends {extra:+.2f} s later than one in the worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
