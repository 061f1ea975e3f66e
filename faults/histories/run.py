"""Play a history on one Flink cluster, settle it, and hand everything seen to the checker.

The reconcile runs are forked from the campaign's zygote (:func:`faults.campaign.zygote`), their
connection going through a fault proxy with a short request timeout. What the player did (spec
declarations, asks, kills) goes into a journal with times; the checker reads only that journal,
the sampler's observations, the JobManager log, storage and the raw records.

Records live in the SQL store on PostgreSQL (``database``: a schema of its own per play, leases of
:data:`LEASE_SECONDS`), or in a JSON file. On PostgreSQL the player adds an audit of its own to the
store's tables (database triggers: every record write and every lease change, with the run that
made it, by ``application_name``, and the database's clock), which the checker reads to confirm one
actor per deployment at every moment.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from faults.campaign import CAMPAIGN_DAG, REPORT, Run, lineage_env, prepare_airflow, settled, zygote
from faults.histories.checker import check
from faults.histories.generate import REQUEST_TIMEOUT, History, Op
from faults.histories.rest import TERMINAL
from faults.histories.sampler import Sampler, job_deployment
from harness.fault_proxy import FaultProxy
from harness.flink_cluster import LocalFlink
from harness.job_jars import COUNTER_JOB, FAILING_JOB
from harness.pyflink_env import PYTHON_JOBS
from harness.waiting import wait_for

CRASH_ENV = "FLINK_PROVIDER_CRASH_AT"  # airflow_provider_flink/crashpoints.py
PAUSE_ENV = "FLINK_PROVIDER_PAUSE_AT"
ASKED_ENV = "FLINK_CAMPAIGN_ASKED"  # faults/zygote.py
HEALTH_TIMEOUT = 20.0
SETTLE_SECONDS = 3 * HEALTH_TIMEOUT + 15  # two health waits (an upgrade, then its rollback) and slack
CHECKPOINT_MS = 1500  # "every ~1-2 s"
RETAIN = {"execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION"}
LEASE_SECONDS = 6.0  # short: a run frozen past its lease loses it within the history

# The audit, in plain SQL (PostgreSQL): what was written, by which run, when (the database's clock).
AUDIT = """
CREATE TABLE {s}.audit (
    id bigserial PRIMARY KEY, tbl text, name text, revision bigint, token bigint, holder text,
    expires_at double precision, app text, at double precision
);
CREATE FUNCTION {s}.audit_record() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO {s}.audit (tbl, name, revision, app, at) VALUES
        ('records', NEW.name, NEW.revision, current_setting('application_name'),
         extract(epoch from clock_timestamp()));
    RETURN NEW; END $$;
CREATE FUNCTION {s}.audit_lease() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    INSERT INTO {s}.audit (tbl, name, token, holder, expires_at, app, at) VALUES
        ('leases', NEW.name, NEW.token, NEW.holder, NEW.expires_at, current_setting('application_name'),
         extract(epoch from clock_timestamp()));
    RETURN NEW; END $$;
CREATE TRIGGER audit_record AFTER INSERT OR UPDATE ON {s}.flink_deployment_records
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_record();
CREATE TRIGGER audit_lease AFTER INSERT OR UPDATE ON {s}.flink_deployment_leases
    FOR EACH ROW EXECUTE FUNCTION {s}.audit_lease();
