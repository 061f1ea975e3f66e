"""Lineage under real Airflow with its OpenLineage provider, against a real Flink: the events the
provider's file transport writes, field by field, for a jar job (deployed under a key, stopped), a
SQL job (file to file, waited for to its end) and a reconcile run.

``airflow dags test`` in a process of its own, the connection in the metadata DB (as users store
it), OpenLineage configured the way users configure it (``[openlineage] transport``).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.client import calls
from harness.job_jars import COUNTER_JOB
from tests.integration.conftest import VERSIONS, Cluster, airflow_cli

pytestmark = pytest.mark.integration

NAMESPACE = "lineage-test"


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _datasets(event: dict[str, Any], side: str) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in event.get(side) or []]


def _one(events: list[dict[str, Any]], job: str, kind: str) -> dict[str, Any]:
    found = [e for e in events if e["job"]["name"] == job and e["eventType"] == kind]
    assert len(found) == 1, (job, kind, [(e["job"]["name"], e["eventType"]) for e in events])
    return found[0]


def _child_of(flink: dict[str, Any], task: dict[str, Any], dag: str) -> None:
    """The Flink run's parent is the Airflow task run, its root the DAG run."""
    parent = flink["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == task["run"]["runId"]
    assert (parent["job"]["namespace"], parent["job"]["name"]) == (NAMESPACE, task["job"]["name"])
    assert parent["root"]["job"]["name"] == dag
    assert parent["root"]["run"]["runId"] == task["run"]["facets"]["parent"]["root"]["run"]["runId"]


def test_openlineage_events_of_a_jar_job_a_sql_job_and_a_reconcile(
    airflow: Cluster, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    # On one Flink version (the last: ./scripts/test runs it beside the first version's tests):
    # the job plan's forms it reads are the same on 1.20.5 and 2.3.0 (unit tests hold both).
    if airflow.version != VERSIONS[-1]:
        pytest.skip(f"lineage under Airflow: on Flink {VERSIONS[-1]} only")
    connection_env: dict[str, str] = request.getfixturevalue("stored_connection")
    events_file = tmp_path / "events.jsonl"
    source, sink, specs = tmp_path / "in", tmp_path / "out", tmp_path / "specs"
    for folder in (source, specs):
        folder.mkdir()
    (source / "a.csv").write_text("1,apple\n2,pear\n")
    (specs / "payments.yaml").write_text(
        f"name: lineage-payments\nartifact: {{jar: {airflow.jar}}}\nentry_class: {COUNTER_JOB}\n"
        "args: [--source-name, 'kafka://broker-2:9092/payments', --sink-name, /data/payments-out]\n"
    )
    env = {
        **connection_env,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
    }
    before = {j.jid for j in airflow.client.call(calls.jobs_overview()).jobs}
    conf = {"in": str(source), "out": str(sink), "specs": str(specs)}
    try:
        done = airflow_cli("dags", "test", "test_lineage", "-c", json.dumps(conf), env=env, timeout=400)
        output = done.stdout + done.stderr
        assert done.returncode == 0, output[-4000:]
        assert output.count("new_state=success") >= 4, output[-4000:]
        jobs = {j.jid: j for j in airflow.client.call(calls.jobs_overview()).jobs if j.jid not in before}
        events = _events(events_file)
    finally:
        for job in airflow.client.call(calls.jobs_overview()).jobs:
            if job.jid not in before and not job.state.is_globally_terminal:
                airflow.client.call(calls.cancel_job(job.jid))

    # ---- the jar job: its own run, a child of the deploy task's run ----------------------------
    deploy_task = _one(events, "test_lineage.deploy", "COMPLETE")
    started = _one(events, "flink.lineage-orders", "START")
    job_id = started["run"]["facets"]["flink"]["jobId"]
    assert started["run"]["runId"] == str(uuid.UUID(hex=job_id))
    assert started["job"]["namespace"] == NAMESPACE
    assert started["job"]["facets"]["jobType"]["integration"] == "FLINK"
    assert started["job"]["facets"]["jobType"]["processingType"] == "STREAMING"
    assert _datasets(started, "inputs") == [("kafka://broker-1:9092", "orders")]
    assert _datasets(started, "outputs") == [("s3://lake", "orders")]
    _child_of(started, deploy_task, "test_lineage")
    flink_facet = started["run"]["facets"]["flink"]
    assert flink_facet["state"] == "RUNNING"
    assert flink_facet["cluster"] == "flink_default"
    assert job_id in flink_facet["url"]
    assert flink_facet["url"].startswith("http://")
    # The task's own COMPLETE: the job's datasets and its Flink facet.
    assert _datasets(deploy_task, "inputs") == [("kafka://broker-1:9092", "orders")]
    assert _datasets(deploy_task, "outputs") == [("s3://lake", "orders")]
    assert deploy_task["run"]["facets"]["flink"]["jobId"] == job_id
    # The job's configuration carried the parent run: the program named the job after it.
    assert jobs[job_id].name == deploy_task["run"]["runId"]

    # ---- the stop: the same run ends, under the same job; its savepoint is the task's output ----
    stopped = _one(events, "flink.lineage-orders", "COMPLETE")
    assert stopped["run"]["runId"] == started["run"]["runId"]
    assert "parent" not in stopped["run"]["facets"]
    stop_task = _one(events, "test_lineage.stop", "COMPLETE")
    [(namespace, savepoint)] = _datasets(stop_task, "outputs")
    assert namespace == "file"
    assert Path(savepoint).name.startswith("savepoint-"), savepoint
    assert stopped["run"]["facets"]["flink"]["savepoint"].endswith(savepoint)

    # ---- the SQL job: its tables' files, START and COMPLETE, the statements -------------------
    sql_task = _one(events, "test_lineage.sql", "COMPLETE")
    sql_start = _one(events, "test_lineage.sql.flink", "START")
    sql_end = _one(events, "test_lineage.sql.flink", "COMPLETE")
    assert sql_start["run"]["runId"] == sql_end["run"]["runId"]
    for event in (sql_start, sql_end, sql_task):
        assert _datasets(event, "inputs") == [("file", str(source))]
        assert _datasets(event, "outputs") == [("file", str(sink))]
    _child_of(sql_start, sql_task, "test_lineage")
    assert sql_start["job"]["facets"]["jobType"]["processingType"] == "BATCH"
    assert "INSERT INTO dst SELECT id, UPPER(name) FROM src" in sql_start["job"]["facets"]["sql"]["query"]
    assert sql_end["run"]["facets"]["flink"]["state"] == "FINISHED"
    assert sorted(path.read_text() for path in sink.rglob("*") if path.is_file()) != []

    # ---- the reconcile: the job it started is a run of flink.<deployment> --------------------
    reconcile_task = _one(events, "test_lineage.reconcile", "COMPLETE")
    payments = _one(events, "flink.lineage-payments", "START")
    _child_of(payments, reconcile_task, "test_lineage")
    assert _datasets(payments, "inputs") == [("kafka://broker-2:9092", "payments")]
    assert _datasets(payments, "outputs") == [("file", "/data/payments-out")]
    assert _datasets(reconcile_task, "inputs") == [("kafka://broker-2:9092", "payments")]
