"""The soak's figures from what the sampler saw and the faults it was dealt (pure functions).

- **availability** of a deployment: the share of samples, from its first up one to the end, in
  which it was up (a sample Flink did not answer counts as down: nobody can tell it runs);
- **time to recover** from a fault, per deployment it took down: from the fault to the first
  sample the deployment is up again; a fault that did not take a deployment down (within
  ``GRACE`` seconds), or met it already down, has no recovery of its own;
- a recovery's **share**: its time less the fault's **outage**, the time the faulted part took to
  be whole again (the JobManager or a new TaskManager with its slots registered, PostgreSQL and
  the components its crash ended, a restarted Airflow component's heartbeat; nothing for a
  cancel or an edit): what is left is what the
  provider (and Flink restarting the job) took once it could act;
- per fault kind: the recoveries' median and worst; against them, Flink's own restart time: the
  recovery from ``job-fail`` (a job that throws once, restarted by Flink's restart strategy with
  no help), measured in the same run. The goal: the median share of every kind the provider
  recovers within Flink's own restart time + 5 s (:data:`GOAL_MARGIN`);
- availability at one fault per deployment per hour, from what was measured: a deployment's
  downtime in the soak (every second it was not up, whatever the cause) divided by the faults it
  was exposed to (those aimed at it and those at the whole stack, whether they took it down or
  not) is its downtime per fault; one such fault an hour leaves ``1 - that / 3600``;
- what limited a recovery the reconcile made (:func:`limits`): the reconcile run that acted after
  the fault and started a job of the deployment (its report), its phases from Airflow's own
  times: **detect** (the fault -> the run queued: the job watcher's poll and the asset event), **schedule** (queued -> started: the
  scheduler and an executor slot), **act** (the run's reconcile) and **health** (its end -> the job
  up and counting: Flink starting it, restoring its state, its first records).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GRACE = 15.0  # seconds after a fault within which a deployment going down counts as its doing
# An edit's downtime begins when a reconcile stops the old job, which can wait for the pool's one
# slot (a run ahead of it waiting on a job's health): a longer window, on its one deployment.
EDIT_GRACE = 90.0
GOAL_MARGIN = 5.0  # seconds over Flink's own restart time a recovery's median share may take
# The kind Flink recovers by itself (the reference, no goal of its own): the job's own failure.
# A TaskManager's loss is held to the goal: the restart strategy's attempts (3, 2 s apart) run
# out before a new TaskManager registers, and the reconcile restarts the job.
FLINK_RECOVERS = frozenset({"job-fail"})

Sample = tuple[float, "dict[str, tuple[bool, str | None]] | None"]


@dataclass
class Fault:
    kind: str
    at: float  # epoch seconds
    targets: list[str]  # the deployments it aims at ([] for every one)
    note: str = ""
    back_at: float | None = None  # epoch seconds the faulted part answered again (None: at once)

    @property
    def outage(self) -> float:
        return max(0.0, self.back_at - self.at) if self.back_at is not None else 0.0


@dataclass
class Recovery:
    kind: str
    deployment: str
    at: float
    down_at: float
    seconds: float | None  # None: not up again by the end
    phases: dict[str, float] | None = None  # what the reconcile's recovery took (limits)
    outage: float = 0.0  # of those seconds, the faulted part not answering
    same_job: bool = False  # up again with the job it had before the fault (Flink restarted it)

    @property
    def share(self) -> float | None:
        """The recovery's time once the faulted part answered again."""
        return None if self.seconds is None else round(max(0.0, self.seconds - self.outage), 1)


@dataclass
class Figures:
    availability: dict[str, float] = field(default_factory=dict)
    recoveries: list[Recovery] = field(default_factory=list)
    by_kind: dict[str, dict[str, Any]] = field(default_factory=dict)
    flink_own: float | None = None
    hourly_availability: dict[str, float] = field(default_factory=dict)
    downtime_per_fault: dict[str, float] = field(default_factory=dict)
    recovery_per_fault: dict[str, float] = field(default_factory=dict)  # seconds of recovery per fault


def _up(sample: Sample, dep: str) -> bool:
    state = sample[1]
    return bool(state and state.get(dep, (False, None))[0])


def _job(sample: Sample, dep: str) -> str | None:
    state = sample[1]
    return state.get(dep, (False, None))[1] if state else None


