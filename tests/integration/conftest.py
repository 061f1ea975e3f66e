"""A real local Flink per supported version, started once per test session and always stopped.

``FLINK_VERSIONS`` (comma separated, default "2.3.0,1.20.5") picks the versions; every test that
uses the ``flink`` fixture runs once per version.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.client import ClientSettings, FlinkApiError, FlinkClient, calls, models
from airflow_provider_flink.client.resilience import reset_breakers
from airflow_provider_flink.ids import new_id
from airflow_provider_flink.triggers.conditions import is_healthy
from harness.auth_proxy import AuthProxy
from harness.fault_proxy import FaultProxy
from harness.flink_cluster import LocalFlink
from harness.job_jars import build_jar, read_counter
from harness.postgres import LocalPostgres
from harness.waiting import wait_for

__all__ = ["Cluster", "connection_json", "wait_for"]

VERSIONS = [v.strip() for v in os.environ.get("FLINK_VERSIONS", "2.3.0,1.20.5").split(",") if v.strip()]


@dataclass
class Cluster:
    """One running Flink with the test jar uploaded and helpers to drive it."""

    flink: LocalFlink
    client: FlinkClient
    jar: Path
    jar_id: str

    @property
    def version(self) -> str:
        return self.flink.version

    def run(
        self, entry_class: str, *, job_id: str | None = None, args: list[str] | None = None, **kwargs: object
    ) -> str:
        request = models.JarRunRequest(
            entry_class=entry_class,
            job_id=job_id or new_id(),
            program_args=args,
            **kwargs,  # type: ignore[arg-type]
        )
        return self.client.call(calls.run_jar(self.jar_id, request, self.version)).jobid

    def job(self, job_id: str) -> models.JobDetail:
        return self.client.call(calls.job(job_id))

    def wait_state(self, job_id: str, *states: models.JobState, timeout: float = 60.0) -> models.JobDetail:
        def probe() -> models.JobDetail | None:
            job = self.job(job_id)
            return job if job.state in states else None

        return wait_for(f"job {job_id} in {states}", probe, timeout)

    def wait_all_running(self, job_id: str) -> models.JobDetail:
        def probe() -> models.JobDetail | None:
            job = self.job(job_id)
            return job if is_healthy(job) else None

        return wait_for(f"job {job_id} with all vertices RUNNING", probe)

    def counter(self, job_id: str) -> float:
        """The stateful counter of the CounterJob (max over subtasks), 0 before the first record."""
        return read_counter(self.client, job_id)

    def wait_savepoint(
        self, job_id: str, trigger_id: str, timeout: float = 60.0
    ) -> models.AsyncOperationStatus:
        def probe() -> models.AsyncOperationStatus | None:
            status = self.client.call(calls.savepoint_status(job_id, trigger_id))
            return None if status.in_progress else status

        return wait_for(f"savepoint {trigger_id} of {job_id}", probe, timeout)

    def running_job_ids(self) -> set[str]:
        return {
            j.jid for j in self.client.call(calls.jobs_overview()).jobs if not j.state.is_globally_terminal
        }

    def revive(self) -> None:
        """A TaskManager that died since the last test started again, said aloud. Cancelling a
        Python job can take the TaskManager down (Beam's cleanup after its classloader closed:
        ``ClassNotFoundException ... SharedResourceHolder``, seen on 2.3.0 after the Python
        tests): one test's Flink crash must not fail every test after it for want of slots."""
        if not self.flink.taskmanager_alive():
            print(f"\nFlink {self.version}: the TaskManager had died; starting it again", flush=True)
            self.flink.start_taskmanager()

    def cancel_all(self) -> None:
        for job_id in self.running_job_ids():
            with contextlib.suppress(FlinkApiError):
                self.client.call(calls.cancel_job(job_id))
        wait_for("all jobs ended", lambda: not self.running_job_ids() or None, 60)


@pytest.fixture(scope="session", params=VERSIONS, ids=[f"flink-{v}" for v in VERSIONS])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    version: str = request.param
    jar = build_jar(version)
    # python=True: the same cluster runs the Python (PyFlink) jobs' tests (a Python environment
    # of this Flink version for its JobManager and TaskManager, installed once per machine).
    flink = LocalFlink(version=version, workdir=tmp_path_factory.mktemp(f"flink-{version}"), python=True)
    began = time.monotonic()
    flink.start()
    print(f"\nFlink {version} ready at {flink.rest_url} in {time.monotonic() - began:.1f} s")
    client = FlinkClient(ClientSettings(flink.rest_url))
    try:
        jar_id = client.call(calls.upload_jar(jar)).jar_id
        yield Cluster(flink, client, jar, jar_id)
    finally:
        client.close()
        flink.stop()


@pytest.fixture
def flink(cluster: Cluster) -> Iterator[Cluster]:
    """The cluster, with every job a test left running cancelled afterwards (slots are few)."""
    reset_breakers()
    cluster.revive()
    yield cluster
    cluster.cancel_all()


