"""The independent judge of a played history: Flink's REST (as sampled), its JobManager log,
storage and the raw record file. It imports nothing of ``airflow_provider_flink`` (a test runs it
in a fresh interpreter and looks at ``sys.modules``): it must not share a mistake with the product.

Invariants (each violation is one line of text):

1. never two live (non-terminal) jobs of a deployment at once;
2. every restore is from the newest completed snapshot of the deployment at that moment (Flink's
   checkpoint ids run on across restores, so the highest id completed since the deployment's last
   fresh start is the newest); a start without state only when nothing was lost (no snapshot yet)
   or the spec declared ``upgrade_mode: stateless``; the keyed counter never goes back;
3. a failed spec, once rolled back, is not submitted again until a retry is asked;
4. no rollback of, and no "failed" mark for, a job of a good spec that Flink ran healthy;
5. after quiescence: one live job per deployment (none while a person's suspend holds), running
   the declared spec or the last stable one (never the failing edit), named by the record;
6. on the SQL store, one actor per deployment at every moment, from the database's own audit of
   the store's tables (every lease change and every record write, with the run that made it and
   the database's clock): each record write was made by the run holding the deployment's newest
   lease, before that lease ran out, and each write's revision follows the last by one;
7. lineage claims only what Flink ran: every OpenLineage event of a Flink run (job type
   integration FLINK, the job id in its ``externalQuery`` facet) has the job id as its run id,
   names a job Flink's log shows for one of the play's deployments, and says it ended
   (COMPLETE, ABORT, FAIL) only of a job Flink ended.
"""

from __future__ import annotations

import datetime
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from faults.histories.sampler import job_deployment, job_generation

TERMINAL = {"FINISHED", "CANCELED", "FAILED"}
HEALTHY_FOR = 4.0  # seconds of every vertex RUNNING that make a job "ran healthy"

# JobManager log lines (the same wording on Flink 1.20.5 and 2.3.0).
TIME = r"^(?P<clock>\d\d:\d\d:\d\d,\d\d\d) "
NAMED = re.compile(r"'?(?P<name>[a-z0-9][a-z0-9._-]*\.g\d+)'? \((?P<jid>[0-9a-f]{32})\)")
SWITCHED = re.compile(
    r"Job (?P<name>\S+) \((?P<jid>[0-9a-f]{32})\) switched from state (?P<old>\w+) to (?P<new>\w+)"
)
COMPLETED = re.compile(
    r"Completed checkpoint (?P<id>\d+) for job (?P<jid>[0-9a-f]{32}) .*?checkpointDuration=(?P<ms>\d+) ms"
)
RESTORING = re.compile(
    r"Restoring job (?P<jid>[0-9a-f]{32}) from (?P<kind>[A-Za-z ]+?) (?P<id>\d+) @ (?P<ts>\d+) "
    r"for [0-9a-f]{32} located at (?P<path>\S+?)\.?$"
)
JM_START = re.compile(r"Starting StandaloneSessionClusterEntrypoint")


@dataclass
class Job:
    jid: str
    deployment: str
    gen: int
    submitted: float  # epoch seconds of its first log line
    restored: int | None = None  # checkpoint id it started from
    restored_ts: int | None = None  # that snapshot's trigger time (epoch ms)
    running: bool = False
    epoch: int = 0  # the deployment's fresh-start epoch it belongs to
    failing_over: bool = False  # its last switch was to or from RESTARTING (Flink's own failover)


@dataclass
class Judgement:
    evidence: dict[str, Any]
    violations: list[str] = field(default_factory=list)
    jobs: dict[str, Job] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # job ids in submission order
    completed: dict[str, int] = field(default_factory=dict)  # deployment -> snapshots completed (log)
    # deployment -> the fresh-start epochs in which one of its jobs completed a snapshot (log)
    completed_in: dict[str, set[int]] = field(default_factory=dict)

    def violate(self, text: str) -> None:
        if text not in self.violations:
            self.violations.append(text)


