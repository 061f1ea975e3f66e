"""Deploy a Flink job by hand from the Airflow UI's trigger form.

Pick the job, its parallelism, optionally a savepoint to start from, and press Trigger. The
parameters are typed and described, so the form checks them before a run is created.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_provider_flink.operators import FlinkDeployJobOperator

with DAG(
    dag_id="flink_deploy_manual",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["flink", "example"],
    doc_md=__doc__,
    render_template_as_native_obj=True,
    params={
        "jar": Param(
            None,
            type=["null", "string"],
            title="Job jar",
            description="Path of the job jar on the Airflow workers; empty for the Variable flink_example_jar.",
        ),
        "entry_class": Param(
            "flinkprovider.testjobs.CounterJob",
            type="string",
            title="Job (entry class)",
            description="Main class of the job to run.",
            examples=[
                "flinkprovider.testjobs.CounterJob",
                "flinkprovider.testjobs.BatchJob",
            ],
        ),
        "args": Param(["--rate", "20"], type="array", title="Program arguments", description="One per item."),
        "parallelism": Param(
            1,
            type="integer",
            minimum=1,
            maximum=64,
            title="Parallelism",
            description="Parallel instances of each operator.",
        ),
        "savepoint_path": Param(
            None,
            type=["null", "string"],
            title="Start from savepoint",
            description="Savepoint or retained checkpoint to restore; empty for a fresh start.",
        ),
        "allow_non_restored_state": Param(
            False,
            type="boolean",
            title="Allow non-restored state",
            description="Skip savepoint state that no operator of the job claims.",
        ),
    },
) as dag:
    FlinkDeployJobOperator(
        task_id="deploy",
        jar="{{ params.jar or var.value.get('flink_example_jar', '/opt/flink/usrlib/flink-provider-testjobs.jar') }}",
        entry_class="{{ params.entry_class }}",
        args="{{ params.args }}",  # type: ignore[arg-type]  # rendered to a list (native templates)
        parallelism="{{ params.parallelism }}",
        savepoint_path="{{ params.savepoint_path }}",
        # The form's savepoint is optional: empty means a fresh start here, on purpose. (Without
        # this, a savepoint_path that renders empty fails the task instead of starting stateless.)
        start_without_savepoint=True,
        allow_non_restored_state="{{ params.allow_non_restored_state }}",
    )
