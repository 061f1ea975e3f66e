"""Keep the Flink deployments declared in ``dags/deployments/`` running at their declared version.

A change to a deployment file or to a jar it names, or a declared job that leaves RUNNING on Flink
(fails, restarts, is cancelled, vanishes), starts a run within seconds (asset watchers in the
triggerer; the run looks at just the deployments concerned); besides, every 10 minutes (and on demand) the reconcile task loads every spec file, looks at each cluster once, and
acts only where something drifted: first deploys, stateful upgrades (savepoint, then
restore), rollbacks of upgrades that do not become healthy, restarts of FAILED jobs from their
latest checkpoint, recovery of jobs lost by a JobManager restart, suspend/resume, periodic
savepoints and their retention. An action that loses or risks state, where a deployment or its
cluster asks for it, waits for a person's approval (the ``flink_approval`` DAG). Runs are short: a job the run submits is not waited for; the
watcher's event when it becomes healthy (or fails, or outlasts its health timeout) starts the run
that marks it stable or rolls it back. The task log and its XCom hold the plan, what was done and
what was skipped and why; each deployment's record keeps its history (the Flink page shows it).

Isolation: ``max_active_runs=1`` and the pool ``flink_reconcile`` (1 slot; create it with
``airflow pools set flink_reconcile 1 "Flink reconcile"``) make sure two runs never act on the same
deployment at once. With several clusters, use one pool per cluster and a task per cluster
(``clusters=[...]``).

The folder comes from the Variable ``flink_deployments_folder`` (default: ``deployments/`` next to
this file, whose example expects the test jobs' jar at /opt/flink/usrlib/): a local path or any
``ObjectStoragePath`` URI (s3://..., gs://...). The watcher reads it when the DAG file is parsed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_flink.events import deployment_files_asset, folder_from_variable, job_states_asset
from airflow_provider_flink.operators import FlinkAskApprovalOperator, FlinkReconcileOperator

try:  # Airflow 3.2+
    from airflow.sdk import AssetOrTimeSchedule, DeltaTriggerTimetable
except ImportError:  # Airflow 3.1
    from airflow.timetables.assets import AssetOrTimeSchedule
    from airflow.timetables.trigger import DeltaTriggerTimetable

DEFAULT_FOLDER = str(Path(__file__).parent / "deployments")
FOLDER = folder_from_variable(DEFAULT_FOLDER)
# Updated by watchers in the triggerer: a deployment file or jar changed (read every 2 s); a
# declared deployment's job left RUNNING on Flink (one /jobs/overview per cluster every second).
DEPLOYMENT_FILES = deployment_files_asset(FOLDER)
JOB_STATES = job_states_asset(FOLDER)

with DAG(
    dag_id="flink_reconcile",
    schedule=AssetOrTimeSchedule(
        timetable=DeltaTriggerTimetable(timedelta(minutes=10)), assets=(DEPLOYMENT_FILES | JOB_STATES)
    ),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["flink", "example", "reconcile"],
    doc_md=__doc__,
) as dag:
    reconcile = FlinkReconcileOperator(
        task_id="reconcile",
        deployments_folder="{{ var.value.get('flink_deployments_folder', '" + DEFAULT_FOLDER + "') }}",
        pool="flink_reconcile",
        # A spec whose upgrade failed and was rolled back is not applied again until it changes;
        # trigger this DAG with {"retry_failed": "name[,name]"} to try it once more.
        retry_failed="{{ dag_run.conf.get('retry_failed', '') if dag_run.conf else '' }}",
        # {"deployments": "name[,name]"}: a run for just these (the Flink page's "reconcile now").
        deployments="{{ dag_run.conf.get('deployments', '') if dag_run.conf else '' }}",
        # The Flink page's other actions: {"savepoint_now": ...}, {"suspend": ...}, {"resume": ...}.
        savepoint_now="{{ dag_run.conf.get('savepoint_now', '') if dag_run.conf else '' }}",
        suspend="{{ dag_run.conf.get('suspend', '') if dag_run.conf else '' }}",
        resume="{{ dag_run.conf.get('resume', '') if dag_run.conf else '' }}",
        # {"clear_restarts": ...}: the page's "clear the restart limit".
        clear_restarts="{{ dag_run.conf.get('clear_restarts', '') if dag_run.conf else '' }}",
        # A try whose worker died is failed at Airflow's task heartbeat timeout; its retry takes
        # over the leases the dead try held at once (the same task: docs/records.md), so the wait
        # before it need not be long: 4 retries 5 s apart also outlast a REST outage of ~20 s.
        # (The soak's killed worker, with a 20 s heartbeat timeout and a retry 30 s later: its
        # deployment was down ~55-60 s.)
        retries=4,
        retry_delay=timedelta(seconds=5),
    )
    # Actions a deployment (or its cluster) wants approved are not done: the reconcile records a
    # request, and this task starts a flink_approval run that asks a person (docs/approvals.md).
    # A teardown: it runs when the reconcile failed too (for another deployment), and the run's
    # state stays the reconcile's (a teardown is not a leaf that decides it).
    reconcile >> FlinkAskApprovalOperator(task_id="ask_approval").as_teardown()
