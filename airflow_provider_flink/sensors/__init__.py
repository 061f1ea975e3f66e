"""Sensors: wait for cluster health or a job state (poke, reschedule or deferrable)."""

from airflow_provider_flink.sensors.flink import FlinkClusterHealthSensor, FlinkJobStateSensor

__all__ = ["FlinkClusterHealthSensor", "FlinkJobStateSensor"]
