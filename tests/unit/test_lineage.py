"""Lineage: datasets from job plans (descriptions measured on Flink 1.20.5 and 2.3.0) and SQL, the
OpenLineage events of a Flink run, and what the operators put into a job and its task's events."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import responses

from airflow_provider_flink.client.models import JobPlan
from airflow_provider_flink.lineage import events as lineage
from airflow_provider_flink.lineage.datasets import (
    Dataset,
    dataset_of_table,
    dataset_of_uri,
    job_endpoints,
    plan_endpoints,
    redacted_sql,
    sql_tables,
)
from airflow_provider_flink.operators import (
    FlinkCancelJobOperator,
    FlinkDeployJobOperator,
    FlinkSqlJobOperator,
    FlinkStopJobOperator,
)
from airflow_provider_flink.operators import (
    FlinkDeployApplicationOperator as FlinkApplicationDeploy,
)
from airflow_provider_flink.operators import (
    FlinkStopApplicationOperator as FlinkApplicationStop,
)
from harness.task_context import MemoryTaskState as Store
from harness.task_context import task_context
from tests.unit.conftest import use_flink_connection, without_applications

URL = "http://flink-ops.test:8081"
J = "c" * 32

# GET /jobs/{id} plan nodes as Flink 2.3.0 and 1.20.5 answer them (the counter job; a SQL job
# reading a filesystem table into another and a datagen table into a blackhole).
COUNTER_PLAN = {
    "nodes": [
        {"id": "b7", "description": "count<br/>+- sink: Writer<br/>", "inputs": [{"id": "46"}]},
        {"id": "46", "description": "Source: ticks<br/>"},
    ]
}
SQL_PLAN = {
    "nodes": [
        {
            "id": "cb",
            "description": "[1]:TableSourceScan(table=[[default_catalog, default_database, src]], "
            "fields=[id, name])<br/>+- StreamingFileWriter<br/>   +- end: Writer<br/>",
        },
        {"id": "79", "description": "bh[4]: Writer<br/>", "inputs": [{"id": "fe"}]},
        {
            "id": "fe",
            "description": "[3]:TableSourceScan(table=[[default_catalog, default_database, gen]], fields=[id])<br/>",
        },
    ]
}
NAMED_PLAN = {
    "nodes": [
        {"id": "a", "description": "Source: kafka://broker-1:9092/orders<br/>"},
        {
            "id": "b",
            "description": "enrich<br/>+- s3://lake/orders/enriched: Writer<br/>+- s3://lake/orders/enriched: Committer<br/>",
        },
        {"id": "c", "description": "Sink: audit-log<br/>"},
    ]
}
SQL = """
-- orders from Kafka into a lake; a password that must never travel
CREATE TABLE orders (id INT, note STRING) WITH (
  'connector' = 'kafka', 'topic' = 'orders;returns',
  'properties.bootstrap.servers' = 'broker-1:9092,broker-2:9092',
  'properties.sasl.jaas.config' = 'org.apache.kafka.common.security.plain.PlainLoginModule required password="k1";'
);
CREATE TEMPORARY TABLE IF NOT EXISTS `lake` (id INT) WITH ('connector'='filesystem', 'path'='s3a://lake/orders', 'format'='csv');
CREATE TABLE pg (id INT) WITH ('connector'='jdbc', 'url'='jdbc:postgresql://db:5432/shop', 'table-name'='orders', 'password'='hunter2');
CREATE TABLE gen (id INT) WITH ('connector' = 'datagen');
CREATE TABLE hive_like (id INT) WITH ('connector' = 'some-catalog-thing');
EXECUTE STATEMENT SET BEGIN
INSERT INTO lake SELECT id FROM orders;
INSERT INTO pg SELECT o.id FROM orders o JOIN gen g ON o.id = g.id;
END;
"""


def test_a_plan_names_sources_sinks_and_scanned_tables_as_flink_shows_them() -> None:
    assert plan_endpoints(JobPlan.model_validate(COUNTER_PLAN)) == (["ticks"], ["sink"], [])
    assert plan_endpoints(JobPlan.model_validate(SQL_PLAN)) == (
        [],
        ["bh"],
        ["default_catalog.default_database.src", "default_catalog.default_database.gen"],
    )
    sources, sinks, _ = plan_endpoints(JobPlan.model_validate(NAMED_PLAN))
    assert (sources, sinks) == (["kafka://broker-1:9092/orders"], ["s3://lake/orders/enriched", "audit-log"])


def test_an_unnamed_sink_and_html_escapes() -> None:
    plan = JobPlan.model_validate(
        {
            "nodes": [
                {
                    "id": "x",
                    "description": "Source: a &amp; b<br/>+- Sink: Writer<br/>+- Sink: Committer<br/>",
                }
            ]
        }
    )
    assert plan_endpoints(plan) == (["a & b"], [], [])


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("kafka://broker:9092/orders", Dataset("kafka://broker:9092", "orders")),
        ("file:///data/in", Dataset("file", "/data/in")),
        ("file:/data/in", Dataset("file", "/data/in")),
        ("/data/in", Dataset("file", "/data/in")),
        ("s3a://lake/a/b", Dataset("s3://lake", "a/b")),
        ("gs://bucket/k", Dataset("gs://bucket", "k")),
        ("hdfs://nn:8020/warehouse/t", Dataset("hdfs://nn:8020", "/warehouse/t")),
        ("postgresql://user:secret@db:5432/shop.public.t", Dataset("postgres://db:5432", "shop.public.t")),
        ("ticks", None),
        ("kafka://broker:9092", None),
        ("file:relative", None),
        ("Not A Scheme://x/y", None),
    ],
)
def test_a_uri_names_its_dataset_without_credentials(uri: str, expected: Dataset | None) -> None:
    assert dataset_of_uri(uri) == expected


def test_the_statements_say_which_tables_are_created_written_and_read() -> None:
    tables = sql_tables(SQL)
    assert set(tables.options) == {
        f"default_catalog.default_database.{name}" for name in ("orders", "lake", "pg", "gen", "hive_like")
    }
    assert tables.options["default_catalog.default_database.lake"]["path"] == "s3a://lake/orders"
    assert tables.written == ("default_catalog.default_database.lake", "default_catalog.default_database.pg")
    assert tables.read == ("default_catalog.default_database.orders", "default_catalog.default_database.gen")


def test_a_create_table_as_select_writes_its_table_and_a_quoted_semicolon_stays_in_its_value() -> None:
    tables = sql_tables(
        "CREATE TABLE out WITH ('connector'='filesystem','path'='/o;p') AS SELECT * FROM cat.db.src;"
    )
    assert tables.written == ("default_catalog.default_database.out",)
    assert tables.read == ("cat.db.src",)
    assert tables.options["default_catalog.default_database.out"]["path"] == "/o;p"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            {"connector": "kafka", "topic": "a;b", "properties.bootstrap.servers": "k1:9092,k2:9092"},
            [Dataset("kafka://k1:9092", "a"), Dataset("kafka://k1:9092", "b")],
        ),
        ({"connector": "upsert-kafka", "topic": "t"}, None),  # no broker: cannot be named
        (
            {"connector": "jdbc", "url": "jdbc:mysql://u:p@db:3306/shop?ssl=true", "table-name": "orders"},
            [Dataset("mysql://db:3306", "shop.orders")],
        ),
        (
            {"connector": "jdbc", "url": "jdbc:postgresql://db:5432/shop", "table-name": "sales.orders"},
            [Dataset("postgres://db:5432", "shop.sales.orders")],
        ),
        ({"connector": "filesystem", "path": "file:///tmp/x"}, [Dataset("file", "/tmp/x")]),
        ({"connector": "datagen"}, []),
        ({"connector": "BlackHole"}, []),
        ({"connector": "elasticsearch-7"}, None),
        (None, None),
    ],
)
def test_a_tables_connector_options_name_its_datasets(
    options: dict[str, str] | None, expected: list[Dataset] | None
) -> None:
    assert dataset_of_table(options) == expected


def test_a_sql_jobs_inputs_come_from_its_plan_and_statements_and_its_outputs_from_its_inserts() -> None:
    plan = JobPlan.model_validate(
        {
            "nodes": [
                {
                    "id": "x",
                    "description": "TableSourceScan(table=[[default_catalog, default_database, orders]])",
                }
            ]
        }
    )
    found = job_endpoints(plan, SQL)
    assert found.inputs == (
        Dataset("kafka://broker-1:9092", "orders"),
        Dataset("kafka://broker-1:9092", "returns"),
    )
    assert found.outputs == (
        Dataset("s3://lake", "orders"),
        Dataset("postgres://db:5432", "shop.public.orders"),
    )
    assert found.unnamed_sources == ()
    assert found.unnamed_sinks == ()


def test_a_table_the_script_does_not_create_is_reported_unnamed() -> None:
    found = job_endpoints(None, "INSERT INTO cat.db.sink SELECT * FROM cat.db.src")
    assert found.inputs == ()
    assert found.outputs == ()
    assert found.unnamed_sources == ("cat.db.src",)
    assert found.unnamed_sinks == ("cat.db.sink",)


def test_a_jar_jobs_sources_and_sinks_named_by_uri_are_datasets_the_others_are_listed() -> None:
    found = job_endpoints(JobPlan.model_validate(NAMED_PLAN))
    assert found.inputs == (Dataset("kafka://broker-1:9092", "orders"),)
    assert found.outputs == (Dataset("s3://lake", "orders/enriched"),)
    assert found.unnamed_sinks == ("audit-log",)
    counter = job_endpoints(JobPlan.model_validate(COUNTER_PLAN))
    assert (counter.inputs, counter.outputs) == ((), ())
    assert (counter.unnamed_sources, counter.unnamed_sinks) == (("ticks",), ("sink",))


def test_secret_option_values_and_url_credentials_never_reach_an_event() -> None:
    shown = redacted_sql(
        SQL + "\nCREATE TABLE x WITH ('url' = 'jdbc:postgresql://bob:pw@db/x', 'key.format' = 'json');"
    )
    assert "hunter2" not in shown
    assert "k1" not in shown
    assert "bob:pw" not in shown
    assert "'password' = '***'" in shown
    assert "'properties.sasl.jaas.config' = '***'" in shown
    assert "'url' = 'jdbc:postgresql://***@db/x'" in shown
    assert "'key.format' = 'json'" in shown  # a Kafka option named "key", not a secret


# ------------------------------------------------------------------------------------ events
PARENT = lineage.TaskRun(
    namespace="prod-airflow",
    job_name="orders.deploy",
    run_id="01930000-0000-7000-8000-000000000001",
    root_namespace="upstream-scheduler",
    root_job_name="orders",
    root_run_id="01930000-0000-7000-8000-000000000002",
)


def _run(**changes: Any) -> lineage.FlinkRun:
    values: dict[str, Any] = {
        "job_id": J,
        "job_name": "flink.orders",
        "flink_name": "orders",
        "state": "RUNNING",
        "url": "http://ui.test/#/job/running/" + J + "/overview",
        "cluster": "flink_default",
        "endpoints": job_endpoints(None, SQL),
        "sql": SQL,
    }
    return lineage.FlinkRun(**{**values, **changes})


def test_the_parent_run_goes_into_the_jobs_configuration_and_a_given_key_wins() -> None:
    config = lineage.parent_config(PARENT, "flink.orders")
    assert config == {
        "openlineage.job.namespace": "prod-airflow",
        "openlineage.job.name": "flink.orders",
        "openlineage.parentJobNamespace": "prod-airflow",
        "openlineage.parentJobName": "orders.deploy",
        "openlineage.parentRunId": PARENT.run_id,
        "openlineage.rootParentJobNamespace": "upstream-scheduler",
        "openlineage.rootParentJobName": "orders",
        "openlineage.rootParentRunId": PARENT.root_run_id,
    }
    merged = lineage.with_parent_config({"openlineage.job.name": "mine", "x": 1}, PARENT, "flink.orders")
    assert merged["openlineage.job.name"] == "mine"
    assert merged["x"] == 1
    assert lineage.with_parent_config({"x": 1}, None, "n") == {"x": 1}
    assert lineage.flink_job_name(PARENT) == "orders.deploy.flink"
    assert lineage.flink_job_name(PARENT, "orders") == "flink.orders"


def test_a_flink_run_event_field_by_field() -> None:
    from openlineage.client.serde import Serde

    event = json.loads(Serde.to_json(lineage.flink_event(_run(), "START", PARENT, "prod-airflow")))
    assert event["eventType"] == "START"
    assert event["producer"] == lineage.PRODUCER
    assert event["run"]["runId"] == str(uuid.UUID(hex=J))
    assert event["job"]["namespace"] == "prod-airflow"
    assert event["job"]["name"] == "flink.orders"
    facets = event["run"]["facets"]
    assert facets["parent"]["run"]["runId"] == PARENT.run_id
    assert (facets["parent"]["job"]["namespace"], facets["parent"]["job"]["name"]) == (
        "prod-airflow",
        "orders.deploy",
    )
    assert facets["parent"]["root"]["run"]["runId"] == PARENT.root_run_id
    assert (facets["parent"]["root"]["job"]["namespace"], facets["parent"]["root"]["job"]["name"]) == (
        "upstream-scheduler",
        "orders",
    )
    flink = facets["flink"]
    assert (flink["jobId"], flink["jobName"], flink["state"], flink["cluster"]) == (
        J,
        "orders",
        "RUNNING",
        "flink_default",
    )
    assert flink["url"] == "http://ui.test/#/job/running/" + J + "/overview"
    assert facets["externalQuery"]["externalQueryId"] == J
    job_facets = event["job"]["facets"]
    assert job_facets["jobType"]["processingType"] == "STREAMING"
    assert job_facets["jobType"]["integration"] == "FLINK"
    assert "hunter2" not in job_facets["sql"]["query"]
    assert "INSERT INTO pg" in job_facets["sql"]["query"]
    assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
        ("kafka://broker-1:9092", "orders"),
        ("kafka://broker-1:9092", "returns"),
    ]
    assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
        ("s3://lake", "orders"),
        ("postgres://db:5432", "shop.public.orders"),
    ]
    ended = json.loads(Serde.to_json(lineage.flink_event(_run(state="FINISHED"), "COMPLETE", None, "ns")))
    assert "parent" not in ended["run"]["facets"]  # a stop's event: the START gave the parent


def test_emitting_never_fails_and_does_nothing_when_lineage_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Any] = []
    adapter = type("A", (), {"emit": lambda self, event: sent.append(event)})()
    monkeypatch.setattr(lineage, "get_openlineage_listener", lambda: type("L", (), {"adapter": adapter})())
    monkeypatch.setattr(lineage, "active", lambda: False)
    lineage.emit_runs([(_run(), "START")], PARENT)
    assert sent == []
    monkeypatch.setattr(lineage, "active", lambda: True)
    lineage.emit_runs([(_run(), "START"), (_run(), "COMPLETE")], PARENT)
    assert [e.eventType.value for e in sent] == ["START", "COMPLETE"]

    def broken(event: Any) -> None:
        raise RuntimeError("transport down")

    adapter.emit = broken  # type: ignore[attr-defined]
    lineage.emit_runs([(_run(), "START")], PARENT)  # logged, not raised


def _ti(try_number: int = 1, conf: dict[str, Any] | None = None) -> Any:
    run = SimpleNamespace(
        conf=conf or {}, logical_date=datetime(2026, 12, 1, tzinfo=timezone.utc), clear_number=0
    )
    return SimpleNamespace(
        dag_id="orders",
        task_id="deploy",
        try_number=try_number,
        map_index=-1,
        dag_run=run,
        get_template_context=lambda: {"dag_run": run},
    )


def test_a_task_run_is_named_by_the_openlineage_providers_own_macros(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineage, "active", lambda: True)
    first = lineage.task_run({"ti": _ti()})
    assert first is not None
    assert (first.job_name, first.root_job_name, first.namespace) == ("orders.deploy", "orders", "default")
    assert first.root_namespace == "default"
    assert uuid.UUID(first.run_id)
    assert uuid.UUID(first.root_run_id)
    assert lineage.task_run({"ti": _ti()}) == first  # the same task run, the same ids
    retry = lineage.task_run({"ti": _ti(try_number=2)})
    assert retry is not None
    assert retry.run_id != first.run_id
    assert retry.root_run_id == first.root_run_id
    # A DAG run another system started (its conf names the parent): that is the root.
    upstream = {
        "openlineage": {
            "parentRunId": "01930000-0000-7000-8000-0000000000aa",
            "parentJobNamespace": "upstream-scheduler",
            "parentJobName": "nightly",
        }
    }
    child = lineage.task_run({"ti": _ti(conf=upstream)})
    assert child is not None
    assert (child.root_namespace, child.root_job_name, child.root_run_id) == (
        "upstream-scheduler",
        "nightly",
        "01930000-0000-7000-8000-0000000000aa",
    )
    assert lineage.task_run({"ti": SimpleNamespace()}) is None  # not a task instance: no lineage


def test_lineage_is_off_without_a_transport() -> None:
    assert lineage.INSTALLED
    assert lineage.active() is False
    assert lineage.task_run(task_context()) is None


# ------------------------------------------------------------------------------------ operators
@pytest.fixture
def lineage_on(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Lineage active with this test's task run; the events the Flink runs sent."""
    use_flink_connection(monkeypatch, "flink-ops.test")
    sent: list[Any] = []
    adapter = type("A", (), {"emit": lambda self, event: sent.append(event)})()
    monkeypatch.setattr(lineage, "get_openlineage_listener", lambda: type("L", (), {"adapter": adapter})())
    monkeypatch.setattr(lineage, "active", lambda: True)
    monkeypatch.setattr(lineage, "task_run", lambda context: PARENT)
    return sent


