"""Event triggers that start a reconcile without waiting for its schedule (``AssetWatcher``s):
a change to a deployment file or to a jar it names (:class:`FlinkSpecChangeTrigger`), a declared
deployment's job leaving RUNNING on Flink (:class:`FlinkJobEventTrigger`)."""

from airflow_provider_flink.events.assets import (
    deployment_files_asset,
    folder_from_variable,
    job_states_asset,
)
from airflow_provider_flink.events.job_changes import FlinkJobEventTrigger
from airflow_provider_flink.events.spec_changes import FlinkSpecChangeTrigger

__all__ = [
    "FlinkJobEventTrigger",
    "FlinkSpecChangeTrigger",
    "deployment_files_asset",
    "folder_from_variable",
    "job_states_asset",
]
