"""Ask a person to approve Flink actions that lose or risk state, and reconcile once approved.

The ``flink_reconcile`` DAG starts a run of this one when it planned an action a deployment (its
spec's ``approval.required_for``) or its cluster (the connection's extra ``approval_required_for``)
wants approved: a stateless upgrade, an upgrade that may drop state, a last-state upgrade from an
old checkpoint, a retention's savepoint disposal, a suspend. The reconcile did not act; it
recorded the request in the deployment's record (the Flink page shows it).

``approve`` asks through Airflow's human-in-the-loop: the request appears under **Required
Actions** with the action, its risks, the spec fields it changes and the state the new job would
start from. The task holds no worker while it waits (Airflow 3.3+: ``awaiting_input``; 3.1 and 3.2:
the triggerer). Each answer is recorded in the deployment's record (approved, or rejected with who
and when; nobody answering within a day is a rejection). ``reconcile_approved`` then starts a
``flink_reconcile`` run for the approved deployments, which acts if what it plans is still the very
action approved (same job, spec and mode): anything changed since is asked anew.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG

from airflow_provider_flink.operators import FlinkApprovalOperator, FlinkReconcileApprovedOperator

with DAG(
    dag_id="flink_approval",
    schedule=None,  # started by flink_reconcile's ask_approval task, with the requests in its conf
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["flink", "example", "approval"],
    doc_md=__doc__,
) as dag:
    FlinkApprovalOperator(task_id="approve") >> FlinkReconcileApprovedOperator(task_id="reconcile_approved")
