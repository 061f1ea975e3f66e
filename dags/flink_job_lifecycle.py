"""Deploy, savepoint, stop with a savepoint and redeploy a stateful Flink job with more parallelism.

An upgrade that keeps state: the counter of the redeployed job continues from the savepoint
instead of starting again. Steps:

1. ``cluster_healthy``: the REST API answers with a task manager and 2 free slots;
2. ``deploy``: the stateful streaming job, waited on until all its vertices run;
3. ``savepoint``: a savepoint while it keeps running;
4. ``stop_with_savepoint``: stop it, keeping its state in a final savepoint;
5. ``redeploy_from_savepoint``: the same job from that savepoint, parallelism 1 -> 2;
6. ``upgraded_job_healthy``: all vertices RUNNING and a checkpoint completed within 20 s;
7. ``stop_upgraded``: stop the upgraded job with a savepoint (the demo ends clean).

Set the Airflow Variable ``flink_example_jar`` to the job jar (``./scripts/demo`` builds one).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_flink.operators import (
    FlinkDeployJobOperator,
    FlinkSavepointOperator,
    FlinkStopJobOperator,
)
from airflow_provider_flink.sensors import FlinkClusterHealthSensor, FlinkJobStateSensor

JAR = "{{ var.value.get('flink_example_jar', '/opt/flink/usrlib/flink-provider-testjobs.jar') }}"
COUNTER_JOB = "flinkprovider.testjobs.CounterJob"

with DAG(
    dag_id="flink_job_lifecycle",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
    default_args={"flink_conn_id": "flink_default", "retries": 1, "retry_delay": 2},
    render_template_as_native_obj=True,
    params={
        "args": Param(
            ["--rate", "50"],
            type="array",
            title="Program arguments",
            description="One per item, for both jobs.",
        ),
    },
) as dag:
    healthy = FlinkClusterHealthSensor(
        task_id="cluster_healthy", min_taskmanagers=1, min_free_slots=2, timeout=120
    )
    deploy = FlinkDeployJobOperator(
        task_id="deploy",
        jar=JAR,
        entry_class=COUNTER_JOB,
        args="{{ params.args }}",  # type: ignore[arg-type]  # rendered to a list (native templates)
        parallelism=1,
    )
    savepoint = FlinkSavepointOperator(task_id="savepoint", job_id=deploy.output)
    stop = FlinkStopJobOperator(task_id="stop_with_savepoint", job_id=deploy.output)
    redeploy = FlinkDeployJobOperator(
        task_id="redeploy_from_savepoint",
        jar=JAR,
        entry_class=COUNTER_JOB,
        args="{{ params.args }}",  # type: ignore[arg-type]  # rendered to a list (native templates)
        parallelism=2,
        savepoint_path=stop.output,
    )
    upgraded_healthy = FlinkJobStateSensor(
        task_id="upgraded_job_healthy", job_id=redeploy.output, checkpoint_within=20, timeout=120
    )
    stop_upgraded = FlinkStopJobOperator(task_id="stop_upgraded", job_id=redeploy.output)

    healthy >> deploy >> savepoint >> stop >> redeploy >> upgraded_healthy >> stop_upgraded
