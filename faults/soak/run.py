"""One soak: a local Flink, PostgreSQL, the real Airflow components with the event-driven reconcile,
a few declared deployments and a scheduled bounded job, faults drawn from a seed across the stack,
and the outside sampler (:mod:`faults.soak.uptime`) measuring what it all adds up to.

The deployments (``deployments/`` of the soak's folder, the provider's spec files):

- ``soak-a``, ``soak-b``: the stateful counter job (keyed state, a checkpoint every 2 s), 20
  records per second; ``soak-a`` fails on demand (``--fail-when-file``);
- ``soak-sql``: a SQL job (datagen -> a keyed count -> blackhole, a checkpoint every 2 s), its
  progress its records read.

Besides, ``soak_bounded`` (faults/soak/dags) runs the bounded job every 2 minutes and waits for it.

Faults (one every ``every`` seconds, kinds drawn from the seed; each recorded with its time):

- Flink: ``tm-kill`` (the TaskManager killed, back after 5 s: a supervisor's restart), ``jm-kill``
  (the JobManager killed and started again, no HA: its jobs are gone), ``job-fail`` (soak-a's job
  throws once; Flink's restart strategy restarts it: Flink's own recovery time), ``cancel`` (a
  person cancels a deployment's job), ``rest-outage`` (Flink's REST API unreachable to Airflow for
  20 s, jobs unaffected);
- Airflow, each while a job is down (the cancel of one a second after): ``triggerer``,
  ``scheduler``, ``api-server`` killed and started again, ``postgres`` (the metadata and record
  database) crashed and started again, ``worker`` (the worker running the reconcile that acts on
  the cancel killed), ``scheduler-mid-run`` (the scheduler, with its LocalExecutor workers, killed
  while the reconcile acting on a cancel runs, and started again);
- specs: ``edit-parallelism`` (1 <-> 2), ``edit-good`` (a new argument: a stateful upgrade),
  ``edit-failing`` (a job that cannot start: rolled back; the file put back a minute later).
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import yaml

from faults.soak.figures import Fault, epoch
from faults.soak.uptime import UptimeSampler
from harness.airflow_stack import AirflowStack, kill_tree
from harness.fault_proxy import FaultProxy
from harness.flink_cluster import LocalFlink
from harness.job_jars import COUNTER_JOB, FAILING_JOB, build_jar
from harness.postgres import LocalPostgres
from harness.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENTS = ["soak-a", "soak-b", "soak-sql"]
COUNTERS = ["soak-a", "soak-b"]
FLINK_CONFIG = {
    # What a team sets: a few quick restarts by Flink itself, then the job fails and the reconcile
    # restarts it from its latest checkpoint.
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": "3",
    "restart-strategy.fixed-delay.delay": "2 s",
}
# Kinds and their weights: the Flink faults most often, then Airflow's, then edits.
KINDS: dict[str, int] = {
    "tm-kill": 3,
    "jm-kill": 2,
    "job-fail": 3,
    "cancel": 3,
    "rest-outage": 2,
    "triggerer": 1,
    "scheduler": 1,
    "scheduler-mid-run": 1,
    "api-server": 1,
    "postgres": 1,
    "worker": 1,
    "edit-parallelism": 1,
    "edit-good": 1,
    "edit-failing": 1,
}
SQL = """
CREATE TABLE ticks (k INT, v INT) WITH ('connector' = 'datagen', 'rows-per-second' = '10',
  'fields.k.min' = '1', 'fields.k.max' = '5');
