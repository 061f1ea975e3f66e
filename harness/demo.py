"""The demo behind ``./scripts/demo``: a local Flink and a real Airflow run of the lifecycle DAG.

Starts (or reuses) a local Flink under ``.run/demo-flink``, builds the example job jar, prepares an
Airflow home under ``.run/demo-airflow`` (SQLite), runs ``dags/flink_job_lifecycle.py`` with
``dag.test()`` (its waits deferred to triggers, run in-line as the triggerer would), and prints
what each step did and how long it took, then where to look and how to stop Flink.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from harness.airflow_db import MigrationError, migrated_sqlite

ROOT = Path(__file__).resolve().parent.parent
RUN = Path(os.environ.get("DEMO_RUN_DIR", ROOT / ".run")).resolve()
FLINK_DIR = RUN / "demo-flink"
AIRFLOW_HOME = RUN / "demo-airflow"
DAG_ID = "flink_job_lifecycle"


def start_flink(version: str) -> Any:
    from harness.flink_cluster import STATE_FILE, LocalFlink, _alive

    if (FLINK_DIR / STATE_FILE).exists():
        old = LocalFlink.load(FLINK_DIR)
        if old.pids and all(_alive(p) for p in old.pids.values()) and old.overview():
            print(f"Reusing the local Flink {old.version} at {old.rest_url}")
            return old
    began = time.monotonic()
    flink = LocalFlink(version=version, workdir=FLINK_DIR).start()
    print(f"Started Flink {version} at {flink.rest_url} in {time.monotonic() - began:.1f} s")
    return flink


def prepare_airflow(rest_url: str, jar: Path) -> None:
    host, port = rest_url.removeprefix("http://").split(":")
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    for key in [k for k in os.environ if k.startswith("AIRFLOW")]:
        del os.environ[key]  # the demo's Airflow is its own, whatever this shell points at
    os.environ.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "AIRFLOW_CONN_FLINK_DEFAULT": json.dumps({"conn_type": "flink", "host": host, "port": int(port)}),
            "AIRFLOW_VAR_FLINK_EXAMPLE_JAR": str(jar),
        }
    )
    try:
        migrated_sqlite()
    except MigrationError as err:
        sys.exit(str(err))


def run_dag(log_file: Path, dag_id: str = DAG_ID) -> Any:
    """dag.test() with Airflow's own console logging sent to ``log_file``."""
    import runpy

    dag = runpy.run_path(str(ROOT / "dags" / f"{dag_id}.py"))["dag"]
    sys.stdout.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("a") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            return dag.test()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)


def _started(ti: Any) -> float:
    when = ti.start_date or ti.end_date
    return float(when.timestamp()) if when else 0.0


def report(run: Any, rest_url: str, log_file: Path) -> bool:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from airflow_provider_flink.client import ClientSettings, FlinkClient, calls

    with create_session() as session:
        tis = sorted(
            session.query(TaskInstance).filter(
                TaskInstance.dag_id == DAG_ID, TaskInstance.run_id == run.run_id
            ),
            key=_started,
        )
        values = {
            x.task_id: XComModel.deserialize_value(x)
            for x in session.query(XComModel).filter(
                XComModel.dag_id == DAG_ID, XComModel.run_id == run.run_id, XComModel.key == "return_value"
            )
        }
        rows = [
            (
                ti.task_id,
                str(getattr(ti.state, "value", ti.state)),
                (ti.end_date - ti.start_date).total_seconds() if ti.start_date and ti.end_date else 0.0,
                values.get(ti.task_id),
            )
            for ti in tis
        ]
    print(f"\nDAG {DAG_ID}: {getattr(run.state, 'value', run.state)}\n")
    print(f"  {'step':<26} {'state':<8} {'seconds':>7}  result")
    for task_id, state, seconds, value in rows:
        print(f"  {task_id:<26} {state:<8} {seconds:7.2f}  {value if value is not None else ''}")
    first, upgraded = values.get("deploy"), values.get("redeploy_from_savepoint")
    with FlinkClient(ClientSettings(rest_url)) as client:
        if first and upgraded:
            old, new = client.call(calls.job(first)), client.call(calls.job(upgraded))
            restored = client.call(calls.job_checkpoints(upgraded)).latest.restored
            print("\nWhat Flink says:")
            print(f"  first job     {first}  {old.state.value}, parallelism {old.vertices[0].parallelism}")
            print(f"  upgraded job  {upgraded}  {new.state.value}, parallelism {new.vertices[0].parallelism}")
            if restored is not None:
                print(
                    f"  the upgraded job started from {restored.external_path} (savepoint: {restored.is_savepoint}),"
                )
                print("  so its keyed counter continued from the first job's count instead of starting at 1.")
    print(f"\nFlink web UI:   {rest_url}   (jobs, checkpoints, the savepoints' restore)")
    print(f"Airflow log:    {log_file}")
    print(f"Airflow home:   {AIRFLOW_HOME}  (metadata DB, the run above)")
    return all(state == "success" for _, state, _, _ in rows) and bool(rows)


