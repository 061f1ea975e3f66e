"""What a reconcile run reports: per deployment the plan, what was done and what was skipped, and
the problems of the whole run. Typed for code; :meth:`ReconcileReport.as_dict` gives plain JSON
values (what the operator pushes to XCom)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

from airflow_provider_flink.client.models import JobState

# Every gauge of deployments by job state is sent on each complete run, zeros included: a statsd
# gauge keeps its last value, so a state no deployment is in any more must be said to be 0.
STATES = [state.value.lower() for state in JobState] + ["none"]


@dataclass(frozen=True)
class Metric:
    """One value for Airflow's stats (StatsD / OpenTelemetry); names are documented in docs/deployments.md."""

    kind: Literal["incr", "gauge", "timing"]
    name: str
    value: float


class ActionResult(BaseModel):
    """One applied action: ``action`` describes it (kind, deployment, job ids, reason)."""

    kind: str
    action: str
    ok: bool
    detail: str
    # Not done because another reconcile was acting on the deployment (I8): not an error, the
    # other actor carries on.
    yielded: bool = False
    seconds: float = 0.0  # how long the action took
    # The job the action acted on (stopped, replaced, savepointed) and the one it started: what
    # the reconcile's lineage reports (operators/reconcile.py).
    job_id: str | None = None
    new_job_id: str | None = None

    @property
    def outcome(self) -> str:
        return "yielded" if self.yielded else "ok" if self.ok else "failed"


class DeploymentReport(BaseModel):
    deployment: str
    cluster: str
    actions: list[str] = Field(default_factory=list)  # the plan, one line per action
    skipped: str | None = None  # why nothing (more) was planned
    # Not acted on for a reason a person must resolve: the jar may not run on this cluster (caps,
    # verification), two live copies, a job that keeps failing. Counts as an error of the run.
    refused: str | None = None
    done: list[ActionResult] = Field(default_factory=list)
    # The state of the deployment's newest job on Flink when the run looked (None: no job).
    job_state: str | None = None
    # What the deployment was doing when the run looked (deployments/lifecycle.py), before acting.
    lifecycle: str | None = None
    # Requests for a person's approval this run recorded (their keys): the approval DAG asks them.
    approvals: list[str] = Field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        """What went wrong for this deployment: a refusal, a failed action."""
        refused = [self.refused] if self.refused else []
        return refused + [f"{r.kind} failed: {r.detail}" for r in self.done if not r.ok and not r.yielded]

    @property
    def kinds(self) -> list[str]:
        """The planned actions' kinds, in order (``["upgrade"]``)."""
        return [line.split(" ", 1)[0] for line in self.actions]


class ReconcileReport(BaseModel):
    invalid: list[str] = Field(default_factory=list)  # spec files that could not be read, one line each
    errors: list[str] = Field(default_factory=list)  # clusters not observed, actions that failed
    deployments: list[DeploymentReport] = Field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return self.invalid + self.errors

    @property
    def retryable(self) -> bool:
        """A problem that may be gone on a try a minute later: a cluster that could not be observed,
        an action that failed. Invalid files and refusals (caps, a restart limit reached, two live
        copies) wait for a person: trying again only holds the run (and the runs queued behind it)."""
        refusals = {f"{entry.deployment}: {entry.refused}" for entry in self.deployments if entry.refused}
        return any(error not in refusals for error in self.errors)

    def deployment(self, name: str) -> DeploymentReport:
        return next(d for d in self.deployments if d.deployment == name)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def metrics(self, seconds: float, complete: bool) -> list[Metric]:
        """What the run tells Airflow's stats. ``complete``: the run looked at every deployment
        (not one started for a few by an event): only then are the totals sent, else a gauge
        would say "1 deployment running" after a run that looked at one of forty."""
        out = [Metric("timing", "flink.reconcile.duration", seconds * 1000)]
        for entry in self.deployments:
            for done in entry.done:
                kind = done.kind.replace("-", "_")
                out.append(Metric("incr", f"flink.action.{kind}.{done.outcome}", 1))
                out.append(Metric("timing", f"flink.action.{kind}.duration", done.seconds * 1000))
        if complete:
            out.append(Metric("gauge", "flink.reconcile.deployments", len(self.deployments)))
            out.append(
                Metric("gauge", "flink.reconcile.drift", sum(1 for d in self.deployments if d.actions))
            )
            out.append(Metric("gauge", "flink.reconcile.problems", len(self.problems)))
            states = [(d.job_state or "none").lower() for d in self.deployments]
            out += [Metric("gauge", f"flink.deployments.{state}", states.count(state)) for state in STATES]
        return out
