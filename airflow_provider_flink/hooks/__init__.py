"""Hooks: an Airflow connection -> a configured Flink REST client, and every Flink verb."""

from airflow_provider_flink.exceptions import FlinkConnectionError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.hooks.verbs import AsyncFlinkVerbs, KillAction

__all__ = ["AsyncFlinkVerbs", "FlinkConnectionError", "FlinkHook", "KillAction"]
