"""The crash and race campaign: fault the reconcile at a named step, run it again, check Flink itself.

    .venv/bin/python -m faults.campaign [--versions 2.3.0,1.20.5] [--kinds all] [--repeat 1] [--seed 7]

A trial of one *kind* (see :data:`KINDS`):

1. declare a stateful counter deployment and reconcile it (its own process) until it runs;
2. let its keyed counter pass a mark, then declare a change: a savepoint, last-state or stateless
   upgrade (parallelism 1 -> 2), a suspend, a periodic savepoint; or cancel the job from outside;
3. apply it under the fault: the reconcile process kills itself at the kind's step
   (``FLINK_PROVIDER_CRASH_AT``, :mod:`airflow_provider_flink.crashpoints`), or two reconciles
   are started together on the same records;
4. run the reconcile again, as the next scheduled run would, until it has nothing left to do (at
   most 4 runs); a suspended deployment is then declared running again;
5. check against Flink, not the records: exactly one live job of the deployment (none while
   suspended); it started from the newest snapshot the old job completed (Flink's checkpoint
   history of both jobs) and its counter went on from the mark (a stateless upgrade: from nothing,
   as declared); it runs the declared parallelism; the record names that job and holds no pending
   savepoint; a savepoint Flink completed is in the record; a job whose state Flink deleted is not
   started again from nothing.

The ``regress@...`` kinds replay failures users reported, each with its own play (see
:data:`REGRESSIONS`), and judge the restore by storage too: the checkpoint id in each ``_metadata``.

Output: one line per trial (kind, Flink version, seed, verdict and why) and a table of trials and
violations per kind. ``--seed`` makes the deployment names repeatable; a trial is replayed with
``--kinds <its kind> --versions <its version>`` (races depend on timing; crashes do not).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import random
import select
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import yaml

from airflow_provider_flink.client import ClientSettings, FlinkClient, calls
from airflow_provider_flink.crashpoints import ENV, PAUSE_ENV
from airflow_provider_flink.ids import deployment_prefix, spec_part
from airflow_provider_flink.triggers.conditions import is_healthy
from harness.fault_proxy import FaultProxy
from harness.flink_cluster import QUICK_RESCALE, LocalFlink
from harness.job_jars import BATCH_JOB, COUNTER_JOB, FAILING_JOB, build_jar, read_counter
from harness.postgres import LocalPostgres
from harness.pyflink_env import PYTHON_JOBS
from harness.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
MARK = 300.0  # the counter passes this before the change: a job started without state is below it
RESTART_AFTER = 15  # seconds a "restart" trial's job runs before it fails on purpose
DELETE = {"execution.checkpointing.externalized-checkpoint-retention": "DELETE_ON_CANCELLATION"}
METADATA_MAGIC = bytes.fromhex("4960672d")  # the first 4 bytes of every checkpoint's _metadata


@dataclass(frozen=True)
class Kind:
    """One kind of trial: the change declared after the first deploy, and the fault of the run
    that applies it: the step at which it dies (SIGKILL), or ``racers`` runs started together."""

    # upgrade | last-state | last-state-unhealthy | stateless | suspend | resume | savepoint | deploy |
    # restart | rollback | recover | cancelled-outside | operator; the regression trials' own
    # (see REGRESSIONS): regress-early-cancel | regress-jm-crash | regress-failed-spec | regress-slow-run
    change: str
    step: str | None = None
    racers: int = 1
    flink_defaults: bool = False  # the job deletes its checkpoints on cancel (Flink's default)
    # An answer of Flink lost or delayed by the fault proxy: (method, path pattern); ``delay``:
    # seconds the answer comes late (past the connection's timeout), None: never comes.
    answer: tuple[str, str] | None = None
    delay: float | None = None
    # The late answer also to every retry of that request (the same body): the client's retries of
    # an idempotent call then cannot turn it into a quick "already submitted".
    every_retry: bool = False
    # Seconds the next run waits after the fault: past the spec's health timeout, so a job judged
    # unhealthy would be rolled back by it.
    pause: float = 0.0
    # Who acts beside the reconcile: another reconcile, or a person's task on the same job
    # (FlinkCancelJobOperator / FlinkStopJobOperator).
    rival: Literal["reconcile", "cancel", "stop"] = "reconcile"
    # What runs the reconcile: a forked process with its records in a file, or a real Airflow task
    # process (``airflow tasks test`` of faults/dags/flink_campaign.py) with its records in
    # Airflow Variables. The operator trials (change "task") always run as Airflow tasks.
    through: Literal["process", "airflow"] = "process"
    # Short runs (the reconcile operator's default): a run does not wait for a job's health; later
    # runs mark it stable or roll it back. The Airflow trials are always short (the operator's
    # default); a process trial is short when this says so.
    short: bool = False
    # Run on a cluster with the adaptive scheduler (rescale in place); the others keep Flink's default.
    adaptive: bool = False
    # The deployment is a Python program (harness/python/counter_job.py, run through Flink's
    # PythonDriver with its file staged); its failing spec is a program whose main raises.
    python: bool = False


UPLOAD, RUN, JOB = r"/jars/upload", r"/jars/[^/]+/run(?:-application)?", r"/jobs/[0-9a-f]{32}"
STOP, SAVEPOINTS = JOB + "/stop", JOB + "/savepoints"
TIMEOUT, SLOW = 4, 7.0  # the connection's request timeout in fault trials; a late answer comes after it
HEALTH_TIMEOUT = 15.0
CAMPAIGN_DAG = "flink_campaign"  # faults/dags/flink_campaign.py
REPORT = "FLINK_CAMPAIGN_REPORT"  # the file a campaign DAG task writes its return value to
ASKED = "FLINK_CAMPAIGN_ASKED"  # faults/zygote.py: what a person asks of a run ("suspend=<name>")

KINDS: dict[str, Kind] = {
    # savepoint upgrade (parallelism 1 -> 2), killed at each step boundary
    # its trigger id recorded, nothing asked of Flink yet
    "upgrade@stop:id-recorded": Kind("upgrade", "stop:id-recorded"),
    "upgrade@stop:requested": Kind("upgrade", "stop:requested"),  # while waiting for the stop-with-savepoint
    "upgrade@stop:recorded": Kind("upgrade", "stop:recorded"),  # savepoint filed, nothing submitted yet
    "upgrade@submit:intent-recorded": Kind("upgrade", "submit:intent-recorded"),
    "upgrade@submit:requested": Kind("upgrade", "submit:requested"),  # Flink has the job; the record not
    # killed while waiting for the new job's health; the next run comes after the health timeout.
    # The upscaled job has a FINISHED source subtask (one split, two readers): healthy all the same.
    "upgrade@submit:recorded": Kind("upgrade", "submit:recorded", pause=HEALTH_TIMEOUT + 2),
    # last-state upgrade of a job with Flink's default retention (checkpoints deleted on cancel)
    "last-state-defaults@stop:requested": Kind("last-state", "stop:requested", flink_defaults=True),
    "last-state-defaults@submit:requested": Kind("last-state", "submit:requested", flink_defaults=True),
    # ... of a job that cannot take a savepoint (its TaskManager died): a cancel would delete its state
    "last-state-defaults@unhealthy": Kind("last-state-unhealthy", flink_defaults=True),
    # stateless upgrade: the one cancel that may lose state, because the user asked
    "stateless@cancel:intent-recorded": Kind("stateless", "cancel:intent-recorded"),
    "stateless@cancel:requested": Kind("stateless", "cancel:requested"),
    # suspend (stop with a savepoint), then declared running again
    "suspend@stop:id-recorded": Kind("suspend", "stop:id-recorded"),
    "suspend@stop:requested": Kind("suspend", "stop:requested"),
    "suspend@stop:recorded": Kind("suspend", "stop:recorded"),
    # resume after a suspend, killed while starting the job again
    "resume@submit:intent-recorded": Kind("resume", "submit:intent-recorded"),
    "resume@submit:requested": Kind("resume", "submit:requested"),
    # periodic savepoint
    "savepoint@savepoint:id-recorded": Kind("savepoint", "savepoint:id-recorded"),
    "savepoint@savepoint:requested": Kind("savepoint", "savepoint:requested"),
    # the very first deploy
    "deploy@submit:intent-recorded": Kind("deploy", "submit:intent-recorded"),
    "deploy@submit:requested": Kind("deploy", "submit:requested"),
    # a FAILED job restarted from its latest checkpoint
    "restart@submit:requested": Kind("restart", "submit:requested"),
    "restart@submit:recorded": Kind("restart", "submit:recorded"),
    # an upgrade to a spec whose job cannot start: rolled back to the last stable spec
    "rollback@rollback:intent-recorded": Kind("rollback", "rollback:intent-recorded"),
    "rollback@submit:requested": Kind("rollback", "submit:requested"),
    # a JobManager killed and restarted without HA: the job is gone, its retained checkpoints stay
    "recover@submit:requested": Kind("recover", "submit:requested"),
    # two reconciles on one deployment: the first paused at a step while the second runs whole
    "race@upgrade@stop:requested": Kind("upgrade", "stop:requested", racers=2),
    "race@upgrade@stop:recorded": Kind("upgrade", "stop:recorded", racers=2),
    "race@upgrade@submit:intent-recorded": Kind("upgrade", "submit:intent-recorded", racers=2),
    "race@upgrade@submit:requested": Kind("upgrade", "submit:requested", racers=2),
    "race@suspend@stop:requested": Kind("suspend", "stop:requested", racers=2),
    "race@stateless@cancel:requested": Kind("stateless", "cancel:requested", racers=2),
    "race@savepoint@savepoint:requested": Kind("savepoint", "savepoint:requested", racers=2),
    "race@restart@submit:intent-recorded": Kind("restart", "submit:intent-recorded", racers=2),
    # a person's cancel or stop task on the deployment's job: between two runs, or while a reconcile
    # is paused in the middle of its stop-with-savepoint
    "operator@cancel": Kind("operator", rival="cancel"),
    "operator@stop": Kind("operator", rival="stop"),
    "race@upgrade@stop:requested+cancel": Kind("upgrade", "stop:requested", racers=2, rival="cancel"),
    "race@upgrade@submit:requested+stop": Kind("upgrade", "submit:requested", racers=2, rival="stop"),
    # two reconciles started together, the second 0-4 s after the first (fixed by the seed)
    "race@upgrade": Kind("upgrade", racers=2),
    "race@last-state-defaults": Kind("last-state", racers=2, flink_defaults=True),
    "race@stateless": Kind("stateless", racers=2),
    "race@suspend": Kind("suspend", racers=2),
    "race@savepoint": Kind("savepoint", racers=2),
    # answers of mutating calls lost (Flink acted, the caller cannot tell) or late past the timeout
    "lost@deploy:upload": Kind("deploy", answer=("POST", UPLOAD)),
    "lost@deploy:run": Kind("deploy", answer=("POST", RUN)),
    "lost@upgrade:stop": Kind("upgrade", answer=("POST", STOP)),
    "lost@upgrade:run": Kind("upgrade", answer=("POST", RUN)),
    "lost@stateless:cancel": Kind("stateless", answer=("PATCH", JOB)),
    "lost@suspend:stop": Kind("suspend", answer=("POST", STOP)),
    "lost@savepoint:trigger": Kind("savepoint", answer=("POST", SAVEPOINTS)),
    "slow@upgrade:stop": Kind("upgrade", answer=("POST", STOP), delay=SLOW),
    "slow@upgrade:run": Kind("upgrade", answer=("POST", RUN), delay=SLOW),
    # Flink's defaults: a person cancels the job; its checkpoints are deleted with it
    "defaults@cancelled-outside": Kind("cancelled-outside", flink_defaults=True),
    # A savepoint upgrade declared while the job loops RESTARTING (its TaskManager is gone, no slots):
    # no savepoint is possible; the job must be left, and upgraded with its state once it runs again
    "restart-loop@upgrade": Kind("loop-upgrade"),
    # Retention (keep_last 1) after two upgrades: the run dies right after Flink was asked to
    # dispose the older savepoint, before the record drops it
    "retention@dispose:requested": Kind("retention", "dispose:requested"),
    # A bounded (batch) deployment: its first deploy killed after /run, or while waiting; two at once
    "bounded@submit:requested": Kind("bounded", "submit:requested"),
    "bounded@submit:recorded": Kind("bounded", "submit:recorded"),
    "race@bounded": Kind("bounded", racers=2),
    # The reconcile as a real Airflow task process, its records in Airflow Variables
    "airflow@upgrade@stop:requested": Kind("upgrade", "stop:requested", through="airflow"),
    "airflow@upgrade@submit:requested": Kind("upgrade", "submit:requested", through="airflow"),
    "airflow@rollback@submit:requested": Kind("rollback", "submit:requested", through="airflow"),
    "airflow@race@upgrade@stop:recorded": Kind("upgrade", "stop:recorded", racers=2, through="airflow"),
    # Short runs (no wait for health in the run that submits): killed at each step of a submission,
    # the upgrade judged healthy or rolled back by later runs, two at once
    "short@deploy@submit:requested": Kind("deploy", "submit:requested", short=True),
    "short@upgrade@submit:requested": Kind("upgrade", "submit:requested", short=True),
    "short@upgrade@submit:recorded": Kind("upgrade", "submit:recorded", short=True),
    "short@rollback@submit:requested": Kind("rollback", "submit:requested", short=True),
    "short@rollback@rollback:intent-recorded": Kind("rollback", "rollback:intent-recorded", short=True),
    "short@restart@submit:requested": Kind("restart", "submit:requested", short=True),
    "short@race@upgrade": Kind("upgrade", racers=2, short=True),
    "short@race@upgrade@submit:requested": Kind("upgrade", "submit:requested", racers=2, short=True),
    # What a person asks from the Flink page, the run killed at its step: a suspend (the hold must
    # outlive the crash: later runs keep the job stopped, whatever the file says, until a resume
    # restores it from the suspend's savepoint), a savepoint now (filed, the job kept)
    "asked@suspend@stop:requested": Kind("asked-suspend", "stop:requested"),
    "asked@suspend@stop:recorded": Kind("asked-suspend", "stop:recorded"),
    "asked@savepoint@savepoint:requested": Kind("asked-savepoint", "savepoint:requested"),
    # Rescale in place (adaptive scheduler): parallelism 1 -> 2 on the same job, killed at each step
    # of it, or two reconciles at once; then a rescale on the default scheduler falls back to a
    # savepoint upgrade (the "rescale" change on a cluster without the adaptive scheduler)
    "rescale@rescale:intent-recorded": Kind("rescale", "rescale:intent-recorded", adaptive=True),
    "rescale@rescale:requested": Kind("rescale", "rescale:requested", adaptive=True),
    "rescale@rescale:recorded": Kind("rescale", "rescale:recorded", adaptive=True),
    "race@rescale": Kind("rescale", racers=2, adaptive=True),
    "rescale-fallback@stop:requested": Kind("rescale-fallback", "stop:requested"),
    # The how-to's upgrade pattern as Airflow tasks (deploy, savepoint, stop, deploy from it): the
    # task killed at its step, then retried as the same task instance
    "task@deploy-task:id-recorded": Kind("task", "deploy-task:id-recorded"),
    "task@deploy-task:requested": Kind("task", "deploy-task:requested"),
    "task@stop-task:id-recorded": Kind("task", "stop-task:id-recorded"),
    "task@stop-task:requested": Kind("task", "stop-task:requested"),
    "task@savepoint-task:id-recorded": Kind("task", "savepoint-task:id-recorded"),
    "task@savepoint-task:requested": Kind("task", "savepoint-task:requested"),
    # A program of two jobs as one Flink 2.3 application, the same pattern through the application
    # operators (on 1.20.5: the deploy refuses, nothing submitted): the stop and the upgrade's
    # deploy killed at their steps, or the upgrade's run-application answer lost
    "app-task@stop-application-task:id-recorded": Kind("app-task", "stop-application-task:id-recorded"),
    "app-task@stop-application-task:requested": Kind("app-task", "stop-application-task:requested"),
    "app-task@deploy-application-task:id-recorded": Kind("app-task", "deploy-application-task:id-recorded"),
    "app-task@deploy-application-task:requested": Kind("app-task", "deploy-application-task:requested"),
    "app-task@lost:run-application": Kind("app-task", answer=("POST", r"/jars/[^/]+/run-application")),
    # Regressions a user reported (real Flink 2.3.0, short runs); each one failed when it was added.
    # A job cancelled by a person before its first checkpoint: the next run went back to the
    # record's older upgrade savepoint, behind the checkpoint the job had restored from
    "regress@cancel-before-first-checkpoint": Kind("regress-early-cancel"),
    # A JobManager crash (no HA) after an upgrade's stop-with-savepoint completed, before a run
    # filed it: the next run dropped it and restored an older savepoint of the record
    "regress@jm-crash-after-stop": Kind("regress-jm-crash", "stop:requested"),
    # A person cancels the rolled-back stable job: the next run resumed the failed declared spec
    "regress@failed-spec-resumed": Kind("regress-failed-spec"),
    # An upgrade's POST /jars/{id}/run answering after the request timeout (every retry too):
    # taken for a failed submission, the running new job was rolled back and its spec marked failed
    "regress@slow-run": Kind("regress-slow-run", answer=("POST", RUN), delay=SLOW, every_retry=True),
    # A Python program (issue 22): the same steps through PythonDriver, its files staged.
    "python@deploy@submit:intent-recorded": Kind("deploy", "submit:intent-recorded", python=True),
    "python@deploy@submit:requested": Kind("deploy", "submit:requested", python=True),
    "python@upgrade@stop:requested": Kind("upgrade", "stop:requested", python=True),
    "python@upgrade@submit:intent-recorded": Kind("upgrade", "submit:intent-recorded", python=True),
    "python@upgrade@submit:requested": Kind("upgrade", "submit:requested", python=True),
    "python@lost@deploy:run": Kind("deploy", answer=("POST", RUN), python=True),
    "python@lost@upgrade:run": Kind("upgrade", answer=("POST", RUN), python=True),
    # The upgrade's program raises in main: Flink refuses it (no job); rolled back, never again
    "python@rollback@submit:requested": Kind("rollback", "submit:requested", python=True),
    "python@rollback@rollback:intent-recorded": Kind("rollback", "rollback:intent-recorded", python=True),
}

# What the test suite runs (tests/integration/test_faults.py), spread over the Flink versions: the
# five failures of issue 9 the campaign was built to catch, then one kind of each other fault.
CI_SAMPLE = [
    "upgrade@stop:requested",  # failure 1 of issue 9: killed while waiting for the stop-with-savepoint
    "race@upgrade@stop:recorded",  # failure 4: two reconciles at once
    "upgrade@submit:recorded",  # failure 2: a second judgement of health would roll back a healthy job
    "last-state-defaults@unhealthy",  # failure 3: last-state on Flink's default retention
    "rollback@submit:requested",  # failure 5: a failed spec applied again on every run
    "rollback@rollback:intent-recorded",  # a resubmitted rollback once ran the failed spec
    "race@upgrade@submit:requested+stop",  # a person's stop mid-upgrade was once rolled back
    "lost@upgrade:run",
    "savepoint@savepoint:requested",
    "deploy@submit:requested",
    "bounded@submit:requested",  # a batch job once ran again on every run (16 times in one trial)
    "short@rollback@submit:requested",  # short runs: the failed upgrade rolled back by a later run
    "python@lost@upgrade:run",  # a Python run's retry was refused inside the program: its job was cancelled
    # A user's reports (10-30 s each). Not regress@jm-crash-after-stop: it restarts the JobManager,
    # which forgets the session cluster's uploaded jar the other tests use.
    "regress@cancel-before-first-checkpoint",
    "regress@failed-spec-resumed",
    "regress@slow-run",
    "app-task@lost:run-application",  # a program of two jobs: one application after a lost answer
]


@dataclass
class Verdict:
    kind: str
    version: str
    seed: int
    ok: bool
    detail: str


class Violation(Exception):
    """An invariant does not hold, checked against Flink."""


# How the planner's skip reasons begin when a later run has something to finish: a job not yet
# healthy, a savepoint still in progress. Matched at the start: a reason may quote a failure whose
# text says "waiting" (seed 14564 of the 2028 histories: "the declared spec failed … (… ended FAILED
# while waiting for it to be RUNNING …)" was taken for a wait, and the settle never ended).
WAITING = ("waiting for ", "the upgrade waits for ", "a savepoint (")


def settled(report: dict[str, Any]) -> bool:
    """A reconcile run's report says nothing is left to do: no action, nothing waited for (a
    savepoint still pending, a job not yet healthy)."""
    entries = report["deployments"]
    waiting = [d for d in entries if (d["skipped"] or "").startswith(WAITING)]
    return not waiting and not any(d["actions"] for d in entries)


class Zygote:
    """The client of :mod:`faults.zygote`: reconcile runs forked from a process that imported once."""

    def __init__(self) -> None:
        # What the zygote itself prints (Airflow's warnings while importing) goes to a log file;
        # each run writes its own log next to its report.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (open as long as the zygote runs)
            prefix="flink-faults-zygote-", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "faults.zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        self.next_id = 0
        self.started: set[int] = set()
        self.exits: dict[int, int] = {}
        self._buffer = b""

    def _pump(self, timeout: float) -> None:
        """Read what the zygote said within ``timeout`` seconds (unbuffered: select sees it all)."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        if b"\n" not in self._buffer:
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                return
            chunk = os.read(fd, 65536)
            if not chunk:
                raise RuntimeError("the reconcile zygote ended")
            self._buffer += chunk
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            message = json.loads(line)
            if "exit" in message:
                self.exits[message["id"]] = message["exit"]
            else:
                self.started.add(message["id"])

    def start(self, request: dict[str, Any]) -> Run:
        assert self.proc.stdin is not None
        self.next_id += 1
        run = Run(self, self.next_id, Path(request["out"]))
        self.proc.stdin.write((json.dumps({"id": run.id, **request}) + "\n").encode())
        self.proc.stdin.flush()
        deadline = time.monotonic() + 60
        while run.id not in self.started:
            if time.monotonic() > deadline:
                raise TimeoutError("the reconcile zygote did not start a run in 60 s")
            self._pump(1.0)
        return run

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.log.close()
        os.unlink(self.log.name)