"""


@dataclass
class Verdict:
    seed: int
    version: str
    ops: int
    ok: bool
    why: str
    history: History
    violations: list[str] = field(default_factory=list)


@dataclass
class Declared:
    """What the spec file of one deployment says now (the player's view, for the journal)."""

    gen: int = 1
    parallelism: int = 1
    entry: str = "counter"  # counter | failing
    mode: str = "savepoint"
    python: bool = False  # a Python program (harness/python) rather than the test jar


class Player:
    def __init__(
        self, flink: LocalFlink, jar: Path, work: Path, history: History, database: str | None = None
    ) -> None:
        self.flink, self.jar, self.history = flink, jar, history
        # A fresh prefix per play: a replay must not meet the jobs, records or job ids of the last one.
        prefix = f"h{history.seed}{secrets.token_hex(2)}"
        self.database, self.schema = database, prefix
        self.names = {short: f"{prefix}-{short}" for short in history.deployments}
        self.dir = work / prefix
        self.folder = self.dir / "specs"
        self.folder.mkdir(parents=True)
        self.records = self.dir / "records.json"
        self.declared = {name: Declared(python=short in history.python) for short, name in self.names.items()}
        # A program of two jobs (one Flink 2.3 application), named like deployments so the checker
        # judges each job as one; deployed and upgraded by the application operators as Airflow
        # tasks. A Flink without applications refuses it: not played there.
        self.program = (
            [f"{prefix}-p1", f"{prefix}-p2"] if history.program and not flink.version.startswith("1.") else []
        )
        self.application: str | None = None  # the program's live application (the last deploy's)
        self.program_paths: dict[str, str] | None = None  # its jobs' savepoints from the last stop
        self.journal: list[dict[str, Any]] = []
        self.background: list[Run] = []
        self.runs = 0
        self.down: set[str] = set()
        self.direct = httpx.Client(base_url=flink.rest_url, timeout=10)
        self.proxy = FaultProxy(flink.rest_url).start()
        connection = {
            "conn_type": "flink",
            "host": "127.0.0.1",
            "port": self.proxy.port,
            # A Python deployment's files are staged here (a folder the local cluster reads).
            "extra": {"request_timeout": REQUEST_TIMEOUT, "python_staging_dir": str(self.dir / "staging")},
        }
        # Lineage on: the operator tasks (the program's) report it; the checker holds it against Flink.
        self.lineage = self.dir / "lineage.jsonl"
        self.env = {
            **os.environ,
            "AIRFLOW_CONN_FLINK_DEFAULT": json.dumps(connection),
            **lineage_env(self.lineage),
        }
        for key in (CRASH_ENV, PAUSE_ENV, ASKED_ENV):
            self.env.pop(key, None)
        self.log = flink.workdir / "log" / "jobmanager.log"
        # The JobManager log is appended to across restarts; read from here on at the end.
        self.log_offset = self.log.stat().st_size if self.log.exists() else 0
        self.sampler = Sampler(
            flink.rest_url, [*self.names.values(), *self.program], flink.checkpoint_dir, flink.savepoint_dir
        )
        if database:
            self._audited_tables()

    def _audited_tables(self) -> None:
        """The store's tables, made by the store itself, then the player's audit on them."""
        from sqlalchemy import create_engine, text

        from airflow_provider_flink.deployments.stores import SqlRecordStore

        assert self.database is not None
        SqlRecordStore(self.database, schema=self.schema).get_many("flink_default")  # creates them
        engine = create_engine(self.database)
        try:
            with engine.begin() as conn:
                conn.execute(text(AUDIT.format(s=self.schema)))
        finally:
            engine.dispose()

    def _table(self, query: str) -> list[dict[str, Any]]:
        from sqlalchemy import create_engine, text

        assert self.database is not None
        engine = create_engine(self.database)
        try:
            with engine.connect() as conn:
                return [dict(row._mapping) for row in conn.execute(text(query.format(s=self.schema)))]
        finally:
            engine.dispose()

    # ------------------------------------------------------------------ the play
    def play(self) -> list[str]:
        self.sampler.start()
        try:
            for name in self.declared:
                self.declare(name)
            if self.program:
                self.program_start()
            for op in self.history.ops:
                self.note("op", op=op)
                self.apply(op)
            self.quiesce()
        finally:
            self.sampler.stop()
        evidence = self.evidence()
        # Kept for a look afterwards (the CLI prints where); the checker reads only this.
        (self.dir / "evidence.json").write_text(json.dumps(evidence, default=str))
        (self.dir / "history.json").write_text(json.dumps(self.history.as_json()))
        return check(evidence)

    def apply(self, op: Op) -> None:
        kind = op["op"]
        if kind == "reconcile":
            self.reconcile(op)
        elif kind in ("cancel", "stop"):
            self.person(kind, self.names[op["dep"]])
        elif kind in ("jm-kill", "tm-kill", "jm-start", "tm-start"):
            self.component(kind)
        elif kind == "answer":
            if op["delay"] is None:
                self.proxy.lose(op["method"], op["path"])
            else:
                # "retries": every retry of the request (same body) is answered late too: a lost
                # answer the client's retries cannot recover (I3's case: the job may run).
                self.proxy.delay(op["method"], op["path"], op["delay"], retries=bool(op.get("retries")))
        elif kind == "edit":
            self.edit(self.names[op["dep"]], op["change"])
        elif kind == "sleep":
            time.sleep(op["seconds"])
        elif kind == "approval":
            self.answer(self.names[op["dep"]], op["answer"])
        elif kind == "program":
            if self.program:
                self.program_upgrade(op.get("crash_at"))
        else:
            raise ValueError(f"unknown operation {op}")

    def answer(self, name: str, answer: str, quiet: bool = False) -> None:
        """A person answers the deployment's pending request, as the approval DAG's task records it
        (the product's ``record_answer``, under the deployment's lease); the journal says what the
        record holds after it."""
        from airflow_provider_flink.deployments.answers import Request, record_answer
        from airflow_provider_flink.deployments.stores import RunRecords, SqlRecordStore
        from faults.once import FileRecordStore

        store: Any = (
            SqlRecordStore(self.database, schema=self.schema, name="campaign")
            if self.database
            else FileRecordStore(self.records)
        )
        record = store.get("flink_default", name)
        pending = [a for a in (record.approvals if record is not None else []) if a.decision is None]
        if not pending:
            if not quiet:
                self.note("approval", dep=name, answer=answer, decision=None, why="nothing asked")
            return
        asked = pending[-1]
        records = RunRecords(store, f"flink_approval/person/approve/{len(self.journal)}", LEASE_SECONDS)
        try:
            answered = record_answer(
                records,
                Request(name, "flink_default", asked.key),
                answer == "approve",
                "person",
                "nobody answered in time" if answer == "expire" else None,
                expired=answer == "expire",
            )
        finally:
            records.close()
        self.note(
            "approval",
            dep=name,
            answer=answer,
            key=asked.key,
            decision=answered.decision,
            words=answered.text,
        )

    def note(self, event: str, **what: Any) -> None:
        self.journal.append({"t": time.time(), "event": event, **what})

    # ------------------------------------------------------------------ specs
    def declare(self, name: str, fresh_ok: bool = False) -> None:
        d = self.declared[name]
        spec: dict[str, Any] = {
            "name": name,
            # The job's name says its deployment and spec generation: the checker's own way to
            # tell jobs apart, independent of the product's job ids.
            "args": ["--name", f"{name}.g{d.gen}"],
            "parallelism": d.parallelism,
            "health_timeout_seconds": HEALTH_TIMEOUT,
            "flink_config": dict(RETAIN),
            "upgrade_mode": d.mode,
        }
        if d.python:
            # The Python counter (the same metric, names and rate as the jar's), or a program whose
            # main raises: Flink refuses the submission and no job of the spec ever exists.
            program = "counter_job.py" if d.entry == "counter" else "failing_main.py"
            spec["python"] = {"file": str(PYTHON_JOBS / program)}
        else:
            spec["artifact"] = {"jar": str(self.jar)}
            spec["entry_class"] = COUNTER_JOB if d.entry == "counter" else FAILING_JOB
        approval = ["stateless-upgrade"] if self.history.approvals else []
        if approval:
            spec["approval"] = {"required_for": approval}
        if d.entry == "counter":
            spec["args"] += ["--rate", "50", "--checkpoint-interval-ms", str(CHECKPOINT_MS)]
        (self.folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))
        self.note(
            "declare",
            dep=name,
            gen=d.gen,
            parallelism=d.parallelism,
            entry=d.entry,
            mode=d.mode,
            approval=approval,
            python=d.python,
        )

    def edit(self, name: str, change: str) -> None:
        d = self.declared[name]
        # Every edit is a new generation: a failed spec changed in any field (its parallelism too)
        # is a new spec, which the reconcile may apply (seed 997554 was a false violation).
        d.gen += 1
        if change == "parallelism":
            # Slots: 4 on the cluster; only the first deployment goes to 2 when there are three.
            if len(self.names) < 3 or name == next(iter(self.declared)):
                d.parallelism = 3 - d.parallelism
        else:
            d.entry = "failing" if change == "failing" else "counter"
            d.mode = "stateless" if change == "stateless" else "savepoint"
        self.declare(name)

    # ------------------------------------------------------------------ reconcile runs
    def start_run(self, extra: dict[str, str], health: bool) -> Run:
        self.runs += 1
        out = self.dir / f"run{self.runs}.json"
        store: dict[str, Any] = (
            {"records": self.database, "schema": self.schema, "lease_seconds": LEASE_SECONDS}
            if self.database
            else {"records": str(self.records)}
        )
        run = zygote().start(
            {
                "folder": str(self.folder),
                **store,
                "out": str(out),
                # The run's name in the database's audit (libpq's application_name).
                "env": {**self.env, "PGAPPNAME": f"run{self.runs}", **extra},
                "wait_for_health": health,
            }
        )
        self.note("run", run=self.runs, extra=extra, health=health)
        return run

    def reconcile(self, op: Op) -> None:
        self.join_background()
        extra: dict[str, str] = {}
        if op.get("crash_at"):
            extra[CRASH_ENV] = op["crash_at"]
        if op.get("asked"):
            name = self.names[op["dep"]]
            extra[ASKED_ENV] = f"{op['asked']}={name}"
            self.note("ask", what=op["asked"], dep=name)
        health = bool(op.get("health"))
        gate = self.dir / f"gate{self.runs + 1}"
        if op.get("pause_at"):
            gate.mkdir()
            extra[PAUSE_ENV] = f"{op['pause_at']}@{gate}"
        runs = [self.start_run(extra, health)]
        if op.get("pause_at"):
            self.while_paused(runs[0], gate, op)
        if "twin" in op:
            time.sleep(op["twin"])
            runs.append(self.start_run({}, health))
        if op.get("kill_after") is not None:
            self.kill_later(runs[0], op["kill_after"])
        if op.get("background"):
            self.background += runs
            return
        for run in runs:
            run.wait()

    def while_paused(self, run: Run, gate: Path, op: Op) -> None:
        """If the run reaches its pause step: ``then`` "freeze": SIGSTOP it (every thread, its
        lease renewals too) past its lease, run another reconcile to its end, thaw it; "stop" or
        "cancel": a person stops (with a savepoint) or cancels the deployment's job between the
        run's look at Flink and its act. Then the run goes on."""
        paused = wait_for(
            "the run at its step or its end",
            lambda: (gate / "paused").exists() or run.ended() or None,
            timeout=120,
        )
        if not paused or run.ended() or not (gate / "paused").exists():
            return
        pid = int((gate / "paused").read_text())
        try:
            if op["then"] == "freeze":
                os.kill(pid, signal.SIGSTOP)  # our own forked run, by its pid
                self.note("frozen", pid=pid, step=op["pause_at"])
                (gate / "resume").touch()
                time.sleep(LEASE_SECONDS + 1.5)
                self.start_run({}, False).wait()
            else:
                self.person(op["then"], self.names[op["dep"]])
        finally:
            (gate / "resume").touch()
            os.kill(pid, signal.SIGCONT)
            self.note("thawed" if op["then"] == "freeze" else "resumed", pid=pid)

    def kill_later(self, run: Run, seconds: float) -> None:
        """SIGKILL the run ``seconds`` after its start unless it ended (a worker lost mid-step)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not run.ended():
            time.sleep(0.02)
        if not run.ended():
            pid = int(Path(str(run.out) + ".pid").read_text())
            os.kill(pid, signal.SIGKILL)  # our own forked run, by its pid
            self.note("killed", pid=pid, after=seconds)

    def join_background(self) -> None:
        for run in self.background:
            run.wait()
        self.background.clear()

    def settle(self) -> None:
        """Runs without faults until one has nothing left to do and waits for nothing (at least 10
        runs, and on until SETTLE_SECONDS have passed)."""
        # Why a time bound: 10 runs of about 1 s each are shorter than what the reconcile rightly
        # waits for: an upgraded job's health (HEALTH_TIMEOUT), a TaskManager that re-registers
        # after a JobManager restart, then a failing spec's own health wait and rollback (seed
        # 831060 of the 2027 run on 1.20.5 was "no quiescence" while a job waited for slots).
        began, attempt, report = time.monotonic(), 0, None
        while attempt < 10 or time.monotonic() - began < SETTLE_SECONDS:
            if attempt:
                time.sleep(1.0)
            attempt += 1
            if self.history.approvals:
                # A person answers in the end: every open request is approved (a rejection given
                # during the history stands: the last stable spec runs on).
                for name in self.names.values():
                    self.answer(name, "approve", quiet=True)
            run = self.start_run({}, True)
            code = run.wait()
            report = run.report() if code == 0 else None
            if report and settled(report):
                self.note("settled", runs=attempt, report=report)
                return
        # The last report goes to the checker: a refusal that waits for a person is judged there.
        self.note("not-settled", report=report)

    def quiesce(self) -> None:
        """After the history: everything up, no faults, a person's last ask made once more (a run
        killed while asking may have lost it), then runs until nothing is left to do."""
        self.join_background()
        self.proxy.clear()
        for component in ("jm", "tm"):
            if component in self.down:
                self.component(f"{component}-start")
        wait_for("a TaskManager with free slots", self.has_slots, timeout=120)
        last: dict[str, str] = {}
        for event in self.journal:
            if event["event"] == "ask" and event["what"] in ("suspend", "resume"):
                last[event["dep"]] = event["what"]
        for name, what in last.items():
            self.note("ask", what=what, dep=name)
            self.start_run({ASKED_ENV: f"{what}={name}"}, True).wait()
        self.settle()
        if self.program and self.application is None and self.program_paths is not None:
            self.program_upgrade(None)  # stopped, its deploy failed: deployed from its savepoints now
        time.sleep(3.0)  # the sampler sees the settled jobs run

    # ------------------------------------------------------------------ the program of two jobs
    def program_task(self, task_id: str, params: dict[str, Any], crash_at: str | None = None) -> Any:
        """A task of the campaign DAG as Airflow runs it (``airflow tasks test`` in a DAG run of its
        own), its first try killed at ``crash_at``; up to three tries of the same task instance
        (same run, so the same task state store), as a task with retries. Its result, or None."""
        self.runs += 1
        run_id = f"program-{self.runs}"
        out = self.dir / f"{run_id}.json"
        trigger = ["dags", "trigger", CAMPAIGN_DAG, "--run-id", run_id]
        zygote().start({"airflow": trigger, "out": str(out) + ".trigger", "env": self.env}).wait()
        argv = ["tasks", "test", CAMPAIGN_DAG, task_id, run_id, "-t", json.dumps(params)]
        for attempt in range(3):
            env = {**self.env, REPORT: str(out)}
            if crash_at and attempt == 0:
                env[CRASH_ENV] = crash_at
            code = zygote().start({"airflow": argv, "out": str(out), "env": env}).wait(timeout=600)
            self.note(
                "program-task",
                task=task_id,
                run=run_id,
                attempt=attempt + 1,
                exit=code,
                crash_at=crash_at if not attempt else None,
            )
            if code == 0 and out.exists():
                return json.loads(out.read_text())
        return None

    def program_declare(self) -> None:
        for name in self.program:
            self.note(
                "declare",
                dep=name,
                gen=1,
                parallelism=1,
                entry="counter",
                mode="savepoint",
                approval=[],
                python=False,
            )

    def program_params(self, paths: dict[str, str] | None) -> dict[str, Any]:
        jobs = ",".join(f"{name}.g1" for name in self.program)  # the job names: stable across upgrades
        return {
            "jar": str(self.jar),
            "jobs": jobs,
            "parallelism": 1,
            "savepoint_paths": json.dumps(paths) if paths else "",
        }

    def program_start(self) -> None:
        prepare_airflow()
        self.program_declare()
        # Its first deploy is one try of a task (no reconcile to try again): the slots must be there.
        wait_for("free slots for the program", lambda: self.free_slots() >= len(self.program), timeout=120)
        deployed = self.program_task("deploy_program", self.program_params(None))
        self.application = deployed["application_id"] if deployed else None

    def program_upgrade(self, crash_at: str | None) -> None:
        """Stop every job of the program with a savepoint, then deploy it from them (the upgrade
        pattern of docs/applications.md); a step's task killed at ``crash_at`` and retried."""
        if self.application is None:
            if self.program_paths is None:
                return  # never deployed (its first deploy failed): nothing to upgrade from
        else:
            step = (crash_at or "").startswith("stop")
            stopped = self.program_task(
                "stop_program", {"application_id": self.application}, crash_at if step else None
            )
            if stopped is None:
                return  # the stop failed (a JobManager down, an answer lost): the jobs may still run
            self.application = None
            self.program_paths = {name: path for name, path in stopped.items() if path}
        step = (crash_at or "").startswith("deploy")
        deployed = self.program_task(
            "upgrade_program", self.program_params(self.program_paths), crash_at if step else None
        )
        if deployed is not None:
            self.application = deployed["application_id"]

    # ------------------------------------------------------------------ a person, components
    def my_live_jobs(self, name: str) -> list[str]:
        found = self.direct.get("/jobs/overview").json()["jobs"]
        return [j["jid"] for j in found if j["state"] not in TERMINAL and job_deployment(j["name"], [name])]

    def person(self, what: str, name: str) -> None:
        """A person's cancel, or stop with a savepoint, in Flink directly (not the proxy)."""
        try:
            for jid in self.my_live_jobs(name):
                if what == "cancel":
                    self.direct.patch(f"/jobs/{jid}", params={"mode": "cancel"})
                    self.note("cancel", dep=name, jid=jid)
                else:
                    self.stop_with_savepoint(name, jid)
        except httpx.HTTPError as err:  # the JobManager is down: the person could not act
            self.note(f"{what}-failed", dep=name, error=str(err))

    def stop_with_savepoint(self, name: str, jid: str) -> None:
        answer = self.direct.post(f"/jobs/{jid}/stop", json={"drain": False})
        trigger = answer.json().get("request-id") if answer.status_code == 202 else None
        status: Any = None
        deadline = time.monotonic() + 30
        while trigger and time.monotonic() < deadline:
            status = self.direct.get(f"/jobs/{jid}/savepoints/{trigger}").json()
            if status.get("status", {}).get("id") == "COMPLETED":
                break
            time.sleep(0.2)
        self.note("stop", dep=name, jid=jid, answer=answer.status_code, status=status)

    def component(self, kind: str) -> None:
        role, action = kind.split("-")
        full = "jobmanager" if role == "jm" else "taskmanager"
        if action == "kill" and role not in self.down:
            getattr(self.flink, f"kill_{full}")()
            self.down.add(role)
            self.note(kind)
        elif action == "start" and role in self.down:
            getattr(self.flink, f"start_{full}")(ready=False)
            self.down.discard(role)
            self.note(kind)
            if role == "jm":
                wait_for("the JobManager's REST API", lambda: self.flink.overview() is not None, timeout=120)

    def free_slots(self) -> int:
        free = (self.flink.overview() or {}).get("slots-available", 0)
        return free if isinstance(free, int) else 0

    def has_slots(self) -> bool:
        taskmanagers = (self.flink.overview() or {}).get("taskmanagers", 0)
        return isinstance(taskmanagers, int) and taskmanagers > 0

    # ------------------------------------------------------------------ evidence
    def evidence(self) -> dict[str, Any]:
        with open(self.log, "rb") as log:
            log.seek(self.log_offset)
            lines = log.read().decode(errors="replace").splitlines()
        audit: list[dict[str, Any]] = []
        if self.database:
            rows = self._table("SELECT cluster, name, body FROM {s}.flink_deployment_records")
            records = {f"flink_deployment.{r['cluster']}.{r['name']}": r["body"] for r in rows}
            audit = self._table("SELECT * FROM {s}.audit ORDER BY id")
        else:
            records = json.loads(self.records.read_text()) if self.records.exists() else {}
        return {
            "audit": audit,
            "deployments": list(self.names.values()),
            "programs": list(self.program),
            "journal": self.journal,
            "observed": self.sampler.as_json(),
            "log": lines,
            "records": records,
            "final": self.direct.get("/jobs/overview").json()["jobs"],
            "lineage": [json.loads(line) for line in lines_of(self.lineage)],
        }

    def cleanup(self) -> None:
        """Every job of this play cancelled, components up, the proxy stopped (also on failure)."""
        try:
            self.join_background()
        except Exception:  # a run that hangs must not keep the cluster from being cleaned
            traceback.print_exc()
        for component in ("jm", "tm"):
            if component in self.down:
                self.component(f"{component}-start")
        try:
            wait_for("the JobManager's REST API", lambda: self.flink.overview() is not None, timeout=120)
            for name in [*self.names.values(), *self.program]:
                for jid in self.my_live_jobs(name):
                    self.direct.patch(f"/jobs/{jid}", params={"mode": "cancel"})
            # A TaskManager started again above registers a few seconds later: what is played next on
            # this cluster (the suite's next test) must not start without its slots.
            wait_for("a TaskManager with free slots", self.has_slots, timeout=120)
        finally:
            self.direct.close()
            self.proxy.stop()


def lines_of(path: Path) -> list[str]:
    """The non-empty lines of a file that may not exist (no event was sent)."""
    return [line for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def play(flink: LocalFlink, jar: Path, work: Path, history: History, database: str | None = None) -> Verdict:
    """One history played and judged; a history that could not be judged fails (trial error).
    ``database``: the SQL store's PostgreSQL URL (None: records in a JSON file)."""
    player = Player(flink, jar, work, history, database)
    verdict = Verdict(history.seed, flink.version, len(history.ops), False, "", history)
    try:
        verdict.violations = player.play()
        verdict.ok = not verdict.violations
        verdict.why = "; ".join(verdict.violations) or "all invariants held"
    except Exception as err:
        verdict.why = f"trial error: {type(err).__name__}: {err}"
        traceback.print_exc()
    finally:
        player.cleanup()
    return verdict
