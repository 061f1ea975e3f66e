"""``FlinkReconcileOperator``: make every cluster match the deployments declared in a folder.

One run: load every spec file (a bad file is reported and skipped; the others still reconcile),
observe each cluster once (``GET /jobs/overview``), plan (pure), apply the actions, and leave a
readable summary in the log and in XCom: the plan, what was done, what was skipped and why.

Isolation: two runs must never act on the same deployment at once. Give the reconcile DAG
``max_active_runs=1`` and put reconcile tasks in a pool per cluster with one slot
(``airflow pools set flink_reconcile_<cluster> 1 "..."``); see docs/deployments.md.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_provider_flink.client import FlinkError, calls
from airflow_provider_flink.deployments.executor import Executor, ReconcileError, resolve_artifact
from airflow_provider_flink.deployments.planner import ClusterView, DeploymentPlan, plan_deployment
from airflow_provider_flink.deployments.records import RecordStore, VariableRecordStore
from airflow_provider_flink.deployments.spec import DeploymentSpec, load_specs, spec_hash
from airflow_provider_flink.hooks.connection import FlinkConnectionError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.operators.base import FlinkBaseOperator, FlinkOperatorError


def observe(hook: FlinkHook, cluster: str) -> ClusterView:
    """The one call a cluster costs when nothing drifted; any failure means "not observable"."""
    try:
        return ClusterView(cluster, tuple(hook.call(calls.jobs_overview()).jobs))
    except (FlinkError, FlinkConnectionError) as err:
        return ClusterView(cluster, None, str(err))


def reconcile(
    folder: Path,
    store: RecordStore,
    clusters: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    dry_run: bool = False,
    log: Any = None,
) -> dict[str, Any]:
    """Load, observe, plan and (unless ``dry_run``) apply; return the summary."""
    specs, problems = load_specs(folder)
    summary: dict[str, Any] = {
        "invalid": [str(p) for p in problems],
        "deployments": [],
        "errors": [],
        "rest_calls": {},
    }
    specs = [s for s in specs if (not clusters or s.cluster in clusters) and (not names or s.name in names)]
    by_cluster: dict[str, list[DeploymentSpec]] = {}
    for spec in specs:
        by_cluster.setdefault(spec.cluster, []).append(spec)
    for cluster, members in by_cluster.items():
        hook = FlinkHook(cluster)
        try:
            view = observe(hook, cluster)
            summary["rest_calls"][cluster] = 1
            if view.jobs is None:
                summary["errors"].append(
                    f"cluster {cluster} could not be observed: no action taken ({view.error})"
                )
            for spec in members:
                summary["deployments"].append(_one(spec, view, hook, store, dry_run, summary, log))
        finally:
            hook.close()
    return summary


def _one(
    spec: DeploymentSpec,
    view: ClusterView,
    hook: FlinkHook,
    store: RecordStore,
    dry_run: bool,
    summary: dict[str, Any],
    log: Any,
) -> dict[str, Any]:
    try:
        _, digest = resolve_artifact(spec, hook)
    except ReconcileError as err:
        summary["errors"].append(f"{spec.name}: {err}")
        return {
            "deployment": spec.name,
            "cluster": spec.cluster,
            "actions": [],
            "skipped": str(err),
            "done": [],
        }
    plan: DeploymentPlan = plan_deployment(
        spec, spec_hash(spec, digest), view, store.get(spec.cluster, spec.name), time.time()
    )
    entry = plan.as_dict()
    if log is not None:
        for line in entry["actions"] or [f"{spec.name}: {plan.skipped or 'nothing to do'}"]:
            log.info("plan: %s", line)
    if dry_run or not plan.actions:
        entry["done"] = []
        return entry
    outcomes = Executor(hook, store).apply(plan)
    entry["done"] = [o.as_dict() for o in outcomes]
    summary["errors"] += [f"{spec.name}: {o.action.kind} failed: {o.detail}" for o in outcomes if not o.ok]
    summary["rest_calls"][spec.cluster] = (
        None  # actions make calls of their own; only no-drift runs are counted
    )
    return entry


class FlinkReconcileOperator(FlinkBaseOperator):
    """Reconcile the deployments declared in ``deployments_folder`` (YAML/JSON, one per file).

    :param deployments_folder: folder of spec files (templated).
    :param clusters: only deployments of these connection ids (default: all).
    :param deployments: only these deployment names (default: all).
    :param plan_only: plan and report, change nothing (a dry run).
    :param fail_on_problems: fail the task at the end when a spec was invalid or an action failed
        (every other deployment is still reconciled first).

    Returns the summary: ``invalid`` (one line per problem, naming file and field),
    ``deployments`` (plan, outcomes, skip reasons), ``errors``.
    """

    template_fields: Sequence[str] = ("deployments_folder",)

    def __init__(
        self,
        *,
        deployments_folder: str,
        clusters: Sequence[str] | None = None,
        deployments: Sequence[str] | None = None,
        plan_only: bool = False,
        fail_on_problems: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deployments_folder = deployments_folder
        self.clusters = list(clusters) if clusters else None
        self.deployments = list(deployments) if deployments else None
        self.plan_only = plan_only
        self.fail_on_problems = fail_on_problems

    def record_store(self) -> RecordStore:
        return VariableRecordStore()

    def execute(self, context: Any) -> Any:
        summary = reconcile(
            Path(str(self.deployments_folder)),
            self.record_store(),
            self.clusters,
            self.deployments,
            self.plan_only,
            self.log,
        )
        for problem in summary["invalid"]:
            self.log.error("invalid spec: %s", problem)
        for entry in summary["deployments"]:
            for done in entry.get("done", []):
                self.log.info("%s %s: %s", "done" if done["ok"] else "FAILED", done["action"], done["detail"])
            if entry.get("skipped"):
                self.log.warning("skipped %s: %s", entry["deployment"], entry["skipped"])
        if self.fail_on_problems and (summary["invalid"] or summary["errors"]):
            context["ti"].xcom_push(key="return_value", value=summary)
            raise FlinkOperatorError(
                "Reconcile finished with problems: " + "; ".join(summary["invalid"] + summary["errors"])
            )
        return summary