def declared_deployment_section(rest_url: str, jar: Path, log_file: Path) -> bool:
    """Part 2: a declared deployment, changed and reconciled by the reconcile DAG, state kept."""
    import yaml
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from airflow_provider_flink.client import ClientSettings, FlinkClient
    from harness.job_jars import COUNTER_JOB, read_counter

    folder = RUN / "demo-deployments"
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_VAR_FLINK_DEPLOYMENTS_FOLDER"] = str(folder)
    spec: dict[str, Any] = {
        "name": "demo-counter",
        "artifact": {"jar": str(jar)},
        "entry_class": COUNTER_JOB,
        "args": ["--rate", "50"],
        "parallelism": 1,
    }
    spec_file = folder / "demo-counter.yaml"

    def reconcile_once() -> dict[str, Any]:
        run = run_dag(log_file, "flink_reconcile")
        with create_session() as session:
            row = (
                session.query(XComModel)
                .filter(
                    XComModel.dag_id == "flink_reconcile",
                    XComModel.run_id == run.run_id,
                    XComModel.key == "return_value",
                )
                .one_or_none()
            )
        summary = XComModel.deserialize_value(row) if row is not None else {}
        for entry in summary.get("deployments", []):
            for line in entry.get("actions") or ["nothing to do"]:
                print(f"    plan: {line}")
            for done in entry.get("done", []):
                print(f"    {'done' if done['ok'] else 'FAILED'}: {done['detail']}")
        return dict(summary)

    print(
        f"\nPart 2: a declared deployment ({spec_file.relative_to(RUN.parent) if spec_file.is_relative_to(RUN.parent) else spec_file})"
    )
    spec_file.write_text(yaml.safe_dump(spec))
    print("  reconcile #1 (first deploy):")
    first = reconcile_once()
    record = _record("demo-counter")
    job = record.get("current_job_id") if record else None
    if not job:
        print(f"  the reconcile did not deploy the job: {first.get('errors')}")
        return False
    with FlinkClient(ClientSettings(rest_url)) as client:
        deadline = time.monotonic() + 60
        while (before := read_counter(client, job)) < 100 and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"  job {job} runs; its counter is at {before:.0f}")
        spec["parallelism"] = 2
        spec_file.write_text(yaml.safe_dump(spec))
        print("  parallelism 1 -> 2 in the file; reconcile #2 (stateful upgrade):")
        reconcile_once()
        record = _record("demo-counter") or {}
        new_job = record.get("current_job_id")
        if not new_job or new_job == job:
            print("  the upgrade did not happen")
            return False
        deadline = time.monotonic() + 60
        while not (after := read_counter(client, new_job)) and time.monotonic() < deadline:
            time.sleep(0.5)
    kept = after >= before
    print(
        f"  upgraded job {new_job}: its counter went on at {after:.0f} (was {before:.0f} before the upgrade): "
        f"{'state kept' if kept else 'STATE LOST'}"
    )
    print(
        "  record (Airflow Variable flink_deployment.flink_default.demo-counter): "
        f"{len(record.get('savepoints', []))} savepoint(s), last: {record['savepoints'][-1]['path']}"
    )
    print(
        "  the upgraded job keeps running; set 'state: suspended' in the file and reconcile to stop it with a savepoint"
    )
    return kept


def _record(name: str) -> dict[str, Any] | None:
    from airflow.models.variable import Variable

    raw = Variable.get(f"flink_deployment.flink_default.{name}", default_var=None)
    return json.loads(raw) if raw else None


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main() -> int:
    version = os.environ.get("FLINK_VERSION", "2.3.0")
    sys.path.insert(0, str(ROOT))
    from harness.job_jars import build_jar

    flink = start_flink(version)
    jar = build_jar(flink.version)
    print(f"Example job jar: {jar}")
    prepare_airflow(flink.rest_url, jar)
    log_file = AIRFLOW_HOME / "demo-dag-test.log"
    log_file.unlink(missing_ok=True)
    print(
        f"Running DAG {DAG_ID} under Airflow (dag.test, deferrable waits); Airflow's log goes to {log_file} ..."
    )
    began = time.monotonic()
    run = run_dag(log_file)
    print(f"... done in {time.monotonic() - began:.1f} s")
    ok = report(run, flink.rest_url, log_file)
    ok = declared_deployment_section(flink.rest_url, jar, log_file) and ok
    print(f"\nStop Flink:     .venv/bin/python -m harness.flink_cluster stop --dir {_shown(FLINK_DIR)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
