"""Each supported Airflow, as a plain install resolves it: a reconcile that writes its record.

``./scripts/test`` runs this module in environments resolved fresh from the provider's own
metadata (``apache-airflow==X`` and the provider, nothing pinned by hand) for the oldest and the
newest supported Airflow, beside the main one. A record write is a Variable write through the
api-server, encrypted with Fernet: on Airflow 3.1.8 with the cryptography 51 a plain install
chose, it failed ('MultiFernet' object has no attribute 'is_encrypted') and every reconcile died
before acting.

The real api-server, scheduler (LocalExecutor), dag-processor and triggerer on PostgreSQL
(``harness.airflow_stack``), the example ``flink_reconcile`` DAG, the real local Flink.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml

from airflow_provider_flink.client import calls
from harness.airflow_stack import AirflowStack
from harness.job_jars import COUNTER_JOB
from harness.postgres import LocalPostgres
from tests.integration.conftest import VERSIONS, Cluster

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NAME = "supported-airflow"


@pytest.fixture
def stack(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[AirflowStack, Path]]:
    if cluster.version != VERSIONS[0]:
        pytest.skip(f"on Flink {VERSIONS[0]} only: what differs here is Airflow's side")
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "flink_reconcile.py").symlink_to(ROOT / "dags" / "flink_reconcile.py")
    specs = tmp_path / "deployments"
    specs.mkdir()
    spec = {"name": NAME, "artifact": {"jar": str(cluster.jar)}, "entry_class": COUNTER_JOB}
    (specs / f"{NAME}.yaml").write_text(yaml.safe_dump(spec))
    postgres = LocalPostgres().start()
    airflow = AirflowStack(tmp_path / "home", dags, postgres.url)
    try:
        airflow.start()
        host, port = cluster.flink.rest_url.removeprefix("http://").split(":")
        airflow.api(
            "POST", "/connections",
            json={"connection_id": "flink_default", "conn_type": "flink", "host": host, "port": int(port)},
        )  # fmt: skip
        airflow.api("POST", "/variables", json={"key": "flink_deployments_folder", "value": str(specs)})
        airflow.api("POST", "/pools", json={"name": "flink_reconcile", "slots": 1, "include_deferred": False})
        yield airflow, specs
    finally:
        airflow.stop(grace=5)
        postgres.stop()
        cluster.cancel_all()


def test_a_reconcile_writes_its_record_through_the_api_server(
    stack: tuple[AirflowStack, Path], cluster: Cluster
) -> None:
    airflow, _ = stack
    print(f"\nAirflow {version('apache-airflow')}, cryptography {version('cryptography')}")
    airflow.wait_dag("flink_reconcile")
    run = airflow.trigger("flink_reconcile", {"deployments": NAME})
    state = airflow.wait_run("flink_reconcile", run, timeout=240)
    log = airflow.task_log("flink_reconcile", run, "reconcile")
    assert state == "success", log[-4000:]
    stored = airflow.api("GET", f"/variables/flink_deployment.flink_default.{NAME}")
    record = json.loads(stored["value"])
    live = {
        j.jid for j in cluster.client.call(calls.jobs_overview()).jobs if not j.state.is_globally_terminal
    }
    assert record["current_job_id"] in live, record
    # Read back by the next run (the Variable round trip): nothing new to do, nothing submitted.
    again = airflow.trigger("flink_reconcile", {"deployments": NAME})
    assert airflow.wait_run("flink_reconcile", again, timeout=240) == "success"
    live_after = {
        j.jid for j in cluster.client.call(calls.jobs_overview()).jobs if not j.state.is_globally_terminal
    }
    assert live_after == live  # the same job: nothing started again
    assert (
        json.loads(airflow.api("GET", f"/variables/flink_deployment.flink_default.{NAME}")["value"])[
            "current_job_id"
        ]
        == record["current_job_id"]
    )