@pytest.fixture
def jar(tmp_path: Path) -> Path:
    from tests.unit.test_artifacts import make_jar

    return make_jar(tmp_path / "job.jar", classes=("x/Main.class",), manifest="Main-Class: x.Main\n")


def _flink_with_job(plan: dict[str, Any], state: str = "RUNNING", job_type: str = "STREAMING") -> None:
    without_applications(URL)
    responses.get(f"{URL}/jobs/overview", json={"jobs": []})
    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": "/u/x_job.jar", "status": "success"})
    responses.post(f"{URL}/jars/x_job.jar/run", json={"jobid": J})
    responses.get(  # any job id: a deployment key's is derived
        re.compile(f"{URL}/jobs/[0-9a-f]{{32}}$"),
        json={"jid": J, "name": "orders", "state": state, "job-type": job_type, "plan": plan},
    )


@responses.activate
def test_a_deploy_passes_the_parent_run_and_reports_its_jobs_run_and_datasets(
    jar: Path, lineage_on: list[Any]
) -> None:
    _flink_with_job(NAMED_PLAN)
    op = FlinkDeployJobOperator(
        task_id="deploy",
        jar=str(jar),
        deployment_key="orders",
        savepoint_path="file:///savepoints/sp-1",
        wait_until_running=False,
        deferrable=False,
    )
    op.execute(task_context())
    run = next(c for c in responses.calls if c.request.url.endswith("/run"))
    config = json.loads(run.request.body)["flinkConfiguration"]
    assert config["openlineage.parentRunId"] == PARENT.run_id
    assert config["openlineage.job.name"] == "flink.orders"
    assert "'airflow.openlineage-job':'flink.orders'" in config["pipeline.global-job-parameters"]
    assert [e.eventType.value for e in lineage_on] == ["START"]
    assert lineage_on[0].job.name == "flink.orders"
    facets = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in facets.inputs] == [
        ("kafka://broker-1:9092", "orders"),
        ("file", "/savepoints/sp-1"),  # the state it restored
    ]
    assert [(d.namespace, d.name) for d in facets.outputs] == [("s3://lake", "orders/enriched")]
    assert facets.run_facets["flink"].jobId == lineage_on[0].run.facets["flink"].jobId != J
    assert facets.run_facets["flink"].unnamedSinks == ["audit-log"]


