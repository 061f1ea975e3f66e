"""What changed in a deployments folder between two looks: which deployments a reconcile should
look at now, instead of waiting for its schedule.

:func:`look` reads every deployment file (its content digest, the deployment it declares and the
jar it names) and asks the storage for a version of each jar the files name (size and modification
time, or what an object store reports); it never talks to Flink. :func:`compare` names the
deployments whose file changed, appeared or went away, and those whose jar changed in place. A
file that does not parse is named as invalid, not guessed at: the reconcile reports it with the
same error as on any run and changes nothing for it.

Both are plain functions over plain data, so the event trigger that calls them
(:mod:`airflow_provider_flink.events`) keeps only the timing: when a change has settled.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_flink.client.models import COMING_UP, FAILING_STATES, LEFT_RUNNING, TERMINAL, JobState
from airflow_provider_flink.deployments.planner import ClusterView
from airflow_provider_flink.deployments.spec import SpecPath, is_spec_file, parse_spec_text, sql_file_location
from airflow_provider_flink.locations import beside
from airflow_provider_flink.triggers.conditions import is_healthy


@dataclass(frozen=True)
class SpecFile:
    digest: str  # sha256 of the content
    deployment: str | None = None  # None: the file does not parse (yet)
    jar: str | None = None


@dataclass(frozen=True)
class FolderState:
    """One look at a folder: its deployment files and the versions of the jars they name."""

    files: dict[str, SpecFile] = field(default_factory=dict)
    jars: dict[str, str] = field(default_factory=dict)  # location -> version ("" when missing)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON, for the watcher's stored cursor."""
        return {
            "files": {name: [f.digest, f.deployment, f.jar] for name, f in self.files.items()},
            "jars": dict(self.jars),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FolderState:
        files = {name: SpecFile(*values) for name, values in (data.get("files") or {}).items()}
        return cls(files, dict(data.get("jars") or {}))


@dataclass(frozen=True)
class Change:
    deployments: tuple[str, ...]  # to reconcile now
    files: tuple[str, ...]  # changed, added or removed deployment files
    invalid: tuple[str, ...]  # changed files that do not parse
    jars: tuple[str, ...]  # jars changed in place

    def payload(self) -> dict[str, Any]:
        """The asset event's payload; ``flink_deployments`` is what the reconcile operator reads."""
        return {
            "flink_deployments": list(self.deployments),
            "files": list(self.files),
            "invalid_files": list(self.invalid),
            "jars": list(self.jars),
        }


def look(folder: SpecPath) -> FolderState:
    """Read the folder once (blocking I/O: the trigger runs it in a thread)."""
    if not folder.is_dir():
        return FolderState()
    files: dict[str, SpecFile] = {}
    for path in folder.iterdir():
        name = str(path.name)
        if not is_spec_file(name) or not path.is_file():
            continue
        try:
            text = path.read_text()
        except (OSError, ValueError):  # gone or unreadable between the listing and the read
            continue
        digest = hashlib.sha256(text.encode()).hexdigest()
        spec, problems = parse_spec_text(name, text)
        if spec is None or problems:
            files[name] = SpecFile(digest)
        elif spec.sql is not None and spec.sql.file is not None:
            # A SQL deployment's statements file is what it runs (the runner jar ships with the
            # provider): watched as a jar is, a change to it is a change of the deployment.
            files[name] = SpecFile(digest, spec.name, sql_file_location(folder, spec.sql.file))
        elif spec.python is not None:
            # A Python deployment's entry file (else its first file) is watched as a jar is; a
            # change to its other files is seen by the next scheduled run (their digests are in
            # the spec hash).
            entry = spec.python.file if spec.python.file is not None else spec.python.files[0].path
            files[name] = SpecFile(digest, spec.name, beside(str(folder), entry))
        else:
            files[name] = SpecFile(digest, spec.name, spec.artifact.jar)
    jars = {jar: jar_version(jar) for jar in sorted({f.jar for f in files.values() if f.jar})}
    return FolderState(files, jars)


def jar_version(location: str) -> str:
    """A token that changes when the jar (or SQL file) at ``location`` is replaced: size and modification time
    (local paths, file:// and object stores); "" when it is missing or cannot be asked. http(s)
    URLs are not watched: their content is pinned by the spec's sha256 or re-fetched per run."""
    if location.startswith(("http://", "https://")):
        return ""
    try:
        if "://" not in location:
            stat = Path(location).stat()
            return f"{stat.st_size}:{stat.st_mtime_ns}"
        from airflow.sdk import ObjectStoragePath

        info = ObjectStoragePath(location).stat()
        keys = ("size", "mtime", "LastModified", "ETag", "etag", "md5Hash", "generation")
        return ":".join(str(info.get(key)) for key in keys if info.get(key) is not None)
    except (OSError, ValueError):
        return ""


def compare(old: FolderState, new: FolderState) -> Change | None:
    """What a reconcile should look at now; None when nothing that matters changed."""
    deployments: set[str] = set()
    files: list[str] = []
    invalid: list[str] = []
    for name in sorted(set(old.files) | set(new.files)):
        before, after = old.files.get(name), new.files.get(name)
        if before is not None and after is not None and before.digest == after.digest:
            continue
        files.append(name)
        for state in (before, after):
            if state is not None and state.deployment:
                deployments.add(state.deployment)  # a renamed deployment: the old name and the new
        if after is not None and after.deployment is None:
            invalid.append(name)
    jars = sorted(jar for jar in new.jars if jar in old.jars and new.jars[jar] != old.jars[jar])
    for jar in jars:
        deployments.update(f.deployment for f in new.files.values() if f.jar == jar and f.deployment)
    if not files and not jars:
        return None
    return Change(tuple(sorted(deployments)), tuple(files), tuple(invalid), tuple(jars))


# ------------------------------------------------------------------------------ jobs on Flink
# States travel here as Flink spells them (the watcher's cursor is kept as JSON, and the event
# carries them): each judge reads them with JobState(...) and compares members and the named sets
# of client.models (LEFT_RUNNING, FAILING_STATES, COMING_UP, TERMINAL). "" is "no job".


@dataclass(frozen=True)
class JobChange:
    deployment: str
    job_id: str | None  # the job that changed (None: the deployment's jobs are gone)
    before: str  # its state in the previous look ("" for no job)
    after: str  # its state now ("" for gone)
    # state: it left RUNNING (or vanished); healthy: it became healthy (a reconcile marks a new job
    # stable); unhealthy: live but not healthy past its health timeout; checkpoints-stale: no
    # checkpoint completed within the spec's max_checkpoint_age_minutes.
    kind: str = "state"
    note: str = ""

    def describe(self) -> str:
        if self.kind != "state":
            return f"{self.deployment}: job {self.job_id} {self.note or self.kind}"
        if not self.after:
            return f"{self.deployment}: job {self.job_id} is gone from the cluster (was {self.before})"
        return f"{self.deployment}: job {self.job_id} {self.before} -> {self.after}"


@dataclass(frozen=True)
class Health:
    """A deployment's newest job as one look saw it, for the health judges below."""

    job_id: str
    state: str  # as Flink spells it: what the cursor keeps
    healthy: bool
    started: float  # epoch seconds (0: Flink did not say)


def newest_health(names: list[str], jobs: list[Any]) -> dict[str, Health]:
    """Each deployment's newest job with the provider's one judge of "healthy"."""
    view = ClusterView("", tuple(jobs))
    found = {}
    for name in names:
        mine = view.jobs_of(name)
        if mine:
            job = mine[-1]
            started = job.start_time / 1000 if job.start_time > 0 else 0.0
            found[name] = Health(job.jid, job.state.value, is_healthy(job), started)
    return found


def health_changes(
    before: dict[str, Health] | None,
    now: dict[str, Health],
    timeouts: dict[str, float],
    clock: float,
    reported: set[str],
) -> list[JobChange]:
    """A job that became healthy since the last look (the reconcile marks it stable: short runs do
    not wait for it), and a live job still not healthy ``timeouts[name]`` seconds after it started
    (the reconcile rolls an upgrade back, or reports it), once per job (``reported``, updated)."""
    changes = []
    for name, seen in sorted(now.items()):
        was = before.get(name) if before is not None else None
        if seen.healthy:
            if before is not None and (was is None or was.job_id != seen.job_id or not was.healthy):
                prior = was.state if was is not None and was.job_id == seen.job_id else ""
                running = JobState.RUNNING.value
                changes.append(JobChange(name, seen.job_id, prior, running, "healthy", "became healthy"))
            continue
        timeout = timeouts.get(name)
        # A job that may still become healthy (COMING_UP); the others are reported by their state.
        coming_up = JobState(seen.state) in COMING_UP
        if not coming_up or not seen.started or timeout is None or seen.job_id in reported:
            continue
        waited = clock - seen.started
        if waited > timeout:
            reported.add(seen.job_id)
            note = f"not healthy {waited:.0f} s after it started ({seen.state}; health timeout {timeout:g} s)"
            changes.append(JobChange(name, seen.job_id, seen.state, seen.state, "unhealthy", note))
    return changes


def stale_checkpoint(
    name: str, seen: Health, completed_at: float | None, max_age: float, clock: float
) -> JobChange | None:
    """The change to report when a healthy job's last completed checkpoint (``completed_at``, epoch
    seconds; None: none yet, counted from the job's start) is older than ``max_age`` seconds."""
    since = completed_at or seen.started
    if not seen.healthy or not since or clock - since <= max_age:
        return None
    what = "its last completed checkpoint" if completed_at else "no checkpoint completed since it started,"
    note = f"checkpoints stale: {what} {(clock - since) / 60:.1f} min ago (allowed {max_age / 60:g} min)"
    return JobChange(name, seen.job_id, seen.state, seen.state, "checkpoints-stale", note)


def newest_jobs(names: list[str], jobs: list[Any]) -> dict[str, tuple[str, str]]:
    """Each deployment's newest job on the cluster: name -> (job id, state); a deployment without
    a job is absent (what :func:`newest_health` finds, without the health)."""
    return states_of(newest_health(names, jobs))


def states_of(health: dict[str, Health]) -> dict[str, tuple[str, str]]:
    """name -> (job id, state): what the job watcher keeps as its cursor."""
    return {name: (seen.job_id, seen.state) for name, seen in health.items()}


def confirmed(held: list[JobChange], now: dict[str, tuple[str, str]]) -> list[JobChange]:
    """The held changes still true one look later: the same job is still the deployment's newest
    and not RUNNING. An upgrade (the old job FINISHED, a newer one submitted a moment later) is
    not one: the reconcile that stops a job to upgrade it should not be woken, nor a person paged."""
    out = []
    for change in held:
        job_id, state = now.get(change.deployment, ("", ""))
        if change.job_id and job_id == change.job_id and JobState(state) is not JobState.RUNNING:
            out.append(JobChange(change.deployment, job_id, change.before, state))  # as it is now
    return out


def settle(
    held: Sequence[tuple[JobChange, float]], now: dict[str, tuple[str, str]], clock: float, after: float
) -> tuple[list[JobChange], list[tuple[JobChange, float]]]:
    """Held ended jobs ``(change, first seen)`` against the look ``now`` at ``clock``: those still
    ended and seen at least ``after`` seconds ago to report (as they are now), those still ended
    but younger to hold on; one a newer job took over (an upgrade: stop, then submit) or that runs
    again is dropped. Time, not a number of looks: the window stays the same whatever the poll."""
    report, holding = [], []
    for change, seen in held:
        still = confirmed([change], now)
        if still and clock - seen >= after:
            report += still
        elif still:
            holding.append((change, seen))
    return report, holding


def kept_cursor(
    now: dict[str, tuple[str, str]],
    kept: dict[str, tuple[str, str]],
    held: Sequence[tuple[JobChange, float]],
) -> dict[str, tuple[str, str]]:
    """The look to keep across a triggerer's restart: ``now``, but a deployment whose change is
    held (an ended job not confirmed yet, so not reported yet) keeps what was kept before it.
    Keeping ``now`` ran ahead of the events: a watcher started again after the triggerer died in
    the window (or could not send the event: its database down) began from the ended state, saw
    no change, and the job stayed down until the reconcile's schedule (the soak: a job cancelled
    while PostgreSQL was down, not started again)."""
    cursor = dict(now)
    for change, _ in held:
        if change.deployment in kept:
            cursor[change.deployment] = kept[change.deployment]
    return cursor


def urgent(change: JobChange) -> bool:
    """A failure or a vanished job is reported at once; an ended job only once confirmed."""
    return change.kind != "state" or JobState(change.after) in FAILING_STATES or not change.after


def job_changes(before: dict[str, tuple[str, str]], now: dict[str, tuple[str, str]]) -> list[JobChange]:
    """What a reconcile should act on without waiting for its schedule: a deployment whose newest
    job is now in one of ``LEFT_RUNNING`` and was not so in the last look (it was running, or a
    newer job took over and already ended: both between two looks), or whose jobs vanished (a
    JobManager restart without HA loses them). A job starting (CREATED, INITIALIZING), one ended
    state giving way to the next (CANCELLING -> CANCELED), or a deployment seen for the first time
    is not a change to act on."""
    changes = []
    for name in sorted(set(before) | set(now)):
        previous, current = before.get(name), now.get(name)
        if previous is None:
            continue  # first sight: nothing to compare with
        if current is None:
            if JobState(previous[1]) not in TERMINAL:
                changes.append(JobChange(name, previous[0], previous[1], ""))
            continue
        job_id, state = current
        was, is_now = JobState(previous[1]), JobState(state)
        if is_now not in LEFT_RUNNING or current == previous:
            continue
        gave_up = was is JobState.RESTARTING and is_now is JobState.FAILED
        if previous[0] == job_id and was in LEFT_RUNNING and not gave_up:
            continue  # the same job from one ended or failing state to the next (not: restarts gave up)
        changes.append(JobChange(name, job_id, previous[1] if previous[0] == job_id else "", state))
    return changes
