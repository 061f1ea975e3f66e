"""``FlinkReconcileOperator``: run the reconcile use case (:mod:`airflow_provider_flink.deployments`)
from a DAG, log what it did, and push its report to XCom.

Isolation: two runs must never act on the same deployment at once. Give the reconcile DAG
``max_active_runs=1`` and put reconcile tasks in a pool per cluster with one slot
(``airflow pools set flink_reconcile_<cluster> 1 "..."``); see docs/deployments.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_provider_flink.deployments import ReconcileReport, RecordStore, VariableRecordStore, reconcile
from airflow_provider_flink.exceptions import FlinkOperatorError
from airflow_provider_flink.operators.base import FlinkBaseOperator


def _names(value: Sequence[str] | str | None) -> list[str]:
    """Names as a list from a list, or from a rendered string "a, b" (templates render strings)."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


class FlinkReconcileOperator(FlinkBaseOperator):
    """Reconcile the deployments declared in ``deployments_folder`` (YAML/JSON, one per file).

    :param deployments_folder: folder of spec files (templated).
    :param clusters: only deployments of these connection ids (default: all).
    :param deployments: only these deployment names (default: all).
    :param plan_only: plan and report, change nothing (a dry run).
    :param fail_on_problems: fail the task at the end when a spec was invalid, an action failed or
        a deployment was refused for a reason a person must resolve (every other deployment is
        still reconciled first).
    :param retry_failed: deployments whose failed (rolled-back) spec may be applied again: a list
        of names, or one string of comma-separated names (templated, e.g. from ``dag_run.conf``).

    Returns the report as a dict: ``invalid`` (one line per problem, naming file and field),
    ``deployments`` (plan, outcomes, skip reasons), ``errors``.
    """

    template_fields: Sequence[str] = ("deployments_folder", "retry_failed")
    # A run acts on many jobs: no single "Flink Job" link (the inherited one only logged
    # "XCom not found" at the end of every run).
    operator_extra_links = ()

    def __init__(
        self,
        *,
        deployments_folder: str,
        clusters: Sequence[str] | None = None,
        deployments: Sequence[str] | None = None,
        plan_only: bool = False,
        fail_on_problems: bool = True,
        retry_failed: Sequence[str] | str = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.retry_failed = retry_failed
        self.deployments_folder = deployments_folder
        self.clusters = list(clusters) if clusters else None
        self.deployments = list(deployments) if deployments else None
        self.plan_only = plan_only
        self.fail_on_problems = fail_on_problems

    def record_store(self) -> RecordStore:
        return VariableRecordStore()

    def execute(self, context: Any) -> Any:
        report = reconcile(
            Path(str(self.deployments_folder)),
            self.record_store(),
            self.clusters,
            self.deployments,
            self.plan_only,
            _names(self.retry_failed),
        )
        self._log(report)
        if self.fail_on_problems and report.problems:
            context["ti"].xcom_push(key="return_value", value=report.as_dict())
            raise FlinkOperatorError("Reconcile finished with problems: " + "; ".join(report.problems))
        return report.as_dict()

    def _log(self, report: ReconcileReport) -> None:
        for problem in report.invalid:
            self.log.error("invalid spec: %s", problem)
        for entry in report.deployments:  # the plan itself was logged before acting
            for done in entry.done:
                self.log.info("%s %s: %s", "done" if done.ok else "FAILED", done.action, done.detail)
            if entry.skipped:
                self.log.warning("skipped %s: %s", entry.deployment, entry.skipped)