def check(evidence: dict[str, Any]) -> list[str]:
    judgement = Judgement(evidence)
    # A program's jobs (``programs``: one application of two jobs, run by operator tasks, no
    # record) are judged like deployments by invariants 1 and 2; the end is judged by _programs.
    programs: list[str] = evidence.get("programs") or []
    deployments: list[str] = [*evidence["deployments"], *programs]
    declares = [e for e in evidence["journal"] if e["event"] == "declare"]
    lines = _timed(evidence["log"], evidence["journal"][0]["t"] if evidence["journal"] else 0.0)
    _replay_log(judgement, lines, deployments, declares)
    _judgeable(judgement)
    _two_live_in_samples(judgement)
    _counter_never_back(judgement)
    _failed_not_again(judgement, declares)
    _no_healthy_rollback(judgement, declares)
    _quiescence(judgement, declares)
    _programs_at_the_end(judgement, programs)
    _one_actor(judgement)
    _approved_before_state_dropped(judgement, declares)
    _lineage_matches_flink(judgement, evidence.get("lineage") or [])
    return judgement.violations


ENDED_EVENTS = {"COMPLETE", "ABORT", "FAIL"}


def _lineage_matches_flink(j: Judgement, events: list[dict[str, Any]]) -> None:
    """7. Events of Flink runs against Flink's own record of the jobs (the log, the final overview)."""
    final = {job["jid"]: job["state"] for job in j.evidence.get("final") or []}
    for event in events:
        job_type = ((event.get("job") or {}).get("facets") or {}).get("jobType") or {}
        if job_type.get("integration") != "FLINK":
            continue  # an Airflow task's own event
        run = event.get("run") or {}
        jid = str(((run.get("facets") or {}).get("externalQuery") or {}).get("externalQueryId", ""))
        said = f"lineage {event.get('eventType')} of run {run.get('runId')}"
        if not re.fullmatch(r"[0-9a-f]{32}", jid):
            j.violate(f"{said} names no Flink job id ({jid!r})")
            continue
        if str(run.get("runId", "")).replace("-", "") != jid:
            j.violate(f"{said}: its run id is not its job {jid}")
        if jid not in j.jobs:
            j.violate(f"{said} names job {jid}, which no deployment of the play ran (JobManager log)")
        if event.get("eventType") in ENDED_EVENTS and final.get(jid, "FINISHED") not in TERMINAL:
            j.violate(f"{said} says job {jid} ended, but Flink shows it {final[jid]}")


def _approved_before_state_dropped(j: Judgement, declares: list[dict[str, Any]]) -> None:
    """Approval before risk: where a deployment's spec requires a person's approval of a
    stateless upgrade, a job of that spec that started without state (no restore in the log) in
    place of a job of another spec that had completed a snapshot (state to lose) follows a
    person's approval given after that spec was declared and before the job was submitted."""
    approved = [
        e for e in j.evidence["journal"] if e["event"] == "approval" and e.get("decision") == "approved"
    ]
    for dep in j.evidence["deployments"]:
        previous: Job | None = None
        for jid in j.order:
            job = j.jobs[jid]
            if job.deployment != dep:
                continue
            spec = _gen_spec(declares, dep, job.gen) or {}
            dropped = (
                previous is not None
                and previous.gen != job.gen
                and job.restored is None
                and previous.epoch in j.completed_in.get(dep, set())
            )
            if (
                dropped
                and spec.get("mode") == "stateless"
                and "stateless-upgrade" in (spec.get("approval") or [])
            ):
                given = [a for a in approved if a["dep"] == dep and spec["t"] <= a["t"] <= job.submitted]
                if not given:
                    j.violate(
                        f"state dropped without approval: {dep}'s g{job.gen} (stateless, approval required) "
                        f"started without state as {jid} in place of {previous.jid if previous else '?'}, "
                        "with no approval given since it was declared"
                    )
            previous = job


