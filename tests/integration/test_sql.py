"""SQL jobs against the real local Flink, on every version: the runner rebuilt from its source is
the shipped jar and runs; a SQL job (datagen -> keyed aggregation -> blackhole) deployed by the
operator; a bad statement refused with Flink's message at its line and column, nothing started;
a SQL deployment upgraded by the reconcile with its state; a changed query whose state cannot
map rolled back, state kept."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_flink.artifacts import sha256_of
from airflow_provider_flink.artifacts.sql import RUNNER_CLASS, RUNNER_JAR, RUNNER_JAR_SHA256, runner_args
from airflow_provider_flink.client import calls, models
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.deployments import ReconcileReport, reconcile
from airflow_provider_flink.deployments.stores import MemoryRecordStore
from airflow_provider_flink.exceptions import AirflowFailException
from airflow_provider_flink.ids import deployment_prefix, new_id
from airflow_provider_flink.operators import FlinkSqlJobOperator
from airflow_provider_flink.triggers.conditions import is_healthy
from harness import sql_runner
from harness.flink_cluster import java_tool
from harness.task_context import task_context
from tests.integration.conftest import Cluster, connection_json, wait_for

pytestmark = pytest.mark.integration

# Clicks per user: a generated stream, a keyed aggregation (its counts live in keyed state), a sink
# that drops what it gets. Line 16 holds the INSERT.
CLICKS = """\
-- clicks per user
CREATE TABLE clicks (
  user_id INT,
  url STRING
) WITH (
  'connector' = 'datagen',
  'rows-per-second' = '{rate}',
  'fields.user_id.min' = '1',
  'fields.user_id.max' = '20'
);
CREATE TABLE per_user (
  user_id INT,
  clicks BIGINT
) WITH ('connector' = 'blackhole');

INSERT INTO per_user SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;
"""


def clicks(rate: int = 50, query: str | None = None) -> str:
    text = CLICKS.replace("{rate}", str(rate))
    return (
        text
        if query is None
        else text.replace(
            "INSERT INTO per_user SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;", query
        )
    )


def all_jobs(flink: Cluster) -> dict[str, str]:
    """Every job Flink knows, ended ones too: what "nothing was started" is judged by."""
    return {j.jid: j.state.value for j in flink.client.call(calls.jobs_overview()).jobs}


@pytest.fixture(scope="session")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runner compiled now from the package's Java source (javac, against Flink 1.20.5)."""
    return sql_runner.build(tmp_path_factory.mktemp("sql-runner") / "flink-sql-runner.jar")


