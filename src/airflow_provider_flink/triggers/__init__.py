"""Triggers (layer 3): async waits that run in Airflow's triggerer."""

from airflow_provider_flink.triggers.flink import (
    FlinkClusterHealthTrigger,
    FlinkJobTrigger,
    FlinkPollingTrigger,
    FlinkSavepointTrigger,
)

__all__ = ["FlinkClusterHealthTrigger", "FlinkJobTrigger", "FlinkPollingTrigger", "FlinkSavepointTrigger"]
