"""The Flink page's rows (``ui.status``) and their rendering (``ui.app.render``), without a server
(the served page, its auth and actions: tests/integration/test_real_components.py)."""

from __future__ import annotations

from airflow_provider_flink.client.models import JobOverview
from airflow_provider_flink.deployments.planner import ClusterView, deployment_prefix
from airflow_provider_flink.deployments.records import DeploymentRecord, FailedSpec, SavepointEntry
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.ui.app import render
from airflow_provider_flink.ui.status import deployment_status

NOW = 1_000_000.0


def spec(**fields: object) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": "orders", "artifact": {"jar": "/j.jar"}, "entry_class": "a.B", **fields}
    )


def job(state: str, n: int = 0) -> JobOverview:
    return JobOverview.model_validate(
        {"jid": deployment_prefix("orders") + f"{n:020x}", "name": "x", "state": state, "start-time": n,
         "tasks": {"running": 2 if state == "RUNNING" else 0, "total": 2}}
    )  # fmt: skip


def test_a_running_deployment_shows_its_job_savepoint_and_restarts() -> None:
    record = DeploymentRecord(
        name="orders", cluster="flink_default", applied_hash="ab" * 32,
        savepoints=[SavepointEntry(path="file:/sp/1", taken_at=NOW - 7200, reason="periodic", job_id="j")],
        restarts=[NOW - 60, NOW - 10 * 3600],
    )  # fmt: skip
    view = ClusterView("flink_default", (job("FINISHED", 0), job("RUNNING", 1)))
    row = deployment_status(spec(), record, view, "http://ui/#/job/running/x/overview", NOW)
    assert (row.job_id, row.job_state, row.tasks_running, row.tasks_total) == (
        job("RUNNING", 1).jid,
        "RUNNING",
        2,
        2,
    )
    assert row.applied_hash == "ab" * 6
    assert (row.last_savepoint, row.last_savepoint_age_s) == ("file:/sp/1", 7200.0)
    assert row.restarts_in_window == 1  # the window is 60 minutes
    assert row.attention is None


def test_what_needs_a_person_is_said_once_per_row() -> None:
    unseen = ClusterView("flink_default", None, "connection refused")
    assert deployment_status(spec(), None, unseen, None, NOW).job_state == "UNKNOWN"  # never FAILED
    assert (
        deployment_status(spec(), None, unseen, None, NOW).attention
        == "cluster flink_default not observed: connection refused"
    )
    failed = DeploymentRecord(
        name="orders",
        cluster="flink_default",
        failed_spec=FailedSpec(spec_hash="h", reason="did not start", failed_at=NOW),
    )
    view = ClusterView("flink_default", (job("RUNNING"),))
    assert (
        deployment_status(spec(), failed, view, None, NOW).attention
        == "declared spec rolled back: did not start"
    )
    assert (
        deployment_status(spec(), None, ClusterView("flink_default", (job("FAILED"),)), None, NOW).attention
        == "job FAILED"
    )
    assert (
        deployment_status(spec(), None, ClusterView("flink_default", ()), None, NOW).attention
        == "declared running, no job runs"
    )
    assert (
        deployment_status(
            spec(state="suspended"), None, ClusterView("flink_default", ()), None, NOW
        ).attention
        is None
    )


def test_the_page_escapes_what_it_shows_and_offers_retry_only_for_a_failed_spec() -> None:
    failed = DeploymentRecord(
        name="orders",
        cluster="flink_default",
        failed_spec=FailedSpec(spec_hash="h", reason="<script>x</script>", failed_at=NOW),
    )
    row = deployment_status(spec(), failed, ClusterView("flink_default", (job("RUNNING"),)), None, NOW)
    page = render([row], ["bad.yaml: name: <b>missing</b>"], "/specs", None, False)
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;b&gt;missing&lt;/b&gt;" in page
    assert 'data-action="retry"' in page
    healthy = deployment_status(spec(), None, ClusterView("flink_default", (job("RUNNING"),)), None, NOW)
    assert 'data-action="retry"' not in render([healthy], [], "/specs", None, False)
    assert "no deployment matches" in render([], [], "/specs", "flink_other", True)