CREATE TABLE sink (k INT, n BIGINT) WITH ('connector' = 'blackhole');
INSERT INTO sink SELECT k, COUNT(*) FROM ticks GROUP BY k;
"""


@dataclass
class Declared:
    """What the soak has declared of a deployment (its file is written from it)."""

    name: str
    generation: int = 1
    parallelism: int = 1
    rate: int = 20
    failing: bool = False


@dataclass
class Soak:
    version: str
    work: Path
    minutes: float
    seed: int
    every: float = 60.0
    kinds: dict[str, int] = field(default_factory=lambda: dict(KINDS))
    faults: list[Fault] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        line = f"{time.strftime('%H:%M:%S')} {text}"
        self.log.append(line)
        print(line, flush=True)

    # ------------------------------------------------------------------ the stack
    def setup(self) -> None:
        self.random = random.Random(self.seed)
        self.jar = build_jar(self.version)  # the cached jar (the suite's sessions share it)
        self.flink = LocalFlink(
            version=self.version, workdir=self.work / "flink", slots=8, extra_config=FLINK_CONFIG
        )
        self.flink.start()
        self.proxy = FaultProxy(self.flink.rest_url).start()
        self.postgres = LocalPostgres(durable=True).start()  # crashed by a fault: commits must survive it
        self.specs = self.work / "deployments"
        self.specs.mkdir(parents=True, exist_ok=True)
        self.fail_file = self.work / "fail-now"
        self.declared = {name: Declared(name) for name in DEPLOYMENTS}
        for name in DEPLOYMENTS:
            self.write(name)
        dags = self.work / "dags"
        dags.mkdir(exist_ok=True)
        (dags / "flink_reconcile.py").symlink_to(ROOT / "dags" / "flink_reconcile.py")
        (dags / "soak_bounded.py").symlink_to(ROOT / "faults" / "soak" / "dags" / "soak_bounded.py")
        self.stack = AirflowStack(
            self.work / "airflow",
            dags,
            self.postgres.url,
            env_extra={
                "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
                "AIRFLOW__FLINK__RECORD_STORE_CONN_ID": "flink_records",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
                # Airflow's own default (the harness parses every 5 s for tests that add DAGs):
                # the soak's DAG files never change, and each parse costs CPU the soak shares.
                "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "30",
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
                # What docs/airflow-components.md asks of a team running the reconcile: a task that
                # ran under a dead scheduler is reset once that scheduler's heartbeat is this old,
                # looked for this often. With Airflow's defaults (30 s, 300 s) a reconcile running
                # when the scheduler died held the DAG (max_active_runs=1) for up to 5 minutes:
                # the suite's sample saw a cancelled job started again 282 s later.
                "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "15",
                "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "10",
            },
        )
        self.stack.start()
        host, port = "127.0.0.1", self.proxy.port
        self.stack.api(
            "POST", "/connections",
            json={"connection_id": "flink_default", "conn_type": "flink", "host": host, "port": port},
        )  # fmt: skip
        self.stack.api(
            "POST", "/connections",
            json={
                "connection_id": "flink_records", "conn_type": "postgres", "host": "127.0.0.1",
                "port": self.postgres.port, "login": self.postgres.user, "schema": self.postgres.database,
                "extra": json.dumps({"table_schema": "flink_records"}),
            },
        )  # fmt: skip
        self.stack.api(
            "POST", "/variables", json={"key": "flink_deployments_folder", "value": str(self.specs)}
        )
        self.stack.api("POST", "/variables", json={"key": "flink_example_jar", "value": str(self.jar)})
        self.stack.api(
            "POST", "/pools", json={"name": "flink_reconcile", "slots": 1, "include_deferred": False}
        )
        for dag_id in ("flink_reconcile", "soak_bounded"):
            self.stack.wait_dag(dag_id)
        # The watchers of the soak's folder (a parse after the Variable was set): a fault before
        # they watch would be one nobody is told of (seen: a cancel 10 s before they started).
        wait_for(
            "the job watcher on the soak's deployments",
            lambda: (
                f"Watching {self.specs}:" in self.stack.log_tail("triggerer", 200_000)
                and "Watching the declared deployments' jobs" in self.stack.log_tail("triggerer", 200_000)
            ),
            timeout=120,
        )
        self.direct = httpx.Client(base_url=self.flink.rest_url, timeout=10)
        self.sampler = UptimeSampler(self.flink.rest_url, DEPLOYMENTS).start()
        self.supervising = threading.Event()
        self.supervising.set()
        threading.Thread(target=self.supervise, daemon=True).start()

    def supervise(self) -> None:
        """What systemd or Kubernetes does for Airflow's components: one that exited (a database
        restart can end the scheduler) is started again within 2 s, and the restart logged."""
        while self.supervising.is_set():
            time.sleep(2.0)
            for component, pid in list(self.stack.pids.items()):
                if _exited(pid) and self.stack.pids.get(component) == pid:
                    self.stack.restart(component)
                    self.say(f"supervisor: {component} had exited; started again")

    def write(self, name: str) -> None:
        d = self.declared[name]
        spec: dict[str, Any] = {
            "name": name,
            "parallelism": d.parallelism,
            "health_timeout_seconds": 60,
            # The soak deals a fault every minute or so, far above the default's crash-loop guard
            # (3 restarts an hour, then a person): the hour-long soak of 2026-12-08 reached it and
            # its deployments stayed FAILED 10-14 minutes, as the guard means them to. A team
            # expecting that rate of infrastructure faults sets the limit to match.
            "restart_policy": {"max_restarts": 100, "window_minutes": 60},
        }
        if name == "soak-sql":
            spec["sql"] = {"statements": SQL}
            # Checkpoints, as a streaming SQL job in production has: without them a job lost with
            # its JobManager has no state to recover from, and the reconcile (rightly) refuses to
            # start it without (the first soak on 1.20.5, before this).
            spec["flink_config"] = {
                "pipeline.name": f"{name}.g{d.generation}",
                "execution.checkpointing.interval": "2 s",
            }
        else:
            args = [
                "--rate",
                str(d.rate),
                "--name",
                f"{name}.g{d.generation}",
                "--checkpoint-interval-ms",
                "2000",
            ]
            if name == "soak-a":
                args += ["--fail-when-file", str(self.fail_file)]
            spec.update(
                artifact={"jar": str(self.jar)},
                entry_class=FAILING_JOB if d.failing else COUNTER_JOB,
                args=args,
            )
        path = self.specs / f"{name}.yaml"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(yaml.safe_dump(spec))
        temporary.replace(path)  # whole, never half-written for the watcher

    def teardown(self) -> None:
        """Everything the soak started stopped, by what it holds (also after a failed setup)."""
        stops: list[Callable[[], object]] = [
            lambda: self.supervising.clear(),
            lambda: self.sampler.stop(),
            lambda: self.stack.stop(grace=5),
            lambda: self.postgres.stop(),
            lambda: self.proxy.stop(),
            lambda: self.direct.close(),
            lambda: self.flink.stop(),
        ]
        for stop in stops:
            try:
                stop()
            except AttributeError:
                pass  # not started: setup failed before it
            except Exception:
                traceback.print_exc()

    # ------------------------------------------------------------------ faults
    def live_job(self, name: str) -> str | None:
        try:
            jobs = self.direct.get("/jobs/overview").json()["jobs"]
        except Exception:
            return None
        mine = [
            j for j in jobs
            if str(j["name"]).rsplit(".g", 1)[0] == name and j["state"] not in ("FINISHED", "CANCELED", "FAILED")
        ]  # fmt: skip
        return str(mine[-1]["jid"]) if mine else None

    def cancel(self, name: str) -> str:
        jid = self.live_job(name)
        if jid is None:
            return f"{name} had no live job to cancel"
        self.direct.patch(f"/jobs/{jid}", params={"mode": "cancel"})
        return f"cancelled {name}'s job {jid}"

    def inject(self, kind: str) -> Fault:
        choices = COUNTERS if kind in ("edit-good", "edit-failing") else DEPLOYMENTS
        if kind.startswith("edit-"):  # not a deployment whose failing spec is still to be put back
            choices = [name for name in choices if not self.declared[name].failing] or choices
        target = self.random.choice(choices)
        if kind.startswith("edit-") and self.declared[target].failing:
            kind = "cancel"  # every deployment is mid-way through a failing edit: a cancel instead
        fault = Fault(kind, time.time(), [])
        if kind == "tm-kill":
            dead = self.taskmanagers()
            self.flink.kill_taskmanager()

            def back() -> None:
                self.flink.start_taskmanager(ready=False)
                # a new TaskManager registered (the dead one may still be listed for a while)
                self.back_when(fault, lambda: bool(self.taskmanagers() - dead))

            threading.Timer(5.0, back).start()
        elif kind == "jm-kill":
            self.flink.kill_jobmanager()
            time.sleep(2.0)
            self.flink.start_jobmanager(ready=False)
            self.back_when(fault, self.flink_answers)
        elif kind == "job-fail":
            fault.targets = ["soak-a"]
            self.fail_file.touch()
            threading.Timer(1.5, lambda: self.fail_file.unlink(missing_ok=True)).start()
        elif kind == "cancel":
            fault.targets = [target]
            fault.note = self.cancel(target)
        elif kind == "rest-outage":
            self.proxy.outage(20.0)
            fault.back_at = fault.at + 20.0
        elif kind in ("triggerer", "scheduler", "api-server"):
            fault.targets = [target]
            self.stack.kill(kind)
            time.sleep(1.0)
            fault.note = self.cancel(target)
            time.sleep(3.0)
            restarted = time.time()
            self.stack.restart(kind)
            self.back_when(fault, lambda: self.airflow_component_back(kind, restarted))
        elif kind == "scheduler-mid-run":
            fault.targets = [target]
            cancelled = time.time()
            fault.note = self.cancel(target)
            running = self.running_reconcile_task(after=cancelled)
            if running is None:
                fault.kind = "cancel"  # a cancel, nothing more: not counted as the scheduler's loss
                fault.note += "; no reconcile run queued after the cancel was seen running"
            else:
                self.stack.kill("scheduler")  # its LocalExecutor workers and their tasks with it
                fault.note += f"; killed the scheduler while reconcile task process {running['pid']} ran"
                time.sleep(3.0)
                restarted = time.time()
                self.stack.restart("scheduler")
                self.back_when(fault, lambda: self.airflow_component_back("scheduler", restarted))
        elif kind == "postgres":
            fault.targets = [target]
            self.postgres.crash()
            time.sleep(1.0)
            fault.note = self.cancel(target)
            time.sleep(3.0)
            restarted = time.time()
            self.postgres.restart()  # returns once it accepts connections
            # Airflow whole again: the scheduler and the triggerer (which exit when their database
            # goes away; the supervisor starts them again) heartbeating since.
            self.back_when(
                fault,
                lambda: all(self.airflow_component_back(c, restarted) for c in ("scheduler", "triggerer")),
            )
        elif kind == "worker":
            fault.targets = [target]
            cancelled = time.time()
            fault.note = self.cancel(target)
            killed = self.kill_reconcile_worker(after=cancelled)
            fault.note += "; " + (killed or "no reconcile run queued after the cancel was seen to kill")
            if killed is None:
                fault.kind = "cancel"  # a cancel, nothing more: not counted as a worker's loss
        elif kind.startswith("edit-"):
            fault.targets = [target]
            d = self.declared[target]
            d.generation += 1
            if kind == "edit-parallelism":
                d.parallelism = 3 - d.parallelism
            elif kind == "edit-good":
                d.rate = 41 - d.rate  # 20 <-> 21
            else:
                d.failing = True
                threading.Timer(60.0, lambda: self.unfail(target)).start()
            self.write(target)
        return fault

    def back_when(self, fault: Fault, answers: Callable[[], bool], timeout: float = 180.0) -> None:
        """In the background: ``fault.back_at`` = when ``answers()`` first holds (polled 5 times
        a second); left None (no outage known) if it never does within ``timeout``."""

        def watch() -> None:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):
                    if answers():
                        fault.back_at = time.time()
                        return
                time.sleep(0.2)

        threading.Thread(target=watch, daemon=True).start()

    def taskmanagers(self) -> set[str]:
        """The ids of the TaskManagers registered with the JobManager (none when it does not answer)."""
        with contextlib.suppress(Exception):
            found = self.direct.get("/taskmanagers", timeout=2).json()
            return {str(tm["id"]) for tm in found.get("taskmanagers", [])}
        return set()

    def flink_answers(self) -> bool:
        """The JobManager answers and a TaskManager has registered its slots with it (the jobs
        can run again): Flink whole again after a JobManager's restart."""
        answer = self.direct.get("/overview", timeout=2)
        return answer.status_code == 200 and int(answer.json().get("slots-total", 0)) > 0

    def airflow_component_back(self, component: str, restarted: float) -> bool:
        """The api-server answers its health check; the scheduler or triggerer has written a
        heartbeat since it was started again."""
        health = httpx.get(f"{self.stack.url}/api/v2/monitor/health", timeout=2).json()
        if component == "api-server":
            return True
        beat = health.get(component, {}).get(f"latest_{component}_heartbeat")
        at = epoch(beat)
        return at is not None and at >= restarted

    def unfail(self, name: str) -> None:
        """The good spec put back a minute after a failing one: an upgrade with its own downtime,
        recorded as a fault of its own (``edit-restore``) so no other fault is charged with it."""
        d = self.declared[name]
        d.failing = False
        d.generation += 1
        self.faults.append(Fault("edit-restore", time.time(), [name], "the good spec put back"))
        self.write(name)
        self.say(f"put {name}'s good spec back")

    def running_reconcile_task(self, after: float, timeout: float = 60.0) -> dict[str, Any] | None:
        """The reconcile task instance queued after ``after`` (the one acting on the fault) once it
        runs with a pid, as Airflow's API reports it; None when none was seen within ``timeout``."""
        deadline = time.monotonic() + timeout
        protected = set(self.stack.pids.values())
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                found = self.stack.api(
                    "GET", "/dags/flink_reconcile/dagRuns/~/taskInstances", params={"state": "running"}
                )
                for ti in found.get("task_instances", []):
                    pid, queued = ti.get("pid"), epoch(ti.get("queued_when"))
                    if pid and pid not in protected and queued is not None and queued >= after:
                        return dict(ti)
            time.sleep(0.1)
        return None

    def kill_reconcile_worker(self, after: float) -> str | None:
        """The worker running the reconcile task queued after ``after`` killed while it runs: the
        task's process and the executor's worker process that supervises it, as a lost machine
        would. (A task process forks from its supervisor: its command line does not say which
        task it runs.) None when no such task was seen running."""
        ti = self.running_reconcile_task(after)
        if ti is None:
            return None
        task = psutil.Process(int(ti["pid"]))
        parent = task.parent()
        protected = set(self.stack.pids.values())
        worker = parent.pid if parent is not None and parent.pid not in protected else task.pid
        kill_tree(worker, signal.SIGKILL)
        return f"killed the worker {worker} running reconcile task process {ti['pid']} ({ti['dag_run_id']})"

    # ------------------------------------------------------------------ the soak
    def run(self) -> dict[str, Any]:
        self.say(f"waiting for {', '.join(DEPLOYMENTS)} to run")
        wait_for("every deployment up", self.all_up, timeout=300)
        began = time.time()
        end = began + self.minutes * 60
        names, weights = list(self.kinds), list(self.kinds.values())
        next_fault = began + self.every / 2
        while time.time() < end:
            if time.time() >= next_fault:
                kind = self.random.choices(names, weights)[0]
                try:
                    fault = self.inject(kind)
                    self.faults.append(fault)
                    self.say(f"fault {kind} {fault.targets or ''} {fault.note}")
                except Exception as err:
                    self.say(f"fault {kind} could not be dealt: {type(err).__name__}: {err}")
                next_fault = time.time() + self.every * self.random.uniform(0.7, 1.3)
            time.sleep(0.5)
        self.say("faults over; waiting for every deployment to be up")
        settled = self.wait_all_up(180)
        return {
            "version": self.version,
            "minutes": self.minutes,
            "seed": self.seed,
            "began": began,
            "settled": settled,
            "faults": [vars(f) for f in self.faults],
            "uptime": self.sampler.as_json(),
            "reconcile_runs": self.reconcile_runs(),
            "bounded_runs": self.runs_of("soak_bounded"),
            "log": self.log,
        }

    def all_up(self) -> bool:
        samples = self.sampler.samples[-1:]
        return bool(samples) and samples[0][1] is not None and all(up for up, _ in samples[0][1].values())

    def wait_all_up(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.all_up():
                return True
            time.sleep(1)
        return False

    def runs_of(self, dag_id: str) -> list[dict[str, Any]]:
        """Every run of ``dag_id``, page by page (the API gives at most 100 at a time)."""
        keep = ("dag_run_id", "state", "run_type", "queued_at", "start_date", "end_date", "logical_date")
        runs: list[dict[str, Any]] = []
        while True:
            try:
                found = self.stack.api(
                    "GET", f"/dags/{dag_id}/dagRuns", params={"limit": 100, "offset": len(runs)}
                )
            except Exception as err:
                return [*runs, {"error": str(err)}]
            page = found.get("dag_runs", [])
            runs += [{k: run.get(k) for k in keep} for run in page]
            if not page or len(runs) >= int(found.get("total_entries", 0)):
                return runs

    def reconcile_runs(self) -> list[dict[str, Any]]:
        """Every reconcile run with what it did: per deployment, the kinds of its actions that
        succeeded (its report, the task's XCom)."""
        runs = self.runs_of("flink_reconcile")
        for run in runs:
            run["acted"] = {}
            try:
                found = self.stack.api(
                    "GET",
                    f"/dags/flink_reconcile/dagRuns/{run['dag_run_id']}/taskInstances/reconcile/xcomEntries/return_value",
                )
            except Exception as err:  # a run that failed or is still going: it made no recovery
                run["acted_error"] = str(err)[:200]
                continue
            report = found.get("value") if isinstance(found, dict) else None
            if isinstance(report, str):
                report = json.loads(report)
            for entry in (report or {}).get("deployments", []):
                kinds = [d["kind"] for d in entry.get("done", []) if d.get("ok") and not d.get("yielded")]
                if kinds:
                    run["acted"][entry["deployment"]] = kinds
        return runs


def _exited(pid: int) -> bool:
    """The process is gone (reaped now if it was our zombie child)."""
    try:
        process = psutil.Process(pid)
        if process.status() != psutil.STATUS_ZOMBIE:
            return False
        with contextlib.suppress(Exception):
            process.wait(0)
        return True
    except psutil.NoSuchProcess:
        return True


def keep(work: Path, into: Path | None) -> None:
    if into is not None:
        # Logs and configuration, Flink's too; not jars, snapshots or Flink's blob and temporary files.
        skip = shutil.ignore_patterns("*.jar", "checkpoints", "savepoints", "blob*", "tmp*", "flink-*")
        shutil.copytree(work, into, dirs_exist_ok=True, ignore=skip)
