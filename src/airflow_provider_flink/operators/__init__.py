"""Operators (layer 4): thin; validate, call the hook, wait through a trigger, push XCom and links."""

from airflow_provider_flink.operators.base import FlinkOperatorError
from airflow_provider_flink.operators.job import (
    FlinkCancelJobOperator,
    FlinkDeployJobOperator,
    FlinkSavepointOperator,
    FlinkStopJobOperator,
)

__all__ = [
    "FlinkCancelJobOperator",
    "FlinkDeployJobOperator",
    "FlinkOperatorError",
    "FlinkSavepointOperator",
    "FlinkStopJobOperator",
]
