"""Airflow as teams run it, against the real local Flink: PostgreSQL (Debian's package) as the
metadata DB, and the api-server, scheduler (LocalExecutor, parallelism 4), dag-processor and
triggerer as separate processes (``harness.airflow_stack``), started here and stopped at the end.

Everything a user would do goes through the public REST API: the connection, the Variables and
the reconcile pool are stored through it, DAGs are triggered through it with a conf, task states
and logs are read from it. Faults are real: the triggerer and a task's worker are SIGKILLed.
Flink is the judge of what happened: which jobs run, with which configuration, from which run.

Runs on the first Flink version under test only (the stack takes ~20 s to start; what it adds
over ``dag.test()`` is Airflow's side, not Flink's).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import requests
import yaml

from airflow_provider_flink.client import calls
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.deployments.stores import SqlRecordStore
from harness.airflow_stack import AirflowStack, kill_tree, parent_of
from harness.postgres import LocalPostgres
from harness.tls import TestCA
from tests.integration.conftest import VERSIONS, Cluster, wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WAIT_DAG = "test_real_wait"
COUNTER_JOB = "flinkprovider.testjobs.CounterJob"
DEPLOYMENT = "real-counter"
LEASE_SECONDS = 6  # short, so that a frozen worker loses its lease within the test


CLIENT = TestCA().issue("airflow-worker")
SECRETS = {
    "token": "tok-" + secrets.token_urlsafe(16),
    "ui password": "ui-" + secrets.token_urlsafe(16),
    "cli token": "cli-" + secrets.token_urlsafe(16),
    "client key": "".join(CLIENT.key_pem.strip().splitlines()[1:-1])[:40],
}


class StatsdListener:
    """A real StatsD server, as far as the test needs one: every datagram on a loopback UDP port."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65535)
            except OSError:
                continue
            self.lines += data.decode(errors="replace").splitlines()

    def named(self, prefix: str) -> list[str]:
        return [line for line in list(self.lines) if line.startswith(prefix)]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@dataclass