@pytest.fixture
def conn(flink: Cluster, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", connection_json(flink.flink.rest_url))
    return flink


def test_the_runner_built_from_its_source_is_the_shipped_jar(rebuilt: Path) -> None:
    with zipfile.ZipFile(RUNNER_JAR) as shipped, zipfile.ZipFile(rebuilt) as built:
        manifest = shipped.read("META-INF/MANIFEST.MF").decode().replace("\r\n ", "")
        assert set(built.namelist()) == set(shipped.namelist())
        same_javac = f"Build-Jdk-Spec: {sql_runner.javac_major(java_tool('javac'))}" in manifest
        if same_javac:  # the build is reproducible for one javac major version: byte for byte
            assert sha256_of(rebuilt) == RUNNER_JAR_SHA256
        else:  # another javac may compile differently; the classes must still be the same ones
            assert all(built.read(n) for n in built.namelist() if n.endswith(".class"))


def test_the_rebuilt_runner_runs_a_sql_job_on_this_flink(flink: Cluster, rebuilt: Path) -> None:
    jar_id = flink.client.call(calls.upload_jar(rebuilt)).jar_id
    try:
        request = models.JarRunRequest(
            entry_class=RUNNER_CLASS, program_args=list(runner_args(clicks())), job_id=new_id()
        )
        job_id = flink.client.call(calls.run_jar(jar_id, request, flink.version)).jobid
        flink.wait_all_running(job_id)
    finally:
        flink.client.call(calls.delete_jar(jar_id))


def test_a_sql_job_deployed_by_the_operator_runs_its_keyed_aggregation(conn: Cluster) -> None:
    op = FlinkSqlJobOperator(
        task_id="clicks",
        sql=clicks(),
        parallelism=2,
        flink_config={"pipeline.name": "clicks-per-user"},
        deferrable=False,
    )
    job_id = op.execute(task_context())
    job = conn.job(job_id)
    assert is_healthy(job)
    assert job.name == "clicks-per-user"  # the job's configuration reached the runner
    assert any("GroupAggregate" in v.name for v in job.vertices)
    assert {v.parallelism for v in job.vertices} == {2}
    assert conn.running_job_ids() == {job_id}  # one job for the whole script


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "INSERT INTO per_user SELECT user_id, COUNT(*) AS clicks FROMM clicks GROUP BY user_id;",
            'statement 3 (line 16, column 1): SQL parse failed. Encountered "FROMM" at line 16, column 57.',
        ),
        (
            "INSERT INTO per_user SELECT user_id, COUNT(*) AS clicks FROM clickz GROUP BY user_id;",
            "statement 3 (line 16, column 1): SQL validation failed. From line 16, column 62 to line 16, "
            "column 67: Object 'clickz' not found",
        ),
        (
            "INSERT INTO per_user SELECT url, COUNT(*) AS clicks FROM clicks GROUP BY url;",
            "statement 3 (line 16, column 1): Column types of query result and sink for "
            "'default_catalog.default_database.per_user' do not match.",
        ),
        (
            "SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;",
            "statement 3 (line 16, column 1): a query (SELECT) returns rows to a client, and a deployed job has "
            "none: write them to a table with INSERT INTO <sink> SELECT ...",
        ),
    ],
    ids=["parse", "validation", "sink-schema", "query"],
)
def test_a_bad_statement_fails_the_task_with_its_position_and_starts_nothing(
    conn: Cluster, query: str, message: str
) -> None:
    before = all_jobs(conn)
    op = FlinkSqlJobOperator(task_id="clicks", sql=clicks(query=query), deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    shown = str(info.value)
    assert shown.startswith(f"Flink refused the SQL, and no job was started: {message}"), shown
    assert shown.endswith(". Fix the statement and run the task again")
    assert all_jobs(conn) == before  # the DDL before it ran in the runner's session only


def test_a_refused_statement_leaves_its_credentials_out_of_the_error_and_the_log(conn: Cluster) -> None:
    secret = "s3cr3t-" + new_id()[:8]
    sink = (
        "CREATE TABLE out_kafka (user_id INT) WITH ('connector' = 'kafka', 'properties.sasl.password' = 'X');"
    )
    insert = "INSERT INTO out_kafka SELECT user_id FROM clicks;"
    sql = clicks(query=sink.replace("'X'", f"'{secret}'") + "\n" + insert)
    before = all_jobs(conn)
    op = FlinkSqlJobOperator(task_id="clicks", sql=sql, deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    shown = str(info.value)
    # No kafka connector on this cluster: Flink's message names the table and its options, masked.
    assert "statement 4 (line 17, column 1): Unable to create a sink for writing table" in shown, shown
    assert "Could not find any factory for identifier 'kafka'" in shown
    assert secret not in shown
    log = (conn.flink.workdir / "log" / "jobmanager.log").read_text()
    assert secret not in log
    assert runner_args(sql)[1] not in log  # nor the script in its base64 form
    assert "SQL statement 3 (line 16, column 1): CREATE TABLE out_kafka ..." in log  # what the log says of it
    assert all_jobs(conn) == before


def test_a_bounded_query_runs_to_its_end_in_batch_mode(conn: Cluster) -> None:
    sql = (
        "CREATE TABLE clicks (user_id INT) WITH ('connector' = 'datagen', 'number-of-rows' = '500',"
        " 'fields.user_id.min' = '1', 'fields.user_id.max' = '5');\n"
        "CREATE TABLE per_user (user_id INT, clicks BIGINT) WITH ('connector' = 'blackhole');\n"
        "INSERT INTO per_user SELECT user_id, COUNT(*) FROM clicks GROUP BY user_id;\n"
    )
    op = FlinkSqlJobOperator(
        task_id="batch",
        sql=sql,
        flink_config={"execution.runtime-mode": "batch"},
        wait_for_completion=True,
        deferrable=False,
    )
    context = task_context()
    job_id = op.execute(context)
    assert context["ti"].pushed["final_state"] == "FINISHED"
    names = " ".join(v.name for v in conn.job(job_id).vertices)
    # The job's runtime mode reached the planner: a batch aggregation, not the streaming one.
    assert "GroupAggregate" not in names
    assert "HashAggregate" in names or "SortAggregate" in names, names


# ---------------------------------------------------------------------------------- reconcile
class SqlDeployment:
    """One SQL deployment, its statements in a file beside its spec, reconciled against a cluster."""

    name = "clicks"

    def __init__(self, folder: Path, flink: Cluster) -> None:
        self.folder, self.flink, self.store = folder, flink, MemoryRecordStore()

    def declare(self, sql: str, **fields: Any) -> None:
        (self.folder / "clicks.sql").write_text(sql)
        spec = {"name": self.name, "sql": {"file": "clicks.sql"}, "health_timeout_seconds": 60, **fields}
        (self.folder / "clicks.yaml").write_text(yaml.safe_dump(spec))

    def run(self) -> ReconcileReport:
        return reconcile(self.folder, self.store)

    def live_jobs(self) -> list[str]:
        prefix = deployment_prefix(self.name)
        return [
            j.jid
            for j in self.flink.client.call(calls.jobs_overview()).jobs
            if j.jid.startswith(prefix) and not j.state.is_globally_terminal
        ]

    def the_job(self) -> str:
        (job,) = self.live_jobs()
        return job

    def restored_from(self, job_id: str) -> Any:
        return wait_for(
            f"restore info of {job_id}",
            lambda: self.flink.client.call(calls.job_checkpoints(job_id)).latest.restored,
        )


@pytest.fixture
def deployment(conn: Cluster, tmp_path: Path) -> SqlDeployment:
    folder = tmp_path / "deployments"
    folder.mkdir()
    return SqlDeployment(folder, conn)


def test_a_sql_deployment_upgrades_with_its_state(deployment: SqlDeployment) -> None:
    deployment.declare(clicks(rate=50))
    first = deployment.run()
    assert first.problems == []
    assert first.deployment("clicks").kinds == ["deploy"]
    old = deployment.the_job()
    # The file changed (the source's rate), the query did not: a new spec hash, the same operators.
    deployment.declare(clicks(rate=100))
    summary = deployment.run()
    assert summary.problems == []
    assert summary.deployment("clicks").kinds == ["upgrade"]
    new = deployment.the_job()
    assert new != old
    assert deployment.flink.job(old).state is JobState.FINISHED  # stopped with a savepoint
    assert is_healthy(deployment.flink.job(new))
    record = deployment.store.get("flink_default", "clicks")
    assert record is not None
    restored = deployment.restored_from(new)
    # Flink refuses a savepoint with state no operator takes (allow_non_restored_state is off), so
    # a restore at all means every operator's state, the aggregation's counts too, was mapped.
    assert restored.is_savepoint
    assert restored.external_path == record.savepoints[-1].path
    assert record.savepoints[-1].reason == "upgrade"
    # The record keeps the statements that run, for a rollback, whatever the file says later.
    assert record.applied_spec is not None
    assert record.applied_spec.spec["sql"] == {"statements": clicks(rate=100), "file": None}


def test_a_changed_query_whose_state_cannot_map_is_rolled_back_with_its_state(
    deployment: SqlDeployment,
) -> None:
    deployment.declare(clicks())
    deployment.run()
    old = deployment.the_job()
    # A DISTINCT before the aggregation: an operator more, so the generated operator ids shift and
    # the savepoint's aggregation state matches no operator: Flink refuses to start from it (a
    # changed filter or projection would not: it stays in the same operator and the state maps).
    deployment.declare(
        clicks(
            query="INSERT INTO per_user SELECT user_id, COUNT(*) AS clicks "
            "FROM (SELECT DISTINCT user_id, url FROM clicks) GROUP BY user_id;"
        )
    )
    summary = deployment.run()
    (error,) = summary.errors
    assert "upgrade failed" in error
    assert "Cannot map checkpoint/savepoint state for operator" in error
    assert "rolled back to the last stable spec from file:" in error
    now = deployment.the_job()
    assert now != old
    assert is_healthy(deployment.flink.job(now))
    record = deployment.store.get("flink_default", "clicks")
    assert record is not None
    restored = deployment.restored_from(now)
    # The old query runs again, from the savepoint the upgrade took: its counts are kept.
    assert restored.is_savepoint
    assert restored.external_path == record.savepoints[-1].path
    assert record.failed_spec is not None  # not tried again until the file changes


def test_a_sql_deployment_with_a_bad_statement_starts_nothing(deployment: SqlDeployment) -> None:
    before = all_jobs(deployment.flink)
    deployment.declare(clicks(query="INSERT INTO per_user SELECT user_id FROM clicks;"))
    summary = deployment.run()
    (error,) = summary.errors
    assert (
        "statement 3 (line 16, column 1): Column types of query result and sink for "
        "'default_catalog.default_database.per_user' do not match." in error
    ), error
    assert all_jobs(deployment.flink) == before
