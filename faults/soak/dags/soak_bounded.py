"""The soak's scheduled bounded job: the test BatchJob every 2 minutes, waited for to its end
(deferred), retried like a production task (faults/soak)."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_flink.operators import FlinkDeployJobOperator

with DAG(
    "soak_bounded",
    schedule=timedelta(minutes=2),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
) as dag:
    FlinkDeployJobOperator(
        task_id="batch",
        jar="{{ var.value.flink_example_jar }}",
        entry_class="flinkprovider.testjobs.BatchJob",
        wait_for_completion=True,
        retries=3,
        retry_delay=timedelta(seconds=10),
    )