@responses.activate
def test_a_sql_job_waited_for_to_its_end_sends_start_and_complete_with_its_statements_datasets(
    lineage_on: list[Any],
) -> None:
    without_applications(URL)
    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": "/u/r.jar", "status": "success"})
    responses.post(f"{URL}/jars/r.jar/run", json={"jobid": J})
    responses.get(
        f"{URL}/jobs/{J}",
        json={"jid": J, "name": "q", "state": "FINISHED", "job-type": "BATCH", "plan": SQL_PLAN},
    )
    op = FlinkSqlJobOperator(task_id="q", sql=SQL, wait_for_completion=True, deferrable=False)
    op.execute_complete(
        task_context(), {"status": "success", "job_id": J, "state": "FINISHED", "message": "done"}
    )
    assert [e.eventType.value for e in lineage_on] == ["START", "COMPLETE"]
    assert lineage_on[0].job.name == "orders.deploy.flink"  # no deployment key: named after the task
    assert lineage_on[0].job.facets["jobType"].processingType == "BATCH"
    assert {(d.namespace, d.name) for d in lineage_on[0].outputs} == {
        ("s3://lake", "orders"),
        ("postgres://db:5432", "shop.public.orders"),
    }
    assert {(d.namespace, d.name) for d in lineage_on[0].inputs} == {
        ("kafka://broker-1:9092", "orders"),
        ("kafka://broker-1:9092", "returns"),
    }


