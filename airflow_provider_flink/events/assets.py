"""The assets a reconcile DAG is scheduled on, with their watchers: one place, so that the
reconcile DAG and an alert DAG that both name them declare them alike.

* ``flink_deployment_files``: updated when a deployment file or a jar it names changes
  (:class:`FlinkSpecChangeTrigger`);
* ``flink_job_states``: updated when a declared deployment's job leaves RUNNING on Flink
  (:class:`FlinkJobEventTrigger`, one watcher per cluster).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_flink.deployments.spec import load_specs, spec_folder
from airflow_provider_flink.events.job_changes import FlinkJobEventTrigger
from airflow_provider_flink.events.spec_changes import FlinkSpecChangeTrigger

FILES_ASSET = "flink_deployment_files"
JOBS_ASSET = "flink_job_states"


def folder_from_variable(default: str) -> str:
    """The Variable ``flink_deployments_folder`` as a DAG file reads it when parsed (the watchers'
    folder is fixed then), ``default`` when it is unset or the file is parsed outside Airflow."""
    try:
        from airflow.sdk import Variable

        return str(Variable.get("flink_deployments_folder", default=default))
    except Exception:  # parsed outside Airflow's processes (an IDE, a linter)
        return default


def clusters_of(folder: str) -> list[str]:
    """The clusters the folder's deployments name (``flink_default`` when it names none yet)."""
    try:
        specs, _ = load_specs(spec_folder(folder), read_sql_files=False)
    except Exception:  # an unreadable folder at parse time: the reconcile reports it
        specs = []
    return sorted({spec.cluster for spec in specs}) or ["flink_default"]


def deployment_files_asset(folder: str, poll_interval: float = 2.0) -> Any:
    from airflow.sdk import Asset, AssetWatcher

    trigger = FlinkSpecChangeTrigger(folder=folder, poll_interval=poll_interval)
    return Asset(name=FILES_ASSET, watchers=[AssetWatcher(name=FILES_ASSET, trigger=trigger)])


def job_states_asset(folder: str, clusters: Sequence[str] | None = None, poll_interval: float = 1.0) -> Any:
    from airflow.sdk import Asset, AssetWatcher

    watchers = [
        AssetWatcher(
            name=f"{JOBS_ASSET}.{cluster}", trigger=FlinkJobEventTrigger(cluster, folder, poll_interval)
        )
        for cluster in (clusters or clusters_of(folder))
    ]
    return Asset(name=JOBS_ASSET, watchers=watchers)