def availability(samples: Sequence[Sample], deployments: Sequence[str]) -> dict[str, float]:
    found = {}
    for dep in deployments:
        first = next((i for i, s in enumerate(samples) if _up(s, dep)), None)
        if first is None:
            found[dep] = 0.0
            continue
        span = samples[first:]
        found[dep] = sum(_up(s, dep) for s in span) / len(span)
    return found


def recoveries(
    samples: Sequence[Sample], faults: Sequence[Fault], deployments: Sequence[str]
) -> list[Recovery]:
    found = []
    for fault in faults:
        for dep in fault.targets or deployments:
            before = [s for s in samples if s[0] < fault.at][-1:]
            if before and not _up(before[0], dep):
                continue  # already down: the recovery belongs to what took it down
            after = [s for s in samples if s[0] >= fault.at]
            grace = EDIT_GRACE if fault.kind.startswith("edit-") else GRACE
            down = next((s for s in after if s[0] <= fault.at + grace and not _up(s, dep)), None)
            if down is None:
                continue
            back = next((s for s in after if s[0] > down[0] and _up(s, dep)), None)
            found.append(
                Recovery(
                    fault.kind,
                    dep,
                    fault.at,
                    down[0],
                    None if back is None else round(back[0] - fault.at, 1),
                    outage=round(fault.outage, 1),
                    same_job=bool(before and back and _job(before[0], dep) == _job(back, dep)),
                )
            )
    return found


def epoch(text: object) -> float | None:
    """Epoch seconds of a time Airflow's API writes (ISO 8601, "Z" or an offset); None for none."""
    if not isinstance(text, str) or not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# What a run does that brings a deployment's job back (not a health mark or a savepoint).
STARTS = frozenset({"deploy", "resubmit", "upgrade", "rescale", "rollback", "resume", "restart", "recover"})


def limits(recovery: Recovery, runs: Sequence[Mapping[str, Any]]) -> dict[str, float] | None:
    """The phases of a recovery the reconcile made: the first run queued after the fault that
    started a job of the deployment (its report's ``acted``) and started before it was up; None
    when no run did (Flink recovered it alone)."""
    if recovery.seconds is None:
        return None
    back = recovery.at + recovery.seconds
    for run in sorted(runs, key=lambda r: epoch(r.get("queued_at")) or 0.0):
        queued, start, end = (epoch(run.get(k)) for k in ("queued_at", "start_date", "end_date"))
        if queued is None or start is None or end is None:
            continue
        acted = set((run.get("acted") or {}).get(recovery.deployment, ()))
        # Started before the deployment was up again (the run's end is written a scheduler loop
        # after its task ended, which can be after the new job already counts).
        if recovery.at <= queued and start <= back and acted & STARTS:
            return {
                "detect": round(queued - recovery.at, 1),
                "schedule": round(start - queued, 1),
                "act": round(min(end, back) - start, 1),
                "health": round(max(0.0, back - end), 1),
            }
    return None


def figures(
    samples: Sequence[Sample],
    faults: Sequence[Fault],
    deployments: Sequence[str],
    runs: Sequence[Mapping[str, object]] = (),
) -> Figures:
    result = Figures(availability=availability(samples, deployments))
    result.recoveries = recoveries(samples, faults, deployments)
    for recovery in result.recoveries:
        recovery.phases = limits(recovery, runs)
    kinds: dict[str, list[Recovery]] = {fault.kind: [] for fault in faults}
    for recovery in result.recoveries:
        kinds.setdefault(recovery.kind, []).append(recovery)
    for kind, found in sorted(kinds.items()):
        done = [r.seconds for r in found if r.seconds is not None]
        shares = [r.share for r in found if r.share is not None]
        result.by_kind[kind] = {
            "dealt": sum(1 for fault in faults if fault.kind == kind),
            "faults": len({r.at for r in found}),  # those that took a deployment down
            "recoveries": len(found),
            "not_recovered": len(found) - len(done),
            "median": round(statistics.median(done), 1) if done else None,
            "worst": max(done) if done else None,
            "median_share": round(statistics.median(shares), 1) if shares else None,
            "worst_share": max(shares) if shares else None,
            # the median of each phase over the recoveries the reconcile made
            "phases": {
                phase: round(statistics.median(r.phases[phase] for r in found if r.phases), 1)
                for phase in ("detect", "schedule", "act", "health")
                if any(r.phases for r in found)
            },
        }
    # Flink's own restart: a failure Flink's restart strategy recovered, the same job running
    # again (once its attempts are used up the job fails and the reconcile starts a new one: that
    # recovery is the provider's, not the reference).
    own_times = [r.seconds for r in result.recoveries if r.kind == "job-fail" and r.same_job and r.seconds]
    own = round(statistics.median(own_times), 1) if own_times else None
    result.flink_own = own
    for kind, row in result.by_kind.items():
        row["goal"] = goal(kind, row, own)
    for dep in deployments:
        exposed = sum(1 for fault in faults if not fault.targets or dep in fault.targets)
        down = downtime(samples, dep)
        if exposed and down is not None:
            result.downtime_per_fault[dep] = round(down / exposed, 2)
            result.hourly_availability[dep] = 1 - down / exposed / 3600
        # The same from the recovery times alone (the faults' own downtime; a recovery not over
        # by the end counts as the whole rest of the soak would: it is not, so none is given).
        times = [r.seconds for r in result.recoveries if r.deployment == dep]
        if exposed and None not in times:
            per_fault = sum(t for t in times if t is not None) / exposed
            result.recovery_per_fault[dep] = round(per_fault, 2)
    return result


