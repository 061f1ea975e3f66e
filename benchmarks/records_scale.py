"""The record stores under real Airflow: a no-drift reconcile of many deployments, record writes
and the Flink page, on the SQL store against Airflow Variables in the same run (issue 20).

One run starts a private PostgreSQL and the real Airflow components (``harness.airflow_stack``:
api-server, scheduler with LocalExecutor, dag-processor, triggerer), stores the connections
through the REST API as users do (the recorded cluster ``flink_bench_0``; ``flink_records``, type
postgres, on the same PostgreSQL server, extra ``{"table_schema": "flink_records"}``), and writes
one DAG into the stack's DAGs folder: ``FlinkReconcileOperator(plan_only=False)`` over the folder
its run's conf names. The cluster is **recorded responses** served on loopback
(``benchmarks.reconcile_scale``: one ``/jobs/overview`` entry per deployment, every request
counted; ``/jobs/<id>/checkpoints`` answers Flink 2.3.0's recorded history for the page). Records
are as a previous reconcile left them (same spec applied, stable; a few savepoints and history
entries each), so nothing drifted: each run must report 0 actions and write nothing.

The store is the installation's (``AIRFLOW__FLINK__RECORD_STORE_CONN_ID``: set to
``flink_records`` for the SQL store, unset for Variables): the scheduler (whose LocalExecutor
runs the task) and the api-server (the Flink page) are restarted when the store changes; the
operator is the provider's, unchanged (the DAG's subclass only times ``execute()`` and pushes a
summary of the report). Records are seeded in bulk: the SQL table in one insert, the Variables in
one session of Airflow's metadata DB (``airflow.models.Variable`` rows, encrypted as Airflow
stores them). For each size, on each store:

* **reconcile task**: the task instance's duration as Airflow reports it (its start_date ->
  end_date: the task process forked by the warm supervisor, the DAG file parsed, the specs loaded,
  every record read, the cluster observed, the plan, the report pushed to XCom), ``execute()``
  alone, timed inside the task, and trigger -> the run's success (the scheduler's share included,
  polled every 0.25 s);
* **Flink calls**: the requests the recorded cluster got during the run (one ``/jobs/overview``);
* **store reads**: PostgreSQL's own counters (``pg_stat_user_tables``: scans of the records table,
  of Airflow's ``variable`` table, and rows inserted/updated/deleted), read 11 s after the runs
  (a backend reports its counters within 10 s): what the run cost the database, whatever process
  asked; divided by the number of runs;
* **Flink page**: ``GET /flink/api/deployments`` (the page's JSON, every deployment; authenticated
  with the admin's token), median of ``--page-gets``, and the Flink requests each view made.

**Record write** (once): ``SqlRecordStore.write`` of a realistic record (compare-and-set under a
lease) from this process to the same PostgreSQL, against a Variable written through the REST API
(``PATCH /api/v2/variables/{key}``) as the baseline, taken in turn (``benchmarks.common.interleaved``).

    .venv/bin/python -m benchmarks.records_scale [--sizes 1000,10000] [--runs 3] [--json FILE]
    .venv/bin/python -m benchmarks.records_scale --quick     # 200 deployments: a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

os.environ["AIRFLOW_HOME"] = os.environ.get("AIRFLOW_HOME") or tempfile.mkdtemp(
    prefix="bench-records-airflow-"
)

import httpx
from sqlalchemy import Engine, create_engine, text

from airflow_provider_flink.deployments import DeploymentRecord, DeploymentSpec
from airflow_provider_flink.deployments.records import (
    VARIABLE_PREFIX,
    AppliedSpec,
    HistoryEntry,
    SavepointEntry,
    Start,
    record_key,
)
from airflow_provider_flink.deployments.stores import SqlRecordStore
from airflow_provider_flink.deployments.stores.variables import DESCRIPTION
from benchmarks.common import interleaved
from benchmarks.reconcile_scale import RECORDED, CountingFlink, Scenario, build
from harness.airflow_stack import AirflowStack
from harness.postgres import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
DAG_ID = "bench_records_scale"
TASK_ID = "reconcile"
CLUSTER = "flink_bench_0"  # what benchmarks.reconcile_scale.build names the one cluster
RECORDS_CONN = "flink_records"
RECORDS_SCHEMA = "flink_records"
STORE_ENV = "AIRFLOW__FLINK__RECORD_STORE_CONN_ID"
STORES = ("variables", "sql")
SETTLE = 11.0  # s: a PostgreSQL backend reports its table counters within 10 s of going idle
CHECKPOINTS = (RECORDED.parent / "flink-2.3.0-checkpoints.json").read_bytes()

DAG_FILE = f'''"""Written by benchmarks/records_scale.py: a no-drift reconcile over the folder the conf names."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from airflow.sdk import DAG