@pytest.fixture
def proxy(flink: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """The fault proxy in front of the cluster, as ``flink_default`` (10 s request timeout)."""
    proxy = FaultProxy(flink.flink.rest_url).start()
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", connection_json(proxy.url, request_timeout=10))
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL for the SQL record store (each test or play in a schema of its own), started
    once per session and always stopped."""
    server = LocalPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def database(postgres: LocalPostgres) -> str:
    """The SQL record store's database URL."""
    return postgres.url


# ---------------------------------------------------------------------------------------- Airflow
@pytest.fixture(scope="session")
def airflow_db() -> None:
    """A migrated metadata DB in the test AIRFLOW_HOME (set in tests/conftest.py), with the reconcile pool."""
    from harness.airflow_db import migrated_sqlite

    migrated_sqlite()  # a copy of the cached migrated DB of this Airflow version, made once


def connection_json(url: str, **extra: object) -> str:
    host, port = url.removeprefix("http://").split(":")
    return json.dumps({"conn_type": "flink", "host": host, "port": int(port), "extra": extra})


@pytest.fixture
def airflow(flink: Cluster, airflow_db: None, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    """Airflow pointed at this cluster: connection ``flink_default`` and Variable ``flink_example_jar``."""
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", connection_json(flink.flink.rest_url))
    monkeypatch.setenv("AIRFLOW_VAR_FLINK_EXAMPLE_JAR", str(flink.jar))
    return flink


AIRFLOW_CLI = str(Path(sys.executable).with_name("airflow"))


def airflow_cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """An ``airflow`` command in a process of its own, with ``env``."""
    return subprocess.run(
        [AIRFLOW_CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def stored_connection(airflow: Cluster, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """``flink_default`` in the metadata DB only (``airflow connections add``, as users store it);
    the environment for commands."""
    monkeypatch.delenv("AIRFLOW_CONN_FLINK_DEFAULT")
    env = dict(os.environ)
    port = airflow.flink.rest_url.rsplit(":", 1)[1]
    added = airflow_cli(
        "connections", "add", "flink_default", "--conn-type", "flink", "--conn-host", "127.0.0.1",
        "--conn-port", port, env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    yield env
    airflow_cli("connections", "delete", "flink_default", env=env)


@pytest.fixture
def db_connection(airflow: Cluster, request: pytest.FixtureRequest) -> dict[str, str]:
    """:func:`stored_connection`, on the first Flink version only: where the connection comes from
    is Airflow's side, not Flink's."""
    if airflow.version != VERSIONS[0]:
        pytest.skip(f"connection lookups: on Flink {VERSIONS[0]} only")
    env: dict[str, str] = request.getfixturevalue("stored_connection")
    return env


_DAG_FILES: dict[str, dict[str, object]] = {}


def load_dag(dag_id: str) -> Any:
    from airflow.sdk import DAG

    dags = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
    for path in sorted(dags.glob("*.py")):
        namespace = _DAG_FILES.setdefault(str(path), runpy.run_path(str(path)))
        for value in namespace.values():
            if isinstance(value, DAG) and value.dag_id == dag_id:
                return value
    raise AssertionError(f"no DAG {dag_id} in {dags}")


@dataclass
class DagResult:
    state: str
    tasks: dict[str, str]
    tries: dict[str, int]
    xcom: dict[tuple[str, str], Any]
    seconds: float


def run_dag(
    dag_id: str, *, deferrable: bool, conf: dict[str, Any] | None = None, retries: int | None = None
) -> DagResult:
    """Run a DAG with ``dag.test()`` (real Airflow, in this process) with every Flink task deferrable
    or not; ``retries``: every task's, for a test that looks at a first try's failure."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    dag = load_dag(dag_id)
    for task in dag.tasks:
        if hasattr(task, "deferrable"):
            task.deferrable = deferrable
        if retries is not None:
            task.retries = retries
    began = time.monotonic()
    run = dag.test(run_conf=conf)
    seconds = time.monotonic() - began
    with create_session() as session:
        tis = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id
        )
        tasks = {ti.task_id: str(getattr(ti.state, "value", ti.state)) for ti in tis}
        tries = {ti.task_id: ti.try_number for ti in tis}
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run.run_id)
        xcom = {(x.task_id, x.key): XComModel.deserialize_value(x) for x in rows}
    return DagResult(
        str(run.state.value if hasattr(run.state, "value") else run.state), tasks, tries, xcom, seconds
    )


@pytest.fixture
def auth_proxy(flink: Cluster, tmp_path: Path) -> Iterator[AuthProxy]:
    """nginx in front of the cluster: basic auth (random password) and a bearer token (random)."""
    nginx = AuthProxy(
        flink.flink.rest_url,
        tmp_path / "nginx",
        "flink-ops",
        secrets.token_urlsafe(16),
        secrets.token_urlsafe(24),
    ).start()
    try:
        yield nginx
    finally:
        nginx.stop()
