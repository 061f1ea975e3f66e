"""Operators: thin; validate, call the hook or the reconcile use case, wait through a trigger,
push XCom and links."""

from airflow_provider_flink.exceptions import FlinkOperatorError
from airflow_provider_flink.operators.application import (
    FlinkDeployApplicationOperator,
    FlinkSavepointApplicationOperator,
    FlinkStopApplicationOperator,
)
from airflow_provider_flink.operators.approval import (
    FlinkApprovalOperator,
    FlinkAskApprovalOperator,
    FlinkReconcileApprovedOperator,
)
from airflow_provider_flink.operators.job import (
    FlinkCancelJobOperator,
    FlinkDeployJobOperator,
    FlinkSavepointOperator,
    FlinkStopJobOperator,
)
from airflow_provider_flink.operators.python import FlinkPythonJobOperator
from airflow_provider_flink.operators.reconcile import FlinkReconcileOperator
from airflow_provider_flink.operators.rescale import FlinkRescaleJobOperator
from airflow_provider_flink.operators.sql import FlinkSqlJobOperator

__all__ = [
    "FlinkApprovalOperator",
    "FlinkAskApprovalOperator",
    "FlinkCancelJobOperator",
    "FlinkDeployApplicationOperator",
    "FlinkDeployJobOperator",
    "FlinkOperatorError",
    "FlinkPythonJobOperator",
    "FlinkReconcileApprovedOperator",
    "FlinkReconcileOperator",
    "FlinkRescaleJobOperator",
    "FlinkSavepointApplicationOperator",
    "FlinkSavepointOperator",
    "FlinkSqlJobOperator",
    "FlinkStopApplicationOperator",
    "FlinkStopJobOperator",
]