def _one_actor(j: Judgement) -> None:
    """Invariant 6 over the audit (rows in the order the database wrote them)."""
    holder: dict[str, tuple[str, int, float]] = {}  # deployment -> (run, token, lease ends at)
    revision: dict[str, int] = {}
    for row in j.evidence.get("audit") or []:
        dep = row["name"]
        if row["tbl"] == "leases":
            holder[dep] = (row["app"], int(row["token"]), float(row["expires_at"]))
            continue
        run, token, ends = holder.get(dep, ("nobody", 0, 0.0))
        if row["app"] != run:
            j.violate(
                f"{dep}: revision {row['revision']} written by {row['app']} while {run} held the lease ({token})"
            )
        elif float(row["at"]) > ends:
            j.violate(
                f"{dep}: revision {row['revision']} written by {run} {float(row['at']) - ends:.2f} s after its lease ended"
            )
        expected = revision.get(dep, 0) + 1
        if int(row["revision"]) != expected:
            j.violate(f"{dep}: revision {row['revision']} written where {expected} was next (a lost update)")
        revision[dep] = int(row["revision"])


# ---------------------------------------------------------------------------------- the log
def _timed(log: list[str], start: float) -> list[tuple[float, str]]:
    """Log lines with epoch seconds (the log says only the time of day, local)."""
    day = datetime.datetime.fromtimestamp(start).date() if start else datetime.date.today()
    out: list[tuple[float, str]] = []
    for line in log:
        match = re.match(TIME, line)
        if not match:
            continue
        clock = datetime.datetime.strptime(match.group("clock"), "%H:%M:%S,%f").time()
        t = datetime.datetime.combine(day, clock).timestamp()
        if start and t < start - 3600:  # past midnight
            t += 86400
        out.append((t, line))
    return out


def _declared_at(declares: list[dict[str, Any]], dep: str, t: float) -> dict[str, Any] | None:
    mine = [d for d in declares if d["dep"] == dep and d["t"] <= t]
    return mine[-1] if mine else None


def _gen_spec(declares: list[dict[str, Any]], dep: str, gen: int) -> dict[str, Any] | None:
    mine = [d for d in declares if d["dep"] == dep and d["gen"] == gen]
    return mine[0] if mine else None


def _replay_log(
    j: Judgement, lines: list[tuple[float, str]], deps: list[str], declares: list[dict[str, Any]]
) -> None:
    """Invariants 1 and 2 along the JobManager log, in its order."""
    live: dict[str, set[str]] = {d: set() for d in deps}
    newest: dict[str, tuple[int, str]] = {d: (0, "") for d in deps}  # id, which job completed it
    # (deployment, epoch, id) -> when the snapshot was triggered (epoch ms): a savepoint's restore
    # line says "@ 0", so it is taken from the completion line (its time less its duration).
    triggered: dict[tuple[str, int, int], int] = {}
    epoch: dict[str, int] = dict.fromkeys(deps, 0)
    for t, line in lines:
        if JM_START.search(line):
            for jobs in live.values():
                jobs.clear()  # no HA: a restarted JobManager knows no job
            for known in j.jobs.values():
                known.failing_over = (
                    False  # a job submitted again (same id) restores by the provider's choice
                )
            continue
        named = NAMED.search(line)
        if named and named.group("jid") not in j.jobs:
            dep = job_deployment(named.group("name"), deps)
            gen = job_generation(named.group("name"))
            if dep is not None and gen is not None:
                j.jobs[named.group("jid")] = Job(named.group("jid"), dep, gen, t, epoch=epoch[dep])
                j.order.append(named.group("jid"))
        restoring = RESTORING.search(line)
        if restoring and restoring.group("jid") in j.jobs and j.jobs[restoring.group("jid")].failing_over:
            # Flink's own failover inside a running job (a TaskManager lost: RESTARTING -> RUNNING,
            # then "Restoring job X ... for X"): Flink picks the job's latest *checkpoint* from its
            # store, and savepoints are not in it (restore mode NO_CLAIM, Flink >= 1.15), so a
            # savepoint with a higher id taken just before (a `savepoint_now`) is rightly passed
            # over. No provider decision to judge (seed 720136 of the 2027 run was this false
            # alarm); the id still counts as the newest if it is higher.
            job = j.jobs[restoring.group("jid")]
            if int(restoring.group("id")) > newest[job.deployment][0] and job.epoch == epoch[job.deployment]:
                newest[job.deployment] = (int(restoring.group("id")), job.jid)
            continue
        if restoring and restoring.group("jid") in j.jobs:
            _restore(j, j.jobs[restoring.group("jid")], restoring, newest, triggered)
            continue
        completed = COMPLETED.search(line)
        if completed and completed.group("jid") in j.jobs:
            job = j.jobs[completed.group("jid")]
            j.completed[job.deployment] = j.completed.get(job.deployment, 0) + 1
            j.completed_in.setdefault(job.deployment, set()).add(job.epoch)
            key = (job.deployment, job.epoch, int(completed.group("id")))
            triggered[key] = (
                int(t * 1000) - int(completed.group("ms")) - 1000
            )  # the log's clock: ms, a margin
            if int(completed.group("id")) > newest[job.deployment][0] and job.epoch == epoch[job.deployment]:
                newest[job.deployment] = (int(completed.group("id")), job.jid)
            continue
        switched = SWITCHED.search(line)
        if switched and switched.group("jid") in j.jobs:
            job = j.jobs[switched.group("jid")]
            job.failing_over = "RESTARTING" in (switched.group("old"), switched.group("new"))
            _switch(j, job, switched.group("new"), live[job.deployment], newest, epoch, declares)


