"""Run a bounded (batch) Flink job to completion.

The deploy task succeeds only when Flink reports the job FINISHED; a failure fails the task with
Flink's root cause. The final state is pushed as XCom ``final_state``. Killing or marking the
task failed cancels the job (``kill_action="cancel"`` is the default with ``wait_for_completion``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_flink.operators import FlinkDeployJobOperator

JAR = "{{ var.value.get('flink_example_jar', '/opt/flink/usrlib/flink-provider-testjobs.jar') }}"

with DAG(
    dag_id="flink_batch_job",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
) as dag:
    FlinkDeployJobOperator(
        task_id="run_batch",
        jar=JAR,
        entry_class="flinkprovider.testjobs.BatchJob",
        args=["--count", "200000"],
        wait_for_completion=True,
        wait_timeout=300,
    )
