"""Event triggers that start a reconcile without waiting for its schedule (``AssetWatcher``s):
a change to a deployment file or to a jar it names (:class:`FlinkSpecChangeTrigger`)."""

from airflow_provider_flink.events.spec_changes import FlinkSpecChangeTrigger

__all__ = ["FlinkSpecChangeTrigger"]