def _restore(
    j: Judgement,
    job: Job,
    match: re.Match[str],
    newest: dict[str, tuple[int, str]],
    triggered: dict[tuple[str, int, int], int],
) -> None:
    restored = int(match.group("id"))
    best, source = newest[job.deployment]
    if restored < best:
        j.violate(
            f"state went back: {job.deployment}'s job {job.jid} (g{job.gen}) restored from "
            f"{match.group('kind')} {restored} ({match.group('path')}) while the newest completed snapshot "
            f"of the deployment was checkpoint {best} (of job {source})"
        )
    if job.restored is None:
        job.restored = restored
        job.restored_ts = int(match.group("ts")) or triggered.get((job.deployment, job.epoch, restored))
    if restored > best:  # completed without a log line (the JobManager died first): newest now
        newest[job.deployment] = (restored, job.jid)


def _switch(
    j: Judgement,
    job: Job,
    state: str,
    live: set[str],
    newest: dict[str, tuple[int, str]],
    epoch: dict[str, int],
    declares: list[dict[str, Any]],
) -> None:
    if state in TERMINAL:
        live.discard(job.jid)
        return
    others = live - {job.jid}
    if others:
        j.violate(
            f"two live jobs of {job.deployment} at once: {job.jid} (g{job.gen}) {state} while {sorted(others)} live"
        )
    live.add(job.jid)
    if state != "RUNNING" or job.running:
        return
    job.running = True
    spec = _gen_spec(declares, job.deployment, job.gen) or {}
    if job.restored is not None or spec.get("entry") == "failing":
        return
    best, source = newest[job.deployment]
    if best and spec.get("mode") != "stateless":
        j.violate(
            f"state lost: {job.deployment}'s job {job.jid} (g{job.gen}) started without state while "
            f"checkpoint {best} (of job {source}) was the newest snapshot"
        )
    # A fresh start begins a new line of checkpoint ids (from 1).
    epoch[job.deployment] += 1
    job.epoch = epoch[job.deployment]
    newest[job.deployment] = (0, "")


def _judgeable(j: Judgement) -> None:
    """A history whose evidence is empty proves nothing: it fails instead of passing."""
    observed = j.evidence["observed"]
    if not j.jobs:
        j.violate("could not judge: no job of the history's deployments in the JobManager log")
    elif not any(job.running for job in j.jobs.values()):
        j.violate("could not judge: no job reached RUNNING in the JobManager log (wording changed?)")
    errors = [s["error"] for s in observed["samples"] if "error" in s]
    if errors:
        j.violate(f"could not judge: the sampler failed {len(errors)} times ({errors[0]})")
    if not any("live" in s for s in observed["samples"]):
        j.violate("could not judge: the sampler never reached Flink")


# ---------------------------------------------------------------------------------- samples
def _two_live_in_samples(j: Judgement) -> None:
    named = [*j.evidence["deployments"], *(j.evidence.get("programs") or [])]
    for sample in j.evidence["observed"]["samples"]:
        by_dep: dict[str, list[str]] = {}
        for job in sample.get("live", []):
            dep = job_deployment(job["name"], named)
            if dep:
                by_dep.setdefault(dep, []).append(f"{job['jid']} {job['state']}")
        for dep, jobs in by_dep.items():
            if len(jobs) > 1:
                j.violate(f"two live jobs of {dep} at once (REST sample): {', '.join(jobs)}")


