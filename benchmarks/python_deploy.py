"""Python (PyFlink) deploy latency: FlinkPythonJobOperator against the raw REST sequence of the
same job.

Both run in the same process against the same freshly started local Flink (it runs Python jobs),
rounds interleaved, after one warm-up job of each (the first Python program after start-up starts
Python's interpreters and loads PyFlink in the JobManager and the TaskManager):

* operator: ``FlinkPythonJobOperator.execute`` (not deferred): checks the entry file's pin,
  verifies and stages it (its digest already staged: read back and compared), records the job id,
  finds the carrier jar already uploaded by its digest, submits the driver with the staged file,
  waits through the same trigger the triggerer runs until the job and all its vertices run;
* raw REST (the baseline): ``POST /jars/upload`` of a jar holding only a manifest, ``POST
  /jars/{id}/run`` with ``PythonDriver``, ``-py <the file>`` and the same arguments, ``GET
  /jobs/{id}`` every 0.1 s until every vertex runs: what a curl script does with the file already
  on the JobManager.

The job: ``harness/python/counter_job.py`` (a generator, a Python KeyedProcessFunction counting in
keyed state, a sink). Most of either time is Flink's: the program's ``main`` runs in the JobManager
before Flink answers, then the TaskManager starts the Python worker of the counting function.

    .venv/bin/python -m benchmarks.python_deploy [--version 2.3.0] [--rounds 7]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import requests

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))

from airflow_provider_flink.client import ClientSettings, FlinkClient, calls
from benchmarks.common import deploy_rounds, local_flink, print_deploy_latency
from benchmarks.lifecycle import _cancel_all, raw_run
from harness.flink_cluster import PYTHON_DRIVER
from harness.job_jars import read_counter
from harness.pyflink_env import PYTHON_JOBS, driver_jar
from harness.task_context import task_context

PROGRAM = PYTHON_JOBS / "counter_job.py"
ARGS = ["--rate", "50", "--name", "py-bench"]


def _operator() -> str:
    from airflow_provider_flink.operators import FlinkPythonJobOperator

    op = FlinkPythonJobOperator(
        task_id="py",
        python_file=str(PROGRAM),
        python_file_sha256=hashlib.sha256(PROGRAM.read_bytes()).hexdigest(),
        args=ARGS,
        deferrable=False,
    )
    return str(op.execute(task_context()))


def _raw(session: requests.Session, url: str, jar: Path) -> str:
    body = {"entryClass": PYTHON_DRIVER, "programArgsList": ["-py", str(PROGRAM), *ARGS]}
    return raw_run(session, url, jar, body)


def _settle_then_cancel(client: FlinkClient) -> None:
    """Cancel the jobs once their Python workers report (their counters): a Python job cancelled
    right after it runs may take the TaskManager down with it (Beam's "Reference count must not be
    negative", seen on 1.20.5 and 2.3.0), and the next round would wait for slots forever."""
    deadline = time.monotonic() + 60
    live = [j.jid for j in client.call(calls.jobs_overview()).jobs if not j.state.is_globally_terminal]
    while time.monotonic() < deadline and any(read_counter(client, job) <= 0 for job in live):
        time.sleep(0.5)
    _cancel_all(client)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with local_flink(args.version, python=True) as flink, requests.Session() as session:
        url = flink.rest_url
        stage = flink.workdir / "python-staging"
        os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
            {
                "conn_type": "flink",
                "host": "127.0.0.1",
                "port": flink.rest_port,
                "extra": {"python_staging_dir": str(stage)},
            }
        )
        jar = driver_jar(flink.workdir / "pyflink-driver.jar")
        client = FlinkClient(ClientSettings(url))
        for warm in (_operator, lambda: _raw(session, url, jar)):  # warm-up
            warm()
            _settle_then_cancel(client)
        results = deploy_rounds(
            args.rounds, _operator, lambda: _raw(session, url, jar), lambda: _settle_then_cancel(client)
        )
        client.close()
    print_deploy_latency(f"Python deploy latency on Flink {args.version}", results)


if __name__ == "__main__":
    main()