class Real:
    """The running stack, the cluster it points at, the pause gates of the deploy task and of the
    reconcile's savepoints, and the record store (PostgreSQL, schema ``flink_records``)."""

    stack: AirflowStack
    flink: Cluster
    gate: Path
    specs: Path
    statsd: StatsdListener
    lease_gate: Path
    records: SqlRecordStore

    def jobs_of_run(self, run_id: str) -> list[str]:
        return [jid for jid, origin in self.origins().items() if origin.get("airflow.run-id") == run_id]

    def jobs_of_deployment(self, name: str) -> list[str]:
        return [jid for jid, origin in self.origins().items() if origin.get("airflow.deployment") == name]

    def origins(self) -> dict[str, dict[str, str]]:
        """Every job on the cluster with the Airflow origin in its configuration (the Flink UI's)."""
        return {
            job.jid: self.flink_json(f"/jobs/{job.jid}/config")["execution-config"]["user-config"]
            for job in self.flink.client.call(calls.jobs_overview()).jobs
        }

    def flink_json(self, path: str) -> Any:
        """Flink's own answer, read without the provider's models."""
        answer = requests.get(f"{self.flink.flink.rest_url}{path}", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def live_jobs(self, deployment: str) -> list[str]:
        live = {
            j.jid
            for j in self.flink.client.call(calls.jobs_overview()).jobs
            if not j.state.is_globally_terminal
        }
        return [jid for jid in self.jobs_of_deployment(deployment) if jid in live]

    def next_job(self, old: str, since: float) -> tuple[str, float]:
        """The deployment's job that replaces ``old``, once all its vertices run, and the seconds
        from ``since`` (``time.monotonic()``) to then."""
        found = wait_for(
            "the next job", lambda: [j for j in self.live_jobs(DEPLOYMENT) if j != old] or None, 120
        )
        self.flink.wait_all_running(found[0])
        return found[0], time.monotonic() - since

    def trigger_logs(self) -> str:
        """What the triggerer and the triggers it runs logged (asset watchers log there)."""
        return self.stack.log_tail("triggerer", 200_000)

    def explain(self) -> str:
        return "\n".join(f"--- {c}:\n{self.stack.log_tail(c, 1500)}" for c in ("scheduler", "triggerer"))


@pytest.fixture(scope="module")
def real(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Real]:
    if cluster.version != VERSIONS[0]:
        pytest.skip(f"the real-components suite runs on Flink {VERSIONS[0]} only")
    root = tmp_path_factory.mktemp("real-airflow")
    dags = root / "dags"
    dags.mkdir()
    for source in [*(ROOT / "dags").glob("*.py"), *(ROOT / "tests/integration/dags").glob("*.py")]:
        (dags / source.name).symlink_to(source)
    gate, lease_gate = root / "gate", root / "lease-gate"
    for opened in (gate, lease_gate):
        opened.mkdir()
        (opened / "resume").touch()  # open: a task only pauses in the test that closes its gate
    specs = root / "deployments"
    specs.mkdir()
    spec = {
        "name": DEPLOYMENT,
        "artifact": {"jar": str(cluster.jar)},
        "entry_class": COUNTER_JOB,
        "args": ["--rate", "13"],
        "health_timeout_seconds": 60,
    }
    (specs / f"{DEPLOYMENT}.yaml").write_text(yaml.safe_dump(spec))
    statsd = StatsdListener()
    postgres = LocalPostgres().start()
    stack = AirflowStack(
        root / "home",
        dags,
        postgres.url,
        env_extra={
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
            "FLINK_PROVIDER_PAUSE_AT": f"deploy-task:requested@{gate},savepoint:id-recorded@{lease_gate}",
            # Records in the SQL store, in a schema of the server that holds Airflow's metadata DB.
            "AIRFLOW__FLINK__RECORD_STORE_CONN_ID": "flink_records",
            "AIRFLOW__FLINK__RECORD_LEASE_SECONDS": str(LEASE_SECONDS),
            # The job watcher's samples for the page's charts, often enough for a test to see.
            "AIRFLOW__FLINK__SAMPLE_INTERVAL_SECONDS": "2",
            "AIRFLOW__METRICS__STATSD_ON": "True",
            "AIRFLOW__METRICS__STATSD_HOST": "127.0.0.1",
            "AIRFLOW__METRICS__STATSD_PORT": str(statsd.port),
            "AIRFLOW__METRICS__STATSD_PREFIX": "airflow",
        },
    )
    try:
        stack.start()
        host, port = cluster.flink.rest_url.removeprefix("http://").split(":")
        # Stored as users store them: through the REST API, into the metadata DB (PostgreSQL); with
        # every kind of secret the connection can hold (Flink ignores them on plain http), so the
        # leak test below has something to look for.
        stack.api(
            "POST", "/connections",
            json={
                "connection_id": "flink_default", "conn_type": "flink", "host": host, "port": int(port),
                "password": SECRETS["token"],
                "extra": json.dumps({
                    "web_ui_url": f"http://viewer:{SECRETS['ui password']}@{host}:{port}",
                    "client_cert": CLIENT.cert_pem,
                    "client_private_key": CLIENT.key_pem,
                }),
            },
        )  # fmt: skip
        stack.api(
            "POST", "/connections",
            json={
                "connection_id": "flink_records", "conn_type": "postgres", "host": "127.0.0.1",
                "port": postgres.port, "login": postgres.user, "schema": postgres.database,
                "extra": json.dumps({"table_schema": "flink_records"}),
            },
        )  # fmt: skip
        stack.api("POST", "/variables", json={"key": "flink_example_jar", "value": str(cluster.jar)})
        stack.api("POST", "/variables", json={"key": "flink_deployments_folder", "value": str(specs)})
        stack.api("POST", "/pools", json={"name": "flink_reconcile", "slots": 1, "include_deferred": False})
        for dag_id in (WAIT_DAG, "flink_deploy_manual", "test_reconcile_unpooled"):
            stack.wait_dag(dag_id)
        records = SqlRecordStore(postgres.url, schema="flink_records", name="flink_records")
        yield Real(stack, cluster, gate, specs, statsd, lease_gate, records)
    finally:
        stack.stop(grace=5)  # the test is over: no need to wait for a graceful shutdown
        postgres.stop()
        statsd.close()
        cluster.cancel_all()


def _utc(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_a_run_triggered_through_the_api_defers_and_survives_a_triggerer_crash(real: Real) -> None:
    stack = real.stack
    run = stack.trigger(WAIT_DAG, {"args": ["--rate", "20", "--checkpoint-interval-ms", "1500"]})
    seen: list[str] = []
    cancelled_at = 0.0
    for state in stack.watch_states(WAIT_DAG, run, "cancelled", timeout=240):
        seen.append(state)
        if state == "deferred" and not cancelled_at:
            # The triggerer dies holding the wait; a new one starts; only then does the job end.
            stack.kill("triggerer")
            stack.restart("triggerer")
            [job_id] = real.jobs_of_run(run)
            assert real.flink.job(job_id).state is JobState.RUNNING
            real.flink.client.call(calls.cancel_job(job_id))
            cancelled_at = time.time()
    assert stack.wait_run(WAIT_DAG, run) == "success", real.explain()
    assert cancelled_at, f"the sensor never deferred: states {seen}"
    # Ended by the new triggerer itself (TaskSuccessEvent): deferred, then success, with no worker
    # started to resume the task just to return the state it saw; try 1 below: not retried.
    assert seen[-1] == "success", seen
    assert not {"scheduled", "queued"} & set(seen[seen.index("deferred") + 1 : -1]), seen
    # Stored as a worker stores a value (the triggerer's own push of TaskSuccessEvent XComs encodes
    # them once more: a downstream task read '"<job id>"'; the deploy's was pushed by its worker).
    entries = f"/dags/{WAIT_DAG}/dagRuns/{run}/taskInstances/%s/xcomEntries/return_value"
    [deployed] = real.jobs_of_run(run)
    assert stack.api("GET", entries % "deploy")["value"] == deployed
    assert stack.api("GET", entries % "cancelled")["value"] == "CANCELED"
    tis = stack.task_instances(WAIT_DAG, run)
    assert {t: (ti["state"], ti["try_number"]) for t, ti in tis.items()} == {
        "deploy": ("success", 1),
        "cancelled": ("success", 1),  # resumed, not retried
    }
    # Nothing duplicated: one job for this run, the deploy task's, started with the conf's arguments.
    [job_id] = real.jobs_of_run(run)
    assert real.flink.job(job_id).state is JobState.CANCELED
    assert real.flink_json(f"/jobs/{job_id}/checkpoints/config")["interval"] == 1500
    assert _utc(tis["cancelled"]["end_date"]) > cancelled_at  # the new triggerer finished the wait
    log = stack.task_log(WAIT_DAG, run, "cancelled")
    assert f"Job {job_id} is CANCELED" in log, log[-2000:]


def test_a_worker_killed_mid_deploy_is_retried_and_the_retry_adopts_the_job(real: Real) -> None:
    stack, gate = real.stack, real.gate
    (gate / "resume").unlink()
    (gate / "paused").unlink(missing_ok=True)
    try:
        run = stack.trigger(WAIT_DAG, {"args": ["--rate", "20"]})
        paused = wait_for("the deploy task paused after its request", lambda: _read(gate / "paused"), 120)
        wait_for("the job submitted", lambda: real.jobs_of_run(run) or None, 60)
        # The worker dies mid-deploy: the task process and the supervisor above it, no cleanup.
        kill_tree(parent_of(int(paused)), signal.SIGKILL)
    finally:
        (gate / "resume").touch()
    wait_for("the deploy's retry", lambda: _state(stack, run, "deploy") in ("success", "failed") or None, 180)
    tis = stack.task_instances(WAIT_DAG, run)
    assert (tis["deploy"]["state"], tis["deploy"]["try_number"]) == ("success", 2), real.explain()
    [job_id] = real.jobs_of_run(run)  # the retry adopted the job; it did not submit a second one
    assert real.flink.job(job_id).state is JobState.RUNNING
    returned = stack.api(
        "GET", f"/dags/{WAIT_DAG}/dagRuns/{run}/taskInstances/deploy/xcomEntries/return_value"
    )
    assert returned["value"] == job_id
    log = stack.task_log(WAIT_DAG, run, "deploy", try_number=2)
    assert f"Job {job_id} is already on the cluster (RUNNING): adopting it, not submitting again" in log
    real.flink.client.call(calls.cancel_job(job_id))  # ends the run's wait
    assert stack.wait_run(WAIT_DAG, run) == "success", real.explain()


def test_two_deploy_runs_and_a_reconcile_at_once_start_exactly_their_jobs(real: Real) -> None:
    stack = real.stack
    before = set(real.origins())
    deploys = [
        stack.trigger("flink_deploy_manual", {"args": ["--rate", rate], "parallelism": 1})
        for rate in ("11", "12")
    ]
    stack.wait_dag("flink_reconcile")  # unpaused now: its schedule may add a run of its own
    reconciles = [stack.trigger("flink_reconcile")]
    for run in deploys:
        assert stack.wait_run("flink_deploy_manual", run) == "success", real.explain()
    for run in _runs(stack, "flink_reconcile"):
        assert stack.wait_run("flink_reconcile", run) == "success", real.explain()
    assert reconciles[0] in _runs(stack, "flink_reconcile")
    for run in deploys:
        [job_id] = real.jobs_of_run(run)
        assert real.flink.job(job_id).state is JobState.RUNNING
    [declared] = real.jobs_of_deployment(DEPLOYMENT)  # one job, whatever the number of reconcile runs
    assert real.flink.job(declared).state is JobState.RUNNING
    assert len(set(real.origins()) - before) == 3
    # A complete run's totals reached a real StatsD listener from the worker (statsd_on).
    wait_for(
        "the reconcile's totals",
        lambda: real.statsd.named("airflow.flink.reconcile.deployments:") or None,
        30,
    )
    assert set(real.statsd.named("airflow.flink.reconcile.deployments:")) == {
        "airflow.flink.reconcile.deployments:1|g"
    }
    assert real.statsd.named("airflow.flink.reconcile.duration:")
    assert "airflow.flink.action.deploy.ok:1|c" in real.statsd.lines
    # They ran at once: the two deploy tasks overlapped in time.
    spans = [_span(stack, "flink_deploy_manual", run, "deploy") for run in deploys]
    assert max(s for s, _ in spans) < min(e for _, e in spans), spans


def _active_runs(stack: AirflowStack, dag_id: str) -> list[str]:
    runs = stack.api("GET", f"/dags/{dag_id}/dagRuns", params={"state": ["queued", "running"]})["dag_runs"]
    return [r["dag_run_id"] for r in runs]


def _runs(stack: AirflowStack, dag_id: str) -> list[str]:
    return [r["dag_run_id"] for r in stack.api("GET", f"/dags/{dag_id}/dagRuns")["dag_runs"]]


def _span(stack: AirflowStack, dag_id: str, run: str, task_id: str) -> tuple[float, float]:
    ti: dict[str, Any] = stack.task_instances(dag_id, run)[task_id]
    return _utc(ti["start_date"]), _utc(ti["end_date"])


def _state(stack: AirflowStack, run: str, task_id: str) -> str | None:
    return stack.task_instances(WAIT_DAG, run).get(task_id, {}).get("state")


def _read(path: Path) -> str | None:
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    return text or None


def test_a_spec_edited_on_disk_is_rolled_out_by_its_asset_event_with_state(real: Real) -> None:
    stack, specs = real.stack, real.specs
    stack.wait_dag("flink_reconcile")
    wait_for("the watcher on the deployments folder", lambda: f"Watching {specs}" in real.trigger_logs(), 90)
    [old] = wait_for("the declared job", lambda: real.live_jobs(DEPLOYMENT) or None, 120)
    wait_for("a completed checkpoint", lambda: real.flink.counter(old) > 0 or None, 60)
    # Only the runs already over: one still queued (the schedule's first run, queued behind the
    # watcher's) runs after the edit and may be the one that marks the new job stable (seen once
    # the job watcher looked every second: the "became healthy" run then had nothing to do).
    runs_before = {
        run
        for run in _runs(stack, "flink_reconcile")
        if stack.run_state("flink_reconcile", run) in ("success", "failed")
    }
    spec = yaml.safe_load((specs / f"{DEPLOYMENT}.yaml").read_text())
    counted = real.flink.counter(old)
    edited_at = time.monotonic()
    (specs / f"{DEPLOYMENT}.yaml").write_text(yaml.safe_dump({**spec, "parallelism": 2}))
    new, seconds = real.next_job(old, edited_at)
    print(f"\nspec edited -> new job RUNNING in {seconds:.1f} s")
    run = _run_that_logged(stack, runs_before, f"Started by changes to: {DEPLOYMENT}")
    assert run.startswith("asset_triggered__"), run  # the event, not the schedule
    assert real.flink.job(old).state is JobState.FINISHED  # stopped with a savepoint
    restored = real.flink.client.call(calls.job_checkpoints(new)).latest.restored
    assert restored is not None
    assert restored.is_savepoint
    assert {v.parallelism for v in real.flink.job(new).vertices} == {2}
    wait_for("the counter going on", lambda: real.flink.counter(new) > counted or None, 60)
    # A short run: the upgrade did not wait for the new job's health; its "became healthy" event
    # started the run that made the new spec the rollback target.
    _run_that_logged(stack, runs_before, f"mark-stable {DEPLOYMENT} job {new}")
    print(f"spec edited -> new spec marked stable in {time.monotonic() - edited_at:.1f} s")
    # The upgrade's metrics, from the real worker to a real StatsD listener.
    assert "airflow.flink.action.upgrade.ok:1|c" in real.statsd.lines
    [upgrade_ms] = [
        float(line.split(":")[1].split("|")[0])
        for line in real.statsd.named("airflow.flink.action.upgrade.duration:")
    ]
    assert 100 < upgrade_ms < seconds * 1000
    assert seconds < 60


def test_a_job_cancelled_on_flink_is_started_again_by_the_event_and_alerted(real: Real) -> None:
    stack = real.stack
    for dag_id in ("flink_reconcile", "flink_job_alerts"):
        stack.wait_dag(dag_id)
    wait_for(
        "the job watcher",
        lambda: "Watching the declared deployments' jobs on flink_default" in real.trigger_logs(),
        90,
    )
    [old] = wait_for("the declared job", lambda: real.live_jobs(DEPLOYMENT) or None, 120)
    real.flink.wait_all_running(old)
    wait_for("a completed checkpoint", lambda: real.flink.counter(old) > 0 or None, 60)
    # No reconcile run of the earlier tests' events left: one started meanwhile would start the
    # job again before the watcher's next look (every second, then 2 s to confirm) could report it CANCELED, and the alert
    # this test waits for would never come (seen once: started again in 1.7 s, no alert).
    wait_for("the reconcile runs to settle", lambda: not _active_runs(stack, "flink_reconcile"), 120)
    runs_before = set(_runs(stack, "flink_reconcile"))
    alerts_before = set(_runs(stack, "flink_job_alerts"))
    counted = real.flink.counter(old)
    cancelled_at = time.monotonic()
    real.flink.client.call(calls.cancel_job(old))  # by hand, outside the provider
    new, seconds = real.next_job(old, cancelled_at)
    print(f"\njob cancelled -> started again RUNNING in {seconds:.1f} s")
    run = _run_that_logged(stack, runs_before, f"Started by changes to: {DEPLOYMENT}")
    assert run.startswith("asset_triggered__"), run  # the event, not the 10-minute schedule
    restored = real.flink.client.call(calls.job_checkpoints(new)).latest.restored
    assert restored is not None  # from its latest retained checkpoint
    wait_for("the counter going on", lambda: real.flink.counter(new) >= counted or None, 60)

    # The alert DAG got the same event: one line naming the job, the states and the Flink link
    # ("RUNNING -> CANCELED", or "(new) -> CANCELED" when the job ended before a look saw it run).
    # (The new job becoming healthy is an event too, with no alert line: a second alert run.)
    def alerted() -> list[str] | None:
        for alert_run in sorted(set(_runs(stack, "flink_job_alerts")) - alerts_before):
            assert stack.wait_run("flink_job_alerts", alert_run) == "success", real.explain()
            lines: list[str] = stack.api(
                "GET",
                f"/dags/flink_job_alerts/dagRuns/{alert_run}/taskInstances/alert/xcomEntries/return_value",
            )["value"]
            if any(f"job {old} " in line for line in lines):
                return lines
        return None

    lines = wait_for("the alert run naming the job", alerted, 60)
    assert any(
        f"job {old} " in line and "-> CANCELED" in line and f"/#/job/running/{old}/overview" in line
        for line in lines
    ), lines
    assert seconds < 60


def test_a_reconcile_frozen_past_its_lease_cannot_write_and_the_run_holding_it_finishes(real: Real) -> None:
    """I8 on the route no pool covers: a second reconcile DAG. Run A (the example DAG, asked for a
    savepoint) is frozen by SIGSTOP, renewals and all, after recording its savepoint's trigger id;
    its lease runs out; run B (another DAG) takes the lease and finishes; A, thawed, is refused at
    its next write: it yields, green, and the record has nothing of A after B took over."""
    stack, gate = real.stack, real.lease_gate
    stack.wait_dag("flink_reconcile")  # unpaused
    if not real.live_jobs(DEPLOYMENT):  # run alone: deployed by a run of its own
        deployed = stack.trigger("test_reconcile_unpooled", {})
        assert stack.wait_run("test_reconcile_unpooled", deployed, timeout=240) == "success", stack.task_log(
            "test_reconcile_unpooled", deployed, "reconcile"
        )[-3000:]
    [job] = wait_for("the declared job", lambda: real.live_jobs(DEPLOYMENT) or None, 120)
    real.flink.wait_all_running(job)
    (gate / "resume").unlink()
    (gate / "paused").unlink(missing_ok=True)
    frozen = 0
    try:
        run_a = stack.trigger("flink_reconcile", {"savepoint_now": DEPLOYMENT})
        try:
            paused = int(
                wait_for("run A at its savepoint's recorded id", lambda: _read(gate / "paused"), 180)
            )
        except AssertionError as err:
            state = stack.run_state("flink_reconcile", run_a)
            log = stack.task_log("flink_reconcile", run_a, "reconcile") if state != "queued" else ""
            raise AssertionError(f"{err}: run A is {state}\n{log[-4000:]}") from None
        os.kill(paused, signal.SIGSTOP)  # a frozen worker: no thread of it runs, no renewal
        frozen = paused
        (gate / "resume").touch()  # it goes on when it is thawed
        before = real.records.get("flink_default", DEPLOYMENT)
        assert before is not None
        assert before.savepointing is not None  # A's intent, under A's lease
        time.sleep(LEASE_SECONDS + 2)
        run_b = stack.trigger("test_reconcile_unpooled", {"savepoint_now": DEPLOYMENT})
        assert stack.wait_run("test_reconcile_unpooled", run_b, timeout=240) == "success", real.explain()
    finally:
        (gate / "resume").touch()
        if frozen:
            os.kill(frozen, signal.SIGCONT)
    taken_over = real.records.get("flink_default", DEPLOYMENT)
    assert taken_over is not None
    assert taken_over.savepointing is None  # B settled A's intent and took its own savepoint
    assert stack.wait_run("flink_reconcile", run_a, timeout=240) == "success", real.explain()
    done = stack.api(
        "GET", f"/dags/flink_reconcile/dagRuns/{run_a}/taskInstances/reconcile/xcomEntries/return_value"
    )["value"]["deployments"][0]["done"]
    # (Run alone, A first marks the job just deployed stable.)
    assert [(d["action"].split()[0], d["yielded"]) for d in done][-1] == ("savepoint", True), done
    assert done[-1]["detail"].startswith(
        f"this run's lease on {DEPLOYMENT} was taken over by test_reconcile_unpooled/"
    )
    after = real.records.get("flink_default", DEPLOYMENT)
    assert after is not None
    runs = [h.run or "" for h in after.history]
    took_over = next(i for i, r in enumerate(runs) if r.startswith(f"test_reconcile_unpooled/{run_b}/"))
    assert not [r for r in runs[took_over:] if f"/{run_a}/" in r], runs  # nothing of A's after B's
    assert real.live_jobs(DEPLOYMENT) == [job]  # one copy, untouched


def _run_that_logged(stack: AirflowStack, before: set[str], text: str, timeout: float = 120) -> str:
    """The new reconcile run whose task log has ``text`` (every new run must succeed)."""

    def probe() -> str | None:
        for run in sorted(set(_runs(stack, "flink_reconcile")) - before):
            if stack.run_state("flink_reconcile", run) in ("success", "failed"):
                assert stack.wait_run("flink_reconcile", run) == "success", stack.task_instances(
                    "flink_reconcile", run
                )
                if text in stack.task_log("flink_reconcile", run, "reconcile"):
                    return run
        return None

    return wait_for(f"a reconcile run that logged {text!r}", probe, timeout)


def test_the_flink_page_shows_desired_against_actual_and_acts_only_for_those_allowed(real: Real) -> None:
    stack = real.stack
    stack.wait_dag("flink_reconcile")
    [live] = wait_for("the declared job", lambda: real.live_jobs(DEPLOYMENT) or None, 120)
    real.flink.wait_all_running(live)
    page = f"{stack.url}/flink"
    admin = {"Authorization": f"Bearer {stack.token('admin')}"}
    viewer = {"Authorization": f"Bearer {stack.token('viewer')}"}
    runs_before = set(_runs(stack, "flink_reconcile"))

    # Without a login: nothing shown, nothing started.
    for method, path in (
        ("GET", "/"),
        ("GET", "/api/deployments"),
        ("POST", f"/api/deployments/{DEPLOYMENT}/reconcile"),
    ):
        answer = httpx.request(method, page + path, headers={"X-Requested-With": "t"}, timeout=30)
        assert answer.status_code in (401, 403), (path, answer.status_code, answer.text[:300])

    # A viewer sees, and may not act.
    answer = httpx.get(f"{page}/api/deployments", headers=viewer, timeout=30)
    assert answer.status_code == 200, answer.text[:500]
    [shown] = [r for r in answer.json()["deployments"] if r["name"] == DEPLOYMENT]
    counts = real.flink_json("/jobs/overview")["jobs"]
    [tasks] = [j["tasks"] for j in counts if j["jid"] == live]
    assert (shown["tasks_running"], shown["tasks_total"]) == (tasks["running"], tasks["total"])  # Flink's own
    assert shown["job_id"] == live
    assert shown["job_state"] == "RUNNING"
    # parallelism 2 since the spec edit: 2 vertices x 2 (seen once at 2 under a loaded machine: the
    # record's history says which run started the job at which spec)
    record = real.records.get("flink_default", DEPLOYMENT)
    assert shown["tasks_total"] == 4, [
        (h.kind, h.ok, h.detail, h.run) for h in (record.history if record is not None else [])
    ]
    assert shown["flink_url"].endswith(f"/#/job/running/{live}/overview")
    assert shown["attention"] is None
    forbidden = httpx.post(
        f"{page}/api/deployments/{DEPLOYMENT}/reconcile",
        headers={**viewer, "X-Requested-With": "t"},
        timeout=30,
    )
    assert forbidden.status_code == 403, forbidden.text[:300]
    # The page itself, as the browser gets it.
    html_page = httpx.get(f"{page}/?cluster=flink_default", headers=admin, timeout=30)
    assert html_page.status_code == 200
    assert f'<tr class="" data-deployment="{DEPLOYMENT}">' in html_page.text
    assert f"/#/job/running/{live}/overview" in html_page.text
    # An action without the page's header is refused; with it, a reconcile run for this deployment.
    bare = httpx.post(f"{page}/api/deployments/{DEPLOYMENT}/reconcile", headers=admin, timeout=30)
    assert bare.status_code == 400
    # Nothing started by hand (the job watcher's events may start runs of their own meanwhile: the
    # job restarted by the test before becoming healthy is one).
    started = set(_runs(stack, "flink_reconcile")) - runs_before
    assert {run for run in started if not run.startswith("asset_triggered__")} == set()
    started = httpx.post(
        f"{page}/api/deployments/{DEPLOYMENT}/reconcile",
        headers={**admin, "X-Requested-With": "t"},
        timeout=30,
    )
    assert started.status_code == 200, started.text[:500]
    run = started.json()["dag_run_id"]
    assert started.json()["conf"] == {"deployments": DEPLOYMENT}
    assert stack.wait_run("flink_reconcile", run) == "success", real.explain()
    assert "cluster flink_default: 1 deployment(s), 1 with nothing to do" in stack.task_log(
        "flink_reconcile", run, "reconcile"
    )
    assert real.live_jobs(DEPLOYMENT) == [live]  # nothing to do: the job it found runs as declared
    unknown = httpx.post(
        f"{page}/api/deployments/nope/reconcile", headers={**admin, "X-Requested-With": "t"}, timeout=30
    )
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "no declared deployment 'nope'")


CHROMIUM = "/usr/bin/chromium"  # Debian's package (scripts/lib.sh: ensure_chromium); never a download
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no network but loopback here: nothing to call home to
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"  # gitignored; CI keeps it


@contextmanager
def chromium(cookies: list[dict[str, Any]], width: int = 1500) -> Iterator[Any]:
    """A headless Chromium page (Playwright from PyPI driving Debian's browser) with ``cookies``;
    the browser is closed at the end, also when the test fails."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: ./scripts/test installs it (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": 800})
            context.add_cookies(cookies)  # type: ignore[arg-type]
            context.set_default_timeout(30_000)
            yield context.new_page()
        finally:
            browser.close()


def _screenshot(page: Any, folder: Path, name: str) -> Path:
    """A full-page screenshot under the test's tmp path, copied to test-artifacts/ for CI."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), full_page=True)
    ARTIFACTS.mkdir(exist_ok=True)
    kept = shutil.copy(path, ARTIFACTS / name)
    print(f"\nscreenshot: {path} (kept as {kept})")
    return path


def test_the_flink_page_in_a_real_browser_shows_the_deployment_and_a_savepoint_started_from_it(
    real: Real, tmp_path: Path
) -> None:
    stack = real.stack
    stack.wait_dag("flink_reconcile")
    [live] = wait_for("the declared job", lambda: real.live_jobs(DEPLOYMENT) or None, 120)
    real.flink.wait_all_running(live)
    wait_for("a completed checkpoint", lambda: real.flink.counter(live) > 0 or None, 60)
    shots = tmp_path / "screenshots"
    # Airflow's UI keeps its JWT in the "_token" cookie; the page's auth reads it as the UI does.
    login = [{"name": "_token", "value": stack.token("admin"), "url": stack.url}]
    row = f'tr[data-deployment="{DEPLOYMENT}"]'

    with chromium([]) as anonymous:  # no cookie: nothing shown
        answer = anonymous.goto(f"{stack.url}/flink/")
        assert answer is not None
        assert answer.status in (401, 403), answer.status
        assert DEPLOYMENT not in anonymous.content()

    started = time.monotonic()
    with chromium(login) as page:
        page.goto(f"{stack.url}/flink/")
        assert page.locator(f"{row} td.state").inner_text() == "RUNNING"
        job_link = page.locator(f"{row} a[title='{live}']")
        assert job_link.get_attribute("href", timeout=5000).endswith(f"/#/job/running/{live}/overview")
        assert re.fullmatch(r"\d+ s ago", page.locator(f"{row} td.checkpoint").inner_text())
        before_path = page.locator(f"{row} td.savepoint").get_attribute("title")
        # Only what applies is offered: a running, not suspended deployment can be suspended.
        buttons = page.locator(f"{row} button").all_inner_texts()
        assert buttons == ["savepoint now", "suspend", "reconcile now"], buttons
        _screenshot(page, shots, "flink-page-before.png")
        # Airflow 3.1 frames this page: it takes the UI's colour mode from its "theme" setting.
        background = "getComputedStyle(document.body).backgroundColor"
        assert page.evaluate(background) == "rgb(255, 255, 255)"
        page.evaluate("localStorage.setItem('theme', 'dark')")
        page.reload()
        assert page.evaluate("document.documentElement.classList.contains('dark')")
        assert page.evaluate(background) == "rgb(9, 9, 11)"
        _screenshot(page, shots, "flink-page-framed-dark.png")
        page.evaluate("localStorage.setItem('theme', 'light')")
        page.reload()

        page.locator(f'{row} button[data-action="savepoint"]').click()
        message = page.locator("#message")
        page.wait_for_function("document.getElementById('message').dataset.run !== undefined")
        run = message.get_attribute("data-run")
        assert run, message.inner_text()
        assert message.inner_text() == (
            f"Started flink_reconcile run {run} for {DEPLOYMENT}: savepoint now. Open the run"
        )
        _screenshot(page, shots, "flink-page-savepoint-started.png")
        assert stack.api("GET", f"/dags/flink_reconcile/dagRuns/{run}")["conf"] == {
            "deployments": DEPLOYMENT,
            "savepoint_now": DEPLOYMENT,
        }
        assert stack.wait_run("flink_reconcile", run) == "success", real.explain()
        assert real.live_jobs(DEPLOYMENT) == [live]  # a savepoint, not a stop: the job runs on

        # Flink is the judge: the savepoint the page shows is the job's latest on Flink.
        taken = real.flink_json(f"/jobs/{live}/checkpoints")["latest"]["savepoint"]["external_path"]
        page.reload()
        assert page.locator(f"{row} td.state").inner_text() == "RUNNING"
        savepoint = page.locator(f"{row} td.savepoint")
        assert savepoint.get_attribute("title") == taken != before_path
        assert re.fullmatch(r"\d+ s ago", savepoint.inner_text()), savepoint.inner_text()
        last = page.locator(f"{row} td.action")
        assert re.fullmatch(r"savepoint ok \d+ s ago task log", last.inner_text()), last.inner_text()
        log_url = f"{stack.url}/dags/flink_reconcile/runs/{quote(run, safe='')}/tasks/reconcile?try_number=1"
        assert last.locator("a").evaluate("a => a.href") == log_url
        _screenshot(page, shots, "flink-page-after-savepoint.png")

        page.locator(f"{row} a", has_text=DEPLOYMENT).click()
        page.wait_for_url(f"{stack.url}/flink/deployments/{DEPLOYMENT}")
        assert page.locator("h1").inner_text() == f"Flink deployment {DEPLOYMENT}"
        newest = page.locator("#actions tbody tr").first
        cells = newest.locator("td").all_inner_texts()
        assert cells[1:3] == ["savepoint", "ok"], cells
        assert newest.locator("a").evaluate("a => a.href") == log_url
        first_savepoint = page.locator("#savepoints tbody tr").first
        assert first_savepoint.locator("td.path").inner_text() == taken
        _screenshot(page, shots, "flink-page-history.png")

        # The link leads to the task's log in Airflow's own UI, which shows the savepoint taken.
        newest.locator("a").click()
        page.wait_for_url(log_url)
        page.get_by_text(taken).first.wait_for()
        _screenshot(page, shots, "flink-page-task-log.png")
    print(f"\nbrowser part of the page test: {time.monotonic() - started:.1f} s")

    # What the reconcile would not act on is refused with its reason, and starts nothing.
    runs_before = set(_runs(stack, "flink_reconcile"))
    refused = httpx.post(
        f"{stack.url}/flink/api/deployments/{DEPLOYMENT}/resume",
        headers={"Authorization": f"Bearer {stack.token('admin')}", "X-Requested-With": "t"},
        timeout=30,
    )
    assert (refused.status_code, refused.json()["detail"]) == (
        409,
        f"resume not started for {DEPLOYMENT}: not suspended",
    )
    started = set(_runs(stack, "flink_reconcile")) - runs_before
    assert {run for run in started if not run.startswith("asset_triggered__")} == set()  # none by hand


def test_no_secret_of_a_connection_reaches_the_audit_log_the_api_alerts_links_or_the_page(real: Real) -> None:
    """Every place a viewer (or a log reader) can look, searched for each secret of the connections:
    one stored through the REST API with a token, a web UI URL with a password in it and a client
    key; one added with the CLI the way docs/connection.md says (the token in --conn-password)."""
    stack = real.stack
    added = stack.airflow(
        "connections", "add", "flink_cli", "--conn-type", "flink", "--conn-host", "127.0.0.1",
        "--conn-password", SECRETS["cli token"], "--conn-extra", json.dumps({"request_timeout": 10}),
    )  # fmt: skip
    assert added.returncode == 0, added.stdout + added.stderr
    # The deploys of the tests before (their link went to XCom and the task log), and a reconcile
    # through the page's route.
    deploys = [
        r["dag_run_id"]
        for r in stack.api("GET", "/dags/flink_deploy_manual/dagRuns")["dag_runs"]
        if r["state"] == "success"
    ]
    assert deploys, "the module's earlier tests deploy through flink_deploy_manual"
    run = deploys[-1]
    stack.wait_dag("flink_reconcile")
    admin = {"Authorization": f"Bearer {stack.token('admin')}", "X-Requested-With": "t"}
    page = f"{stack.url}/flink"
    started = httpx.post(f"{page}/api/deployments/{DEPLOYMENT}/reconcile", headers=admin, timeout=30)
    assert started.status_code == 200, started.text[:500]
    reconcile_run = started.json()["dag_run_id"]
    assert stack.wait_run("flink_reconcile", reconcile_run) == "success", real.explain()

    found: dict[str, str] = {
        "connection API": json.dumps(stack.api("GET", "/connections/flink_default")),
        "CLI connection API": json.dumps(stack.api("GET", "/connections/flink_cli")),
        "audit log": json.dumps(stack.api("GET", "/eventLogs", params={"limit": 1000})),
        "page JSON": httpx.get(f"{page}/api/deployments", headers=admin, timeout=30).text,
        "page": httpx.get(f"{page}/?cluster=flink_default", headers=admin, timeout=30).text,
        "deploy log": stack.task_log("flink_deploy_manual", run, "deploy"),
        "reconcile log": stack.task_log("flink_reconcile", reconcile_run, "reconcile"),
        "xcom": json.dumps(
            stack.api("GET", f"/dags/flink_deploy_manual/dagRuns/{run}/taskInstances/deploy/xcomEntries")
        ),
        "alerts and watcher logs": real.trigger_logs(),
        "scheduler log": stack.log_tail("scheduler", 500_000),
        "api-server log": stack.log_tail("api-server", 500_000),
    }
    assert "/#/job/" in found["deploy log"]  # the link is there: the searched text is the right one
    assert "/#/job/running/" in found["page JSON"]
    assert "flink_cli" in found["audit log"]  # the CLI's command is in the audit log, masked
    leaks = [
        (where, name) for where, text in found.items() for name, value in SECRETS.items() if value in text
    ]
    # Airflow shows a connection's extra as stored and hides a value by its key's name only: the
    # password a user wrote into web_ui_url (no secret field) is in its own connection's answer,
    # and nowhere the provider writes (docs/connection.md says to keep credentials out of it).
    assert leaks == [("connection API", "ui password")]


APPROVE = "real-approve"


def _new_run(stack: AirflowStack, dag_id: str, before: set[str], timeout: float = 180) -> str:
    """The first run of ``dag_id`` not in ``before``."""
    found = wait_for(
        f"a new {dag_id} run", lambda: sorted(set(_runs(stack, dag_id)) - before) or None, timeout
    )
    return str(found[0])


def _asking(real: Real, run: str) -> dict[str, Any]:
    """The approval task's human-in-the-loop request, once the task waits for the answer (Airflow
    3.3+: awaiting_input, holding no worker; 3.1 and 3.2: deferred to the triggerer)."""
    path = f"/dags/flink_approval/dagRuns/{quote(run, safe='')}/taskInstances/approve"

    def waiting() -> dict[str, Any] | None:
        state = real.stack.api("GET", path)["state"]
        if state in ("failed", "upstream_failed", "success"):
            raise AssertionError(
                f"the approval task ended {state} before anybody answered:\n{real.explain()}"
            )
        if state not in ("awaiting_input", "deferred"):
            return None
        detail: dict[str, Any] = real.stack.api("GET", f"{path}/-1/hitlDetails")
        return detail

    asked = wait_for("the approval request", waiting, 120)
    # A person reads before answering. An answer within the second the task paused races Airflow
    # (3.3.2): the scheduler re-queues the task for the answer, then handles the paused workload's
    # end ("success") and fails the re-queued task ("finished with state success, but the task
    # instance's state attribute is queued"). So answer once the scheduler has seen that end.
    seen = f"task_id='approve', run_id='{run}'"
    wait_for(
        "the scheduler to see the paused task's workload end",
        lambda: any(
            "Received executor event" in line and seen in line
            for line in real.stack.log_tail("scheduler", 400_000).splitlines()
        ),
        60,
    )
    return asked


def _answer(real: Real, run: str, chosen: list[str]) -> None:
    real.stack.api(
        "PATCH",
        f"/dags/flink_approval/dagRuns/{quote(run, safe='')}/taskInstances/approve/-1/hitlDetails",
        json={"chosen_options": chosen, "params_input": {}},
    )


def _free_slots(real: Real) -> None:
    """Cancel the jobs the module's earlier tests left running, but the declared deployment's: the
    cluster has 4 slots, and the tests below start jobs of their own."""
    live = real.flink.running_job_ids()
    for job_id, origin in real.origins().items():
        if origin.get("airflow.deployment") != DEPLOYMENT and job_id in live:
            requests.patch(f"{real.flink.flink.rest_url}/jobs/{job_id}?mode=cancel", timeout=10)


def _parallelism(real: Real, job_id: str) -> set[int]:
    return {v.parallelism for v in real.flink.job(job_id).vertices}


def test_a_stateless_upgrade_waits_for_a_persons_approval_and_a_rejection_changes_nothing(real: Real) -> None:
    """A deployment that wants its stateless upgrades approved: the reconcile records a request and
    acts on nothing; the flink_approval DAG asks through Airflow's human-in-the-loop (the request
    shows the changed field and the state given up); an approval through Airflow's REST API (as
    the Required Actions view sends it) lets the next reconcile upgrade, a rejection changes
    nothing on Flink and is recorded and shown on the page."""
    stack = real.stack
    for dag_id in ("flink_reconcile", "flink_approval"):
        stack.wait_dag(dag_id)
    spec: dict[str, Any] = {
        "name": APPROVE,
        "artifact": {"jar": str(real.flink.jar)},
        "entry_class": COUNTER_JOB,
        "args": ["--rate", "7"],
        "parallelism": 1,
        "upgrade_mode": "stateless",
        "health_timeout_seconds": 60,
        "approval": {"required_for": ["stateless-upgrade"]},
    }
    path = real.specs / f"{APPROVE}.yaml"
    admin = {"Authorization": f"Bearer {stack.token('admin')}"}
    _free_slots(real)
    try:
        path.write_text(yaml.safe_dump(spec))  # the folder's watcher starts a reconcile: a first deploy
        [first] = wait_for("the first job", lambda: real.live_jobs(APPROVE) or None, 180)
        real.flink.wait_all_running(first)

        def reconcile_now() -> None:
            """A reconcile of this deployment (the page's "reconcile now"), waited for."""
            started = httpx.post(
                f"{stack.url}/flink/api/deployments/{APPROVE}/reconcile",
                headers={**admin, "X-Requested-With": "t"},
                timeout=30,
            )
            assert started.status_code == 200, started.text
            assert stack.wait_run("flink_reconcile", started.json()["dag_run_id"]) == "success", (
                real.explain()
            )

        # Healthy is enough: the run the edit starts marks it stable first (no risk), then stops at
        # the upgrade.

        def ask(rate: str) -> tuple[str, dict[str, Any]]:
            """A new argument (a job field: a new job, here a stateless one); the parallelism stays
            1, as the other tests' jobs hold the cluster's other slots."""
            before = set(_runs(stack, "flink_approval"))
            spec["args"] = ["--rate", rate]
            path.write_text(yaml.safe_dump(spec))  # its watcher starts a reconcile run

            def asked() -> list[str] | None:
                # A run that found the job not healthy yet waits (no watcher of this deployment's
                # job starts the next one): the page's "reconcile now" looks again.
                return sorted(set(_runs(stack, "flink_approval")) - before) or reconcile_now()

            [run, *_] = wait_for("a new flink_approval run", asked, 180, interval=3)
            return run, _asking(real, run)

        run, asked = ask("8")
        [option, reject] = asked["options"]
        assert (option.startswith(f"Approve {APPROVE} ("), reject) == (True, "Reject all")
        assert asked["subject"] == f"Approve Flink actions on {APPROVE}"
        assert f"- **Action:** upgrade {APPROVE} job {first} -> " in asked["body"]
        assert (
            "- **Risk:** stateless upgrade: the new job starts without the running job's state"
            in asked["body"]
        )
        assert "- **Change:** `args: ['--rate', '7'] -> ['--rate', '8'] (declared)`" in asked["body"]
        assert (
            f"- **State:** nothing: the new job starts empty; the state of job {first} is not carried over"
            in (asked["body"])
        )
        record = real.records.get("flink_default", APPROVE)
        assert record is not None
        [pending] = record.approvals
        assert (pending.decision, pending.changes) == (
            None,
            ["args: ['--rate', '7'] -> ['--rate', '8'] (declared)"],
        )
        assert real.live_jobs(APPROVE) == [first]  # nothing done on Flink before the answer
        row = httpx.get(f"{stack.url}/flink/api/deployments/{APPROVE}", headers=admin, timeout=30).json()
        assert row["deployment"]["why_not_applied"].startswith("waiting for a person's approval ("), row

        _answer(real, run, [option])
        assert stack.wait_run("flink_approval", run) == "success", stack.task_log(
            "flink_approval", run, "approve"
        )
        record = real.records.get("flink_default", APPROVE)
        assert record is not None
        # Approved by admin; "used" once the reconcile the approval started has acted on it (it
        # can be done before this read: seen once).
        assert (record.approvals[0].decision, record.approvals[0].by) in {
            ("approved", "admin"),
            ("used", "admin"),
        }
        # The reconcile the approval started upgrades: a new job, with the new argument.
        [second] = wait_for(
            "the upgraded job", lambda: [j for j in real.live_jobs(APPROVE) if j != first] or None, 180
        )
        real.flink.wait_all_running(second)
        applied = real.records.get("flink_default", APPROVE)
        assert applied is not None
        assert applied.applied is not None
        assert applied.applied.spec_hash[:12] == second[12:24]  # the job runs the approved spec
        assert (applied.applied.spec or {})["args"] == ["--rate", "8"]
        assert real.live_jobs(APPROVE) == [second]

        run, asked = ask("9")
        _answer(real, run, ["Reject all"])
        assert stack.wait_run("flink_approval", run) == "success", stack.task_log(
            "flink_approval", run, "approve"
        )
        tasks = stack.api("GET", f"/dags/flink_approval/dagRuns/{quote(run, safe='')}/taskInstances")
        assert {t["task_id"]: t["state"] for t in tasks["task_instances"]} == {
            "approve": "success",
            "reconcile_approved": "skipped",  # nothing approved: no reconcile started
        }
        record = real.records.get("flink_default", APPROVE)
        assert record is not None
        rejected = record.approvals[-1]
        assert (rejected.decision, rejected.by, rejected.changes) == (
            "rejected", "admin", ["args: ['--rate', '8'] -> ['--rate', '9'] (declared)"],
        )  # fmt: skip
        # Nothing changed on Flink, and a reconcile now says why it does not upgrade.
        reconcile_now()
        assert real.live_jobs(APPROVE) == [second]
        row = httpx.get(f"{stack.url}/flink/api/deployments/{APPROVE}", headers=admin, timeout=30).json()
        why = row["deployment"]["why_not_applied"]
        assert why.startswith(f"upgrade {APPROVE} job {second} -> "), why
        assert " was rejected by admin " in why, why
        assert [d["text"] for d in row["deployment"]["drift"]] == [
            "args: ['--rate', '8'] -> ['--rate', '9'] (declared)"
        ]
    finally:
        path.unlink(missing_ok=True)
        for job_id in real.live_jobs(APPROVE):
            requests.patch(f"{real.flink.flink.rest_url}/jobs/{job_id}?mode=cancel", timeout=10)


FAILS = "real-fails"
WIDE = 1760  # every column of the page side by side (narrower, it scrolls; the actions stay in view)


def _reconcile_run(real: Real, name: str, **conf: str) -> tuple[str, str]:
    """A flink_reconcile run for ``name`` (the page's "reconcile now"), waited for: its id and state."""
    stack = real.stack
    started = httpx.post(
        f"{stack.url}/flink/api/deployments/{name}/reconcile",
        headers={"Authorization": f"Bearer {stack.token('admin')}", "X-Requested-With": "t"},
        timeout=30,
    )
    assert started.status_code == 200, started.text
    run = started.json()["dag_run_id"]
    return run, stack.wait_run("flink_reconcile", run)


def test_the_flink_page_in_airflows_ui_shows_drift_a_restart_limit_and_a_viewers_disabled_buttons(
    real: Real, tmp_path: Path
) -> None:
    """The page as Airflow's UI shows it (a react_apps plugin, Airflow's theme), light and dark:
    the issue's drift case (declared parallelism changed while the reconcile DAG is paused), a
    deployment at its restart limit with its root cause, cleared from the page (a reconcile run
    that restarts it), and a viewer's buttons disabled with the reason."""
    stack = real.stack
    stack.wait_dag("flink_reconcile")
    shots = tmp_path / "screenshots"
    url = f"{stack.url}/plugin/flink"
    row = f'tr[data-deployment="{DEPLOYMENT}"]'
    failing = f'tr[data-deployment="{FAILS}"]'
    path = real.specs / f"{FAILS}.yaml"
    counter = real.specs / f"{DEPLOYMENT}.yaml"
    declared = yaml.safe_load(counter.read_text())
    _free_slots(real)
    try:
        # A job that fails a second after each start, allowed one restart in the window.
        path.write_text(yaml.safe_dump({
            "name": FAILS, "artifact": {"jar": str(real.flink.jar)}, "entry_class": COUNTER_JOB,
            "args": ["--fail-after-seconds", "1"], "restart_policy": {"max_restarts": 1, "window_minutes": 60},
        }))  # fmt: skip
        [first] = wait_for("the failing job", lambda: real.jobs_of_deployment(FAILS) or None, 180)
        real.flink.wait_state(first, JobState.FAILED, timeout=120)
        # A run restarts it (1 of 1): the one asked here, or one the job watcher's event started
        # first (then the one asked here finds the restarted job failed again, at its limit: red).
        # Which of the two, the record and Flink say below.
        _reconcile_run(real, FAILS)
        [second] = wait_for(
            "the restarted job",
            lambda: [j for j in real.jobs_of_deployment(FAILS) if j != first] or None,
            120,
        )
        real.flink.wait_state(second, JobState.FAILED, timeout=120)
        wait_for("the reconcile runs to settle", lambda: not _active_runs(stack, "flink_reconcile"), 180)
        restarted = real.records.get("flink_default", FAILS)
        assert restarted is not None
        assert [h.kind for h in restarted.history].count("restart") == 1, restarted.history
        run, state = _reconcile_run(real, FAILS)
        # At its limit: a person must look (red).
        assert state == "failed", stack.task_log("flink_reconcile", run, "reconcile")

        # The drift case: the reconcile DAG paused, the declared parallelism changed.
        [live] = real.live_jobs(DEPLOYMENT)
        running = max(_parallelism(real, live))
        wanted = 1 if running != 1 else 2
        stack.api("PATCH", "/dags/flink_reconcile", json={"is_paused": True})
        counter.write_text(yaml.safe_dump({**declared, "parallelism": wanted}))

        login = [{"name": "_token", "value": stack.token("admin"), "url": stack.url}]
        with chromium(login, width=WIDE) as page:
            for theme in ("light", "dark"):  # Airflow's UI keeps its colour mode there
                page.goto(url)
                page.evaluate(f"localStorage.setItem('theme', '{theme}')")
                page.reload()
                page.locator(row).wait_for()
                dark = page.evaluate("document.documentElement.classList.contains('dark')")
                assert dark == (theme == "dark")
                assert page.locator('[data-testid="reconcile-paused"]').is_visible()
                drift = page.locator(f'{row} [data-testid="drift-list"]')
                assert drift.inner_text().strip() == f"parallelism: {running} -> {wanted} (declared)"
                why = page.locator(f'{row} [data-testid="why-not-applied"]').inner_text()
                assert "reconcile paused: the flink_reconcile DAG is paused, so no run applies it" in why, why
                actual = page.locator(f'{row} [data-testid="actual-parallelism"]').first.inner_text()
                assert actual.strip() == f"p={running}", actual
                tag = page.locator(f'{row} [data-testid="job-tag"]')
                assert tag.get_attribute("data-job-id") == live
                assert tag.inner_text().strip() == f"{live[12:24]}·{live[24:]}"
                # The deployment at its restart limit: the count against the limit, the root cause.
                assert (
                    page.locator(f'{failing} [data-testid="restarts"]')
                    .inner_text()
                    .strip()
                    .startswith("1 / 1")
                )
                attention = page.locator(f'{failing} [data-testid="attention-text"]').inner_text()
                assert attention.startswith(
                    "job FAILED: restart limit reached (1 restarts in 60 min, limit 1)"
                )
                cause = page.locator(f'{failing} [data-testid="root-cause"]').inner_text()
                assert "counter failing on purpose after 1 s" in cause, cause
                _screenshot(page, shots, f"flink-page-react-{theme}.png")

            # A person clears the restart limit: one reconcile run, which restarts the job.
            stack.api("PATCH", "/dags/flink_reconcile", json={"is_paused": False})
            counter.write_text(yaml.safe_dump(declared))
            runs_before = set(_runs(stack, "flink_reconcile"))
            page.evaluate("localStorage.setItem('theme', 'light')")
            page.reload()
            clear = page.locator(f'{failing} button[data-action="clear-restarts"]')
            clear.wait_for()
            assert clear.is_enabled()
            clear.click()
            page.locator('[data-testid="action-result"]').wait_for()
            _screenshot(page, shots, "flink-page-react-cleared.png")
        [run] = [r for r in set(_runs(stack, "flink_reconcile")) - runs_before if r.startswith("manual__")]
        assert stack.api("GET", f"/dags/flink_reconcile/dagRuns/{quote(run, safe='')}")["conf"] == {
            "deployments": FAILS, "clear_restarts": FAILS,
        }  # fmt: skip
        assert stack.wait_run("flink_reconcile", run) == "success", real.explain()
        record = real.records.get("flink_default", FAILS)
        assert record is not None
        assert [h.kind for h in record.history][-2:] == ["clear-restarts", "restart"]
        assert len([j for j in real.jobs_of_deployment(FAILS) if j not in (first, second)]) == 1

        # Charts: the job watcher (in the real triggerer) sampled both deployments into PostgreSQL.
        admin = {"Authorization": f"Bearer {stack.token('admin')}"}

        def charts(name: str) -> Any:
            answer = httpx.get(
                f"{stack.url}/flink/api/deployments/{name}/charts?hours=1", headers=admin, timeout=30
            )
            assert answer.status_code == 200, answer.text
            return answer.json()

        def with_rates() -> Any:
            found = charts(DEPLOYMENT)
            rated = [p for p in found["points"] if p["records_in_per_s"] is not None]
            return found if len(rated) >= 8 else None

        steady = wait_for("samples with rates of the counter", with_rates, 60)
        assert steady["kept"] is True
        # The wiring, end to end: the real triggerer's samples of the live job, with rates, through
        # PostgreSQL and the API. (Their accuracy against Flink's own counters is
        # tests/integration/test_samples.py's, on both versions: here the hour holds this job's
        # stops, upgrades and the drift case's rescale, and 2-second samples jitter.) The median of
        # the last ten is a flow, and never more than the spec's --rate 13 can make it.
        rates = sorted(
            [p["records_in_per_s"] for p in steady["points"] if p["records_in_per_s"] is not None][-10:]
        )
        assert 0 < rates[len(rates) // 2] <= 13 * 2, rates
        assert steady["totals"]["up_s"] > 0
        failed = charts(FAILS)
        assert failed["totals"]["down_s"] > 0, failed["totals"]
        assert failed["totals"]["provider_restarts"] == 2, failed["totals"]  # the two restarts above
        assert failed["totals"]["uptime"] < steady["totals"]["uptime"]
        with chromium(login, width=WIDE) as page:
            for theme in ("light", "dark"):
                page.goto(f"{url}?deployment={DEPLOYMENT}")
                page.evaluate(f"localStorage.setItem('theme', '{theme}')")
                page.reload()
                page.locator('[data-testid="chart-records"]').wait_for()
                summary = page.locator('[data-testid="charts-summary"]').inner_text()
                assert summary.startswith("uptime "), summary
                for chart in (
                    "uptime",
                    "records",
                    "backpressure",
                    "restarts",
                    "checkpoint-duration",
                    "checkpoint-size",
                ):
                    assert page.locator(f'[data-testid="chart-{chart}"] svg').is_visible()
                assert page.locator('[data-testid="chart-records"] polyline').count() >= 1
                _screenshot(page, shots, f"flink-page-react-charts-{theme}.png")
            page.goto(f"{url}?deployment={FAILS}")
            page.locator('[data-testid="chart-restarts"]').wait_for()
            assert page.locator('[data-testid="chart-restarts"] rect').count() >= 1  # the reconcile's
            assert "2 by the reconcile" in page.locator('[data-testid="charts-summary"]').inner_text()

        # A viewer sees every button disabled, each with the reason.
        viewer = [{"name": "_token", "value": stack.token("viewer"), "url": stack.url}]
        with chromium(viewer, width=WIDE) as page:
            page.goto(url)
            page.locator(row).wait_for()
            assert page.locator('[data-testid="may-not-act"]').is_visible()
            buttons = page.locator(f"{row} button[data-action]")
            assert buttons.count() >= 1
            for i in range(buttons.count()):
                assert buttons.nth(i).is_disabled()
                assert buttons.nth(i).get_attribute("data-refused") == (
                    "viewer may not start runs of flink_reconcile: the page's actions need permission to "
                    "trigger that DAG (ask an admin)"
                )
            _screenshot(page, shots, "flink-page-react-viewer.png")
    finally:
        stack.api("PATCH", "/dags/flink_reconcile", json={"is_paused": False})
        counter.write_text(yaml.safe_dump(declared))
        path.unlink(missing_ok=True)
        for job_id in real.live_jobs(FAILS):
            requests.patch(f"{real.flink.flink.rest_url}/jobs/{job_id}?mode=cancel", timeout=10)