@responses.activate
def test_a_stop_ends_the_run_under_the_name_its_deploy_gave_and_outputs_the_savepoint(
    lineage_on: list[Any],
) -> None:
    use_flink_connection_ok = responses.get(
        f"{URL}/jobs/{J}/config",
        json={"jid": J, "execution-config": {"user-config": {"airflow.openlineage-job": "flink.orders"}}},
    )
    responses.get(
        f"{URL}/jobs/{J}", json={"jid": J, "name": "orders", "state": "FINISHED", "plan": COUNTER_PLAN}
    )
    op = FlinkStopJobOperator(task_id="stop", job_id=J, deferrable=False)
    location = op.execute_complete(
        task_context(), {"status": "success", "job_id": J, "location": "s3://sp/savepoint-1", "message": "ok"}
    )
    assert location == "s3://sp/savepoint-1"
    assert use_flink_connection_ok.call_count == 1
    assert [(e.eventType.value, e.job.name) for e in lineage_on] == [("COMPLETE", "flink.orders")]
    assert "parent" not in lineage_on[0].run.facets
    facets = op.get_openlineage_facets_on_complete(None)
    assert [(d.namespace, d.name) for d in facets.outputs] == [("s3://sp", "savepoint-1")]


@responses.activate
def test_a_cancel_aborts_the_run_and_a_job_started_without_lineage_is_named_after_the_task(
    lineage_on: list[Any],
) -> None:
    responses.get(f"{URL}/jobs/{J}/config", json={"jid": J, "execution-config": {"user-config": {}}})
    responses.get(
        f"{URL}/jobs/{J}", json={"jid": J, "name": "orders", "state": "CANCELED", "plan": COUNTER_PLAN}
    )
    op = FlinkCancelJobOperator(task_id="cancel", job_id=J, deferrable=False)
    op.execute_complete(
        task_context(), {"status": "success", "job_id": J, "state": "CANCELED", "message": "ok"}
    )
    assert [(e.eventType.value, e.job.name) for e in lineage_on] == [("ABORT", "orders.deploy.flink")]


