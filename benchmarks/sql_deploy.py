"""SQL deploy latency: FlinkSqlJobOperator against the raw REST sequence for the same SQL job.

Both run in the same process against the same freshly started local Flink, rounds interleaved,
after one warm-up job (Flink's first job after start-up, and the first SQL planning in its
JobManager, are slow on their own):

* operator: ``FlinkSqlJobOperator.execute`` (not deferred): reads the SQL, checks the runner jar's
  pin, records the job id, finds the jar already uploaded by its digest (else uploads it), submits,
  waits through the same trigger the triggerer runs until the job and all its vertices run;
* raw REST (the baseline): ``POST /jars/upload`` of the same runner jar, ``POST /jars/{id}/run``
  with the same entry class and argument, ``GET /jobs/{id}`` every 0.1 s until every vertex runs.

The job: datagen -> keyed GROUP BY -> blackhole (the integration test's). Most of either time is
Flink's: the runner parses, validates and plans the SQL in the JobManager before the job exists.

    .venv/bin/python -m benchmarks.sql_deploy [--version 2.3.0] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

import requests

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))

from airflow_provider_flink.artifacts.sql import RUNNER_CLASS, RUNNER_JAR, runner_args
from airflow_provider_flink.client import ClientSettings, FlinkClient, calls
from benchmarks.common import deploy_rounds, local_flink, print_deploy_latency
from benchmarks.lifecycle import _cancel_all, raw_run
from harness.task_context import task_context

SQL = """\
CREATE TABLE clicks (user_id INT, url STRING) WITH (
  'connector' = 'datagen', 'rows-per-second' = '50', 'fields.user_id.min' = '1', 'fields.user_id.max' = '20'
);
CREATE TABLE per_user (user_id INT, clicks BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO per_user SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;
"""


def _operator() -> str:
    from airflow_provider_flink.operators import FlinkSqlJobOperator

    return str(FlinkSqlJobOperator(task_id="sql", sql=SQL, deferrable=False).execute(task_context()))


def _raw(session: requests.Session, url: str) -> str:
    body = {"entryClass": RUNNER_CLASS, "programArgsList": list(runner_args(SQL))}
    return raw_run(session, url, RUNNER_JAR, body)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with local_flink(args.version) as flink, requests.Session() as session:
        url = flink.rest_url
        os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
            {"conn_type": "flink", "host": "127.0.0.1", "port": flink.rest_port}
        )
        client = FlinkClient(ClientSettings(url))
        _operator()  # warm-up
        _cancel_all(client)
        results = deploy_rounds(
            args.rounds, _operator, lambda: _raw(session, url), lambda: _cancel_all(client)
        )
        jars = client.call(calls.list_jars()).files
        client.close()
    print_deploy_latency(f"SQL deploy latency on Flink {args.version}", results)
    print(f"({len(jars)} jar(s) on the cluster at the end)")


if __name__ == "__main__":
    main()
