"""Programs of several jobs as one application (Flink 2.3): the operators' input checks, the
application id's bookkeeping, the wait for every declared job, and the stop's savepoints by job
name, against Flink 2.3.0's recorded answers (the application's jobs renamed as a two-job program's)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import responses

from airflow_provider_flink.exceptions import AirflowFailException, FlinkOperatorError
from airflow_provider_flink.hooks import applications
from airflow_provider_flink.hooks.applications import FlinkApplicationPendingError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.ids import deployment_prefix, transition_id
from airflow_provider_flink.operators import (
    FlinkDeployApplicationOperator,
    FlinkSavepointApplicationOperator,
    FlinkStopApplicationOperator,
)
from airflow_provider_flink.operators.application import APPLICATION_ID_KEY
from airflow_provider_flink.operators.job import KEY_SPEC
from airflow_provider_flink.triggers import WaitEvent
from harness.task_context import MemoryTaskState as Store
from harness.task_context import task_context
from tests.unit.conftest import recorded, use_flink_connection, without_applications

URL = "http://flink-ops.test:8081"
APP = "a1" * 16
JOB_A, JOB_B = "0a" * 16, "0b" * 16


@pytest.fixture(autouse=True)
def flink_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    use_flink_connection(monkeypatch, "flink-ops.test")
    monkeypatch.setattr(applications, "POLL_SECONDS", 0.0)


@pytest.fixture
def jar(tmp_path: Path) -> Path:
    from tests.unit.test_artifacts import make_jar

    return make_jar(tmp_path / "job.jar", classes=("x/Main.class",), manifest="Main-Class: x.Main\n")


def _job(name: str, jid: str, state: str = "RUNNING") -> dict[str, Any]:
    job: dict[str, Any] = recorded("flink-2.3.0-application-running.json")["jobs"][0]
    return job | {"name": name, "jid": jid, "state": state}


def _application(
    status: str = "RUNNING", jobs: list[dict[str, Any]] | None = None, app: str = APP
) -> dict[str, Any]:
    answer: dict[str, Any] = recorded("flink-2.3.0-application-running.json")
    shown = [_job("orders", JOB_A), _job("payments", JOB_B)] if jobs is None else jobs
    return answer | {"id": app, "status": status, "jobs": shown}


def _with_applications(*apps: dict[str, Any]) -> None:
    overview = recorded("flink-2.3.0-applications-overview.json")
    template = overview["applications"][0]
    listed = [template | {"id": a["id"], "status": a["status"], "start-time": a["start-time"]} for a in apps]
    responses.get(f"{URL}/applications/overview", json={"applications": listed})


def _deploy(jar: Path, **kwargs: Any) -> FlinkDeployApplicationOperator:
    kwargs.setdefault("jobs", ["orders", "payments"])
    return FlinkDeployApplicationOperator(
        task_id="d", jar=str(jar), entry_class="x.Main", deferrable=False, wait_until_running=False, **kwargs
    )


# ------------------------------------------------------------------------------ input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"jobs": ["orders", "orders"]},
            "jobs must name every job the program starts, each once (the names it gives them in "
            "env.executeAsync(name)), got ['orders', 'orders']",
        ),
        ({"jobs": []}, "jobs must name every job the program starts, each once"),
        ({"jobs": "orders, "}, "jobs must name every job the program starts, each once"),
        (
            {"savepoint_paths": {"orders": "file:/sp/a", "refunds": "file:/sp/r"}},
            "savepoint_paths names jobs the program does not declare: refunds (jobs: orders, payments)",
        ),
        (
            {"savepoint_paths": {"orders": "file:/sp/a", "payments": None}},
            "savepoint_paths has no snapshot for job(s) payments (the upstream stop took none). Not starting "
            "them without their state; set start_without_savepoint=True to start those fresh",
        ),
        (
            {"savepoint_paths": "file:/sp/one-for-all"},
            "savepoint_paths must map job names to snapshots (a stop's output), got 'file:/sp/one-for-all'",
        ),
        ({"parallelism": "two"}, "parallelism must be a whole number, got 'two'"),
    ],
)
@responses.activate
def test_bad_input_fails_before_any_call(jar: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(AirflowFailException) as info:
        _deploy(jar, **kwargs).execute(task_context())
    assert str(info.value).startswith(message), str(info.value)
    assert len(responses.calls) == 0


@pytest.mark.parametrize("field", ["savepoint_path", "job_id", "wait_for_completion"])
def test_single_job_parameters_are_refused_when_the_dag_is_parsed(field: str) -> None:
    with pytest.raises(ValueError, match=f"^{field} does not apply to a program of several jobs"):
        FlinkDeployApplicationOperator(task_id="d", jar="x.jar", jobs=["a"], **{field: "x"})


def test_a_snapshot_operator_needs_an_application_or_a_key() -> None:
    with pytest.raises(ValueError, match="give application_id"):
        FlinkStopApplicationOperator(task_id="s")


@responses.activate
def test_on_a_flink_without_applications_nothing_is_fetched_or_submitted(jar: Path) -> None:
    without_applications(URL)
    responses.get(f"{URL}/overview", json=recorded("flink-2.3.0-overview.json") | {"flink-version": "1.20.5"})
    with pytest.raises(AirflowFailException) as info:
        _deploy(jar).execute(task_context())
    assert str(info.value) == (
        "This program runs 2 jobs (orders, payments) as one application, which needs a Flink with applications "
        "(2.3+); Flink 1.20.5 at flink_default runs one job per jar run. Deploy each job from a program of its "
        "own with FlinkDeployJobOperator, or upgrade the cluster. Nothing was submitted"
    )
    assert [c.request.method for c in responses.calls] == ["GET", "GET"]


# ------------------------------------------------------------------------------ submission
def _accept(jar_id: str = "j1") -> None:
    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": f"/tmp/{jar_id}", "status": "success"})


def _posted_runs() -> list[dict[str, Any]]:
    return [
        json.loads(c.request.body)
        for c in responses.calls
        if c.request.method == "POST" and c.request.url.endswith("/run-application")
    ]


@responses.activate
def test_the_program_runs_under_the_recorded_id_with_each_jobs_snapshot_in_its_configuration(
    jar: Path,
) -> None:
    _with_applications()
    _accept()
    store = Store()
    ran: list[str] = []

    def run(request: Any) -> tuple[int, dict[str, str], str]:
        ran.append(json.loads(request.body)["applicationId"])
        return 202, {}, json.dumps({"applicationid": ran[-1]})

    responses.add_callback(responses.POST, f"{URL}/jars/j1/run-application", callback=run)

    def shown(request: Any) -> tuple[int, dict[str, str], str]:
        if not ran:
            return 500, {}, json.dumps(recorded("flink-2.3.0-unknown-application.json"))
        return 200, {}, json.dumps(_application(app=ran[0]))

    responses.add_callback(responses.GET, re.compile(rf"{URL}/applications/[0-9a-f]{{32}}$"), callback=shown)
    paths = {"orders": "file:/sp/orders", "payments": "file:/sp/payments"}
    ctx = task_context(store)
    deploy = _deploy(
        jar, savepoint_paths=json.dumps(paths), allow_non_restored_state=True, claim_mode="CLAIM"
    )
    result = deploy.execute(ctx)
    assert result == {
        "application_id": store[APPLICATION_ID_KEY],
        "jobs": {"orders": JOB_A, "payments": JOB_B},
    }
    assert ctx["ti"].pushed["application_id"] == store[APPLICATION_ID_KEY]
    [body] = _posted_runs()
    assert body["applicationId"] == store[APPLICATION_ID_KEY]  # recorded before it was sent (I4)
    assert "jobId" not in body  # Flink's ids
    assert "savepointPath" not in body  # no one path for all
    # what a single job's restore request carries besides its path: for every job, as configuration
    assert "allowNonRestoredState" not in body
    assert not {"claimMode", "restoreMode"} & body.keys()
    config = body["flinkConfiguration"]
    assert config["execution.state-recovery.ignore-unclaimed-state"] == "true"
    assert config["execution.state-recovery.claim-mode"] == "CLAIM"
    assert {k: v for k, v in config.items() if k.startswith("airflow.restore.")} == {
        "airflow.restore.orders": "file:/sp/orders",
        "airflow.restore.payments": "file:/sp/payments",
    }


@responses.activate
def test_a_recorded_live_application_is_adopted_not_submitted_again(jar: Path) -> None:
    _with_applications(_application())
    responses.get(f"{URL}/applications/{APP}", json=_application())
    store = Store({APPLICATION_ID_KEY: APP})
    result = _deploy(jar).execute(task_context(store))
    assert result["application_id"] == APP
    assert _posted_runs() == []


@responses.activate
def test_a_recorded_application_that_failed_gets_a_fresh_id_and_a_given_one_is_refused(jar: Path) -> None:
    _with_applications(_application("FAILED", []))
    responses.get(f"{URL}/applications/{APP}", json=_application("FAILED", []))
    with pytest.raises(AirflowFailException) as info:
        _deploy(jar, application_id=APP).execute(task_context())
    assert str(info.value) == (
        f"Application id {APP} was already used by an application that ended FAILED, and Flink never accepts an "
        "application id twice: leave application_id unset (one is chosen per run) or give a new one"
    )
    assert _posted_runs() == []
    store = Store({APPLICATION_ID_KEY: APP})
    op = _deploy(jar)
    op._artifact = lambda definition: (_ for _ in ()).throw(RuntimeError("stop here"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="stop here"):
        op.execute(task_context(store))  # the artifact gate comes first: nothing recorded yet
    assert store[APPLICATION_ID_KEY] == APP
    # past the gate, the failed application's id is replaced by a fresh one, recorded first
    assert op._id_to_use(store)[1] is False
    assert store[APPLICATION_ID_KEY] != APP


@responses.activate
def test_a_deployment_keys_live_application_is_adopted_or_refused_and_its_next_id_derived(jar: Path) -> None:
    prefix = deployment_prefix("application:orders")
    live = _application(app=prefix + "1" * 20) | {"start-time": 2}
    ended = _application("FINISHED", app=prefix + "2" * 20) | {"start-time": 1}
    _with_applications(live, ended)
    assert _deploy(jar, deployment_key="orders")._id_to_use(Store()) == (live["id"], True)
    with pytest.raises(AirflowFailException, match="already has a live application"):
        _deploy(jar, deployment_key="orders", on_live_job="fail")._id_to_use(Store())
    responses.reset()
    _with_applications(ended)
    store = Store()
    expected = transition_id("application:orders", KEY_SPEC, ended["id"], {ended["id"]})
    assert _deploy(jar, deployment_key="orders")._id_to_use(store) == (expected, False)
    assert store[APPLICATION_ID_KEY] == expected


# ------------------------------------------------------------------------------ the wait
@pytest.fixture
def hook() -> FlinkHook:
    from airflow_provider_flink.client.resilience import NO_RETRY

    return FlinkHook(retry=NO_RETRY)


@responses.activate
def test_the_wait_ends_when_every_declared_job_is_shown(hook: FlinkHook) -> None:
    responses.get(f"{URL}/applications/{APP}", json=_application(jobs=[_job("orders", JOB_A)]))
    responses.get(f"{URL}/applications/{APP}", json=_application())
    app = hook.applications.await_jobs(APP, ["orders", "payments"], "call")
    assert {j.name: j.jid for j in app.jobs} == {"orders": JOB_A, "payments": JOB_B}
    assert len(responses.calls) == 2


@responses.activate
def test_a_job_still_missing_after_the_wait_is_pending_not_failed(hook: FlinkHook) -> None:
    responses.get(f"{URL}/applications/{APP}", json=_application(jobs=[_job("orders", JOB_A)]))
    hook.applications.main_seconds = 0.0
    with pytest.raises(FlinkApplicationPendingError) as info:
        hook.applications.await_jobs(APP, ["orders", "payments"], "call")
    assert str(info.value) == (
        f"Flink's application {APP} runs, but its main has not started jobs orders, payments within 0 s: left as "
        "it is (not a failure); a retry adopts it by its id. Look at the JobManager's log for what the program is doing"
    )


@responses.activate
def test_a_program_whose_jobs_are_not_the_declared_ones_is_cancelled(jar: Path) -> None:
    """On the adopting path too (a retry finds the recorded application), and the message says what
    became of it: cancelled, already ended, or the cancel failed."""
    _with_applications()
    wrong = _application(jobs=[_job("orders", JOB_A), _job("refunds", JOB_B)])
    responses.get(f"{URL}/applications/{APP}", json=wrong)
    cancel = responses.post(f"{URL}/applications/{APP}/cancel", status=202, json={})
    with pytest.raises(AirflowFailException) as info:
        _deploy(jar).execute(task_context(Store({APPLICATION_ID_KEY: APP})))
    assert str(info.value) == (
        f"Flink's application {APP} started jobs named orders, refunds, but the deployment declares orders, "
        "payments (each name once): the application was cancelled. Declare in jobs= the names the program gives "
        "its jobs (env.executeAsync(name))"
    )
    assert cancel.call_count == 1
    responses.replace(
        responses.POST, f"{URL}/applications/{APP}/cancel", status=503, json={"errors": ["busy"]}
    )
    with pytest.raises(
        AirflowFailException, match=r"cancelling the application failed \(Flink answered HTTP 503"
    ):
        _deploy(jar).execute(task_context(Store({APPLICATION_ID_KEY: APP})))


@responses.activate
def test_a_job_of_another_name_started_after_the_declared_ones_is_caught_after_the_wait(jar: Path) -> None:
    _with_applications()
    responses.get(f"{URL}/applications/{APP}", json=_application())  # the wait's look: as declared
    later = _application(jobs=[_job("orders", JOB_A), _job("payments", JOB_B), _job("refunds", "0c" * 16)])
    responses.get(f"{URL}/applications/{APP}", json=later)  # the look after the jobs' health
    responses.post(f"{URL}/applications/{APP}/cancel", status=202, json={})
    op = _deploy(jar)
    op.wait_until_running = True
    # Every job healthy (the waits' own tests are the trigger's): then the program is looked at again.
    with (
        mock.patch("airflow_provider_flink.operators.application.run_inline"),
        mock.patch.object(WaitEvent, "checked"),
        pytest.raises(AirflowFailException, match="started jobs named orders, payments, refunds"),
    ):
        op.execute(task_context(Store({APPLICATION_ID_KEY: APP})))


@responses.activate
def test_a_finished_application_is_spent_its_deploy_starts_a_new_one(jar: Path) -> None:
    _with_applications()
    responses.get(f"{URL}/applications/{APP}", json=_application("FINISHED"))
    store = Store({APPLICATION_ID_KEY: APP})
    assert _deploy(jar)._id_to_use(store)[1] is False
    assert store[APPLICATION_ID_KEY] != APP


def test_a_kill_action_of_stop_is_refused_when_the_dag_is_parsed(jar: Path) -> None:
    with pytest.raises(
        ValueError, match="kill_action must be 'none' or 'cancel' for a program of several jobs"
    ):
        _deploy(jar, kill_action="stop")


@responses.activate
def test_cancelling_an_application_flink_does_not_show_running_is_a_no(hook: FlinkHook) -> None:
    responses.post(
        f"{URL}/applications/{APP}/cancel",
        status=404,
        json={
            "errors": [
                "org.apache.flink.runtime.rest.handler.RestHandlerException: Application could not be found."
            ]
        },
    )
    assert hook.cancel_application(APP) is False
    assert len(responses.calls) == 1  # an answer: not retried


# ------------------------------------------------------------------------------ savepoints, stop
def _status(location: str) -> dict[str, Any]:
    return {"status": {"id": "COMPLETED"}, "operation": {"location": location}}


@responses.activate
def test_a_stop_returns_each_jobs_savepoint_by_name_whether_it_stopped_it_now_or_earlier() -> None:
    """orders: stopped by an earlier try (its recorded trigger answers); payments: ended FINISHED
    with a savepoint as its last snapshot; refunds: cancelled by a person: no savepoint, never an
    older one (state back in time)."""
    _with_applications()
    jobs = [
        _job("orders", JOB_A, "FINISHED"),
        _job("payments", JOB_B, "FINISHED"),
        _job("refunds", "0c" * 16, "CANCELED"),
    ]
    responses.get(f"{URL}/applications/{APP}", json=_application("FINISHED", jobs))
    earlier = "e" * 32
    responses.get(f"{URL}/jobs/{JOB_A}/savepoints/{earlier}", json=_status("file:/sp/orders"))
    responses.get(
        f"{URL}/jobs/{JOB_B}/checkpoints",
        json={"latest": {"completed": {"id": 9, "is_savepoint": True, "external_path": "file:/sp/payments"}}},
    )
    responses.get(
        f"{URL}/jobs/{'0c' * 16}/checkpoints",
        json={
            "latest": {
                "completed": {"id": 7, "is_savepoint": False, "external_path": "file:/chk-7"},
                "savepoint": {"id": 3, "is_savepoint": True, "external_path": "file:/sp/old"},
            }
        },
    )
    store = Store({"flink_trigger_id:orders": earlier})
    op = FlinkStopApplicationOperator(task_id="s", application_id={"application_id": APP}, deferrable=False)
    assert op.execute(task_context(store)) == {
        "orders": "file:/sp/orders",
        "payments": "file:/sp/payments",
        "refunds": None,
    }
    assert not [c for c in responses.calls if c.request.method == "POST"]


@responses.activate
def test_a_stop_of_an_unknown_application_fails_unless_missing_ok() -> None:
    _with_applications()
    responses.get(
        f"{URL}/applications/{APP}", status=500, json=recorded("flink-2.3.0-unknown-application.json")
    )
    with pytest.raises(FlinkOperatorError) as info:
        FlinkStopApplicationOperator(task_id="s", application_id=APP, deferrable=False).execute(
            task_context()
        )
    assert str(info.value) == (
        f"Cannot stop application {APP}: Flink at flink_default does not know it (a wrong id, another cluster, or "
        "lost in a JobManager restart without HA); no savepoint was taken. Set missing_ok=True if an unknown "
        "application counts as already stopped"
    )
    op = FlinkStopApplicationOperator(task_id="s", application_id=APP, missing_ok=True, deferrable=False)
    assert op.execute(task_context()) == {}


@responses.activate
def test_savepoints_need_every_job_running_and_ask_nothing_otherwise() -> None:
    _with_applications()
    jobs = [_job("orders", JOB_A), _job("payments", JOB_B, "RESTARTING")]
    responses.get(f"{URL}/applications/{APP}", json=_application(jobs=jobs))
    op = FlinkSavepointApplicationOperator(task_id="s", application_id=APP, deferrable=False)
    with pytest.raises(FlinkOperatorError) as info:
        op.execute(task_context())
    assert str(info.value) == (
        f"Cannot take savepoints of application {APP}: every job must be RUNNING (payments is RESTARTING)"
    )
    assert not [c for c in responses.calls if c.request.method == "POST"]


@responses.activate
def test_on_a_flink_without_applications_the_snapshot_operators_say_so() -> None:
    without_applications(URL)
    responses.get(f"{URL}/overview", json=recorded("flink-2.3.0-overview.json") | {"flink-version": "1.20.5"})
    with pytest.raises(AirflowFailException) as info:
        FlinkStopApplicationOperator(task_id="s", deployment_key="orders", deferrable=False).execute(
            task_context()
        )
    assert str(info.value) == (
        "Flink 1.20.5 at flink_default has no applications (2.3+): there is no application to act on; use "
        "FlinkStopJobOperator / FlinkSavepointOperator per job"
    )


@responses.activate
def test_a_snapshot_by_deployment_key_acts_on_the_keys_newest_application() -> None:
    """The key's applications are the ones the deploy derived for it (its namespace): the newest."""
    prefix = deployment_prefix("application:orders")
    older, newer = prefix + "1" * 20, prefix + "2" * 20
    _with_applications(
        _application("FINISHED", app=older) | {"start-time": 1},
        _application(app=newer) | {"start-time": 2},
        _application(app="9" * 32) | {"start-time": 3},  # another key's (or nobody's)
    )
    jobs = [_job("orders", JOB_A), _job("payments", JOB_B, "RESTARTING")]
    responses.get(f"{URL}/applications/{newer}", json=_application(jobs=jobs, app=newer))
    op = FlinkSavepointApplicationOperator(task_id="s", deployment_key="orders", deferrable=False)
    with pytest.raises(FlinkOperatorError) as info:
        op.execute(task_context())
    assert str(info.value) == (
        f"Cannot take savepoints of application {newer}: every job must be RUNNING (payments is RESTARTING)"
    )