@responses.activate
def test_a_flink_that_cannot_be_read_still_gives_the_jobs_run_and_never_fails_the_task(
    jar: Path, lineage_on: list[Any]
) -> None:
    without_applications(URL)
    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": "/u/x_job.jar", "status": "success"})
    responses.post(f"{URL}/jars/x_job.jar/run", json={"jobid": J})
    responses.get(re.compile(f"{URL}/jobs/[0-9a-f]{{32}}$"), status=404, json={"errors": ["Job not found"]})
    op = FlinkDeployJobOperator(task_id="deploy", jar=str(jar), wait_until_running=False, deferrable=False)
    assert len(op.execute(task_context())) == 32
    assert [e.run.facets["flink"].state for e in lineage_on] == ["UNKNOWN"]


@responses.activate
def test_without_lineage_a_job_gets_no_openlineage_keys(jar: Path) -> None:
    use_flink_connection(pytest.MonkeyPatch(), "flink-ops.test")
    _flink_with_job(COUNTER_PLAN)
    op = FlinkDeployJobOperator(task_id="deploy", jar=str(jar), wait_until_running=False, deferrable=False)
    op.execute(task_context())
    run = next(c for c in responses.calls if c.request.url.endswith("/run"))
    body = json.loads(run.request.body)
    assert "openlineage" not in json.dumps(body)
    empty = op.get_openlineage_facets_on_complete(None)
    assert (empty.inputs, empty.outputs, empty.run_facets) == ([], [], {})


