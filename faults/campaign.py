"""The crash campaign: kill the reconcile at a named step, run it again, check Flink itself.

    .venv/bin/python -m faults.campaign [--versions 2.3.0,1.20.5] [--kinds all] [--repeat 1] [--seed 7]

A trial (one *kind*: an action and the step at which its process is SIGKILLed, see
:mod:`airflow_provider_flink.crashpoints`):

1. declare a stateful counter deployment and reconcile it (its own process) until it runs;
2. let its keyed counter pass a mark, read the mark, and change the spec (parallelism 1 -> 2);
3. run the reconcile with ``FLINK_PROVIDER_CRASH_AT=<step>``: the process kills itself there;
4. run the reconcile again, as the next scheduled run would, until it has nothing left to do
   (at most 4 runs);
5. check against Flink, not the records: exactly one live job of the deployment, started from
   the newest snapshot the old job completed (Flink's checkpoint history of both jobs), its
   counter at or above the mark, running the declared spec.

Output: one line per trial (kind, Flink version, seed, verdict and why) and a table of trials and
violations per kind. ``--seed`` makes the deployment names repeatable; a trial is replayed with
``--kinds <its kind> --versions <its version>`` (nothing else in a trial is random).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from airflow_provider_flink.client import ClientSettings, FlinkClient, calls
from airflow_provider_flink.crashpoints import ENV
from airflow_provider_flink.deployments.planner import deployment_prefix, spec_part
from harness.flink_cluster import LocalFlink
from harness.job_jars import COUNTER_JOB, build_jar, read_counter
from harness.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
# kind -> the step at which the acting process dies (the action is the upgrade of step 2)
KINDS: dict[str, str] = {
    "upgrade@stop:requested": "stop:requested",  # killed while waiting for the stop-with-savepoint
    "upgrade@stop:recorded": "stop:recorded",  # the savepoint is recorded, nothing submitted yet
    "upgrade@submit:intent-recorded": "submit:intent-recorded",
    "upgrade@submit:requested": "submit:requested",  # Flink has the new job; the record does not say so
    "upgrade@submit:recorded": "submit:recorded",  # killed while waiting for the new job's health
}
MARK = 300.0  # the counter passes this before the upgrade: a job started without state is below it


@dataclass
class Verdict:
    kind: str
    version: str
    seed: int
    ok: bool
    detail: str


class Trial:
    def __init__(self, flink: LocalFlink, jar: Path, work: Path, name: str) -> None:
        self.flink, self.jar, self.name = flink, jar, name
        self.folder = work / name
        self.folder.mkdir(parents=True)
        self.records = work / f"{name}.records.json"
        self.client = FlinkClient(ClientSettings(flink.rest_url))
        self.env = {
            **os.environ,
            "AIRFLOW_CONN_FLINK_DEFAULT": json.dumps(
                {"conn_type": "flink", "host": "127.0.0.1", "port": int(flink.rest_url.rsplit(":", 1)[1])}
            ),
        }
        self.env.pop(ENV, None)

    def declare(self, parallelism: int) -> None:
        spec = {
            "name": self.name,
            "artifact": {"jar": str(self.jar)},
            "entry_class": COUNTER_JOB,
            "args": ["--rate", "100"],
            "parallelism": parallelism,
            "health_timeout_seconds": 60,
        }
        (self.folder / f"{self.name}.yaml").write_text(yaml.safe_dump(spec))

    def run(self, crash_at: str | None = None) -> tuple[int, dict[str, Any] | None]:
        env = dict(self.env)
        if crash_at:
            env[ENV] = crash_at
        done = subprocess.run(
            [sys.executable, "-m", "faults.once", str(self.folder), str(self.records)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            return done.returncode, None
        return 0, json.loads(done.stdout.strip().splitlines()[-1])

    def live_jobs(self) -> list[str]:
        prefix = deployment_prefix(self.name)
        return [
            j.jid
            for j in self.client.call(calls.jobs_overview()).jobs
            if j.jid.startswith(prefix) and not j.state.is_globally_terminal
        ]

    def counter(self, job_id: str) -> float:
        try:
            return read_counter(self.client, job_id)
        except Exception:  # not running yet: no metric
            return 0.0

    def cleanup(self) -> None:
        for job_id in self.live_jobs():
            self.client.call(calls.cancel_job(job_id))
        self.client.close()


def run_trial(flink: LocalFlink, jar: Path, work: Path, kind: str, seed: int) -> Verdict:
    step = KINDS[kind]
    name = f"t{seed}-{random.Random(seed).randrange(16**6):06x}"
    trial = Trial(flink, jar, work, name)
    verdict = Verdict(kind, flink.version, seed, False, "")
    try:
        trial.declare(parallelism=1)
        code, _ = trial.run()
        if code != 0:
            verdict.detail = f"the first deploy failed (exit {code})"
            return verdict
        (old,) = trial.live_jobs()
        mark = wait_for(f"counter of {old} >= {MARK}", lambda: (c := trial.counter(old)) >= MARK and c)
        trial.declare(parallelism=2)
        crashed, _ = trial.run(crash_at=step)
        if crashed != -9:
            verdict.detail = f"the run was meant to die at {step} but ended with exit code {crashed}"
            return verdict
        for _ in range(4):  # the next scheduled runs
            code, report = trial.run()
            if code == 0 and report and not any(d["actions"] for d in report["deployments"]):
                break
        live = trial.live_jobs()
        if len(live) != 1:
            verdict.detail = f"{len(live)} live jobs of the deployment after recovery: {live}"
            return verdict
        (job,) = live
        # The snapshot the new job started from must be the newest the old job completed (Flink's
        # own history of the old job, not the provider's record): the stop's savepoint.
        old_latest = trial.client.call(calls.job_checkpoints(old)).latest
        snapshots = [
            c for c in (old_latest.completed, old_latest.savepoint) if c is not None and c.external_path
        ]
        newest = max(snapshots, key=lambda c: c.id, default=None)
        started_from = trial.client.call(calls.job_checkpoints(job)).latest.restored
        if newest is None:
            verdict.detail = f"Flink shows no completed snapshot of the old job {old}"
            return verdict
        if started_from is None or started_from.external_path != newest.external_path:
            verdict.detail = (
                f"state went back: the newest snapshot of {old} is {newest.external_path} (id {newest.id}); "
                f"the job now running ({job}) started from "
                f"{started_from.external_path if started_from else 'nothing'}"
            )
            return verdict
        restored = wait_for(f"counter of {job}", lambda: trial.counter(job), timeout=30)
        if restored < mark:
            verdict.detail = (
                f"state went back: the counter was {mark:.0f} before the upgrade, the job now running "
                f"({job}) started at {restored:.0f}"
            )
            return verdict
        parallelism = {v.parallelism for v in trial.client.call(calls.job(job)).vertices}
        if parallelism != {2}:
            verdict.detail = (
                f"the job runs parallelism {parallelism} (spec {spec_part(job)}), the declared spec says 2"
            )
            return verdict
        verdict.ok, verdict.detail = True, f"one job, counter {mark:.0f} -> {restored:.0f}"
        return verdict
    except Exception as err:  # a trial that could not be judged is reported, not hidden
        verdict.detail = f"trial error: {type(err).__name__}: {err}"
        return verdict
    finally:
        trial.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", default="2.3.0,1.20.5")
    parser.add_argument("--kinds", default="all", help="comma-separated kinds, or 'all': " + ", ".join(KINDS))
    parser.add_argument("--repeat", type=int, default=1, help="trials per kind and version")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    kinds = list(KINDS) if args.kinds == "all" else args.kinds.split(",")
    rng = random.Random(args.seed)
    verdicts: list[Verdict] = []
    for version in args.versions.split(","):
        with tempfile.TemporaryDirectory(prefix="flink-faults-") as tmp:
            work = Path(tmp)
            jar = build_jar(version, work / "jars")
            flink = LocalFlink(version=version, workdir=work / "flink")
            flink.start()
            try:
                trials = [(kind, rng.randrange(10**6)) for kind in kinds for _ in range(args.repeat)]
                for kind, seed in trials:
                    verdict = run_trial(flink, jar, work / "trials", kind, seed)
                    verdicts.append(verdict)
                    mark = "ok       " if verdict.ok else "VIOLATION"
                    print(f"{mark} {kind:<34} flink {version:<7} seed {seed:<7} {verdict.detail}", flush=True)
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