@dataclass
class Run:
    zygote: Zygote
    id: int
    out: Path

    def ended(self) -> bool:
        self.zygote._pump(0)
        return self.id in self.zygote.exits

    def wait(self, timeout: float = 300) -> int:
        deadline = time.monotonic() + timeout
        while self.id not in self.zygote.exits:
            if time.monotonic() > deadline:
                raise TimeoutError(f"reconcile run {self.id} did not end in {timeout:.0f} s")
            self.zygote._pump(1.0)
        return self.zygote.exits[self.id]

    def report(self) -> dict[str, Any] | None:
        return json.loads(self.out.read_text()) if self.out.exists() else None


_ZYGOTE: Zygote | None = None
_AIRFLOW_READY = False


def lineage_env(events: Path) -> dict[str, str]:
    """OpenLineage on through Airflow's provider, its events written to ``events`` (a file transport)."""
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "faults",
    }


def airflow_settings(home: Path) -> dict[str, str]:
    """An Airflow of the campaign's own: SQLite metadata DB, the campaign DAG (set before the zygote
    starts: it reads Airflow's configuration once, when it imports Airflow)."""
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "faults" / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }


def prepare_airflow() -> None:
    """The campaign DAG known to the metadata DB (``dags trigger`` needs it), once per process."""
    global _AIRFLOW_READY
    if _AIRFLOW_READY:
        return
    out = Path(tempfile.mkdtemp(prefix="flink-faults-")) / "reserialize"
    for argv in (["db", "migrate"], ["dags", "reserialize"]):
        code = zygote().start({"airflow": argv, "out": str(out), "env": dict(os.environ)}).wait()
        if code != 0:
            raise RuntimeError(f"airflow {' '.join(argv)} failed (exit {code}): see {out}.log")
    _AIRFLOW_READY = True


