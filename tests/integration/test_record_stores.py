"""The record stores against real databases and real Airflow.

* The store contract of tests/unit/test_stores.py, again on PostgreSQL (a schema of its own per
  test, on a server the harness starts).
* The reconcile DAG under ``dag.test()`` on each store (Airflow Variables; the SQL store on
  PostgreSQL through a connection in the metadata DB): a record write that fails makes the task
  red with the store's cause, after the job it started on Flink is reported, and the next run
  adopts that job (one copy); a write that lost its race yields and the task stays green.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_flink.client import calls
from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.stores import RecordStore, SqlRecordStore
from airflow_provider_flink.ids import deployment_prefix
from harness.job_jars import COUNTER_JOB
from harness.postgres import LocalPostgres
from tests.integration.conftest import VERSIONS, Cluster, run_dag
from tests.unit.test_stores import (  # noqa: F401 - the same contract, collected here on PostgreSQL
    test_a_first_write_and_each_next_one_bump_the_revision,
    test_a_lease_is_one_holders_until_it_is_released,
    test_a_renewal_keeps_a_lease_and_a_lost_one_is_said,
    test_a_tasks_next_try_takes_over_its_lease,
    test_a_write_from_an_older_revision_is_a_lost_race_and_changes_nothing,
    test_a_write_without_a_lease_is_refused_while_another_holds_one,
    test_the_records_of_a_cluster_are_read_at_once,
    test_two_first_writes_one_wins,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def store(postgres: LocalPostgres) -> RecordStore:
    """The contract's store: PostgreSQL, in a schema of its own (created by the store)."""
    return SqlRecordStore(postgres.url, schema=f"t{secrets.token_hex(4)}", name="flink_records")


def test_the_tables_live_in_their_own_schema_beside_airflows(postgres: LocalPostgres) -> None:
    from sqlalchemy import create_engine, text

    schema = f"t{secrets.token_hex(4)}"
    store = SqlRecordStore(postgres.url, schema=schema, name="flink_records")
    store.write(DeploymentRecord(name="orders", cluster="c"))
    engine = create_engine(postgres.url)
    try:
        with engine.connect() as conn:
            found = conn.execute(
                text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": schema},
            ).scalars()
            assert sorted(found) == [
                "flink_deployment_leases",
                "flink_deployment_records",
                "flink_deployment_samples",
                "flink_provider_store",
            ]
            revision = conn.execute(
                text(f'SELECT revision FROM "{schema}".flink_deployment_records')  # noqa: S608 - a test's own schema
            ).scalar()
            assert revision == 1
    finally:
        engine.dispose()


# ------------------------------------------------------------------ the reconcile under real Airflow
@pytest.fixture(autouse=False)
def first_version_only(request: pytest.FixtureRequest) -> None:
    cluster: Cluster = request.getfixturevalue("airflow")
    if cluster.version != VERSIONS[0]:
        pytest.skip("the store does not depend on Flink's version: run on the first one")


def _declare(folder: Path, name: str, jar: Path) -> None:
    folder.mkdir(exist_ok=True)
    spec = {"name": name, "artifact": {"jar": str(jar)}, "entry_class": COUNTER_JOB, "parallelism": 1}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))


def _live(cluster: Cluster, name: str) -> list[str]:
    return [
        j.jid
        for j in cluster.client.call(calls.jobs_overview()).jobs
        if j.jid.startswith(deployment_prefix(name)) and not j.state.is_globally_terminal
    ]


