"""Declared deployments (layer 5): spec files, records, the pure planner and the executor."""

from airflow_provider_flink.deployments.planner import Action, ClusterView, DeploymentPlan, plan_deployment
from airflow_provider_flink.deployments.records import (
    DeploymentRecord,
    MemoryRecordStore,
    VariableRecordStore,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec, load_specs, spec_hash

__all__ = [
    "Action",
    "ClusterView",
    "DeploymentPlan",
    "DeploymentRecord",
    "DeploymentSpec",
    "MemoryRecordStore",
    "VariableRecordStore",
    "load_specs",
    "plan_deployment",
    "spec_hash",
]