def zygote() -> Zygote:
    """One zygote per campaign process (started on first use, closed at exit)."""
    global _ZYGOTE
    if _ZYGOTE is None or _ZYGOTE.proc.poll() is not None:
        _ZYGOTE = Zygote()
        atexit.register(_ZYGOTE.close)
    return _ZYGOTE


LEASE_SECONDS = 6.0  # the SQL store's leases in a trial: a killed racer's lease ends within its settle


class Trial:
    def __init__(
        self, flink: LocalFlink, jar: Path, work: Path, name: str, kind: Kind, database: str | None = None
    ) -> None:
        self.flink, self.jar, self.name, self.kind = flink, jar, name, kind
        # Records in the SQL store (a schema of the trial's own on ``database``), or in a file.
        self.database, self.schema = database, "c_" + name.replace("-", "_")
        self.folder = work / name
        self.folder.mkdir(parents=True)
        self.records = work / f"{name}.records.json"
        self.client = FlinkClient(ClientSettings(flink.rest_url))
        if kind.answer is not None and kind.answer[1] == UPLOAD:
            # Uploads are reused by content: a jar of its own makes sure this trial uploads one.
            self.jar = work / f"{name}.jar"
            shutil.copyfile(jar, self.jar)
            with zipfile.ZipFile(self.jar, "a") as archive:
                archive.writestr("trial.txt", name)
        # The reconcile reaches Flink through the fault proxy when the kind loses or delays answers.
        self.proxy = FaultProxy(flink.rest_url).start() if kind.answer else None
        connection: dict[str, Any] = {
            "conn_type": "flink",
            "host": "127.0.0.1",
            "port": self.proxy.port if self.proxy else int(flink.rest_url.rsplit(":", 1)[1]),
        }
        if kind.answer:
            connection["extra"] = {"request_timeout": TIMEOUT}
        if kind.python:  # where a Python program's files are staged: a folder the local cluster reads
            connection["extra"] = {**connection.get("extra", {}), "python_staging_dir": str(work / "staging")}
        self.env = {
            **os.environ,
            "AIRFLOW_CONN_FLINK_DEFAULT": json.dumps(connection),
            # Lineage on (docs/lineage.md): the operator tasks' paths with it, under the same faults.
            **lineage_env(work / "lineage.jsonl"),
        }
        self.env.pop(ENV, None)
        self.env.pop(PAUSE_ENV, None)
        self.stagger = 0.0
        self.runs = 0
        # The jobs on the cluster before an operator trial (theirs are all the others).
        self.baseline: set[str] | None = None
        if kind.change in ("task", "app-task"):
            self.baseline = {j.jid for j in self.client.call(calls.jobs_overview()).jobs}

    def arm(self) -> None:
        """Install the kind's lost or late answer for the next matching request."""
        if self.proxy is not None and self.kind.answer is not None:
            method, path = self.kind.answer
            if self.kind.delay is None:
                self.proxy.lose(method, path)
            else:
                self.proxy.delay(method, path, self.kind.delay, retries=self.kind.every_retry)

    def check_faulted(self) -> None:
        """The fault did happen (else the trial proved nothing)."""
        if self.proxy is not None and not self.proxy.events:
            raise Violation(f"the fault never happened: no {self.kind.answer} request was made")

    def declare(self, changed: bool = False) -> None:
        kind = self.kind
        spec: dict[str, Any] = {
            "name": self.name,
            "artifact": {"jar": str(self.jar)},
            "entry_class": COUNTER_JOB,
            "args": ["--rate", "100"],
            "parallelism": 1,
            "health_timeout_seconds": HEALTH_TIMEOUT if kind.pause else 60,
            "flink_config": DELETE if kind.flink_defaults else {},
            "upgrade_mode": "savepoint",
        }
        if kind.change in ("last-state", "last-state-unhealthy", "stateless"):
            spec["upgrade_mode"] = kind.change.removesuffix("-unhealthy")
        if changed and kind.change in (
            "rescale",
            "rescale-fallback",
            "upgrade",
            "last-state",
            "last-state-unhealthy",
            "stateless",
            "loop-upgrade",
            "regress-early-cancel",
            "regress-jm-crash",
            "regress-slow-run",
        ):
            spec["parallelism"] = 2
        if changed and kind.change in ("suspend", "resume"):
            spec["state"] = "suspended"
        if changed and kind.change == "savepoint":
            spec["savepoint_policy"] = {"interval_minutes": 1}
        if kind.change == "retention":
            spec["savepoint_policy"] = {"keep_last": 1}
        if changed and kind.change == "retention":
            spec["parallelism"] = 2
        if kind.change == "bounded":  # a batch job: it ends by itself, FINISHED is its goal
            spec.update(entry_class=BATCH_JOB, args=["--count", "2000000"], bounded=True)
        if kind.change == "restart":  # fails on purpose, FAILED for good (restart strategy none)
            spec["args"] += ["--fail-after-seconds", str(RESTART_AFTER)]
        # A job that cannot start from the counter's state: the upgrade fails and is rolled back.
        if changed and kind.change in ("rollback", "regress-failed-spec"):
            spec.update(entry_class=FAILING_JOB, args=[], parallelism=2)
        if kind.python:
            # The Python counter (the same gauge and rate), or, for a failing spec, a program whose
            # main raises: Flink refuses the submission (the upgrade is rolled back).
            failing = spec.pop("entry_class") == FAILING_JOB
            spec.pop("artifact")
            spec["python"] = {"file": str(PYTHON_JOBS / ("failing_main.py" if failing else "counter_job.py"))}
        (self.folder / f"{self.name}.yaml").write_text(yaml.safe_dump(spec))

    def start(self, env: dict[str, str], holder: str = "reconcile") -> Run:
        """A reconcile run in its own process (forked from the zygote), not waited for. ``holder``:
        who it is to the SQL store's leases; the trial's successive runs are one task's tries (a
        run after a killed one takes its lease over, as a retry does), racers are others."""
        if self.kind.through == "airflow":  # a new DAG run each time, as the scheduler would start
            return self.task("reconcile", {"folder": str(self.folder)}, env=env)
        self.runs += 1
        out = self.folder.parent / f"{self.name}.run{self.runs}.json"
        store: dict[str, Any] = (
            {"records": self.database, "schema": self.schema, "lease_seconds": LEASE_SECONDS}
            if self.database
            else {"records": str(self.records)}
        )
        return zygote().start(
            {
                "folder": str(self.folder),
                **store,
                "run": f"campaign/{self.name}/{holder}/{self.runs}",
                "out": str(out),
                "env": env,
                "wait_for_health": not self.kind.short,
            }
        )

    def task(
        self,
        task_id: str,
        params: dict[str, Any],
        run_id: str | None = None,
        env: dict[str, str] | None = None,
    ) -> Run:
        """One try of a task of the campaign DAG in a real Airflow task process (``airflow tasks
        test``, forked from the zygote), not waited for. Tries with the same ``run_id`` are tries of
        one task instance: they share its task state store. Without one, a DAG run of its own."""
        self.runs += 1
        out = self.folder.parent / f"{self.name}.run{self.runs}.json"
        run_id = run_id or f"{self.name}-{self.runs}"
        argv = ["tasks", "test", CAMPAIGN_DAG, task_id, run_id, "-t", json.dumps(params)]
        return zygote().start(
            {"airflow": argv, "out": str(out), "env": {**(env or self.env), REPORT: str(out)}}
        )

    def task_result(self, task_id: str, params: dict[str, Any], crash_at: str | None = None) -> Any:
        """Run a campaign DAG task to its end and return its result. With ``crash_at``, its first
        try dies at that step (SIGKILL, as a lost worker) and a retry of the same task instance
        (same DAG run, so the same task state store) finishes it."""
        run_id = None
        if crash_at:
            run_id = f"{self.name}-{task_id}-{self.runs}"
            self.dag_run(run_id)
            code = self.task(task_id, params, run_id, env={**self.env, ENV: crash_at}).wait()
            if code != -9:
                raise Violation(
                    f"the {task_id} task was meant to die at {crash_at} but ended with exit code {code}"
                )
        run = self.task(task_id, params, run_id)
        code = run.wait()
        result = run.report() if code == 0 else None
        if result is None:
            raise Violation(
                f"the {task_id} task{' retry' if crash_at else ''} failed (exit {code}): see {run.out}.log"
            )
        return result

    def dag_run(self, run_id: str) -> None:
        """A DAG run that outlives its tasks' processes (a killed try and its retry share it)."""
        self.runs += 1
        out = self.folder.parent / f"{self.name}.run{self.runs}.json"
        argv = ["dags", "trigger", CAMPAIGN_DAG, "--run-id", run_id]
        code = zygote().start({"airflow": argv, "out": str(out), "env": self.env}).wait()
        if code != 0:
            raise RuntimeError(f"airflow dags trigger {run_id} failed (exit {code}): see {out}.log")

    def run(self, crash_at: str | None = None, asked: str | None = None) -> tuple[int, dict[str, Any] | None]:
        """One reconcile run to its end; ``asked``: what a person asks of it for this deployment
        (``suspend``, ``resume``, ``savepoint_now``: the Flink page's requests)."""
        env = dict(self.env)
        if crash_at:
            env[ENV] = crash_at
        if asked:
            env[ASKED] = f"{asked}={self.name}"
        run = self.start(env)
        code = run.wait()
        return code, (run.report() if code == 0 else None)

    def race(self, racers: int, stagger: float) -> list[int]:
        """``racers`` reconcile processes, each started ``stagger`` seconds after the one before (so
        a later one observes the deployment in the middle of the first one's transition); their
        exit codes."""
        runs = []
        for index in range(racers):
            if index:
                time.sleep(stagger)
            runs.append(self.start(self.env, holder=f"racer{index}"))
        return [run.wait() for run in runs]

    def interleave(self, step: str) -> list[int]:
        """The first run pauses at ``step``; a rival (a second run going from start to end, or a
        person's task) acts; then the first goes on. Their exit codes."""
        gate = Path(tempfile.mkdtemp(dir=self.folder.parent, prefix="gate-"))
        first = self.start({**self.env, PAUSE_ENV: f"{step}@{gate}"}, holder="first")
        try:
            wait_for(
                f"the first run paused at {step}",
                lambda: (gate / "paused").exists() or first.ended(),
                timeout=120,
            )
            if not (gate / "paused").exists():
                raise Violation(f"the first run never reached {step} (exit code {first.wait()})")
            second = self.rival_acts()
        finally:
            (gate / "resume").touch()
        return [first.wait(), second]

    def rival_acts(self) -> int:
        """What acts beside the reconcile: another reconcile run (its exit code), or a person's
        cancel or stop task on the deployment's live job, run as a DAG task would (0)."""
        if self.kind.rival == "reconcile":
            return self.run()[0]
        from airflow_provider_flink.operators import FlinkCancelJobOperator, FlinkStopJobOperator
        from harness.task_context import task_context

        os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = self.env["AIRFLOW_CONN_FLINK_DEFAULT"]
        for job in self.live_jobs():
            if self.kind.rival == "stop":  # a savepoint needs running tasks: the person waits for them
                with contextlib.suppress(AssertionError):
                    wait_for(f"{job} healthy", partial(self.healthy, job), 30)
            task = FlinkCancelJobOperator if self.kind.rival == "cancel" else FlinkStopJobOperator
            try:
                task(task_id=self.kind.rival, job_id=job, deferrable=False).execute(task_context())
            except Exception as err:  # e.g. a stop of a job the reconcile is already stopping
                print(f"  the person's {self.kind.rival} of {job} failed: {err}", file=sys.stderr)
        return 0

    def settle(self) -> dict[str, Any] | None:
        """The next scheduled runs, until one has nothing left to do and waits for nothing (at most
        8, a second apart); the last report. A run that waits (a savepoint still in progress, a job
        not yet healthy) is followed by another, as the schedule would."""
        report = None
        for attempt in range(8):
            if attempt:
                time.sleep(1.0)
            code, report = self.run()
            if code == 0 and report and settled(report):
                break
        return report

    def jobs(self) -> list[Any]:
        everything = self.client.call(calls.jobs_overview()).jobs
        if self.baseline is not None:  # the operators choose their own ids: the jobs new in this trial
            return [j for j in everything if j.jid not in self.baseline]
        prefix = deployment_prefix(self.name)
        return [j for j in everything if j.jid.startswith(prefix)]

    def live_jobs(self) -> list[str]:
        return [j.jid for j in self.jobs() if not j.state.is_globally_terminal]

    def counter(self, job_id: str) -> float:
        try:
            return read_counter(self.client, job_id)
        except Exception:  # not running yet: no metric
            return 0.0

    def record(self) -> dict[str, Any]:
        if self.kind.through == "airflow":  # the Variables in Airflow's metadata DB
            self.runs += 1
            out = self.folder.parent / f"{self.name}.run{self.runs}.variables.json"
            run = zygote().start(
                {"airflow": ["variables", "export", str(out)], "out": str(out), "env": self.env}
            )
            if run.wait() != 0:
                raise RuntimeError(f"airflow variables export failed: see {out}.log")
            raw = json.loads(out.read_text())
        elif self.database:  # the SQL store's table, read with plain SQL
            from sqlalchemy import create_engine, text

            engine = create_engine(self.database)
            try:
                with engine.connect() as conn:
                    query = f'SELECT body FROM "{self.schema}".flink_deployment_records WHERE name = :n'  # noqa: S608
                    body = conn.execute(text(query), {"n": self.name}).scalar()
            except Exception:  # no table yet: nothing was ever written
                body = None
            finally:
                engine.dispose()
            raw = {f"flink_deployment.flink_default.{self.name}": body} if body else {}
        else:
            raw = json.loads(self.records.read_text()) if self.records.exists() else {}
        stored = raw.get(f"flink_deployment.flink_default.{self.name}")
        if isinstance(stored, dict):  # an exported Variable: {"value": <parsed JSON>, "description": ...}
            value = stored.get("value")
            return value if isinstance(value, dict) else json.loads(value or "{}")
        return json.loads(stored) if stored else {}

    def newest_snapshot(self, job_id: str) -> Any:
        """The newest completed snapshot of ``job_id`` in Flink's own checkpoint history."""
        latest = self.client.call(calls.job_checkpoints(job_id)).latest
        snapshots = [c for c in (latest.completed, latest.savepoint) if c is not None and c.external_path]
        return max(snapshots, key=lambda c: c.id, default=None)

    def latest_savepoint(self, job: str) -> Any:
        return self.client.call(calls.job_checkpoints(job)).latest.savepoint

    def stored_snapshots(self) -> dict[Path, int]:
        """Every complete snapshot of the deployment on storage, with its checkpoint id: a retained
        ``chk-N`` of any of its jobs, a savepoint anywhere under the savepoint directory (a spec may
        file them in a subdirectory). Checkpoint ids run on across restores: the highest is the
        newest state, whatever Flink (after a JobManager restart) or the record still remember."""
        prefix = deployment_prefix(self.name)
        found = [*self.flink.checkpoint_dir.glob(f"{prefix}*/chk-*/_metadata")]
        found += self.flink.savepoint_dir.rglob(f"savepoint-{prefix[:6]}-*/_metadata")
        stored = {metadata.parent: snapshot_id(metadata) for metadata in found}
        for path, number in stored.items():  # the header agrees with Flink's own naming
            if path.name.startswith("chk-") and path.name != f"chk-{number}":
                raise RuntimeError(f"{path}/_metadata says checkpoint {number}")
        return stored

    def check_newest_restored(self, job: str, stored: dict[Path, int], mark: float) -> str:
        """``job`` started from a snapshot at least as new as the newest in ``stored`` (by checkpoint
        id, as Flink reports the restore), and its counter went on from ``mark``."""
        if not stored:
            raise RuntimeError("no snapshot of the deployment on storage: the trial proves nothing")
        newest = max(stored, key=lambda path: stored[path])
        with contextlib.suppress(AssertionError):  # Flink's checkpoint statistics lag a little
            wait_for(
                f"{job}'s restore", lambda: self.client.call(calls.job_checkpoints(job)).latest.restored, 10
            )
        restored = self.client.call(calls.job_checkpoints(job)).latest.restored
        if restored is None or restored.id < stored[newest]:
            raise Violation(
                f"state went back: job {job} restored {restored.external_path if restored else 'nothing'} "
                f"(checkpoint {restored.id if restored else '-'}); the newest snapshot of the deployment on "
                f"storage is {newest.name} (checkpoint {stored[newest]})"
            )
        return (
            f"restored checkpoint {restored.id} (newest on storage: {stored[newest]}), "
            + self.check_counter(job, mark)
        )

    def healthy(self, job: str) -> bool:
        return is_healthy(self.client.call(calls.job(job)))

    def one_live_job(self) -> str:
        live = self.live_jobs()
        if len(live) != 1:
            raise Violation(f"{len(live)} live jobs of the deployment: {live}")
        return live[0]

    def check_restored(
        self, old: str, job: str, mark: float, parallelism: int, only_old: bool = False
    ) -> str:
        """``job`` started from the newest snapshot an earlier job of the deployment completed
        (Flink's history of those jobs; ``only_old``: of ``old`` alone, as a rollback must), its
        counter went on from ``mark``, and it runs ``parallelism``."""
        earlier = (
            [old]
            if only_old
            else [j.jid for j in self.jobs() if j.jid != job and j.state.is_globally_terminal]
        )
        snapshots = [s for s in map(self.newest_snapshot, earlier) if s is not None]
        newest = max(snapshots, key=lambda c: c.trigger_timestamp or 0, default=None)
        started_from = self.client.call(calls.job_checkpoints(job)).latest.restored
        if newest is None:
            raise Violation(f"Flink shows no completed snapshot of the earlier jobs {earlier}")
        if started_from is None or started_from.external_path != newest.external_path:
            raise Violation(
                f"state went back: the newest snapshot of {earlier} is {newest.external_path} (id {newest.id}); "
                f"the job now running ({job}) started from "
                f"{started_from.external_path if started_from else 'nothing'}"
            )
        self.check_parallelism(job, parallelism)
        return self.check_counter(job, mark)

    def mark(self, job: str) -> float:
        """A counter value that every snapshot from now on is at or above: read once the counter
        passed MARK, then wait for a checkpoint triggered after the reading to complete. (A restore
        from a checkpoint legitimately starts below the counter read *after* that checkpoint.)"""
        wait_for(f"counter of {job} >= {MARK}", lambda: self.counter(job) >= MARK)
        value, since_ms = self.counter(job), time.time() * 1000
        wait_for(f"a checkpoint of {job} after the mark", partial(self.checkpointed_since, job, since_ms), 60)
        return value

    def checkpointed_since(self, job: str, since_ms: float) -> bool:
        latest = self.client.call(calls.job_checkpoints(job)).latest.completed
        return latest is not None and (latest.trigger_timestamp or 0) > since_ms

    def check_counter(self, job: str, mark: float) -> str:
        """The keyed counter of ``job`` went on from ``mark`` (a job started without state is below it)."""
        restored = wait_for(f"counter of {job}", lambda: self.counter(job), timeout=30)
        if restored < mark:
            raise Violation(
                f"state went back: the counter was {mark:.0f}, the job now running ({job}) is at {restored:.0f}"
            )
        return f"counter {mark:.0f} -> {restored:.0f}"

    def check_parallelism(self, job: str, parallelism: int) -> None:
        found = {v.parallelism for v in self.client.call(calls.job(job)).vertices}
        if found != {parallelism}:
            raise Violation(
                f"the job runs parallelism {found} (spec {spec_part(job)}), the declared spec says {parallelism}"
            )

    def check_record(self, job: str | None) -> None:
        """The record agrees with Flink after the next run: the job it names, nothing pending."""
        record = self.record()
        if job is not None and record.get("current_job_id") != job:
            raise Violation(f"the record names job {record.get('current_job_id')}, Flink runs {job}")
        operation = record.get("operation") or {}
        if operation.get("kind") == "savepoint":
            raise Violation(f"the record still holds a pending savepoint: {operation}")

    def cleanup(self) -> None:
        for job_id in self.live_jobs():
            self.client.call(calls.cancel_job(job_id))
        # The next trial needs the slots: a Python job's cancel (its workers shutting down) takes
        # seconds, and a trial that began meanwhile waited for slots past its own deadline.
        with contextlib.suppress(AssertionError):
            wait_for("the trial's jobs ended", lambda: not self.live_jobs() or None, 60)
        self.client.close()
        if self.proxy is not None:
            self.proxy.stop()