from airflow_provider_flink.operators import FlinkReconcileOperator


class TimedReconcile(FlinkReconcileOperator):
    """The provider's operator, its store the installation's; execute() timed, the report summed up."""

    def execute(self, context: Any) -> Any:
        began = time.perf_counter()
        report = super().execute(context)
        took = time.perf_counter() - began
        entries = report["deployments"]
        context["ti"].xcom_push(
            key="summary",
            value={{
                "execute_seconds": took,
                "deployments": len(entries),
                "actions": sum(len(e["actions"]) for e in entries),
                "done": sum(len(e["done"]) for e in entries),
                "skipped": sum(1 for e in entries if e["skipped"]),
                "errors": len(report["errors"]) + len(report["invalid"]),
            }},
        )
        return report


with DAG(
    dag_id="{DAG_ID}",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["benchmark"],
):
    TimedReconcile(
        task_id="{TASK_ID}",
        deployments_folder="{{{{ dag_run.conf['folder'] }}}}",
        plan_only=False,
    )
'''


class RecordedFlink(CountingFlink):
    """``CountingFlink``, and each job's checkpoint history (the page asks it of every live job)."""

    def do_GET(self) -> None:
        if self.path.startswith("/jobs/") and self.path.endswith("/checkpoints"):
            CountingFlink.requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(CHECKPOINTS)))
            self.end_headers()
            self.wfile.write(CHECKPOINTS)
        else:
            super().do_GET()


# ------------------------------------------------------------------------------ records
def realistic(record: DeploymentRecord, spec: DeploymentSpec, now: float) -> DeploymentRecord:
    """``record`` as weeks of running leave it: the applied and stable spec with their fields, the
    start, three savepoints, ten history entries, an upload (revision 7: seven writes ago)."""
    digest = record.applied_hash or ""
    job_id = record.current_job_id or ""
    fields = spec.model_dump(mode="json")
    run = "flink_reconcile/scheduled__2026-11-20T10:00:00+00:00/reconcile/1"
    savepoints = [
        SavepointEntry(
            path=f"s3://flink-state/savepoints/{spec.name}/savepoint-{job_id[:6]}-{i:012x}",
            taken_at=now - (3 - i) * 3600,
            reason="periodic",
            job_id=job_id,
            checkpoint_id=100 + i,
        )
        for i in range(3)
    ]
    kinds = ["deploy", "savepoint", "savepoint", "upgrade", "savepoint"] * 2
    history = [
        HistoryEntry(
            at=now - (10 - i) * 3600,
            kind=kind,
            ok=True,
            detail=f"{kind} of {spec.name}: job {job_id} (spec {digest[:12]})",
            job_id=job_id,
            run=run,
        )
        for i, kind in enumerate(kinds)
    ]
    return record.model_copy(
        update={
            "applied": AppliedSpec(spec_hash=digest, spec=fields),
            "stable": AppliedSpec(spec_hash=digest, spec=fields),
            "started": Start(job_id=job_id, spec_hash=digest, restore_from=savepoints[0].path),
            "savepoints": savepoints,
            "history": history,
            "uploads": [f"{job_id[:8]}-4c1e-9a57-job.jar"],
            "lineage_since": now - 30 * 86400,
            "revision": 7,
        }
    )


def scenario_records(scenario: Scenario) -> list[DeploymentRecord]:
    now = time.time()
    records = []
    for spec in scenario.specs:
        record = scenario.store.get(spec.cluster, spec.name)
        assert record is not None
        records.append(realistic(record, spec, now))
    return records


def seed_sql(store: SqlRecordStore, records: list[DeploymentRecord]) -> None:
    """Every record of the SQL store replaced by ``records``, in one transaction (one insert)."""
    store.get_many(CLUSTER, [])  # creates the tables (the store's own migration) if missing
    with store.engine.begin() as conn:
        conn.execute(store.t.records.delete())
        conn.execute(store.t.leases.delete())
        updated = conn.execute(text("SELECT extract(epoch from clock_timestamp())")).scalar_one()
        conn.execute(
            store.t.records.insert(),
            [
                {
                    "cluster": r.cluster,
                    "name": r.name,
                    "revision": r.revision,
                    "body": r.model_dump_json(),
                    "updated_at": float(updated),
                }
                for r in records
            ],
        )


# Run in the stack's environment: every record Variable deleted, those of the file added, encrypted
# as Airflow stores them. Not an import of this module: that would make a temporary AIRFLOW_HOME.
SEED_VARIABLES = """
import json, sys
from sqlalchemy import delete
from airflow.models.variable import Variable
from airflow.utils.session import create_session
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
with create_session() as session:
    session.execute(delete(Variable).where(Variable.key.like(sys.argv[2])))
    session.add_all(Variable(key=r["key"], val=r["val"], description=r["description"]) for r in rows)
"""


def seed_variables(stack: AirflowStack, records: list[DeploymentRecord], work: Path) -> None:
    """Every record Variable replaced by ``records``: in a process configured as the stack's
    components are (its metadata DB, its Fernet key), one session (:data:`SEED_VARIABLES`)."""
    lines = work / f"variables-{len(records)}.jsonl"
    with lines.open("w") as out:
        for r in records:
            key = record_key(r.cluster, r.name)
            value = r.model_dump_json()
            out.write(json.dumps({"key": key, "val": value, "description": DESCRIPTION.format(name=r.name)}))
            out.write("\n")
    done = subprocess.run(
        [sys.executable, "-c", SEED_VARIABLES, str(lines), f"{VARIABLE_PREFIX}.%"],
        env=stack.environment(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"seeding the Variables failed: {done.stdout[-2000:]}{done.stderr[-3000:]}")


# ------------------------------------------------------------------------------ PostgreSQL's counters
TABLES = {
    "records": (RECORDS_SCHEMA, "flink_deployment_records"),
    "leases": (RECORDS_SCHEMA, "flink_deployment_leases"),
    "variable": ("public", "variable"),
    "store_version": (RECORDS_SCHEMA, "flink_provider_store"),  # the SQL store's migration check
}


def counters(db: Engine) -> dict[str, dict[str, int]]:
    """Scans, rows read and rows written of each table in ``TABLES`` so far."""
    query = text(
        "SELECT schemaname, relname, seq_scan + coalesce(idx_scan, 0), "
        "seq_tup_read + coalesce(idx_tup_fetch, 0), n_tup_ins + n_tup_upd + n_tup_del "
        "FROM pg_stat_user_tables"
    )
    with db.connect() as conn:
        rows = {(s, r): (int(a), int(b), int(c)) for s, r, a, b, c in conn.execute(query)}
    return {
        name: dict(zip(("scans", "rows_read", "rows_written"), rows.get(where, (0, 0, 0)), strict=True))
        for name, where in TABLES.items()
    }


def delta(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], runs: int) -> dict[str, Any]:
    return {
        table: {k: (after[table][k] - before[table][k]) / runs for k in before[table]} for table in before
    }


def settled(db: Engine) -> dict[str, dict[str, int]]:
    time.sleep(SETTLE)
    return counters(db)


# ------------------------------------------------------------------------------ the stack
def start(work: Path) -> tuple[LocalPostgres, AirflowStack]:
    dags = work / "dags"
    dags.mkdir()
    (dags / f"{DAG_ID}.py").write_text(DAG_FILE)
    postgres = LocalPostgres().start()
    stack = AirflowStack(work / "home", dags, postgres.url)
    try:
        stack.start()
        stack.api(
            "POST", "/connections",
            json={
                "connection_id": RECORDS_CONN, "conn_type": "postgres", "host": "127.0.0.1",
                "port": postgres.port, "login": postgres.user, "schema": postgres.database,
                "extra": json.dumps({"table_schema": RECORDS_SCHEMA}),
            },
        )  # fmt: skip
        stack.wait_dag(DAG_ID)
    except BaseException:
        stack.stop()
        postgres.stop()
        raise
    return postgres, stack


def point_cluster(stack: AirflowStack, port: int) -> None:
    """The connection of the recorded cluster, at ``port`` (created, or changed)."""
    body = {"connection_id": CLUSTER, "conn_type": "flink", "host": "127.0.0.1", "port": port}
    try:
        stack.api("PATCH", f"/connections/{CLUSTER}", json=body)
    except RuntimeError:
        stack.api("POST", "/connections", json=body)


def set_variable(stack: AirflowStack, key: str, value: str) -> None:
    try:
        stack.api("PATCH", f"/variables/{key}", json={"key": key, "value": value})
    except RuntimeError:
        stack.api("POST", "/variables", json={"key": key, "value": value})


def use_store(stack: AirflowStack, store: str) -> None:
    """The installation's store: the scheduler (its workers run the task) and the api-server (the
    page) restarted with ``[flink] record_store_conn_id`` set (SQL) or unset (Variables)."""
    wanted = RECORDS_CONN if store == "sql" else None
    if stack.env_extra.get(STORE_ENV) == wanted:
        return
    if wanted is None:
        stack.env_extra.pop(STORE_ENV, None)
    else:
        stack.env_extra[STORE_ENV] = wanted
    for component in ("scheduler", "api-server"):
        stack.kill(component, signal.SIGTERM)
        stack.restart(component)
    stack.wait_healthy(180)
    stack.api("GET", "/version")  # the admin's token still holds (the same JWT secret)


# ------------------------------------------------------------------------------ measures
def _seconds(ti: dict[str, Any]) -> float:
    began = datetime.fromisoformat(str(ti["start_date"]).replace("Z", "+00:00"))
    ended = datetime.fromisoformat(str(ti["end_date"]).replace("Z", "+00:00"))
    return (ended - began).total_seconds()


def _xcom(stack: AirflowStack, run: str, key: str) -> Any:
    answer = stack.api("GET", f"/dags/{DAG_ID}/dagRuns/{run}/taskInstances/{TASK_ID}/xcomEntries/{key}")
    value = answer["value"]
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class Run:
    task_seconds: float  # the task instance, as Airflow reports it
    execute_seconds: float  # execute() alone, in the task
    trigger_to_success: float
    flink_requests: list[str]
    summary: dict[str, Any]


def reconcile_run(stack: AirflowStack, folder: Path, deployments: int) -> Run:
    CountingFlink.requests = []
    began = time.perf_counter()
    run = stack.trigger(DAG_ID, {"folder": str(folder)})
    state = stack.wait_run(DAG_ID, run, timeout=300 + deployments * 0.1)
    took = time.perf_counter() - began
    ti = stack.task_instances(DAG_ID, run)[TASK_ID]
    if state != "success":
        log = stack.task_log(DAG_ID, run, TASK_ID, int(ti["try_number"]))
        raise RuntimeError(f"run {run} {state}: {ti}\n{log[-4000:]}")
    summary = _xcom(stack, run, "summary")
    if summary["deployments"] != deployments or summary["actions"] or summary["done"] or summary["errors"]:
        raise RuntimeError(f"a no-drift run was expected, run {run} reported {summary}")
    return Run(_seconds(ti), float(summary["execute_seconds"]), took, list(CountingFlink.requests), summary)


def page_get(stack: AirflowStack, token: str, deployments: int) -> tuple[float, int]:
    CountingFlink.requests = []
    began = time.perf_counter()
    answer = httpx.get(
        f"{stack.url}/flink/api/deployments", headers={"Authorization": f"Bearer {token}"}, timeout=600
    )
    took = time.perf_counter() - began
    if answer.status_code != 200:
        raise RuntimeError(f"GET /flink/api/deployments: HTTP {answer.status_code}: {answer.text[:2000]}")
    rows = answer.json()["deployments"]
    if len(rows) != deployments or any(r["record_status"] != "running" for r in rows):
        raise RuntimeError(f"the page shows {len(rows)} deployments, records missing: {rows[:2]}")
    return took, len(CountingFlink.requests)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]  # fmt: skip
SHOWN_ROWS = 50  # the page draws this many rows, then "show more"


def browser_loads(stack: AirflowStack, token: str, deployments: int, loads: int) -> dict[str, list[float]]:
    """The Flink page as a person opens it in Airflow's UI (headless Chromium, the UI's own
    session cookie): seconds from the navigation to its rows drawn (all of them, or the first
    ``SHOWN_ROWS``), ``loads`` times; the first load (the UI's own scripts) is not counted."""
    from playwright.sync_api import sync_playwright

    drawn = min(deployments, SHOWN_ROWS)
    seconds: dict[str, list[float]] = {"rows": [], "mounted": [], "airflow_home": [], "from_the_ui": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1760, "height": 900})
            context.add_cookies([{"name": "_token", "value": token, "url": stack.url}])
            page = context.new_page()
            for attempt in range(loads + 1):
                # The baseline: Airflow's own home page, in the same browser, to its first heading.
                began = time.perf_counter()
                page.goto(f"{stack.url}/")
                page.locator("h2, h1").first.wait_for(timeout=120_000)
                home = time.perf_counter() - began
                began = time.perf_counter()
                page.goto(f"{stack.url}/plugin/flink")
                page.locator('[data-testid="flink-page"]').wait_for(timeout=120_000)
                mounted = time.perf_counter() - began
                page.locator("tr[data-deployment]").nth(drawn - 1).wait_for(timeout=120_000)
                rows = time.perf_counter() - began
                # As a person opens it: from another page of the UI (its router, no reload).
                page.goto(f"{stack.url}/")
                page.locator("h2, h1").first.wait_for(timeout=120_000)
                began = time.perf_counter()
                page.evaluate(
                    "window.history.pushState({}, '', 'plugin/flink');"
                    "window.dispatchEvent(new PopStateEvent('popstate'))"
                )
                page.locator("tr[data-deployment]").nth(drawn - 1).wait_for(timeout=120_000)
                if attempt:
                    seconds["rows"].append(rows)
                    seconds["mounted"].append(mounted)
                    seconds["airflow_home"].append(home)
                    seconds["from_the_ui"].append(time.perf_counter() - began)
        finally:
            browser.close()
    return seconds


@dataclass
class Block:
    """One size on one store."""

    deployments: int
    store: str
    runs: list[Run] = field(default_factory=list)
    run_db: dict[str, Any] = field(default_factory=dict)
    page_seconds: list[float] = field(default_factory=list)
    page_flink_requests: int = 0
    page_db: dict[str, Any] = field(default_factory=dict)
    browser_seconds: dict[str, list[float]] = field(default_factory=dict)

    def figures(self) -> dict[str, Any]:
        return {
            "deployments": self.deployments,
            "store": self.store,
            "task_seconds": [r.task_seconds for r in self.runs],
            "task_seconds_median": statistics.median(r.task_seconds for r in self.runs),
            "execute_seconds": [r.execute_seconds for r in self.runs],
            "execute_seconds_median": statistics.median(r.execute_seconds for r in self.runs),
            "trigger_to_success_seconds": [r.trigger_to_success for r in self.runs],
            "flink_requests_per_run": [len(r.flink_requests) for r in self.runs],
            "db_per_run": self.run_db,
            "report": self.runs[-1].summary,
            "page_seconds": self.page_seconds,
            "page_seconds_median": statistics.median(self.page_seconds),
            "page_flink_requests": self.page_flink_requests,
            "db_per_page_view": self.page_db,
            "browser_seconds": self.browser_seconds,
            "browser_seconds_median": (
                {k: statistics.median(v) for k, v in self.browser_seconds.items()}
                if self.browser_seconds
                else None
            ),
        }


def measure(
    stack: AirflowStack,
    db: Engine,
    store: str,
    scenario: Scenario,
    runs: int,
    page_gets: int,
    browser: bool = False,
) -> Block:
    deployments = len(scenario.specs)
    use_store(stack, store)
    block = Block(deployments, store)
    token = stack.token("admin")
    reconcile_run(stack, scenario.folder, deployments)  # warm-up: not measured
    page_get(stack, token, deployments)
    before = settled(db)
    for _ in range(runs):
        block.runs.append(reconcile_run(stack, scenario.folder, deployments))
        overview = [p for p in block.runs[-1].flink_requests if p == "/jobs/overview"]
        if len(overview) != 1 or len(block.runs[-1].flink_requests) != 1:
            raise RuntimeError(
                f"one GET /jobs/overview per run was expected: {block.runs[-1].flink_requests[:5]}"
            )
    after = settled(db)
    block.run_db = delta(before, after, runs)
    for _ in range(page_gets):
        took, requests = page_get(stack, token, deployments)
        block.page_seconds.append(took)
        block.page_flink_requests = requests
    block.page_db = delta(after, settled(db), page_gets)
    if browser:
        block.browser_seconds = browser_loads(stack, token, deployments, page_gets)
    return block


def write_latency(
    stack: AirflowStack, postgres: LocalPostgres, spec: DeploymentSpec, writes: int
) -> dict[str, Any]:
    """``SqlRecordStore.write`` (compare-and-set under a lease) against ``PATCH /variables/{key}``."""
    store = SqlRecordStore(postgres.url, schema=RECORDS_SCHEMA, name=RECORDS_CONN)
    template = DeploymentRecord(
        name="bench-writer",
        cluster="flink_bench_write",
        status="running",
        current_job_id="0" * 32,
        applied=AppliedSpec(spec_hash="a" * 64),
        stable=AppliedSpec(spec_hash="a" * 64),
    )
    record = realistic(template, spec.model_copy(update={"name": "bench-writer"}), time.time())
    record = record.model_copy(update={"revision": 0, "cluster": "flink_bench_write"})
    store.get_many(record.cluster, [])  # the tables, once (not a write)
    lease = store.take_lease(record.cluster, record.name, "benchmarks.records_scale", 3600)
    key = record_key(record.cluster, record.name)
    body = record.model_dump_json()
    stack.api("POST", "/variables", json={"key": key, "value": body, "description": "benchmark"})
    current = [record]

    def sql_write() -> None:
        current[0] = store.write(current[0], lease)

    def rest_write() -> None:
        stack.api("PATCH", f"/variables/{key}", json={"key": key, "value": body, "description": "benchmark"})

    samples = interleaved({"sql": sql_write, "variables": rest_write}, repeat=writes, warmup=10)
    store.release_lease(lease)
    stack.api("DELETE", f"/variables/{key}")
    out: dict[str, Any] = {"writes": writes, "record_bytes": len(body)}
    for name, values in samples.items():
        out[name] = {
            "median_ms": statistics.median(values) * 1000,
            "p95_ms": statistics.quantiles(values, n=20)[18] * 1000,
        }
    return out


# ------------------------------------------------------------------------------ report
GOALS = "goals (issue 20): reconcile task of 10,000 on the SQL store < 5 s, record write < 5 ms, page < 2 s"


def table(blocks: list[Block], writes: dict[str, Any]) -> str:
    lines = [
        "| deployments | store | reconcile task (Airflow) | execute() | trigger -> success "
        "| Flink calls per run | store reads per run (scans / rows) | rows written | Flink page "
        "| Flink calls per view |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for b in blocks:
        f = b.figures()
        reads = b.run_db["records" if b.store == "sql" else "variable"]
        written = sum(v["rows_written"] for v in b.run_db.values())
        lines.append(
            f"| {b.deployments:,} | {'SQL' if b.store == 'sql' else 'Variables'} "
            f"| {f['task_seconds_median']:.2f} s | {f['execute_seconds_median']:.2f} s "
            f"| {statistics.median(f['trigger_to_success_seconds']):.2f} s "
            f"| {statistics.median(f['flink_requests_per_run']):.0f} "
            f"| {reads['scans']:g} / {reads['rows_read']:g} | {written:g} "
            f"| {f['page_seconds_median']:.2f} s | {b.page_flink_requests:,} |"
        )
    lines.append("")
    for size in sorted({b.deployments for b in blocks}):
        by = {b.store: b.figures() for b in blocks if b.deployments == size}
        if set(by) == set(STORES):
            v, s = by["variables"], by["sql"]
            lines.append(
                f"{size:,} deployments, Variables / SQL: reconcile task "
                f"{v['task_seconds_median'] / s['task_seconds_median']:.1f}x, execute() "
                f"{v['execute_seconds_median'] / s['execute_seconds_median']:.1f}x, Flink page "
                f"{v['page_seconds_median'] / s['page_seconds_median']:.2f}x"
            )
    sql_write, rest_write = writes["sql"], writes["variables"]
    lines += [
        "",
        f"| record write ({writes['record_bytes']:,}-byte record, n={writes['writes']}) | median | p95 |",
        "|---|---|---|",
        f"| `SqlRecordStore.write` (compare-and-set, lease) | {sql_write['median_ms']:.2f} ms "
        f"| {sql_write['p95_ms']:.2f} ms |",
        f"| `PATCH /api/v2/variables/{{key}}` (baseline) | {rest_write['median_ms']:.2f} ms "
        f"| {rest_write['p95_ms']:.2f} ms |",
        f"SQL write / REST Variable write: {sql_write['median_ms'] / rest_write['median_ms']:.2f}x",
        "",
        GOALS,
    ]
    for b in blocks:
        if b.store == "sql":
            f = b.figures()
            task, page = f["task_seconds_median"], f["page_seconds_median"]
            lines.append(
                f"  {b.deployments:,} on SQL: task {task:.2f} s ({'met' if task < 5 else 'MISSED'}), "
                f"page {page:.2f} s ({'met' if page < 2 else 'MISSED'})"
            )
    lines.append(
        f"  record write median {sql_write['median_ms']:.2f} ms, p95 {sql_write['p95_ms']:.2f} ms "
        f"({'met' if sql_write['p95_ms'] < 5 else 'MISSED'} at p95)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="deployments on the one recorded cluster")
    parser.add_argument("--runs", type=int, default=3, help="measured reconcile runs per size and store")
    parser.add_argument("--page-gets", type=int, default=5)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="200 deployments, 2 runs: a smoke run")
    parser.add_argument("--json", type=Path, help="write the figures there (JSON)")
    parser.add_argument(
        "--browser", action="store_true", help="also time the page opened in Airflow's UI (headless Chromium)"
    )
    args = parser.parse_args(argv)
    sizes = [200] if args.quick else [int(n) for n in args.sizes.split(",") if n]
    runs = 2 if args.quick else args.runs
    # A SIGTERM ends the run through the finally clauses below: every process it started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    blocks: list[Block] = []
    scenarios: list[Scenario] = []
    with tempfile.TemporaryDirectory(prefix="bench-records-scale-") as tmp:
        work = Path(tmp)
        began = time.monotonic()
        postgres, stack = start(work)
        db = create_engine(postgres.url)
        print(
            f"PostgreSQL + api-server, scheduler, dag-processor, triggerer up in {time.monotonic() - began:.1f} s"
        )
        try:
            sql = SqlRecordStore(postgres.url, schema=RECORDS_SCHEMA, name=RECORDS_CONN)
            for index, size in enumerate(sizes):
                scenario = build(work, 1, size)
                scenarios.append(scenario)
                server = scenario.servers[0]
                server.RequestHandlerClass = RecordedFlink
                point_cluster(stack, server.server_address[1])
                set_variable(stack, "flink_deployments_folder", str(scenario.folder))
                records = scenario_records(scenario)
                seeding = time.monotonic()
                seed_sql(sql, records)
                seed_variables(stack, records, work)
                print(
                    f"{size:,} deployments: records seeded in both stores in {time.monotonic() - seeding:.1f} s"
                )
                # Alternate the order between sizes: one restart fewer, and neither store always first.
                for store in STORES if index % 2 == 0 else tuple(reversed(STORES)):
                    block = measure(stack, db, store, scenario, runs, args.page_gets, args.browser)
                    blocks.append(block)
                    f = block.figures()
                    print(
                        f"  {store:<9} reconcile task {f['task_seconds_median']:.2f} s "
                        f"(execute {f['execute_seconds_median']:.2f} s), page {f['page_seconds_median']:.2f} s"
                        + (
                            ", in the browser: opened from the UI {from_the_ui:.2f} s, loaded anew {rows:.2f} s "
                            "(Airflow's home page {airflow_home:.2f} s)".format(**f["browser_seconds_median"])
                            if f["browser_seconds_median"] is not None
                            else ""
                        ),
                        flush=True,
                    )
                server.shutdown()
            writes = write_latency(stack, postgres, scenarios[0].specs[0], args.writes)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM does not cut the cleanup short
            for scenario in scenarios:
                for server in scenario.servers:
                    server.shutdown()
                    server.server_close()
            db.dispose()
            stack.stop()
            postgres.stop()
            home = Path(os.environ["AIRFLOW_HOME"])
            if home.name.startswith("bench-records-airflow-"):  # the one made at import
                shutil.rmtree(home, ignore_errors=True)
    print()
    print(table(blocks, writes))
    figures = {
        "benchmark": "records_scale",
        "measured": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(["python", "-m", "benchmarks.records_scale", *(argv or sys.argv[1:])]),
        "cpus": os.cpu_count(),
        "runs": runs,
        "page_gets": args.page_gets,
        "blocks": [b.figures() for b in blocks],
        "record_write": writes,
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nfigures written to {args.json}")
    else:
        print("\n" + json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
