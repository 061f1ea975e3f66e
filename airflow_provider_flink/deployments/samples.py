"""What a deployment's job did over the last hours: the samples the job watcher takes, and the
charts the Flink page draws from them.

Flink's REST API says how a job is now (counters since it started, its last checkpoint) and keeps
its last few checkpoints; it keeps no history of throughput, back-pressure or restarts. So the job
watcher (``events/job_changes.py``, in the triggerer) takes one :class:`Sample` per declared
deployment every ``[flink] sample_interval_seconds`` and the SQL record store keeps them
``[flink] sample_retention_hours``.

* **Uptime** comes from the watcher's own polls (every couple of seconds, no extra call): each
  poll's interval counts as *up* when the deployment's newest job is healthy (RUNNING, every task
  running), *down* when it is not (failed, restarting, gone), *unknown* when Flink did not answer
  (never counted as down: unknown is not failed), *off* when the deployment is declared suspended.
* **Records in/out per second and back-pressure** are differences of Flink's counters between two
  looks at the same job (``GET /jobs/{id}``: each vertex's records read and written and the time
  its subtasks spent back-pressured, summed over them). Records in: what the job's first vertices
  (those that read from no other vertex: its sources) emit; records out: what its last vertices
  (those no other vertex reads from: its sinks) take in, or for a job of one vertex, what it emits.
  Back-pressure: the share of the interval the most back-pressured vertex spent so, 0 to 1, as a
  mean over its subtasks (Flink's job view sums them): one subtask of eight back-pressured all the
  time reads 0.125.
* **Restarts**: Flink's own (``numRestarts`` of the job, its restart strategy) and the provider's
  (a reconcile's restart or recovery of a failed or lost job, from the record).
* **Checkpoints**: the duration and full size (the whole state, also for an incremental checkpoint)
  of the last completed one, and how many completed and failed in the interval
  (``GET /jobs/{id}/metrics``).

Everything here is pure: the watcher reads Flink, the store keeps rows, this module does the sums.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from airflow_provider_flink.client.models import JobDetail

# The job metrics a sample reads (one GET /jobs/{id}/metrics): Flink 1.20 and 2.x name them alike.
JOB_METRICS = [
    "numRestarts",
    "lastCheckpointDuration",
    "lastCheckpointFullSize",  # the whole state (an incremental checkpoint's own size is its increment)
    "lastCheckpointSize",
    "numberOfCompletedCheckpoints",
    "numberOfFailedCheckpoints",
]
SAMPLE_SECONDS = 60.0  # [flink] sample_interval_seconds by default
RETENTION_HOURS = 24.0  # [flink] sample_retention_hours by default
MAX_POINTS = 360  # a chart draws at most this many points: longer windows merge neighbours

Availability = Literal["up", "down", "unknown", "off"]


@dataclass(frozen=True)
class Counters:
    """One look at a job: Flink's counters since the job started, and its last checkpoint."""

    job_id: str
    at: float  # epoch seconds of the look
    started: float  # the job's start, epoch seconds (0: Flink did not say)
    records_in: int
    records_out: int
    # Per vertex: (id, back-pressured milliseconds summed over its subtasks, its parallelism).
    backpressured: tuple[tuple[str, int, int], ...]
    restarts: int | None = None
    checkpoints: int | None = None
    checkpoints_failed: int | None = None
    checkpoint_duration_ms: float | None = None
    checkpoint_size_bytes: float | None = None


def counters_of(job: JobDetail, metrics: dict[str, float], at: float) -> Counters:
    """The counters of ``job`` (``GET /jobs/{id}``) and its ``metrics`` (``GET /jobs/{id}/metrics``)."""
    fed = {inp.id for node in job.plan.nodes for inp in node.inputs}  # vertices another one reads
    reads = {node.id for node in job.plan.nodes if node.inputs}  # vertices that read another one
    vertices = job.vertices
    first = [v for v in vertices if v.id not in reads]
    last = [v for v in vertices if v.id not in fed]
    records_in = sum(v.metrics.write_records for v in first)
    if len(vertices) == 1:  # one vertex is first and last: what it emits is what goes out
        records_out = vertices[0].metrics.write_records
    else:
        records_out = sum(v.metrics.read_records for v in last)

    def whole(name: str) -> int | None:
        value = metrics.get(name)
        return int(value) if value is not None and value >= 0 else None

    def amount(name: str) -> float | None:
        value = metrics.get(name)
        return float(value) if value is not None and value >= 0 else None

    return Counters(
        job_id=job.jid,
        at=at,
        started=job.start_time / 1000 if job.start_time > 0 else 0.0,
        records_in=records_in,
        records_out=records_out,
        backpressured=tuple((v.id, v.metrics.backpressured_ms, max(v.parallelism, 1)) for v in vertices),
        restarts=whole("numRestarts"),
        checkpoints=whole("numberOfCompletedCheckpoints"),
        checkpoints_failed=whole("numberOfFailedCheckpoints"),
        checkpoint_duration_ms=amount("lastCheckpointDuration"),
        checkpoint_size_bytes=amount("lastCheckpointFullSize") or amount("lastCheckpointSize"),
    )


