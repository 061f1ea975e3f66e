"""Keep the Flink deployments declared in ``dags/deployments/`` running at their declared version.

Every 10 minutes (and on demand) the reconcile task loads every spec file, looks at each cluster
once, and acts only where something drifted: first deploys, stateful upgrades (savepoint, then
restore), rollbacks of upgrades that do not become healthy, restarts of FAILED jobs from their
latest checkpoint, recovery of jobs lost by a JobManager restart, suspend/resume, periodic
savepoints and their retention. The task log and its XCom hold the plan, what was done and what
was skipped and why.

Isolation: ``max_active_runs=1`` and the pool ``flink_reconcile`` (1 slot; create it with
``airflow pools set flink_reconcile 1 "Flink reconcile"``) make sure two runs never act on the same
deployment at once. With several clusters, use one pool per cluster and a task per cluster
(``clusters=[...]``).

The folder comes from the Variable ``flink_deployments_folder`` (default: ``deployments/`` next to
this file, whose example expects the test jobs' jar at /opt/flink/usrlib/).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.sdk import DAG

from airflow_provider_flink.operators import FlinkReconcileOperator

DEFAULT_FOLDER = str(Path(__file__).parent / "deployments")

with DAG(
    dag_id="flink_reconcile",
    schedule=timedelta(minutes=10),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["flink", "example", "reconcile"],
    doc_md=__doc__,
) as dag:
    FlinkReconcileOperator(
        task_id="reconcile",
        deployments_folder="{{ var.value.get('flink_deployments_folder', '" + DEFAULT_FOLDER + "') }}",
        pool="flink_reconcile",
        # A spec whose upgrade failed and was rolled back is not applied again until it changes;
        # trigger this DAG with {"retry_failed": "name[,name]"} to try it once more.
        retry_failed="{{ dag_run.conf.get('retry_failed', '') if dag_run.conf else '' }}",
        retries=2,
        retry_delay=timedelta(seconds=30),
    )