@responses.activate
def test_a_program_of_two_jobs_gets_the_parent_run_and_each_job_is_a_run_of_its_own(
    jar: Path, lineage_on: list[Any]
) -> None:
    from tests.unit.test_application_programs import APP, JOB_A, JOB_B, _accept, _application, _posted_runs

    responses.get(f"{URL}/applications/overview", json={"applications": []})
    _accept()
    responses.post(f"{URL}/jars/j1/run-application", json={"applicationid": APP})
    responses.get(re.compile(rf"{URL}/applications/[0-9a-f]{{32}}$"), json=_application())
    for jid, name in ((JOB_A, "orders"), (JOB_B, "payments")):
        responses.get(
            f"{URL}/jobs/{jid}", json={"jid": jid, "name": name, "state": "RUNNING", "plan": COUNTER_PLAN}
        )
    deploy = FlinkApplicationDeploy(
        task_id="d", jar=str(jar), entry_class="x.Main", jobs=["orders", "payments"], deployment_key="shop",
        deferrable=False, wait_until_running=False,
    )  # fmt: skip
    deploy.execute(task_context())
    [body] = _posted_runs()
    assert body["flinkConfiguration"]["openlineage.job.name"] == "flink.shop"
    assert body["flinkConfiguration"]["openlineage.parentRunId"] == PARENT.run_id
    assert (
        "'airflow.openlineage-job':'flink.shop'"
        in body["flinkConfiguration"]["pipeline.global-job-parameters"]
    )
    assert lineage_on == []  # not waited for: no job is known to run
    facts = deploy._lineage_facts
    assert facts is not None
    assert [(run.job_id, run.job_name) for run in facts[0]] == [
        (JOB_A, "flink.shop.orders"),
        (JOB_B, "flink.shop.payments"),
    ]