@dataclass
class Uptime:
    """Seconds of each kind since the last sample, per deployment (the watcher adds every poll)."""

    seconds: dict[str, dict[Availability, float]] = field(default_factory=dict)

    def add(self, name: str, kind: Availability, seconds: float) -> None:
        if seconds > 0:
            kinds = self.seconds.setdefault(name, {})
            kinds[kind] = kinds.get(kind, 0.0) + seconds

    def take(self, name: str) -> dict[Availability, float]:
        """The seconds counted for ``name`` since the last take; counting starts again."""
        return self.seconds.pop(name, {})


class Sample(BaseModel):
    """One deployment over one interval ending at ``at``; None: not known for that interval."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    at: float
    seconds: float
    up_s: float = 0.0
    down_s: float = 0.0
    unknown_s: float = 0.0
    off_s: float = 0.0
    job_id: str | None = None
    job_state: str | None = None
    records_in_per_s: float | None = None
    records_out_per_s: float | None = None
    backpressure: float | None = None  # 0..1: the most back-pressured vertex's share of the interval
    restarts: int | None = None  # Flink's restarts of the job in the interval
    checkpoints: int | None = None  # completed in the interval
    checkpoints_failed: int | None = None
    checkpoint_duration_ms: float | None = None  # the last completed checkpoint's
    checkpoint_size_bytes: float | None = None

    def to_json(self) -> str:
        return self.model_dump_json(exclude_none=True, exclude_defaults=True)


def _base(now: Counters, before: Counters | None) -> tuple[Counters | None, float]:
    """What ``now``'s differences are taken against: the last look at the same job, or, for a job
    that started after that look (or a first look at a job started within the interval), the job's
    start (every counter 0); None when neither is known."""
    if before is not None and before.job_id == now.job_id and before.at < now.at:
        return before, now.at - before.at
    return None, now.at - now.started if now.started > 0 else 0.0


def _delta(now: int | None, then: int | None) -> int | None:
    if now is None:
        return None
    if then is None:
        return now
    return now - then if now >= then else None  # a counter that went down: not the same run of it


def sample_of(
    at: float,
    seconds: float,
    uptime: dict[Availability, float],
    job_state: str | None,
    now: Counters | None,
    before: Counters | None,
) -> Sample:
    """The sample of the interval of ``seconds`` ending at ``at``, from the uptime counted and two
    looks at the deployment's job (``before``: the previous sample's look, if any)."""
    values: dict[str, Any] = {
        "at": round(at, 3),
        "seconds": round(seconds, 3),
        "up_s": round(uptime.get("up", 0.0), 3),
        "down_s": round(uptime.get("down", 0.0), 3),
        "unknown_s": round(uptime.get("unknown", 0.0), 3),
        "off_s": round(uptime.get("off", 0.0), 3),
        "job_state": job_state,
    }
    if now is None:
        return Sample(**values)
    values.update(
        job_id=now.job_id,
        checkpoint_duration_ms=now.checkpoint_duration_ms,
        checkpoint_size_bytes=now.checkpoint_size_bytes,
    )
    base, span = _base(now, before)
    if base is None and (now.started <= 0 or now.started < at - seconds):
        return Sample(**values)  # a job seen for the first time that started before the interval
    if span <= 0:
        return Sample(**values)
    zero = Counters(now.job_id, now.started, now.started, 0, 0, (), 0, 0, 0)
    then = base or zero
    records_in = _delta(now.records_in, then.records_in)
    records_out = _delta(now.records_out, then.records_out)
    values.update(
        records_in_per_s=round(records_in / span, 3) if records_in is not None else None,
        records_out_per_s=round(records_out / span, 3) if records_out is not None else None,
        backpressure=_backpressure(now, then, span),
        restarts=_delta(now.restarts, then.restarts),
        checkpoints=_delta(now.checkpoints, then.checkpoints),
        checkpoints_failed=_delta(now.checkpoints_failed, then.checkpoints_failed),
    )
    return Sample(**values)


def _backpressure(now: Counters, then: Counters, span: float) -> float | None:
    earlier = {vertex: ms for vertex, ms, _ in then.backpressured}
    shares = []
    for vertex, ms, parallelism in now.backpressured:
        was = earlier.get(vertex, 0 if not then.backpressured else None)
        if was is None:
            continue  # a vertex not seen before
        if ms < was:
            return None  # a counter that went down: not the same run of the job's counters
        shares.append(min(1.0, (ms - was) / (span * 1000 * parallelism)))
    return round(max(shares), 4) if shares else None


# ------------------------------------------------------------------------------ charts
def _merge(group: Sequence[Sample]) -> dict[str, Any]:
    """One point for consecutive samples: rates averaged over time, peaks kept, counts summed."""
    seconds = sum(s.seconds for s in group)

    def mean(name: str) -> float | None:
        known = [(getattr(s, name), s.seconds) for s in group if getattr(s, name) is not None]
        weight = sum(w for _, w in known)
        return round(sum(v * w for v, w in known) / weight, 3) if known and weight > 0 else None

    def peak(name: str) -> float | None:
        known = [getattr(s, name) for s in group if getattr(s, name) is not None]
        return max(known) if known else None

    def total(name: str) -> int | None:
        known = [getattr(s, name) for s in group if getattr(s, name) is not None]
        return sum(known) if known else None

    up = sum(s.up_s for s in group)
    down = sum(s.down_s for s in group)
    last = group[-1]
    return {
        "at": last.at,
        "seconds": seconds,
        "up_s": up,
        "down_s": down,
        "uptime": round(up / (up + down), 4) if up + down > 0 else None,
        "records_in_per_s": mean("records_in_per_s"),
        "records_out_per_s": mean("records_out_per_s"),
        "backpressure": peak("backpressure"),
        "restarts": total("restarts"),
        "checkpoints": total("checkpoints"),
        "checkpoints_failed": total("checkpoints_failed"),
        "checkpoint_duration_ms": peak("checkpoint_duration_ms"),
        "checkpoint_size_bytes": last.checkpoint_size_bytes,
    }


def charts(
    samples: Iterable[Sample], restarts_at: Iterable[float], since: float, until: float
) -> dict[str, Any]:
    """The page's charts of one deployment between ``since`` and ``until`` (epoch seconds): one
    point per sample (neighbours merged past :data:`MAX_POINTS`), the provider's restarts from the
    record (``restarts_at``) counted in the point whose interval holds them, and the totals."""
    kept = sorted((s for s in samples if since < s.at <= until), key=lambda s: s.at)
    size = max(1, math.ceil(len(kept) / MAX_POINTS))
    points = [_merge(kept[i : i + size]) for i in range(0, len(kept), size)]
    ours = sorted(t for t in restarts_at if since < t <= until)
    start = since
    for point in points:
        mine = sum(1 for t in ours if start < t <= point["at"])
        point["provider_restarts"] = mine
        start = point["at"]
    up = sum(s.up_s for s in kept)
    down = sum(s.down_s for s in kept)
    return {
        "since": since,
        "until": until,
        "samples": len(kept),
        "points": points,
        "totals": {
            "up_s": round(up, 3),
            "down_s": round(down, 3),
            "unknown_s": round(sum(s.unknown_s for s in kept), 3),
            "off_s": round(sum(s.off_s for s in kept), 3),
            "uptime": round(up / (up + down), 6) if up + down > 0 else None,
            "flink_restarts": sum(s.restarts or 0 for s in kept),
            "provider_restarts": len(ours),
            "checkpoints": sum(s.checkpoints or 0 for s in kept),
            "checkpoints_failed": sum(s.checkpoints_failed or 0 for s in kept),
        },
    }
