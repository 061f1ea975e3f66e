"""Declared deployments: spec files, records, the pure planner, the executor, and the reconcile
use case that ties them together (:func:`reconcile` -> :class:`ReconcileReport`)."""

from airflow_provider_flink.deployments.executor import Executor
from airflow_provider_flink.deployments.observe import observe
from airflow_provider_flink.deployments.planner import Action, ClusterView, DeploymentPlan, plan_deployment
from airflow_provider_flink.deployments.reconciler import Asked, reconcile
from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.report import ActionResult, DeploymentReport, ReconcileReport
from airflow_provider_flink.deployments.spec import DeploymentSpec, load_specs, spec_hash
from airflow_provider_flink.deployments.stores import (
    MemoryRecordStore,
    RecordStore,
    SqlRecordStore,
    VariableRecordStore,
    configured_store,
)
from airflow_provider_flink.exceptions import ReconcileError

__all__ = [
    "Action",
    "ActionResult",
    "Asked",
    "ClusterView",
    "DeploymentPlan",
    "DeploymentRecord",
    "DeploymentReport",
    "DeploymentSpec",
    "Executor",
    "MemoryRecordStore",
    "ReconcileError",
    "ReconcileReport",
    "RecordStore",
    "SqlRecordStore",
    "VariableRecordStore",
    "configured_store",
    "load_specs",
    "observe",
    "plan_deployment",
    "reconcile",
    "spec_hash",
]