def _use_store(kind: str, postgres: LocalPostgres | None, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the installation at ``kind``: the SQL store through a connection stored in the metadata
    DB, as a user adds it; "variables": nothing configured."""
    if kind == "variables":
        monkeypatch.delenv("AIRFLOW__FLINK__RECORD_STORE_CONN_ID", raising=False)
        return ""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    assert postgres is not None
    conn_id = f"flink_records_{secrets.token_hex(3)}"
    with create_session() as session:
        session.add(
            Connection(
                conn_id=conn_id,
                conn_type="postgres",
                host="127.0.0.1",
                port=postgres.port,
                login=postgres.user,
                schema=postgres.database,
                extra=json.dumps({"table_schema": f"flink_{secrets.token_hex(3)}"}),
            )
        )
    monkeypatch.setenv("AIRFLOW__FLINK__RECORD_STORE_CONN_ID", conn_id)
    return conn_id


STORES = ["variables", "postgres"]


def _one_deployment(
    what: str,
    kind: str,
    airflow: Cluster,
    postgres: LocalPostgres,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[str, str]:
    """A deployment declared alone in a folder of its own, the installation on store ``kind``:
    its name and the store's connection id ("" for Variables)."""
    name = f"{what}-{kind}-{secrets.token_hex(2)}"
    _declare(tmp_path / "deployments", name, airflow.jar)
    monkeypatch.setenv("AIRFLOW_VAR_FLINK_DEPLOYMENTS_FOLDER", str(tmp_path / "deployments"))
    return name, _use_store(kind, postgres, monkeypatch)


@pytest.mark.parametrize("kind", STORES)
def test_a_failed_record_write_fails_the_run_red_with_its_cause_and_the_next_run_adopts_the_job(
    airflow: Cluster,
    first_version_only: None,
    kind: str,
    postgres: LocalPostgres,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    name, conn_id = _one_deployment("fail", kind, airflow, postgres, tmp_path, monkeypatch)
    failed: list[str] = []
    if kind == "variables":
        # The api-server's database fails under the write that records the submitted job: the
        # Task SDK gets the api-server's error answer, as a task would.
        from airflow.models.variable import Variable
        from sqlalchemy.exc import OperationalError

        real_set = Variable.set

        def failing_set(key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
            if key.endswith(name) and not failed and json.loads(value).get("current_job_id"):
                failed.append(key)
                raise OperationalError(
                    "UPDATE variable", {}, Exception("server closed the connection unexpectedly")
                )
            return real_set(key, value, *args, **kwargs)

        monkeypatch.setattr(Variable, "set", staticmethod(failing_set))
    else:
        # The database stops answering at that write: a real connection refused, through the store.
        real_write = SqlRecordStore.write

        def failing_write(
            self: SqlRecordStore, record: DeploymentRecord, lease: Any = None
        ) -> DeploymentRecord:
            if record.name == name and record.current_job_id and not failed:
                failed.append(record.name)
                gone = SqlRecordStore("postgresql+psycopg2://nobody@127.0.0.1:9/none", name=self.name)
                return real_write(gone, record, lease)
            return real_write(self, record, lease)

        monkeypatch.setattr(SqlRecordStore, "write", failing_write)

    red = run_dag("flink_reconcile", deferrable=False, conf={"deployments": name}, retries=0)
    assert failed, "the injected failure was never reached"
    # The run is red with its reconcile: the approval task after it (a teardown) does not decide it.
    assert (red.state, red.tasks) == ("failed", {"reconcile": "failed", "ask_approval": "skipped"})
    [entry] = red.xcom[("reconcile", "return_value")]["deployments"]
    [deployed] = entry["done"]
    assert (deployed["ok"], deployed["yielded"]) == (False, False)
    [job] = _live(airflow, name)  # what it did on Flink: one job, running
    if kind == "variables":
        cause = (
            f"Airflow Variables could not write the record of {name}: ServerResponseError: Server returned "
            "error (the api-server answered HTTP 500)"
        )
    else:
        cause = (
            f"the SQL store {conn_id} (postgresql) could not write the record of {name}: OperationalError: "
            'connection to server at "127.0.0.1", port 9 failed: Connection refused'
        )
    # Revision 3: its first record, the submission's intent, then this one (the job submitted).
    assert (
        deployed["detail"]
        == f"{cause}; it would have recorded revision 3, job {job}, spec {entry_hash(deployed)}"
    )

    again = run_dag("flink_reconcile", deferrable=False, conf={"deployments": name})
    assert again.tasks == {"reconcile": "success", "ask_approval": "skipped"}
    # (It may also find the job healthy already: then it marks it stable in the same run.)
    adopt, *_ = again.xcom[("reconcile", "return_value")]["deployments"][0]["done"]
    assert adopt["ok"], adopt
    assert adopt["action"].startswith(f"adopt {name} job {job}"), adopt
    assert _live(airflow, name) == [job]


def entry_hash(done: dict[str, Any]) -> str:
    """The spec hash (12 hex) the failed write would have recorded, as the message names it."""
    return done["detail"].rsplit("spec ", 1)[1][:12]


@pytest.mark.parametrize("kind", STORES)
def test_a_write_that_lost_its_race_yields_and_the_run_stays_green(
    airflow: Cluster,
    first_version_only: None,
    kind: str,
    postgres: LocalPostgres,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow_provider_flink.deployments.stores import configured_store

    name, _ = _one_deployment("race", kind, airflow, postgres, tmp_path, monkeypatch)
    other: list[DeploymentRecord] = []
    store_class = SqlRecordStore if kind == "postgres" else type(configured_store())
    real_write = store_class.write

    def racing_write(self: Any, record: DeploymentRecord, lease: Any = None) -> DeploymentRecord:
        if record.name == name and record.current_job_id and not other:
            # Another actor gets there first: on the SQL store after this run's lease ran out (a
            # frozen worker) and the other took it; on Variables, simply first.
            stored = self.get(record.cluster, record.name)
            if kind == "postgres":
                from sqlalchemy import update

                with self.engine.begin() as conn:
                    conn.execute(update(self.t.leases).values(expires_at=0.0))
                theirs = self.take_lease(record.cluster, record.name, "flink_reconcile/other/reconcile", 30)
                other.append(real_write(self, stored, theirs))
            else:
                other.append(real_write(self, stored))
        return real_write(self, record, lease)

    monkeypatch.setattr(store_class, "write", racing_write)
    green = run_dag("flink_reconcile", deferrable=False, conf={"deployments": name})
    assert other, "the race was never run"
    assert green.tasks == {"reconcile": "success", "ask_approval": "skipped"}
    [deployed] = green.xcom[("reconcile", "return_value")]["deployments"][0]["done"]
    assert deployed["yielded"]
    assert not deployed["ok"]
    if kind == "postgres":
        assert deployed["detail"] == (
            f"this run's lease on {name} was taken over by flink_reconcile/other/reconcile: this run stops "
            "acting on it and leaves it to that one"
        )
    else:
        assert deployed["detail"] == (
            f"another reconcile changed the record of {name} while this run acted on it (revision 3 in the "
            "Airflow Variables, this run had 2): this run stops acting on it and leaves it to the other"
        )
    assert len(_live(airflow, name)) == 1  # the job it submitted runs once; the winner goes on with it


def test_records_move_from_variables_to_the_sql_store_with_their_revisions(
    airflow_db: None, postgres: LocalPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The command a team runs once, where ``airflow`` commands run: connection and Variables in
    the metadata DB; the source untouched; a newer record in the target left alone and named."""
    import subprocess
    import sys

    from airflow.models.variable import Variable

    from airflow_provider_flink.deployments.records import record_key

    monkeypatch.delenv("AIRFLOW__FLINK__RECORD_STORE_CONN_ID", raising=False)
    cluster = f"moved_{secrets.token_hex(3)}"
    for name, revision in (("orders", 7), ("payments", 3)):
        record = DeploymentRecord(name=name, cluster=cluster, status="running", revision=revision)
        Variable.set(record_key(cluster, name), record.model_dump_json())
    conn_id = _use_store("postgres", postgres, monkeypatch)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "airflow_provider_flink.deployments.stores", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    done = run("copy", "--from", "variables", "--to", conn_id)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f" record(s) from Airflow Variables to SQL store {conn_id} (postgresql)\n" in done.stdout
    assert done.stdout.endswith(
        f"next: [flink] record_store_conn_id: set it to {conn_id}, then unpause the reconcile DAGs\n"
    )
    from airflow_provider_flink.deployments.stores import sql_store

    target = sql_store(conn_id)
    moved = target.get_many(cluster)
    assert {n: r.revision for n, r in moved.items()} == {"orders": 7, "payments": 3}
    assert Variable.get(record_key(cluster, "orders"))  # the source is not changed

    target.write(moved["payments"])  # the target moves on (revision 4) before a second copy
    again = run("copy", "--from", "variables", "--to", conn_id)
    assert f"left alone, newer in the target: {cluster}/payments (revision 4 there, 3 here)\n" in again.stdout
    after = target.get(cluster, "payments")
    assert after is not None
    assert after.revision == 4
    shown = run("show", "--store", conn_id)
    assert f"{cluster}/orders\trevision 7\tjob -\n" in shown.stdout

    refused = run("copy", "--from", "variables", "--to", "no_such_connection")
    assert refused.returncode == 1
    assert refused.stderr == (
        "error: --to names connection 'no_such_connection', which is not defined: "
        "add it (airflow connections add no_such_connection --conn-uri postgresql://user:pass@host:5432/db) "
        "(or name Airflow Variables: variables)\n"
    )