def run_trial(
    flink: LocalFlink, jar: Path, work: Path, name: str, seed: int, database: str | None = None
) -> Verdict:
    """One trial; ``database``: the SQL store's PostgreSQL URL (None: records in a JSON file)."""
    kind = KINDS[name]
    if kind.through == "airflow" or kind.change in ("task", "app-task"):
        prepare_airflow()
    deployment = f"t{seed}-{random.Random(seed).randrange(16**6):06x}"
    trial = Trial(flink, jar, work, deployment, kind, database)
    # Where in the first racer's transition the second one comes in: 0-4 s covers observing,
    # stopping with a savepoint, submitting and waiting for health. Fixed by the seed.
    trial.stagger = random.Random(seed).uniform(0.0, 4.0)
    verdict = Verdict(name, flink.version, seed, False, "")
    try:
        verdict.detail = _play(trial, kind)
        verdict.ok = True
    except Violation as err:
        verdict.detail = str(err)
    except Exception as err:  # a trial that could not be judged is reported, not hidden
        verdict.detail = f"trial error: {type(err).__name__}: {err}"
    finally:
        trial.cleanup()
    if kind.racers > 1 and not kind.step:
        verdict.detail += f" (second run {trial.stagger:.1f} s after the first)"
    return verdict


def _play(trial: Trial, kind: Kind) -> str:
    if kind.change == "task":
        return _operator_pattern(trial, kind)
    if kind.change == "app-task":
        return _application_pattern(trial, kind)
    trial.declare()
    if kind.change in REGRESSIONS:
        return REGRESSIONS[kind.change](trial, kind)
    if kind.change == "bounded":
        return _bounded(trial, kind)
    if kind.change == "deploy":
        _fault(trial, kind)
        trial.settle()
        job = trial.one_live_job()
        trial.check_record(job)
        trial.check_parallelism(job, 1)
        return "one job after a faulted first deploy"
    code, _ = trial.run()
    if code != 0:
        raise Violation(f"the first deploy failed (exit {code})")
    (old,) = trial.live_jobs()
    mark = trial.mark(old)
    if kind.change == "cancelled-outside":
        return _cancelled_outside(trial, old)
    if kind.change == "restart":
        wait_for(f"{old} FAILED on purpose", lambda: not trial.live_jobs(), timeout=RESTART_AFTER + 30)
        _fault(trial, kind)
        trial.settle()
        job = trial.one_live_job()
        trial.check_record(job)
        return "restarted: " + trial.check_restored(old, job, mark, 1)
    if kind.change == "recover":
        return _recover(trial, kind, old, mark)
    if kind.change in ("last-state-unhealthy", "loop-upgrade"):
        return _last_state_unhealthy(trial, old, mark)
    if kind.change == "retention":
        return _retention(trial, kind)
    if kind.change == "asked-suspend":
        return _asked_suspend(trial, kind, old, mark)
    if kind.change == "asked-savepoint":
        crashed, _ = trial.run(crash_at=kind.step, asked="savepoint_now")
        if crashed != -9:
            raise Violation(f"the run was meant to die at {kind.step} but ended with exit code {crashed}")
        trial.settle()
        return _savepoint_filed(trial, old)
    if kind.change == "operator":  # a person ends the job; the deployment still says running
        trial.rival_acts()
        trial.settle()
        job = trial.one_live_job()
        trial.check_record(job)
        return f"after a person's {kind.rival}: " + trial.check_restored(old, job, mark, 1)
    trial.declare(changed=True)
    if kind.change == "resume":
        trial.run()  # the suspend itself goes well; the resume below is faulted
    else:
        _fault(trial, kind)
    trial.settle()
    if kind.change == "savepoint":
        return _savepoint_filed(trial, old)
    if kind.change in ("suspend", "resume"):
        live = trial.live_jobs()
        if live:
            raise Violation(f"declared suspended, {len(live)} live job(s): {live}")
        trial.check_record(None)
        trial.declare()  # running again
        if kind.change == "resume":
            _fault(trial, kind)
        trial.settle()
        job = trial.one_live_job()
        trial.check_record(job)
        return "suspended, resumed: " + trial.check_restored(old, job, mark, 1)
    job = trial.one_live_job()
    trial.check_record(job)
    if kind.change == "rescale":
        # In place: the same job, at the new parallelism, its counter going on from its own state.
        if job != old:
            raise Violation(f"a rescale in place replaced the job {old} by {job}")
        trial.check_parallelism(job, 2)
        return "rescaled in place, " + trial.check_counter(job, mark)
    if kind.change == "rescale-fallback":
        trial.check_parallelism(job, 2)
        return "no adaptive scheduler: savepoint upgrade, " + trial.check_restored(old, job, mark, 2)
    if kind.change == "stateless":
        started_from = trial.client.call(calls.job_checkpoints(job)).latest.restored
        if started_from is not None:
            raise Violation(f"a stateless upgrade restored {started_from.external_path}")
        trial.check_parallelism(job, 2)
        return "one job, started without state as declared"
    if kind.change == "rollback":
        # The failed spec is tried once: later runs do not apply it again (each try would cost a
        # savepoint, a failing job and a rollback).
        # Each try stops the stable job and starts it again: the original and one rollback job.
        stable = [j.jid for j in trial.jobs() if spec_part(j.jid) == spec_part(old)]
        if len(stable) != 2:
            raise Violation(f"the failed spec was applied {len(stable) - 1} times: stable-spec jobs {stable}")
        return "rolled back: " + trial.check_restored(old, job, mark, 1, only_old=True)
    return "one job, " + trial.check_restored(old, job, mark, 2)


