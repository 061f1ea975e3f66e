"""DAGs that only the tests run: failure paths of the operators under real Airflow.

Ids and paths come from ``dag_run.conf`` so one DAG serves every Flink version.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from airflow.sdk import DAG

from airflow_provider_flink.operators import (
    FlinkCancelJobOperator,
    FlinkDeployJobOperator,
    FlinkReconcileOperator,
    FlinkSavepointOperator,
    FlinkSqlJobOperator,
    FlinkStopJobOperator,
)
from airflow_provider_flink.sensors import FlinkClusterHealthSensor, FlinkJobStateSensor

JAR = "{{ var.value.flink_example_jar }}"
START = datetime(2026, 1, 1)

with DAG("test_deploy_retry", schedule=None, start_date=START, catchup=False) as deploy_retry:
    FlinkDeployJobOperator(
        task_id="deploy",
        jar=JAR,
        entry_class="flinkprovider.testjobs.CounterJob",
        retries=1,
        retry_delay=timedelta(seconds=1),
    )

with DAG("test_failed_savepoint", schedule=None, start_date=START, catchup=False) as failed_savepoint:
    FlinkSavepointOperator(
        task_id="savepoint",
        job_id="{{ dag_run.conf['job_id'] }}",
        target_directory="file:///proc/flink-cannot-write-here",
    )

with DAG("test_failing_job", schedule=None, start_date=START, catchup=False) as failing_job:
    FlinkDeployJobOperator(
        task_id="deploy_failing",
        jar=JAR,
        entry_class="flinkprovider.testjobs.FailingJob",
        args=["--fail-after", "20"],
        wait_for_completion=True,
    )

with DAG("test_rest_outage", schedule=None, start_date=START, catchup=False) as rest_outage:
    FlinkJobStateSensor(
        task_id="job_healthy",
        flink_conn_id="flink_proxy",
        job_id="{{ dag_run.conf['job_id'] }}",
        checkpoint_within=10,
        poke_interval=1,
        timeout=90,
    )

with DAG("test_idempotent_stop_cancel", schedule=None, start_date=START, catchup=False) as stop_cancel:
    stop = FlinkStopJobOperator(task_id="stop_finished", job_id="{{ dag_run.conf['finished_job'] }}")
    cancel = FlinkCancelJobOperator(task_id="cancel_unknown", job_id="{{ dag_run.conf['unknown_job'] }}")
    stop >> cancel

with DAG("test_secrets_in_play", schedule=None, start_date=START, catchup=False) as secrets_in_play:
    # Every Flink call goes through nginx with basic auth (and a bearer-token connection for the sensor).
    healthy = FlinkClusterHealthSensor(
        task_id="healthy", flink_conn_id="flink_bearer", poke_interval=1, timeout=60
    )
    deployed = FlinkDeployJobOperator(
        task_id="deploy",
        flink_conn_id="flink_secured",
        jar=JAR,
        entry_class="flinkprovider.testjobs.CounterJob",
    )
    saved = FlinkSavepointOperator(task_id="savepoint", flink_conn_id="flink_secured", job_id=deployed.output)
    stopped = FlinkStopJobOperator(task_id="stop", flink_conn_id="flink_secured", job_id=deployed.output)
    denied = FlinkJobStateSensor(
        task_id="denied",
        flink_conn_id="flink_wrong_token",
        job_id=deployed.output,
        timeout=10,
        poke_interval=1,
    )
    healthy >> deployed >> saved >> stopped >> denied


def _deployment_key_dag(dag_id: str, on_live_job: Literal["adopt", "fail"]) -> DAG:
    """Separate runs of one key: the first deploys, later ones adopt its live job (or refuse to)."""
    with DAG(dag_id, schedule=None, start_date=START, catchup=False) as dag:
        FlinkDeployJobOperator(
            task_id="deploy",
            jar=JAR,
            entry_class="flinkprovider.testjobs.CounterJob",
            deployment_key="{{ dag_run.conf['key'] }}",
            on_live_job=on_live_job,
        )
    return dag


deployment_key = _deployment_key_dag("test_deployment_key", "adopt")
deployment_key_refuse = _deployment_key_dag("test_deployment_key_refuse", "fail")


# The real-components suite (tests/integration/test_real_components.py): triggered through the REST
# API with the job's arguments in the conf. The sensor waits until the test cancels the job: a
# wait of the test's choosing, long enough to be deferred and to kill the triggerer in it.
with DAG(
    "test_real_wait", schedule=None, start_date=START, catchup=False, render_template_as_native_obj=True
) as real_wait:
    waited_for = FlinkDeployJobOperator(
        task_id="deploy",
        jar=JAR,
        entry_class="flinkprovider.testjobs.CounterJob",
        args="{{ dag_run.conf['args'] }}",  # type: ignore[arg-type]  # rendered to a list (native templates)
        retries=1,
        retry_delay=timedelta(seconds=1),
    )
    FlinkJobStateSensor(
        task_id="cancelled",
        job_id=waited_for.output,
        target_states=["CANCELED"],
        poke_interval=1,
        timeout=240,
    )


with DAG("test_reconcile_unpooled", schedule=None, start_date=START, catchup=False) as reconcile_unpooled:
    # A second reconcile DAG over the example's deployments, outside its pool and its
    # max_active_runs=1: the route that only the record store's lease keeps to one actor (I8).
    FlinkReconcileOperator(
        task_id="reconcile", deployments_folder="{{ var.value.get('flink_deployments_folder', '') }}"
    )

# Lineage (tests/integration/test_lineage.py): a jar job deployed under a key and stopped, a SQL
# job from a file to a file, and a reconcile run; paths from the run's conf.
LINEAGE_ARGS = [
    *("--source-name", "kafka://broker-1:9092/orders"),
    *("--sink-name", "s3://lake/orders"),
    *("--name-from-config", "openlineage.parentRunId"),
]

with DAG("test_lineage", schedule=None, start_date=START, catchup=False) as lineage_dag:
    deployed = FlinkDeployJobOperator(
        task_id="deploy",
        jar=JAR,
        entry_class="flinkprovider.testjobs.CounterJob",
        # The plan's names are the datasets' URIs; the job's name is the parent run its
        # configuration got (read back through Flink's REST API).
        args=LINEAGE_ARGS,
        deployment_key="lineage-orders",
    )
    deployed >> FlinkStopJobOperator(task_id="stop", job_id=deployed.output)
    FlinkSqlJobOperator(
        task_id="sql",
        sql="""
        CREATE TABLE src (id INT, name STRING) WITH (
          'connector' = 'filesystem', 'path' = 'file://{{ dag_run.conf['in'] }}', 'format' = 'csv');
        CREATE TABLE dst (id INT, name STRING) WITH (
          'connector' = 'filesystem', 'path' = 'file://{{ dag_run.conf['out'] }}', 'format' = 'csv');
        INSERT INTO dst SELECT id, UPPER(name) FROM src;
        """,
        flink_config={"execution.runtime-mode": "batch"},
        wait_for_completion=True,
    )
    FlinkReconcileOperator(task_id="reconcile", deployments_folder="{{ dag_run.conf['specs'] }}")