def _counter_never_back(j: Judgement) -> None:
    """A restored job's counter is at least what earlier jobs of the deployment (same fresh-start
    epoch) showed before the restored snapshot was triggered."""
    seen = j.evidence["observed"]["jobs"]
    for job in j.jobs.values():
        if job.restored_ts is None or job.jid not in seen or not seen[job.jid]["counters"]:
            continue
        _, first = seen[job.jid]["counters"][0]
        floor = max(
            (
                value
                for other in j.jobs.values()
                if other.deployment == job.deployment and other.jid != job.jid and other.epoch == job.epoch
                for t, value in seen.get(other.jid, {}).get("counters", [])
                if t * 1000 <= job.restored_ts
            ),
            default=0.0,
        )
        if first < floor:
            j.violate(
                f"counter went back: {job.deployment}'s job {job.jid} counts {first:.0f}, an earlier job had "
                f"{floor:.0f} before the snapshot it restored was taken"
            )


# ---------------------------------------------------------------------------------- specs
def _failed_not_again(j: Judgement, declares: list[dict[str, Any]]) -> None:
    """Invariant 3: after a failing spec's job was followed by a job of another spec (the
    rollback), no job of the failing spec until a retry is asked."""
    retries = [e for e in j.evidence["journal"] if e["event"] == "ask" and e["what"] == "retry_failed"]
    for dep in j.evidence["deployments"]:
        rolled_back: dict[int, float] = {}  # failing gen -> when its rollback job was submitted
        previous: Job | None = None
        for jid in j.order:
            job = j.jobs[jid]
            if job.deployment != dep:
                continue
            failing = (_gen_spec(declares, dep, job.gen) or {}).get("entry") == "failing"
            if (
                previous is not None
                and previous.gen != job.gen
                and previous.gen not in rolled_back
                and (_gen_spec(declares, dep, previous.gen) or {}).get("entry") == "failing"
            ):
                rolled_back[previous.gen] = job.submitted
            since = rolled_back.get(job.gen)
            if failing and since is not None:
                asked = [r for r in retries if r["dep"] == dep and since <= r["t"] <= job.submitted]
                if not asked:
                    j.violate(
                        f"failed spec submitted again: {dep}'s g{job.gen} (failing) ran as {jid} after it was "
                        "rolled back, with no retry asked"
                    )
            previous = job


def _healthy(j: Judgement, jid: str) -> bool:
    times = j.evidence["observed"]["jobs"].get(jid, {}).get("healthy", [])
    return bool(times) and times[-1] - times[0] >= HEALTHY_FOR


def _parallelism(j: Judgement, jid: str) -> int:
    return int(j.evidence["observed"]["jobs"].get(jid, {}).get("parallelism", 0))


def _no_healthy_rollback(j: Judgement, declares: list[dict[str, Any]]) -> None:
    """Invariant 4: the job after a healthy job of a good spec runs an older spec only if a person
    declared that spec again (never, in these histories: generations only grow)."""
    for dep in j.evidence["deployments"]:
        mine = [j.jobs[jid] for jid in j.order if j.jobs[jid].deployment == dep]
        for job, after in itertools.pairwise(mine):
            spec = _gen_spec(declares, dep, job.gen) or {}
            if spec.get("entry") != "counter" or not _healthy(j, job.jid):
                continue
            now = _declared_at(declares, dep, after.submitted) or {}
            older = after.gen < job.gen
            rescaled_back = (
                after.gen == job.gen
                and _parallelism(j, job.jid) == now.get("parallelism") != _parallelism(j, after.jid) != 0
            )
            if older or rescaled_back:
                j.violate(
                    f"rolled back a healthy job: {dep}'s {job.jid} (g{job.gen}, p{_parallelism(j, job.jid)}) ran "
                    f"healthy, then {after.jid} (g{after.gen}, p{_parallelism(j, after.jid)}) replaced it"
                )
        record = _record(j, dep)
        failed = record.get("failed_spec") or {}
        last = _declared_at(declares, dep, float("inf")) or {}
        if failed and last.get("entry") == "counter" and float(failed.get("failed_at", 0)) > last["t"]:
            ran = [
                job.jid
                for job in mine
                if job.gen == last["gen"]
                and _parallelism(j, job.jid) == last["parallelism"]
                and _healthy(j, job.jid)
            ]
            if ran:
                j.violate(
                    f"{dep}'s good spec g{last['gen']} marked failed though Flink ran it healthy ({ran[0]})"
                )