def _savepoint_filed(trial: Trial, old: str) -> str:
    """The job kept, and the savepoint Flink completed for it filed in the record."""
    job = trial.one_live_job()
    if job != old:
        raise Violation(f"a periodic savepoint replaced the job {old} by {job}")
    trial.check_record(job)
    filed = [s["path"] for s in trial.record().get("savepoints", [])]
    # Flink's checkpoint statistics are cached and updated after the savepoint completes.
    with contextlib.suppress(AssertionError):
        wait_for(f"{old}'s history to show its savepoint", partial(trial.latest_savepoint, old), 15)
    latest = trial.latest_savepoint(old)
    newest = trial.newest_snapshot(old)
    if latest is None or latest.external_path not in filed:
        raise Violation(
            f"Flink completed savepoint {latest and latest.external_path}; the record has {filed}"
        )
    return f"savepoint {newest.id if newest else '?'} filed, job kept"


def _asked_suspend(trial: Trial, kind: Kind, old: str, mark: Any) -> str:
    """A suspend asked by a person (the file still says running), the run killed at its step: the
    hold must outlive the crash, and a resume must restore the suspend's savepoint."""
    crashed, _ = trial.run(crash_at=kind.step, asked="suspend")
    if crashed != -9:
        raise Violation(f"the run was meant to die at {kind.step} but ended with exit code {crashed}")
    trial.settle()  # later runs ask nothing: the file says running
    live = trial.live_jobs()
    if live:
        raise Violation(f"a person's suspend did not hold after the crash: live jobs {live}")
    if not trial.record().get("hold"):
        raise Violation("the record lost the person's hold")
    code, _ = trial.run(asked="resume")
    if code != 0:
        raise Violation(f"the resume run failed (exit {code})")
    trial.settle()
    job = trial.one_live_job()
    trial.check_record(job)
    if trial.record().get("hold"):
        raise Violation("the hold is still recorded after the resume")
    return "held through the crash, resumed: " + trial.check_restored(old, job, mark, 1)


