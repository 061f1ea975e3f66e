"""What a reconcile run tells Airflow's stats (``ReconcileReport.metrics``); the names reach a real
StatsD listener in tests/integration/test_real_components.py."""

from __future__ import annotations

from airflow_provider_flink.deployments.report import (
    STATES,
    ActionResult,
    DeploymentReport,
    Metric,
    ReconcileReport,
)


def report() -> ReconcileReport:
    upgraded = DeploymentReport(
        deployment="orders",
        cluster="flink_default",
        actions=["upgrade orders"],
        job_state="RUNNING",
        done=[ActionResult(kind="upgrade", action="upgrade orders", ok=True, detail="", seconds=4.2)],
    )
    failed = DeploymentReport(
        deployment="clicks",
        cluster="flink_default",
        actions=["mark-stable clicks"],
        job_state="FAILED",
        done=[ActionResult(kind="mark-stable", action="x", ok=False, detail="boom", seconds=0.5)],
    )
    steady = DeploymentReport(deployment="payments", cluster="flink_default", job_state=None)
    return ReconcileReport(invalid=["bad.yaml: name: missing"], deployments=[upgraded, failed, steady])


def test_a_complete_run_sends_durations_outcomes_drift_and_every_state() -> None:
    metrics = report().metrics(seconds=7.5, complete=True)
    assert metrics[:5] == [
        Metric("timing", "flink.reconcile.duration", 7500.0),
        Metric("incr", "flink.action.upgrade.ok", 1),
        Metric("timing", "flink.action.upgrade.duration", 4200.0),
        Metric("incr", "flink.action.mark_stable.failed", 1),
        Metric("timing", "flink.action.mark_stable.duration", 500.0),
    ]
    gauges = {m.name: m.value for m in metrics if m.kind == "gauge"}
    assert gauges["flink.reconcile.deployments"] == 3
    assert gauges["flink.reconcile.drift"] == 2
    assert gauges["flink.reconcile.problems"] == 1
    assert gauges["flink.deployments.running"] == 1
    assert gauges["flink.deployments.failed"] == 1
    assert gauges["flink.deployments.none"] == 1
    assert gauges["flink.deployments.restarting"] == 0  # said to be 0: a gauge keeps its last value
    assert {name.rsplit(".", 1)[1] for name in gauges if name.startswith("flink.deployments.")} == set(STATES)


def test_a_run_for_some_deployments_sends_no_totals() -> None:
    metrics = report().metrics(seconds=1.0, complete=False)
    assert [m for m in metrics if m.kind == "gauge"] == []
    assert Metric("incr", "flink.action.upgrade.ok", 1) in metrics
