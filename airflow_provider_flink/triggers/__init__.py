"""Triggers: async waits that run in Airflow's triggerer, or in-process for non-deferred waits.

Also what every waiter shares: the judges (:mod:`~airflow_provider_flink.triggers.conditions`), the
typed :class:`WaitEvent` and the helpers to wait deferred or in-process
(:mod:`~airflow_provider_flink.triggers.waiting`).
"""

from airflow_provider_flink.hooks.verbs import KillAction
from airflow_provider_flink.triggers.conditions import JobTarget, Verdict
from airflow_provider_flink.triggers.events import WaitEvent
from airflow_provider_flink.triggers.flink import (
    FlinkCheckpointTrigger,
    FlinkClusterHealthTrigger,
    FlinkDisposalTrigger,
    FlinkJobTrigger,
    FlinkPollingTrigger,
    FlinkSavepointTrigger,
)
from airflow_provider_flink.triggers.waiting import DEFER_GRACE, default_deferrable, run_inline

__all__ = [
    "DEFER_GRACE",
    "FlinkCheckpointTrigger",
    "FlinkClusterHealthTrigger",
    "FlinkDisposalTrigger",
    "FlinkJobTrigger",
    "FlinkPollingTrigger",
    "FlinkSavepointTrigger",
    "JobTarget",
    "KillAction",
    "Verdict",
    "WaitEvent",
    "default_deferrable",
    "run_inline",
]