def _fault(trial: Trial, kind: Kind) -> None:
    """Apply the declared change under the kind's fault: racing runs, a lost or late answer, or a
    run that dies at its step."""
    if kind.answer is not None:
        trial.arm()
        trial.run()  # it may fail (the answer is lost): the next runs must finish the job
        trial.check_faulted()
        return
    if kind.racers > 1 and kind.step:
        codes = trial.interleave(kind.step)
        if any(codes):
            raise Violation(f"a racing run failed: exit codes {codes}")
        return
    if kind.racers > 1:
        codes = trial.race(kind.racers, trial.stagger)
        if any(codes):
            raise Violation(f"a racing run failed: exit codes {codes}")
        return
    crashed, _ = trial.run(crash_at=kind.step)
    if crashed != -9:
        raise Violation(f"the run was meant to die at {kind.step} but ended with exit code {crashed}")
    time.sleep(kind.pause)


def _operator_pattern(trial: Trial, kind: Kind) -> str:
    """The upgrade pattern of the how-to, each step an Airflow task: deploy, (savepoint,) stop with
    a savepoint, deploy from it. The kind's task dies at its step (SIGKILL) and its retry (the same
    task instance) must finish the one operation, not start a second: one savepoint, one job."""
    step = kind.step or ""
    faulted = step.split(":")[0].removesuffix("-task")  # deploy | stop | savepoint
    params = {"jar": str(trial.jar), "entry_class": COUNTER_JOB, "parallelism": 1, "savepoint_path": ""}
    old = trial.task_result("deploy", params)
    if trial.live_jobs() != [old]:
        raise Violation(f"the deploy task returned {old}; live jobs {trial.live_jobs()}")
    mark = trial.mark(old)
    if faulted == "savepoint":
        location = trial.task_result("savepoint", {"job_id": old}, crash_at=step)
        if trial.live_jobs() != [old]:
            raise Violation(f"a savepoint task changed the jobs: live jobs {trial.live_jobs()}, was [{old}]")
        return "job kept, " + _one_savepoint(trial, old, location)
    location = trial.task_result("stop", {"job_id": old}, crash_at=step if faulted == "stop" else None)
    if trial.live_jobs():
        raise Violation(f"the stop task returned {location}; live jobs {trial.live_jobs()}")
    detail = _one_savepoint(trial, old, location)
    new = trial.task_result(
        "deploy",
        {**params, "parallelism": 2, "savepoint_path": location},
        crash_at=step if faulted == "deploy" else None,
    )
    job = trial.one_live_job()
    if job != new:
        raise Violation(f"the deploy task returned {new}; Flink runs {job}")
    started_from = trial.client.call(calls.job_checkpoints(job)).latest.restored
    if started_from is None or started_from.external_path != location:
        raise Violation(
            f"the redeployed job {job} started from {started_from.external_path if started_from else 'nothing'}, "
            f"not from the stop's savepoint {location}"
        )
    trial.check_parallelism(job, 2)
    return f"{detail}, one job restored from it: " + trial.check_counter(job, mark)


