"""The soak's outside view: every second, for each deployment, whether a job of it runs and makes
progress, measured from Flink's REST API alone (nothing of the product is imported).

A deployment is **up** in a sample when one of its jobs (named ``<deployment>.g<generation>``: the
soak's specs name them) is RUNNING with every vertex running and makes progress: the records its
vertices read and wrote (counted by Flink since the job started) grew within the last 2.5 s
(Flink refreshes metrics about once a second), counted from 0 for a job first seen within that
time (a restarted job is up from its first sample that shows records processed), or its
completed checkpoints grew within the last 5 s (Flink's metrics can freeze while a job runs: for
600 s after a TaskManager's loss in the hour-long soak, while Flink listed the jobs RUNNING and
healthy; the JobManager keeps the checkpoints' counts).

**State never goes back**: when a deployment's counter job is replaced by another (a restart, an
upgrade, a recovery, a rollback), the new job's first counter must not be below what any earlier
job of the deployment had counted by its newest completed snapshot (its checkpoints' and
savepoints' trigger times, read from Flink while it lived, against the counter samples taken up
to then: a lower bound, so no false alarm). A restart Flink makes within one job, and the SQL
job's keyed counts (no metric shows them), are not checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from faults.histories.rest import TERMINAL, Periodic, all_running

WINDOW = 2.5  # seconds over which a running job must have progressed to count as up
CHECKPOINT_WINDOW = 5.0  # or completed a checkpoint (the soak's jobs checkpoint every 2 s)


def deployment_of(name: str, deployments: list[str]) -> str | None:
    base = name.rsplit(".g", 1)[0]
    return base if base in deployments else None


@dataclass
class Seen:
    """One job as the sampler saw it."""

    jid: str
    deployment: str
    first: float
    values: list[tuple[float, float]] = field(default_factory=list)  # (t, the keyed counter)
    records: list[tuple[float, float]] = field(default_factory=list)  # (t, records read and written)
    checkpoints: list[tuple[float, int]] = field(default_factory=list)  # (t, completed checkpoints)
    counter: bool = True  # a keyed counter (state) or a record count (progress only)
    snapshot_ms: int = 0  # trigger time of its newest completed snapshot, epoch ms


def _by_snapshot(job: Seen) -> float | None:
    """What ``job`` had counted by its newest completed snapshot, at least (the last counter read
    before the snapshot's trigger time); None without a counter or a snapshot."""
    if not job.counter or not job.snapshot_ms:
        return None
    values = [v for t, v in job.values if t * 1000 <= job.snapshot_ms]
    return values[-1] if values else None


class UptimeSampler(Periodic):
    def __init__(self, url: str, deployments: list[str], interval: float = 1.0) -> None:
        super().__init__(url, interval)
        self.deployments = deployments
        # (t, {deployment: (up, job id or None)}), or (t, None) when Flink did not answer
        self.samples: list[tuple[float, dict[str, tuple[bool, str | None]] | None]] = []
        self.jobs: dict[str, Seen] = {}
        self.current: dict[str, str] = {}  # deployment -> its newest job seen
        self.back: list[str] = []  # state that went back, one line each
        self.errors: list[str] = []

    def failed(self, err: Exception) -> None:
        self.errors.append(f"{time.time():.0f}: {type(err).__name__}: {err}")

    def sample(self) -> None:
        now = time.time()
        jobs = self.reader.jobs()
        if jobs is None:
            self.samples.append((now, None))
            return
        state: dict[str, tuple[bool, str | None]] = {dep: (False, None) for dep in self.deployments}
        for job in sorted(jobs, key=lambda j: int(j.get("start-time", 0))):
            dep = deployment_of(str(job.get("name", "")), self.deployments)
            if dep is None or job.get("state") in TERMINAL:
                continue
            up = self._look(str(job["jid"]), dep, now)
            if up or state[dep][1] is None:
                state[dep] = (up, str(job["jid"]))
        self.samples.append((now, state))

    def _look(self, jid: str, dep: str, now: float) -> bool:
        detail = self.reader.job(jid)
        if detail is None:
            return False
        seen = self.jobs.get(jid)
        if seen is None:
            seen = self.jobs[jid] = Seen(jid, dep, now)
            self.current[dep] = jid
        seen.counter = any(str(v.get("name", "")).startswith("count") for v in detail.get("vertices", []))
        if seen.counter:
            value = self.reader.counter(jid, detail)
            if value:  # the gauge reported (a restored job's first value is its restored state)
                seen.values.append((now, value))
                self._first_value(seen)
        completed = self._snapshot(seen)
        records = float(
            sum(
                int((v.get("metrics") or {}).get(key, 0))
                for v in detail.get("vertices", [])
                for key in ("read-records", "write-records")
            )
        )
        # Flink refreshes metrics about once a second: growth is looked for over the last 2.5 s,
        # so a sample that falls between two refreshes does not read as a stall.
        # A job first seen within the window counts from 0 (what it had processed when it
        # started): one that has processed records is up from its first sample.
        # A sample that came late (a slow answer) compares with the one before it, whatever its age.
        window = [v for t, v in seen.records if now - t <= WINDOW] or [v for _, v in seen.records[-1:]]
        if now - seen.first <= WINDOW:
            window.append(0.0)
        seen.records.append((now, records))
        grew = bool(window) and records > min(window)
        # Or its completed checkpoints grew within CHECKPOINT_WINDOW: every task took part, so the
        # job runs. (Flink's metrics, the records, froze for 600 s after a TaskManager's loss in
        # the hour-long soak while Flink listed the jobs RUNNING and healthy.)
        earlier = [n for t, n in seen.checkpoints if now - t <= CHECKPOINT_WINDOW]
        checkpointed = completed is not None and bool(earlier) and completed > min(earlier)
        if completed is not None:
            seen.checkpoints.append((now, completed))
        return all_running(detail) and (grew or checkpointed)

    def _snapshot(self, seen: Seen) -> int | None:
        """Note the job's newest snapshot; return its count of completed checkpoints (None: not read)."""
        found = self.reader.get(f"/jobs/{seen.jid}/checkpoints")
        latest = (found or {}).get("latest") or {}
        for kind in ("completed", "savepoint"):
            entry = latest.get(kind) or {}
            seen.snapshot_ms = max(seen.snapshot_ms, int(entry.get("trigger_timestamp") or 0))
        counts = (found or {}).get("counts") if isinstance(found, dict) else None
        return int(counts["completed"]) if isinstance(counts, dict) and "completed" in counts else None

    def _first_value(self, seen: Seen) -> None:
        """A new job's first counter against every earlier job of its deployment: none may have
        counted more by its newest snapshot (not only the job just before it: a job with no
        counter or no snapshot yet, a failing spec's, must not hide an older one's state)."""
        if len(seen.values) != 1 or not seen.counter:
            return
        earlier = [
            job for job in self.jobs.values()
            if job.deployment == seen.deployment and job.jid != seen.jid and job.first <= seen.first
        ]  # fmt: skip
        marks = [(job.jid, _by_snapshot(job)) for job in earlier]
        found = [(jid, mark) for jid, mark in marks if mark is not None]
        if not found:
            return
        jid, mark = max(found, key=lambda item: item[1])
        if seen.values[0][1] < mark:
            self.back.append(
                f"{seen.deployment}: job {seen.jid} started at counter {seen.values[0][1]:.0f}, below the "
                f"{mark:.0f} job {jid} had counted by its newest snapshot"
            )

    def as_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "back": self.back,
            "errors": self.errors,
            "jobs": {
                jid: {"deployment": s.deployment, "first": s.first, "counter": s.counter}
                for jid, s in self.jobs.items()
            },
        }
