"""Triggers (layer 3): async waits that run in Airflow's triggerer."""

from airflow_provider_flink.triggers.flink import (
    FlinkClusterHealthTrigger,
    FlinkDisposalTrigger,
    FlinkJobTrigger,
    FlinkPollingTrigger,
    FlinkSavepointTrigger,
)

__all__ = [
    "FlinkClusterHealthTrigger",
    "FlinkDisposalTrigger",
    "FlinkJobTrigger",
    "FlinkPollingTrigger",
    "FlinkSavepointTrigger",
]