def _application_pattern(trial: Trial, kind: Kind) -> str:
    """The upgrade pattern for a program of two jobs (one Flink 2.3 application): deploy, stop
    every job with a savepoint, deploy from them. The kind's task dies at its step (its retry
    finishes it), or the upgrade's run-application answer is lost. Checked against Flink: one live
    job of each name, each restored from its own job's stop savepoint (the only one Flink wrote of
    it), its counter going on. On a Flink without applications the deploy must refuse, submitting
    nothing."""
    step = kind.step or ""
    faulted = step.split(":")[0].removesuffix("-application-task")  # deploy | stop | "" (a lost answer)
    names = [f"{trial.name}-a", f"{trial.name}-b"]
    params = {"jar": str(trial.jar), "jobs": ",".join(names), "parallelism": 1, "savepoint_paths": ""}
    if trial.flink.version.startswith("1."):
        run = trial.task("deploy_program", params)
        run.wait()
        log = Path(f"{run.out}.log").read_text(errors="replace") if Path(f"{run.out}.log").exists() else ""
        if run.report() is not None or trial.jobs() or "needs a Flink with applications" not in log:
            raise Violation(
                f"Flink {trial.flink.version} has no applications; the deploy returned {run.report()}, "
                f"jobs {trial.jobs()}, its log {log[-500:]!r}"
            )
        return "no applications: the deploy refused, nothing submitted"
    first = trial.task_result("deploy_program", params)
    old = first["jobs"]
    if sorted(trial.live_jobs()) != sorted(old.values()):
        raise Violation(f"the deploy returned {old}; live jobs {trial.live_jobs()}")
    marks = {name: trial.mark(job) for name, job in old.items()}
    locations = trial.task_result(
        "stop_program",
        {"application_id": first["application_id"]},
        crash_at=step if faulted == "stop" else None,
    )
    if trial.live_jobs():
        raise Violation(f"the stop task returned {locations}; live jobs {trial.live_jobs()}")
    details = [_one_savepoint(trial, old[name], locations.get(name)) for name in names]
    trial.arm()
    new = trial.task_result(
        "deploy_program",
        {**params, "parallelism": 2, "savepoint_paths": json.dumps(locations)},
        crash_at=step if faulted == "deploy" else None,
    )
    trial.check_faulted()
    live = sorted(trial.live_jobs())
    if live != sorted(new["jobs"].values()):
        raise Violation(f"the upgrade's deploy returned {new['jobs']}; Flink runs {live} (a second copy?)")
    for name in names:
        job = new["jobs"][name]
        started_from = trial.client.call(calls.job_checkpoints(job)).latest.restored
        if started_from is None or started_from.external_path != locations[name]:
            raise Violation(
                f"job {name} ({job}) started from {started_from.external_path if started_from else 'nothing'}, "
                f"not from its own stop savepoint {locations[name]}"
            )
        trial.check_parallelism(job, 2)
        details.append(f"{name[-1]}: " + trial.check_counter(job, marks[name]))
    return "one application, each job from its own savepoint: " + ", ".join(details)


def _one_savepoint(trial: Trial, job: str, location: Any) -> str:
    """The task returned the savepoint Flink completed for ``job``, and Flink wrote only one."""
    written = sorted(p.name for p in trial.flink.savepoint_dir.glob(f"savepoint-{job[:6]}-*"))
    if len(written) != 1:
        raise Violation(f"{len(written)} savepoints of {job} on storage ({written}): the retry took another")
    if not isinstance(location, str) or not location.rstrip("/").endswith(written[0]):
        raise Violation(f"the task returned {location!r}; the savepoint Flink wrote is {written[0]}")
    return f"one savepoint ({written[0]})"


def _retention(trial: Trial, kind: Kind) -> str:
    """Two upgrades leave two savepoints; with keep_last 1 the older one is disposed through Flink.
    The run dies right after asking Flink to dispose it: the next runs must not fail for good
    (Flink refuses a second disposal of a missing path), nor touch the newer savepoint or the job."""
    trial.declare(changed=True)  # parallelism 1 -> 2: the first upgrade savepoint
    trial.settle()
    second = trial.one_live_job()
    mark = trial.mark(second)
    trial.declare()  # 2 -> 1: the second upgrade savepoint; the first one is now beyond keep_last
    for _ in range(4):
        code, _ = trial.run(crash_at=kind.step)
        if code == -9:
            break
    else:
        raise Violation(f"no run reached {kind.step}")
    report = trial.settle()
    errors = (report or {}).get("errors", [])
    if errors:
        raise Violation(f"the runs after the crash keep failing: {errors}")
    kept = [entry["path"] for entry in trial.record().get("savepoints", [])]
    if len(kept) != 1:
        raise Violation(f"keep_last is 1; the record holds {kept}")
    on_storage = Path(kept[0].removeprefix("file:").removeprefix("//"))
    if not (on_storage / "_metadata").exists():
        raise Violation(f"the savepoint the record keeps ({kept[0]}) is gone from storage")
    job = trial.one_live_job()
    trial.check_record(job)
    trial.check_parallelism(job, 1)
    return "older savepoint disposed, newer kept: " + trial.check_counter(job, mark)


def _bounded(trial: Trial, kind: Kind) -> str:
    """A bounded (batch) deployment, its first deploy faulted: it must run exactly once, to
    FINISHED, and later runs must neither start it again nor forget it."""
    _fault(trial, kind)
    trial.settle()
    wait_for("the bounded job to end", lambda: trial.jobs() and not trial.live_jobs(), timeout=120)
    trial.settle()  # the next scheduled runs, after its end
    jobs = trial.jobs()
    if len(jobs) != 1:
        raise Violation(f"the bounded job ran {len(jobs)} times: {[(j.jid, j.state.value) for j in jobs]}")
    if jobs[0].state.value != "FINISHED":
        raise Violation(f"the bounded job ended {jobs[0].state.value}, not FINISHED")
    trial.check_record(jobs[0].jid)
    return "ran once to FINISHED, recorded, not started again"


def _last_state_unhealthy(trial: Trial, old: str, mark: float) -> str:
    """A last-state upgrade of a job that cannot take a savepoint (no TaskManager) and whose
    checkpoints Flink deletes on cancel: the run must refuse and leave the job; once the job runs
    again, the upgrade goes through with its state."""
    flink = trial.flink
    flink.kill_taskmanager()
    try:
        wait_for(
            f"{old} unhealthy",
            lambda: not trial.healthy(old),
            timeout=60,
        )
        trial.declare(changed=True)
        _, report = trial.run()
        if trial.live_jobs() != [old]:
            raise Violation(f"the unhealthy job {old} was replaced: live jobs {trial.live_jobs()}")
        errors = " ".join((report or {}).get("errors", []))
        expected = "Flink deletes its checkpoints when it is cancelled" if trial.kind.flink_defaults else ""
        if expected not in errors or not errors:
            raise Violation(f"the run did not refuse the unsafe cancel: {errors or report}")
    finally:
        flink.start_taskmanager()
    wait_for(f"{old} healthy again", partial(trial.healthy, old), timeout=120)
    trial.settle()
    job = trial.one_live_job()
    trial.check_record(job)
    return "refused while unhealthy, then upgraded: " + trial.check_restored(old, job, mark, 2)


def _free_slots(flink: LocalFlink) -> int:
    value = (flink.overview() or {}).get("slots-available", 0)
    return value if isinstance(value, int) else 0


def _recover(trial: Trial, kind: Kind, old: str, mark: float) -> str:
    """The JobManager dies and comes back without HA: Flink forgets the job; its retained
    checkpoints stay on storage and the newest complete one is what the deployment must resume."""
    flink = trial.flink
    flink.kill_jobmanager()
    flink.start_jobmanager()
    wait_for("the TaskManager's slots free again", lambda: _free_slots(flink) >= 2, timeout=90)
    chk = sorted(
        (p for p in (flink.checkpoint_dir / old).glob("chk-*") if (p / "_metadata").exists()),
        key=lambda p: int(p.name.split("-")[1]),
    )
    if not chk:
        raise Violation(f"no retained checkpoint of {old} on storage")
    _fault(trial, kind)
    trial.settle()
    job = trial.one_live_job()
    trial.check_record(job)
    started_from = trial.client.call(calls.job_checkpoints(job)).latest.restored
    if (
        started_from is None
        or not started_from.external_path
        or not started_from.external_path.rstrip("/").endswith(f"{old}/{chk[-1].name}")
    ):
        raise Violation(
            f"state went back: the newest retained checkpoint of {old} is {chk[-1].name}; the job now running "
            f"({job}) started from {started_from.external_path if started_from else 'nothing'}"
        )
    return f"recovered from {chk[-1].name}, " + trial.check_counter(job, mark)


def _cancelled_outside(trial: Trial, old: str) -> str:
    """A person cancels the job; with Flink's default retention its checkpoints go with it. The
    next run must neither restore from the deleted path nor start the deployment without state."""
    trial.client.call(calls.cancel_job(old))
    wait_for(f"{old} CANCELED", lambda: not trial.live_jobs())
    report = trial.settle()
    live = trial.live_jobs()
    if live:
        started_from = trial.client.call(calls.job_checkpoints(live[0])).latest.restored
        raise Violation(
            f"job {live[0]} started from {started_from.external_path if started_from else 'nothing'} "
            "after its state was deleted"
        )
    problems = (report or {}).get("errors", [])
    if not any("gone from storage" in p for p in problems):
        raise Violation(f"no job runs and the run did not say why: {problems}")
    return "refused to start without its state, and said so"


def snapshot_id(metadata: Path) -> int:
    """The checkpoint id in a checkpoint's or savepoint's ``_metadata``: after a 4-byte magic number
    and a 4-byte format version, 8 bytes big-endian (seen on Flink 2.3.0, version 6, and 1.20.5,
    version 4)."""
    head = metadata.read_bytes()[:16]
    if len(head) < 16 or head[:4] != METADATA_MAGIC:
        raise RuntimeError(f"{metadata} is not a Flink checkpoint metadata file: {head.hex()}")
    return int.from_bytes(head[8:16], "big")


def _deployed(trial: Trial) -> str:
    """The first deploy of the declared spec: its one job."""
    code, _ = trial.run()
    if code != 0:
        raise Violation(f"the first deploy failed (exit {code})")
    return trial.one_live_job()


def _cancel_outside(trial: Trial, job: str) -> None:
    """A person cancels ``job`` in Flink; the cluster retains its checkpoints (RETAIN_ON_CANCELLATION)."""
    trial.client.call(calls.cancel_job(job))
    wait_for(f"{job} CANCELED", lambda: job not in trial.live_jobs())