def _record(j: Judgement, dep: str) -> dict[str, Any]:
    raw = j.evidence["records"].get(f"flink_deployment.flink_default.{dep}")
    return dict(json.loads(raw)) if isinstance(raw, str) else {}


# ---------------------------------------------------------------------------------- the end
# The product's documented refusal (docs/deployments.md) for a job lost with nothing to restore:
# it waits for a person instead of starting the deployment without state.
NEEDS_A_PERSON = "neither a retained checkpoint nor a savepoint of it is known"
# How a skip reason begins when a later run has something to finish (the planner's wording; matched
# at the start, since a reason may quote a failure whose text says "waiting": seed 14564).
WAITING = ("waiting for ", "the upgrade waits for ", "a savepoint (")


def _waits_for_a_person(j: Judgement, report: dict[str, Any] | None) -> set[str]:
    """Deployments the last run left to a person, rightly: the refusal above, for a deployment that
    (by the JobManager log) never completed a snapshot: nothing to restore, so no state lost either.
    Why: a job lost before its first checkpoint (a JobManager killed a second after the deploy, seed
    14223 of the 2027 run on 1.20.5) is refused on every run by design, which is no quiescence and
    no live job, but no broken rule. With a snapshot completed, the refusal stays a violation."""
    waiting: set[str] = set()
    for entry in (report or {}).get("deployments", []):
        done = entry.get("done") or []
        dep = entry["deployment"]
        epoch, since = _current_epoch(j, dep)
        if (
            done
            and all(not d.get("ok") and NEEDS_A_PERSON in str(d.get("detail")) for d in done)
            and epoch not in j.completed_in.get(dep, set())
            and not _stored(j, dep, since)
        ):
            waiting.add(dep)
    return waiting


def _current_epoch(j: Judgement, dep: str) -> tuple[int, float]:
    """The deployment's current fresh-start epoch and when its first job was submitted. Why: after
    a fresh start (a stateless edit) the snapshots of the earlier lineage are not the job's state
    (seed 525518 of the 2028 run: a stateless job lost before its first checkpoint, refused by the
    product, was judged against the older lineage's snapshots)."""
    mine = [job for job in j.jobs.values() if job.deployment == dep]
    if not mine:
        return 0, 0.0
    last = max(job.epoch for job in mine)
    return last, min(job.submitted for job in mine if job.epoch == last)


def _stored(j: Judgement, dep: str, since: float = 0.0) -> bool:
    """Whether the sampler's storage listings showed a snapshot of the deployment (one whose
    completion the JobManager did not live to log counts too) first seen at or after ``since``."""
    jids = [jid for jid, job in j.jobs.items() if job.deployment == dep]
    first_seen: dict[str, float] = {}
    for t, paths in j.evidence["observed"].get("storage", []):
        for path in paths:
            first_seen.setdefault(path, t)
    return any(
        (dep in path or any(jid in path for jid in jids)) and t >= since for path, t in first_seen.items()
    )


