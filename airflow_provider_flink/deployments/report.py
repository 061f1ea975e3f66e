"""What a reconcile run reports: per deployment the plan, what was done and what was skipped, and
the problems of the whole run. Typed for code; :meth:`ReconcileReport.as_dict` gives plain JSON
values (what the operator pushes to XCom)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ActionResult(BaseModel):
    """One applied action: ``action`` describes it (kind, deployment, job ids, reason)."""

    kind: str
    action: str
    ok: bool
    detail: str
    # Not done because another reconcile was acting on the deployment (I8): not an error, the
    # other actor carries on.
    yielded: bool = False


class DeploymentReport(BaseModel):
    deployment: str
    cluster: str
    actions: list[str] = Field(default_factory=list)  # the plan, one line per action
    skipped: str | None = None  # why nothing (more) was planned
    # Not acted on for a reason a person must resolve: the jar may not run on this cluster (caps,
    # verification), two live copies, a job that keeps failing. Counts as an error of the run.
    refused: str | None = None
    done: list[ActionResult] = Field(default_factory=list)

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

    def deployment(self, name: str) -> DeploymentReport:
        return next(d for d in self.deployments if d.deployment == name)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
