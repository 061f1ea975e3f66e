"""Programs of several jobs deployed as one Flink application, against the real local Flink.

On 2.3.0 the example DAG deploys a program of two stateful jobs, savepoints and stops both, and
upgrades it with each job restored from its own savepoint (the program's ``airflow.restore.<job>``
contract); a lost ``run-application`` answer is adopted by the recorded application id (one
application, two jobs, no second copy); a program whose jobs are not the declared ones is
cancelled with a clear error. On 1.20.5 (no applications) the same DAG fails at its first task,
saying why, with nothing submitted.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airflow_provider_flink.client import calls
from airflow_provider_flink.exceptions import AirflowFailException
from airflow_provider_flink.operators import FlinkDeployApplicationOperator, FlinkStopApplicationOperator
from harness.fault_proxy import FaultProxy
from harness.task_context import MemoryTaskState, task_context
from harness.waiting import wait_for
from tests.integration.conftest import Cluster, connection_json, run_dag

pytestmark = pytest.mark.integration

PROGRAM = "flinkprovider.testjobs.CounterJobs"


def has_applications(flink: Cluster) -> bool:
    return not flink.version.startswith("1.")


@pytest.fixture
def apps(flink: Cluster, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    if not has_applications(flink):
        pytest.skip(f"Flink {flink.version} has no applications (the DAG test covers its refusal)")
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", connection_json(flink.flink.rest_url))
    return flink


def _deploy(
    flink: Cluster, jobs: list[str], *, declared: list[str] | None = None, **kwargs: object
) -> FlinkDeployApplicationOperator:
    return FlinkDeployApplicationOperator(
        task_id="deploy_program",
        jar=str(flink.jar),
        entry_class=PROGRAM,
        args=["--jobs", ",".join(jobs), "--rate", "50"],
        jobs=declared or jobs,
        deferrable=False,
        **kwargs,  # type: ignore[arg-type]
    )


def _restored(flink: Cluster, job_id: str) -> str | None:
    restored = flink.client.call(calls.job_checkpoints(job_id)).latest.restored
    return restored.external_path if restored is not None else None


def test_the_example_dag_upgrades_both_jobs_each_from_its_own_savepoint(airflow: Cluster) -> None:
    before = airflow.running_job_ids()
    result = run_dag("flink_application", deferrable=False)
    if not has_applications(airflow):
        assert result.tasks["deploy"] == "failed"
        assert result.tries["deploy"] == 1  # a refusal, not retried
        assert airflow.running_job_ids() == before  # nothing submitted
        return
    assert result.state == "success", result.tasks
    x = result.xcom
    first, upgraded = x[("deploy", "return_value")], x[("upgrade", "return_value")]
    assert set(first["jobs"]) == set(upgraded["jobs"]) == {"orders", "payments"}
    assert first["application_id"] != upgraded["application_id"]
    assert x[("deploy", "application_id")] == first["application_id"]
    savepoints, stops = x[("savepoint", "return_value")], x[("stop", "return_value")]
    for name in ("orders", "payments"):
        assert (Path(savepoints[name].removeprefix("file:")) / "_metadata").exists()
        # each upgraded job started from its own job's stop savepoint, not the other's
        assert _restored(airflow, upgraded["jobs"][name]) == stops[name]
        assert airflow.job(first["jobs"][name]).state.value == "FINISHED"  # stopped, not cancelled
        assert {v.parallelism for v in airflow.job(upgraded["jobs"][name]).vertices} == {2}
    # stop_upgraded stopped both: the application ends (a moment after its last job)
    app = wait_for(
        "the upgraded application FINISHED",
        lambda: (
            ((a := airflow.client.call(calls.application(upgraded["application_id"]))).ended and a) or None
        ),
        30,
    )
    assert app.status.value == "FINISHED"
    assert sorted(j.jid for j in app.jobs) == sorted(upgraded["jobs"].values())


def test_on_flink_without_applications_the_deploy_says_why_and_submits_nothing(
    flink: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    if has_applications(flink):
        pytest.skip("Flink 2.3+ has applications")
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", connection_json(flink.flink.rest_url))
    before = flink.client.call(calls.jobs_overview()).jobs
    with pytest.raises(AirflowFailException) as info:
        _deploy(flink, ["orders", "payments"]).execute(task_context())
    assert str(info.value) == (
        "This program runs 2 jobs (orders, payments) as one application, which needs a Flink with "
        f"applications (2.3+); Flink {flink.version} at flink_default runs one job per jar run. Deploy each "
        "job from a program of its own with FlinkDeployJobOperator, or upgrade the cluster. Nothing was submitted"
    )
    assert flink.client.call(calls.jobs_overview()).jobs == before


def test_counters_go_on_after_an_upgrade_of_the_program(apps: Cluster) -> None:
    first = _deploy(apps, ["orders", "payments"]).execute(task_context())
    counted = {}
    for name, job_id in first["jobs"].items():
        counted[name] = wait_for(f"{name} counting", lambda j=job_id: apps.counter(j) or None, 60)
    stops = FlinkStopApplicationOperator(task_id="stop_program", application_id=first).execute(task_context())
    assert set(stops) == {"orders", "payments"}
    assert all(stops.values())
    upgraded = _deploy(apps, ["orders", "payments"], savepoint_paths=stops).execute(task_context())
    for name, job_id in upgraded["jobs"].items():
        # the counter goes on from the job's own savepoint (a restart from nothing shows 1, 2, ...)
        value = wait_for(f"{name} counting again", lambda j=job_id: apps.counter(j) or None, 60)
        assert value > counted[name], (name, value, counted[name])
        assert _restored(apps, job_id) == stops[name]


def test_a_declared_restore_missing_a_job_fails_before_anything_is_submitted(apps: Cluster) -> None:
    before = apps.running_job_ids()
    with pytest.raises(AirflowFailException) as info:
        _deploy(apps, ["orders", "payments"], savepoint_paths={"orders": "file:/tmp/sp-1"}).execute(
            task_context()
        )
    assert str(info.value) == (
        "savepoint_paths has no snapshot for job(s) payments (the upstream stop took none). Not starting "
        "them without their state; set start_without_savepoint=True to start those fresh"
    )
    assert apps.running_job_ids() == before


def test_jobs_the_deployment_does_not_declare_cancel_the_application(apps: Cluster) -> None:
    before = apps.running_job_ids()
    store = MemoryTaskState()
    with pytest.raises(AirflowFailException) as info:
        _deploy(apps, ["orders", "refunds"], declared=["orders", "payments"]).execute(task_context(store))
    application_id = store["flink_application_id"]
    assert re.fullmatch(
        rf"Flink's application {application_id} started jobs named (orders, refunds|orders|refunds), but the "
        r"deployment declares orders, payments \(each name once\): the application was cancelled\. Declare in "
        r"jobs= the names the program gives its jobs \(env\.executeAsync\(name\)\)",
        str(info.value),
    ), str(info.value)
    wait_for("the application cancelled", lambda: apps.running_job_ids() == before or None, 60)
    assert apps.client.call(calls.application(application_id)).status.value in ("CANCELING", "CANCELED")


def test_a_lost_run_application_answer_is_adopted_by_the_application_id(
    apps: Cluster, proxy: FaultProxy
) -> None:
    proxy.lose("POST", r"/jars/[^/]+/run-application")
    store = MemoryTaskState()
    deployed = _deploy(apps, ["lost-a", "lost-b"]).execute(task_context(store))
    assert any(event.startswith("lost the answer to POST /jars/") for event in proxy.events)
    assert deployed["application_id"] == store["flink_application_id"]
    # one application, two jobs: the settling read found it, nothing was submitted twice
    named = [j for j in apps.client.call(calls.jobs_overview()).jobs if j.name in ("lost-a", "lost-b")]
    assert sorted((j.name, j.jid) for j in named) == sorted(deployed["jobs"].items())
    # the client may send the request again (the same application id): Flink refuses the copy
    shown = [
        a.id
        for a in apps.client.call(calls.applications_overview()).applications
        if {j.name for j in apps.client.call(calls.application(a.id)).jobs} & {"lost-a", "lost-b"}
    ]
    assert shown == [deployed["application_id"]]