def downtime(samples: Sequence[Sample], dep: str) -> float | None:
    """Seconds ``dep`` was not up, from its first up sample to the last (each sample stands for
    the time to the next); None if it was never up."""
    first = next((i for i, s in enumerate(samples) if _up(s, dep)), None)
    if first is None:
        return None
    span = samples[first:]
    return sum(b[0] - a[0] for a, b in itertools.pairwise(span) if not _up(a, dep))


def goal(kind: str, row: Mapping[str, Any], flink_own: float | None) -> str:
    """ "within" or "OVER" (the kind's median share against Flink's own restart + 5 s), "Flink's"
    for a kind Flink recovers by itself, "" when there is nothing to hold it to."""
    if kind in FLINK_RECOVERS:
        return "Flink's"
    if flink_own is None or row.get("median_share") is None:
        return ""
    return "within" if row["median_share"] <= flink_own + GOAL_MARGIN else "OVER"


def beyond(result: Figures, bound: float) -> list[str]:
    """Recoveries whose share took longer than ``bound`` seconds, one line each."""
    return [
        f"{r.kind} at {r.at:.0f}: {r.deployment} took {r.share} s once the faulted part answered "
        f"(of {r.seconds} s), over the bound of {bound:g} s"
        for r in result.recoveries
        if r.share is not None and r.share > bound
    ]


def markdown(result: Figures, minutes: float, version: str) -> str:
    lines = [
        f"Soak of {minutes:g} minutes on Flink {version}",
        "",
        "| deployment | availability |",
        "|---|---|",
        *[f"| {dep} | {share * 100:.2f} % |" for dep, share in result.availability.items()],
        "",
        "| fault kind | dealt | took one down | recoveries | median | worst | median once answering again (worst) "
        "| not recovered | against Flink's own + 5 s | the reconcile's phases (median: detect, schedule, act, health) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for kind, row in result.by_kind.items():
        phases = row["phases"]
        shown = (
            ", ".join(f"{phase} {value:g} s" for phase, value in phases.items()) if phases else "Flink alone"
        )
        lines.append(
            f"| {kind} | {row['dealt']} | {row['faults']} | {row['recoveries']} | {row['median']} s | {row['worst']} s | "
            f"{row['median_share']} s ({row['worst_share']} s) | {row['not_recovered']} | {row['goal']} | {shown} |"
        )
    lines.append("")
    lines.append(f"Flink's own restart (job-fail, median): {result.flink_own} s")
    for dep, share in result.hourly_availability.items():
        recovered = result.recovery_per_fault.get(dep)
        from_recoveries = (
            f"; from the recovery times alone {recovered:g} s: {(1 - recovered / 3600) * 100:.3f} %"
            if recovered is not None
            else ""
        )
        lines.append(
            f"{dep}: {result.downtime_per_fault[dep]:g} s down per fault it was exposed to: "
            f"{share * 100:.3f} % available at one fault per hour{from_recoveries}"
        )
    return "\n".join(lines)