@responses.activate
def test_a_programs_stop_ends_each_jobs_run_under_its_deploys_name(lineage_on: list[Any]) -> None:
    from tests.unit.test_application_programs import APP, JOB_A, JOB_B, _application, _job, _status

    responses.get(f"{URL}/applications/overview", json={"applications": []})
    jobs = [_job("orders", JOB_A, "FINISHED"), _job("payments", JOB_B, "FINISHED")]
    responses.get(f"{URL}/applications/{APP}", json=_application("FINISHED", jobs))
    for jid, name in ((JOB_A, "orders"), (JOB_B, "payments")):
        responses.get(f"{URL}/jobs/{jid}/savepoints/{'e' * 32}", json=_status(f"file:/sp/{name}"))
        responses.get(
            f"{URL}/jobs/{jid}/config",
            json={"jid": jid, "execution-config": {"user-config": {"airflow.openlineage-job": "flink.shop"}}},
        )
        responses.get(
            f"{URL}/jobs/{jid}", json={"jid": jid, "name": name, "state": "FINISHED", "plan": COUNTER_PLAN}
        )
    store = Store({"flink_trigger_id:orders": "e" * 32, "flink_trigger_id:payments": "e" * 32})
    op = FlinkApplicationStop(task_id="s", application_id=APP, deferrable=False)
    assert op.execute(task_context(store)) == {"orders": "file:/sp/orders", "payments": "file:/sp/payments"}
    assert [(e.eventType.value, e.job.name, e.run.runId) for e in lineage_on] == [
        ("COMPLETE", "flink.shop.orders", str(uuid.UUID(hex=JOB_A))),
        ("COMPLETE", "flink.shop.payments", str(uuid.UUID(hex=JOB_B))),
    ]


def test_importing_the_operators_leaves_openlineage_unimported() -> None:
    """Every DAG parse and task start imports the operators: OpenLineage's events, macros and
    listener (0.3-0.6 s) wait until a task first sends or names something."""
    import subprocess
    import sys

    probe = (
        "import sys, airflow_provider_flink.operators, airflow_provider_flink.events; "
        "print(sorted(m for m in ('openlineage.client', 'airflow.providers.openlineage.plugins.macros', "
        "'airflow.providers.openlineage.extractors') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip().splitlines()[-1] == "[]"
