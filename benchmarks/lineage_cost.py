"""What lineage costs a deploy: ``FlinkDeployJobOperator`` with OpenLineage on, with it off, and the
raw REST sequence of the same job, in the same run against the same local Flink.

* lineage on: Airflow's OpenLineage provider with a file transport (events appended to a file in a
  temporary folder); the deploy adds the parent run to the job's configuration, reads the job once
  when it runs (``GET /jobs/{id}``: its plan) and sends the Flink run's START event;
* lineage off: the same operator, the provider disabled for it (what a team without the
  ``[openlineage]`` extra gets);
* raw REST (the baseline): upload, run, ``GET /jobs/{id}`` every 0.1 s until every vertex runs.

The task run the events name is fixed (a unit-test stand-in: the operator runs outside a task
runner here); everything after it is the product's own path. Rounds interleaved, each kind taking
turns at going first, after one warm-up of each (the first event builds the OpenLineage client).

    .venv/bin/python -m benchmarks.lineage_cost [--version 2.3.0] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))
# Before the provider reads its configuration (it caches it per process).
os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"] = json.dumps(
    {
        "type": "file",
        "log_file_path": tempfile.mkdtemp(prefix="bench-lineage-") + "/events.jsonl",
        "append": True,
    }
)

from airflow_provider_flink.client import ClientSettings, FlinkClient
from airflow_provider_flink.lineage import events as lineage
from benchmarks.common import local_flink
from benchmarks.lifecycle import _cancel_all, _raw_deploy
from harness.job_jars import COUNTER_JOB, build_jar
from harness.task_context import task_context

EVENTS = Path(json.loads(os.environ["AIRFLOW__OPENLINEAGE__TRANSPORT"])["log_file_path"])
PARENT = lineage.TaskRun(
    namespace="bench",
    job_name="bench.deploy",
    run_id="01930000-0000-7000-8000-000000000001",
    root_namespace="bench",
    root_job_name="bench",
    root_run_id="01930000-0000-7000-8000-000000000002",
)


def _deploy(jar: Path, with_lineage: bool) -> str:
    from airflow_provider_flink.operators import FlinkDeployJobOperator

    lineage.task_run = (lambda context: PARENT) if with_lineage else (lambda context: None)
    op = FlinkDeployJobOperator(
        task_id="deploy",
        jar=str(jar),
        entry_class=COUNTER_JOB,
        args=["--source-name", "kafka://broker:9092/orders", "--sink-name", "s3://lake/orders"],
        deferrable=False,
    )
    return str(op.execute(task_context()))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    jar = build_jar(args.version)
    assert lineage.active(), "OpenLineage is not enabled: is apache-airflow-providers-openlineage installed?"
    with local_flink(args.version) as flink, requests.Session() as session:
        os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
            {"conn_type": "flink", "host": "127.0.0.1", "port": flink.rest_port}
        )
        client = FlinkClient(ClientSettings(flink.rest_url))
        kinds: dict[str, Callable[[], object]] = {
            "lineage on": lambda: _deploy(jar, True),
            "lineage off": lambda: _deploy(jar, False),
            "raw REST": lambda: _raw_deploy(session, flink.rest_url, jar),
        }
        results: dict[str, list[float]] = {name: [] for name in kinds}
        names = list(kinds)
        for round_ in range(args.rounds + 1):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                began = time.perf_counter()
                kinds[name]()
                if round_:  # round 0: the warm-up
                    results[name].append(time.perf_counter() - began)
                _cancel_all(client)
        client.close()
    starts = [
        json.loads(line) for line in EVENTS.read_text().splitlines() if '"integration": "FLINK"' in line
    ]
    print(
        f"\nDeploy latency with and without lineage on Flink {args.version} (start -> all vertices RUNNING)"
    )
    print(f"{'':<12} {'median':>8} {'min':>8} {'max':>8}   n")
    for name, samples in results.items():
        print(
            f"{name:<12} {statistics.median(samples):7.3f}s {min(samples):7.3f}s {max(samples):7.3f}s   {len(samples)}"
        )
    median = {name: statistics.median(samples) for name, samples in results.items()}
    print(f"lineage on / lineage off: {median['lineage on'] / median['lineage off']:.3f}x")
    print(f"lineage on / raw REST: {median['lineage on'] / median['raw REST']:.2f}x")
    print(f"Flink runs' START events written: {len(starts)} (rounds with lineage on, warm-up included)")


if __name__ == "__main__":
    main()
