"""The DAG whose tasks the crash and race campaign runs as real Airflow task processes
(``airflow tasks test``, forked from :mod:`faults.zygote`): the reconcile with its records in Airflow
Variables, and the upgrade pattern of the how-to (deploy, stop with a savepoint, deploy from it).

Every value a trial chooses comes in as a task parameter (``--task-params``); a retry is the same
task of the same DAG run started again, so it sees the first try's task state store.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from airflow.sdk import DAG

from airflow_provider_flink.operators import (
    FlinkDeployApplicationOperator,
    FlinkDeployJobOperator,
    FlinkReconcileOperator,
    FlinkSavepointOperator,
    FlinkStopApplicationOperator,
    FlinkStopJobOperator,
)

REPORT = "FLINK_CAMPAIGN_REPORT"  # where a task writes what it returned (the run's XCom goes with it)


class _Reported:
    """Writes the task's return value to the file the campaign named, then returns it."""

    def execute(self, context: Any) -> Any:
        result = super().execute(context)  # type: ignore[misc]
        if os.environ.get(REPORT):
            Path(os.environ[REPORT]).write_text(json.dumps(result))
        return result


class Reconcile(_Reported, FlinkReconcileOperator):
    pass


class Deploy(_Reported, FlinkDeployJobOperator):
    pass


class Stop(_Reported, FlinkStopJobOperator):
    pass


class Savepoint(_Reported, FlinkSavepointOperator):
    pass


class DeployProgram(_Reported, FlinkDeployApplicationOperator):
    pass


class StopProgram(_Reported, FlinkStopApplicationOperator):
    pass


with DAG(dag_id="flink_campaign", schedule=None, catchup=False, tags=["flink", "campaign"]) as dag:
    Reconcile(
        task_id="reconcile",
        deployments_folder="{{ params.folder }}",
        fail_on_problems=False,  # the campaign reads the problems from the report
    )
    Deploy(
        task_id="deploy",
        jar="{{ params.jar }}",
        entry_class="{{ params.entry_class }}",
        args=["--rate", "100"],
        parallelism="{{ params.parallelism }}",
        savepoint_path="{{ params.savepoint_path }}",
        start_without_savepoint=True,  # the first deploy of a trial has no savepoint
        deferrable=False,
    )
    Stop(task_id="stop", job_id="{{ params.job_id }}", deferrable=False)
    Savepoint(task_id="savepoint", job_id="{{ params.job_id }}", deferrable=False)
    # A program of two jobs as one application (Flink 2.3): CounterJobs, each job named by params.jobs.
    DeployProgram(
        task_id="deploy_program",
        jar="{{ params.jar }}",
        entry_class="flinkprovider.testjobs.CounterJobs",
        args=["--jobs", "{{ params.jobs }}", "--rate", "100"],
        jobs="{{ params.jobs }}",
        parallelism="{{ params.parallelism }}",
        savepoint_paths="{{ params.savepoint_paths }}",
        start_without_savepoint=True,  # the first deploy of a trial has no savepoints
        deferrable=False,
    )
    StopProgram(task_id="stop_program", application_id="{{ params.application_id }}", deferrable=False)
    # The upgrade's deploy (the histories'): every job from its stop's savepoint, none started without
    DeployProgram(
        task_id="upgrade_program",
        jar="{{ params.jar }}",
        entry_class="flinkprovider.testjobs.CounterJobs",
        args=["--jobs", "{{ params.jobs }}", "--rate", "50", "--checkpoint-interval-ms", "1500"],
        jobs="{{ params.jobs }}",
        parallelism="{{ params.parallelism }}",
        savepoint_paths="{{ params.savepoint_paths }}",
        deferrable=False,
    )