def _cancel_before_first_checkpoint(trial: Trial, kind: Kind) -> str:
    """A job that ends before its own first checkpoint produced nothing newer than the checkpoint it
    restored from: the next restore must not go behind that, to an older savepoint of the record."""
    _deployed(trial)
    trial.declare(changed=True)  # a savepoint upgrade 1 -> 2: the record holds its savepoint
    trial.settle()
    upgraded = trial.one_live_job()
    mark = trial.mark(upgraded)  # its checkpoints from here on are newer than the upgrade savepoint
    _cancel_outside(trial, upgraded)
    # The next run resumes it from its checkpoint; the person cancels the resumed job as soon as
    # Flink shows it, before its tasks run (2.3.0 takes a first checkpoint as soon as they do).
    known = {j.jid for j in trial.jobs()}
    run = trial.start(trial.env)
    resumed = wait_for(
        "the resumed job",
        lambda: next((j.jid for j in trial.jobs() if j.jid not in known), None),
        timeout=60,
        interval=0.02,
    )
    trial.client.call(calls.cancel_job(resumed))
    run.wait()
    wait_for(f"{resumed} CANCELED", lambda: resumed not in trial.live_jobs())
    history = trial.client.call(calls.job_checkpoints(resumed))
    if history.counts.completed or history.latest.completed is not None:
        raise RuntimeError(f"{resumed} completed a checkpoint before the cancel: the trial proves nothing")
    stored = trial.stored_snapshots()
    trial.settle()
    job = trial.one_live_job()
    trial.check_record(job)
    return f"{resumed} cancelled before its first checkpoint, then " + trial.check_newest_restored(
        job, stored, mark
    )


def _jm_crash_after_stop(trial: Trial, kind: Kind) -> str:
    """An upgrade's stop-with-savepoint completes while no run watches it (the run died at
    ``stop:requested``), then the JobManager restarts without HA: Flink forgets the trigger and the
    job, but the savepoint is on storage and is the newest state; the record holds an older one."""
    _deployed(trial)
    trial.declare(changed=True)  # a savepoint upgrade 1 -> 2: the record holds its savepoint
    trial.settle()
    upgraded = trial.one_live_job()
    mark = trial.mark(upgraded)
    trial.declare()  # 2 -> 1: this upgrade's stop-with-savepoint is the one no run files
    crashed, _ = trial.run(crash_at=kind.step)
    if crashed != -9:
        raise Violation(f"the run was meant to die at {kind.step} but ended with exit code {crashed}")
    wait_for(
        f"{upgraded} stopped with a savepoint",
        lambda: upgraded not in trial.live_jobs() and trial.latest_savepoint(upgraded),
        timeout=60,
    )
    trial.flink.kill_jobmanager()
    trial.flink.start_jobmanager()
    wait_for("the TaskManager's slots free again", lambda: _free_slots(trial.flink) >= 2, timeout=90)
    stored = trial.stored_snapshots()
    trial.settle()
    job = trial.one_live_job()
    trial.check_record(job)
    trial.check_parallelism(job, 1)
    return "after the JobManager restart " + trial.check_newest_restored(job, stored, mark)


def _failed_spec_resumed(trial: Trial, kind: Kind) -> str:
    """An upgrade to a failing spec is rolled back; then a person cancels the stable job. The next
    run must resume the last stable spec, not try the failed declared one again."""
    stable = _deployed(trial)
    trial.declare(changed=True)  # its job fails: upgraded, then rolled back
    trial.settle()
    if not trial.record().get("failed_spec"):
        raise RuntimeError("the failing upgrade was not rolled back: the trial proves nothing")
    rolled_back = trial.one_live_job()
    if spec_part(rolled_back) != spec_part(stable):
        raise Violation(
            f"after the rollback job {rolled_back} runs, not a job of the stable spec {spec_part(stable)}"
        )
    mark = trial.mark(rolled_back)
    since = next(j.start_time for j in trial.jobs() if j.jid == rolled_back)
    _cancel_outside(trial, rolled_back)
    stored = trial.stored_snapshots()
    trial.settle()
    again = [j.jid for j in trial.jobs() if spec_part(j.jid) != spec_part(stable) and j.start_time > since]
    if again:
        raise Violation(f"the failed spec was applied again after its rollback: job(s) {again}")
    job = trial.one_live_job()
    trial.check_record(job)
    if spec_part(job) != spec_part(stable):
        raise Violation(f"job {job} runs spec {spec_part(job)}, not the last stable one {spec_part(stable)}")
    trial.check_parallelism(job, 1)
    return "the stable spec resumed, " + trial.check_newest_restored(job, stored, mark)


def _slow_run(trial: Trial, kind: Kind) -> str:
    """A savepoint upgrade whose ``POST /jars/{id}/run`` answers past the request timeout, every
    retry too, while Flink runs the new job: a late answer is not a failed submission, so the new
    job keeps running, nothing is rolled back and its spec is not recorded as failed."""
    old = _deployed(trial)
    mark = trial.mark(old)
    trial.declare(changed=True)
    _fault(trial, kind)
    trial.settle()
    new = sorted((j for j in trial.jobs() if spec_part(j.jid) != spec_part(old)), key=lambda j: j.start_time)
    if not new:
        raise Violation("Flink never ran a job of the new spec")
    back = [
        j.jid for j in trial.jobs() if spec_part(j.jid) == spec_part(old) and j.start_time > new[0].start_time
    ]
    if back:
        raise Violation(
            f"the new job {new[0].jid} was taken for a failed submission: rolled back to job(s) {back} of the old spec"
        )
    failed = trial.record().get("failed_spec")
    if failed:
        raise Violation(f"the declared spec is recorded as failed: {failed.get('reason')}")
    job = trial.one_live_job()
    if job != new[0].jid:
        raise Violation(f"the job Flink started for the upgrade ({new[0].jid}) was replaced by {job}")
    trial.check_record(job)
    return "late answer, no rollback: " + trial.check_restored(old, job, mark, 2)


REGRESSIONS = {
    "regress-early-cancel": _cancel_before_first_checkpoint,
    "regress-jm-crash": _jm_crash_after_stop,
    "regress-failed-spec": _failed_spec_resumed,
    "regress-slow-run": _slow_run,
}


def adaptive_flink(version: str, workdir: Path) -> LocalFlink:
    """A cluster with the adaptive scheduler (rescale in place), its rescale cooldown cut for trials."""
    return LocalFlink(
        version=version, workdir=workdir, adaptive_scheduler=True, extra_config=dict(QUICK_RESCALE)
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", default="2.3.0,1.20.5")
    parser.add_argument(
        "--store",
        choices=["postgres", "file"],
        default="postgres",
        help="where the process trials' records live",
    )
    parser.add_argument("--kinds", default="all", help="comma-separated kinds, or 'all': " + ", ".join(KINDS))
    parser.add_argument("--repeat", type=int, default=1, help="trials per kind and version")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    kinds = list(KINDS) if args.kinds == "all" else args.kinds.split(",")
    unknown = [kind for kind in kinds if kind not in KINDS]
    if unknown:
        parser.error(f"unknown kind(s) {', '.join(unknown)}; the kinds are: {', '.join(KINDS)}")
    rng = random.Random(args.seed)
    verdicts: list[Verdict] = []
    airflow_home = Path(tempfile.mkdtemp(prefix="flink-faults-airflow-"))
    os.environ.update(airflow_settings(airflow_home))
    atexit.register(shutil.rmtree, airflow_home, True)
    postgres = LocalPostgres().start() if args.store == "postgres" else None
    atexit.register(lambda: postgres.stop() if postgres else None)
    database = postgres.url if postgres else None
    for version in args.versions.split(","):
        # Kinds that need the adaptive scheduler get a cluster of their own, after the others.
        for adaptive in (False, True):
            group = [kind for kind in kinds if KINDS[kind].adaptive is adaptive]
            if not group:
                continue
            with tempfile.TemporaryDirectory(prefix="flink-faults-") as tmp:
                work = Path(tmp)
                jar = build_jar(version, work / "jars")
                flink = (
                    adaptive_flink(version, work / "flink")
                    if adaptive
                    else LocalFlink(version=version, workdir=work / "flink", python=True)
                )
                flink.start()
                try:
                    # Distinct seeds: a seed names the trial's deployment and folder (a repeated one
                    # ended a 378-trial run at trial 303 with "File exists").
                    seeds = rng.sample(range(10**6), args.repeat * len(group))
                    trials = list(
                        zip([kind for _ in range(args.repeat) for kind in group], seeds, strict=True)
                    )
                    for kind, seed in trials:
                        verdict = run_trial(flink, jar, work / "trials", kind, seed, database)
                        verdicts.append(verdict)
                        mark = "ok       " if verdict.ok else "VIOLATION"
                        print(
                            f"{mark} {kind:<34} flink {version:<7} seed {seed:<7} {verdict.detail}",
                            flush=True,
                        )
                finally:
                    flink.stop()
    print("\n| kind | trials | violations |\n|---|---|---|")
    for kind in kinds:
        mine = [v for v in verdicts if v.kind == kind]
        print(f"| {kind} | {len(mine)} | {sum(not v.ok for v in mine)} |")
    bad = sum(not v.ok for v in verdicts)
    print(f"\n{len(verdicts)} trials, {bad} violations (replay one: --kinds KIND --versions VERSION)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