def _quiescence(j: Judgement, declares: list[dict[str, Any]]) -> None:
    journal = j.evidence["journal"]
    unsettled = [e for e in journal if e["event"] == "not-settled"]
    last = unsettled[-1].get("report") if unsettled else None
    person = _waits_for_a_person(j, last)
    busy = [
        d["deployment"]
        for d in (last or {}).get("deployments", [])
        if (d["actions"] or (d["skipped"] or "").startswith(WAITING)) and d["deployment"] not in person
    ]
    if unsettled and (busy or last is None):
        j.violate(
            "no quiescence: the reconcile still had things to do after the settle runs without faults"
            + (f" ({', '.join(busy)})" if busy else "")
        )
    for dep in j.evidence["deployments"]:
        asks = [
            e["what"]
            for e in journal
            if e["event"] == "ask" and e["dep"] == dep and e["what"] in ("suspend", "resume")
        ]
        held = bool(asks) and asks[-1] == "suspend"
        live = [
            x
            for x in j.evidence["final"]
            if x["state"] not in TERMINAL and job_deployment(x["name"], j.evidence["deployments"]) == dep
        ]
        if held:
            if live:
                j.violate(
                    f"after quiescence {dep} is held suspended by a person but runs {[x['jid'] for x in live]}"
                )
            continue
        if not live and dep in person:
            continue
        if len(live) != 1:
            j.violate(f"after quiescence {dep} has {len(live)} live jobs: {[x['jid'] for x in live]}")
            continue
        _runs_allowed_spec(j, declares, dep, live[0])


def _programs_at_the_end(j: Judgement, programs: list[str]) -> None:
    """A program's jobs after quiescence: all live or none (an application of the program runs
    every job of it, or none was deployed again, as after a JobManager restart without HA
    forgot it), and one live job per name at most (invariant 1 at the end)."""
    live = {
        name: [
            x["jid"]
            for x in j.evidence["final"]
            if x["state"] not in TERMINAL and job_deployment(x["name"], programs) == name
        ]
        for name in programs
    }
    for name, jobs in live.items():
        if len(jobs) > 1:
            j.violate(f"after quiescence the program's job {name} has {len(jobs)} live jobs: {jobs}")
    if programs and len({bool(jobs) for jobs in live.values()}) > 1:
        j.violate(f"after quiescence only part of the program runs: {live}")


def _runs_allowed_spec(j: Judgement, declares: list[dict[str, Any]], dep: str, final: dict[str, Any]) -> None:
    jid, gen = final["jid"], job_generation(final["name"])
    last = _declared_at(declares, dep, float("inf")) or {}
    key = (gen, _parallelism(j, jid))
    allowed = set()
    if last.get("entry") == "counter":
        allowed.add((last["gen"], last["parallelism"]))
    stable = [
        (job.gen, _parallelism(j, job.jid))
        for job in j.jobs.values()
        if job.deployment == dep
        and _healthy(j, job.jid)
        and (_gen_spec(declares, dep, job.gen) or {}).get("entry") == "counter"
    ]
    if stable:
        allowed.add(stable[-1])
    # The last good spec declared before a failing edit is the rollback target even when the
    # sampler never saw it healthy for long (churn cut its runs short).
    good = [d for d in declares if d["dep"] == dep and d["entry"] == "counter"]
    if good and last.get("entry") == "failing":
        allowed.add((good[-1]["gen"], good[-1]["parallelism"]))
        # ... and that good spec may never have run (its upgrade could not take the savepoint of a
        # job still starting, then the failing edit came): the rollback target is then the newest
        # good spec Flink ran with every vertex running, however briefly (seed 353992 of the 2027
        # run on 1.20.5: g1 jobs seen healthy 2 s each between JobManager and TaskManager kills).
        ran = [
            (job.gen, _parallelism(j, job.jid))
            for job in (j.jobs[jid] for jid in j.order)
            if job.deployment == dep
            and j.evidence["observed"]["jobs"].get(job.jid, {}).get("healthy")
            and (_gen_spec(declares, dep, job.gen) or {}).get("entry") == "counter"
        ]
        if ran:
            allowed.add(ran[-1])
    if (_gen_spec(declares, dep, gen or 0) or {}).get("entry") == "failing":
        j.violate(f"after quiescence {dep} runs its failing spec g{gen} ({jid})")
    elif key not in allowed and key[1]:
        j.violate(
            f"after quiescence {dep} runs g{key[0]} p{key[1]} ({jid}); declared or last stable: {sorted(allowed)}"
        )
    current = _record(j, dep).get("current_job_id")
    if current != jid:
        j.violate(f"after quiescence {dep}'s record names job {current}, Flink runs {jid}")
