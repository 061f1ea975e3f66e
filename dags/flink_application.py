"""Deploy, savepoint, stop and upgrade a program that runs two stateful jobs as one deployment.

On Flink 2.3+ a program may start several jobs (``executeAsync`` per job); Flink runs them as one
*application*. This DAG deploys such a program (``CounterJobs``: jobs "orders" and "payments",
each a keyed counter), takes a savepoint of both, stops both with a savepoint and redeploys the
program with more parallelism, each job from its own savepoint, so both counters go on. On a Flink
without applications (1.20) the first task fails before anything is submitted, saying so.

1. ``deploy``: the program, waited on until both jobs run healthy;
2. ``savepoint``: a savepoint of every job while they keep running;
3. ``stop``: stop every job with a savepoint (returns them by job name);
4. ``upgrade``: the program again, parallelism 1 -> 2, each job from its stop's savepoint;
5. ``stop_upgraded``: stop the upgraded jobs with a savepoint (the example ends clean).

Set the Airflow Variable ``flink_example_jar`` to the job jar (``./scripts/demo`` builds one).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_flink.operators import (
    FlinkDeployApplicationOperator,
    FlinkSavepointApplicationOperator,
    FlinkStopApplicationOperator,
)

JAR = "{{ var.value.get('flink_example_jar', '/opt/flink/usrlib/flink-provider-testjobs.jar') }}"
PROGRAM = "flinkprovider.testjobs.CounterJobs"
JOBS = ["orders", "payments"]

with DAG(
    dag_id="flink_application",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
    default_args={"flink_conn_id": "flink_default", "retries": 1, "retry_delay": 2},
) as dag:
    program = {
        "jar": JAR,
        "entry_class": PROGRAM,
        "args": ["--jobs", ",".join(JOBS), "--rate", "50"],
        "jobs": JOBS,
    }
    deploy = FlinkDeployApplicationOperator(task_id="deploy", parallelism=1, **program)
    savepoint = FlinkSavepointApplicationOperator(task_id="savepoint", application_id=deploy.output)
    stop = FlinkStopApplicationOperator(task_id="stop", application_id=deploy.output)
    # The upgrade: the same program with more parallelism, each job from its stop's savepoint.
    upgrade = FlinkDeployApplicationOperator(
        task_id="upgrade", parallelism=2, savepoint_paths=stop.output, **program
    )
    stop_upgraded = FlinkStopApplicationOperator(task_id="stop_upgraded", application_id=upgrade.output)

    deploy >> savepoint >> stop >> upgrade >> stop_upgraded
