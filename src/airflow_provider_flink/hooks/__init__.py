"""Hooks (layer 2): an Airflow connection -> a configured Flink REST client."""

from airflow_provider_flink.hooks.connection import FlinkConnectionError
from airflow_provider_flink.hooks.flink import FlinkHook

__all__ = ["FlinkConnectionError", "FlinkHook"]
