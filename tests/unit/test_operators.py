"""Operator logic that needs no cluster: input validation, event checks, job-id bookkeeping."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import responses

from airflow_provider_flink.client import FlinkApiError
from airflow_provider_flink.exceptions import AirflowFailException
from airflow_provider_flink.operators import (
    FlinkCancelJobOperator,
    FlinkDeployJobOperator,
    FlinkOperatorError,
    FlinkSavepointOperator,
    FlinkStopJobOperator,
)
from airflow_provider_flink.operators.job import JOB_ID_KEY
from airflow_provider_flink.operators.task_ids import DerivedIds
from airflow_provider_flink.triggers import WaitEvent
from harness.task_context import MemoryTaskState as Store
from harness.task_context import task_context
from tests.unit.conftest import use_flink_connection, without_applications

URL = "http://flink-ops.test:8081"
J = "c" * 32


@pytest.fixture(autouse=True)
def flink_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    use_flink_connection(monkeypatch, "flink-ops.test")


@pytest.fixture
def jar(tmp_path: Path) -> Path:
    from tests.unit.test_artifacts import make_jar

    return make_jar(tmp_path / "job.jar", classes=("x/Main.class",), manifest="Main-Class: x.Main\n")


def context(store: Store | None = None) -> dict[str, Any]:
    return task_context(store)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (None, "t resumed with no usable trigger event (None); cannot tell the outcome"),
        ({"status": "failed", "message": "Job x ended FAILED"}, "Job x ended FAILED"),
        ({"status": "timeout", "message": "Timed out waiting for y"}, "Timed out waiting for y"),
        ({"status": "weird"}, "t resumed with an unknown event status 'weird': {'status': 'weird'}"),
    ],
)
def test_bad_events_raise_with_their_message(event: Any, message: str) -> None:
    with pytest.raises(FlinkOperatorError) as info:
        WaitEvent.checked(event, "t")
    assert str(info.value) == message


class _Ti:
    """A task instance of Airflow 3.1/3.2: no task state store in its context."""

    def __init__(self, try_number: int) -> None:
        self.dag_id, self.run_id, self.task_id, self.map_index = "d", "r", "deploy", -1
        self.try_number = try_number
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def _no_store(try_number: int) -> dict[str, Any]:
    return {"ti": _Ti(try_number)}


@responses.activate
def test_without_a_task_state_store_a_retry_adopts_the_job_an_earlier_try_submitted(jar: Path) -> None:
    """Airflow 3.1/3.2: the job id derives from the task instance and try; try 3 finds try 1's job
    (try 2 died before submitting) and adopts it instead of submitting a second copy."""
    ids = DerivedIds(_Ti(3))
    first, second = ids.for_try(JOB_ID_KEY, 1), ids.for_try(JOB_ID_KEY, 2)
    responses.get(f"{URL}/jobs/{second}", status=404, json={"errors": ["not found"]})
    responses.get(f"{URL}/jobs/{first}", json={"jid": first, "state": "RUNNING", "vertices": []})
    op = FlinkDeployJobOperator(task_id="deploy", jar=str(jar), wait_until_running=False, deferrable=False)
    assert op.execute(_no_store(3)) == first
    assert all(c.request.method == "GET" for c in responses.calls)  # nothing uploaded or submitted


@responses.activate
def test_without_a_task_state_store_the_first_try_submits_its_derived_id(jar: Path) -> None:
    without_applications(URL)
    _accept_upload_and_run("x_job.jar")
    op = FlinkDeployJobOperator(task_id="deploy", jar=str(jar), wait_until_running=False, deferrable=False)
    op.execute(_no_store(1))
    body = json.loads(responses.calls[-1].request.body)
    assert body["jobId"] == DerivedIds(_Ti(1)).for_try(JOB_ID_KEY, 1)
    assert not [c for c in responses.calls if c.request.url.startswith(f"{URL}/jobs/")]  # no earlier try


@responses.activate
def test_without_a_task_state_store_a_stop_retry_polls_the_earlier_tries_trigger() -> None:
    earlier = DerivedIds(_Ti(2)).for_try("flink_trigger_id", 1)
    responses.get(f"{URL}/jobs/{J}", json={"jid": J, "state": "RUNNING", "vertices": []})
    responses.get(
        f"{URL}/jobs/{J}/savepoints/{earlier}",
        json={"status": {"id": "COMPLETED"}, "operation": {"location": "file:/sp/1"}},
    )
    op = FlinkStopJobOperator(task_id="stop", job_id=J, deferrable=False, wait_timeout=1)
    ctx = _no_store(2)
    with pytest.raises(FlinkOperatorError):  # the job never ends in this fake: the wait times out
        op.execute(ctx)
    assert not [c for c in responses.calls if c.request.method == "POST"]  # no second stop requested


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"parallelism": "lots"}, "parallelism must be a whole number, got 'lots'"),
        ({"parallelism": 0}, "parallelism must be at least 1, got 0"),
        ({"job_id": "not-hex"}, "Invalid Flink job request"),
        # once read as False without a word: a typo must not decide whether state may be dropped
        ({"allow_non_restored_state": "ture"}, "allow_non_restored_state must be true or false, got 'ture'"),
    ],
)
@responses.activate
def test_invalid_deploy_input_fails_before_any_call(jar: Path, kwargs: dict[str, Any], message: str) -> None:
    op = FlinkDeployJobOperator(task_id="d", jar=str(jar), entry_class="x.Main", deferrable=False, **kwargs)
    with pytest.raises(AirflowFailException) as info:
        op.execute(context())
    assert message in str(info.value)
    assert len(responses.calls) == 0  # nothing was asked of the cluster


@responses.activate
def test_missing_jar_fails_before_any_call(tmp_path: Path) -> None:
    op = FlinkDeployJobOperator(task_id="d", jar=str(tmp_path / "nope.jar"), deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(context())
    assert (
        str(info.value)
        == f"artifact {tmp_path / 'nope.jar'} does not exist on this worker (or is not a file)"
    )
    assert len(responses.calls) == 0


@responses.activate
def test_an_explicit_job_id_already_used_by_a_failed_job_is_refused(jar: Path) -> None:
    responses.get(f"{URL}/jobs/{J}", json={"jid": J, "state": "FAILED", "vertices": []})
    op = FlinkDeployJobOperator(task_id="d", jar=str(jar), job_id=J, deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(context())
    assert str(info.value).startswith(f"Job id {J} was already used by a job that ended FAILED")
    assert [c.request.method for c in responses.calls] == ["GET"]  # nothing uploaded or submitted


@responses.activate
def test_recorded_job_that_failed_gets_a_fresh_id_recorded_before_submitting(jar: Path) -> None:
    without_applications(URL)
    store = Store({JOB_ID_KEY: J})
    responses.get(f"{URL}/jobs/{J}", json={"jid": J, "state": "FAILED", "vertices": []})
    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": "/u/1_job.jar", "status": "success"})
    responses.get(f"{URL}/overview", json={"flink-version": "2.3.0"})
    submitted: list[str] = []

    def run(request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body)
        assert store[JOB_ID_KEY] == body["jobId"]  # recorded before the request (I4)
        submitted.append(body["jobId"])
        return 200, {}, json.dumps({"jobid": body["jobId"]})

    responses.add_callback(responses.POST, f"{URL}/jars/1_job.jar/run", callback=run)
    op = FlinkDeployJobOperator(
        task_id="d", jar=str(jar), entry_class="x.Main", wait_until_running=False, deferrable=False
    )
    ctx = context(store)
    assert op.execute(ctx) == submitted[0]
    assert submitted[0] != J
    assert ctx["ti"].pushed["_link_FlinkJobLink"] == f"{URL}/#/job/running/{submitted[0]}/overview"


@responses.activate
def test_jar_already_on_the_cluster_is_not_uploaded_again(jar: Path) -> None:
    without_applications(URL)
    from airflow_provider_flink.artifacts import sha256_of

    name = f"job.sha256-{sha256_of(jar)}.jar"
    responses.get(f"{URL}/jars", json={"files": [{"id": f"9_{name}", "name": name}]})
    responses.get(f"{URL}/overview", json={"flink-version": "1.20.5"})
    responses.post(f"{URL}/jars/9_{name}/run", json={"jobid": J})
    op = FlinkDeployJobOperator(
        task_id="d", jar=str(jar), job_id=J, wait_until_running=False, deferrable=False
    )
    responses.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["not found"]})
    assert op.execute(context()) == J
    assert not [c for c in responses.calls if c.request.url.endswith("/jars/upload")]


@responses.activate
def test_savepoint_of_a_job_that_is_not_running_is_refused() -> None:
    responses.get(f"{URL}/jobs/{J}", json={"jid": J, "state": "FINISHED", "vertices": []})
    op = FlinkSavepointOperator(task_id="s", job_id=J, deferrable=False)
    with pytest.raises(FlinkOperatorError) as info:
        op.execute(context())
    assert str(info.value) == f"Cannot take a savepoint: job {J} is FINISHED, not RUNNING"
    responses.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["nope"]})
    responses.replace(responses.GET, f"{URL}/jobs/{J}", status=404, json={"errors": ["nope"]})
    with pytest.raises(FlinkOperatorError, match=f"Cannot take a savepoint: Flink does not know job {J}"):
        op.execute(context())


@responses.activate
def test_stop_returns_the_location_of_an_earlier_tries_stop() -> None:
    store = Store({"flink_trigger_id": "d" * 32})
    responses.get(f"{URL}/jobs/{J}", json={"jid": J, "state": "FINISHED", "vertices": []})
    responses.get(
        f"{URL}/jobs/{J}/savepoints/{'d' * 32}",
        json={"status": {"id": "COMPLETED"}, "operation": {"location": "file:/sp/earlier"}},
    )
    op = FlinkStopJobOperator(task_id="s", job_id=J, deferrable=False)
    assert op.execute(context(store)) == "file:/sp/earlier"


@responses.activate
def test_cancel_of_an_ended_job_reports_its_state() -> None:
    responses.get(f"{URL}/jobs/{J}", json={"jid": J, "state": "FINISHED", "vertices": []})
    op = FlinkCancelJobOperator(task_id="c", job_id=J, deferrable=False)
    assert op.execute(context()) == "FINISHED"
    assert [c.request.method for c in responses.calls] == ["GET"]


@responses.activate
def test_cancel_without_waiting() -> None:
    responses.get(f"{URL}/jobs/{J}", json={"jid": J, "state": "RUNNING", "vertices": []})
    responses.patch(f"{URL}/jobs/{J}", status=202, json={})
    op = FlinkCancelJobOperator(task_id="c", job_id=J, wait=False, deferrable=False)
    assert op.execute(context()) == "CANCELLING"


@pytest.mark.parametrize(
    ("action", "method", "path"), [("cancel", "PATCH", f"/jobs/{J}"), ("stop", "POST", f"/jobs/{J}/stop")]
)
@responses.activate
def test_on_kill_acts_only_when_asked(jar: Path, action: Any, method: str, path: str) -> None:
    responses.add(method, f"{URL}{path}", status=202, json={"request-id": "e" * 32})
    op = FlinkDeployJobOperator(task_id="d", jar=str(jar), kill_action=action, deferrable=False)
    op.on_kill()  # nothing started yet: nothing to do
    assert len(responses.calls) == 0
    op._started_job = J
    op.on_kill()
    assert [(c.request.method, c.request.path_url.split("?")[0]) for c in responses.calls] == [(method, path)]


def test_kill_action_defaults() -> None:
    assert FlinkDeployJobOperator(task_id="a", jar="x").kill_action == "none"  # streaming: keep state
    assert FlinkDeployJobOperator(task_id="b", jar="x", wait_for_completion=True).kill_action == "cancel"


def _limited(monkeypatch: pytest.MonkeyPatch, **extra: Any) -> None:
    use_flink_connection(monkeypatch, "flink-ops.test", **extra)


def _accept_upload_and_run(jar_id: str) -> None:
    """A cluster without the jar that takes the upload (as ``jar_id``) and the run."""
    responses.get(f"{URL}/jars", json={"files": []})
    responses.post(f"{URL}/jars/upload", json={"filename": f"/u/{jar_id}", "status": "success"})
    responses.post(f"{URL}/jars/{jar_id}/run", json={"jobid": J})


@pytest.mark.parametrize(
    ("extra", "kwargs", "message"),
    [
        (
            {"max_parallelism": 4},
            {"parallelism": 8},
            "parallelism 8 is over the cap of 4 set on connection flink_default",
        ),
        (
            {"max_parallelism": "lots"},
            {},
            "Flink connection field 'max_parallelism' must be a whole number, got 'lots'",
        ),
        (
            {"allowed_jar_sources": ["s3://platform-jars/"]},
            {},
            "jar {jar} is not from an allowed source of connection flink_default (s3://platform-jars/)",
        ),
        (
            {"allowed_entry_classes": [r"com\.example\..*"]},
            {},
            r"entry class x.Main is not allowed on connection flink_default (allowed: com\.example\..*)",
        ),
        (
            {"allowed_entry_classes": "x.Main"},
            {"entry_class": None},
            "connection flink_default allows only listed entry classes: give entry_class",
        ),
        (
            {"require_verified_artifacts": True},
            {},
            "artifact {jar}: this cluster requires verified artifacts: pin its sha256 or give a signature",
        ),
    ],
)
@responses.activate
def test_connection_caps_are_checked_before_any_call(
    jar: Path, monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    _limited(monkeypatch, **extra)
    params: dict[str, Any] = {"entry_class": "x.Main", **kwargs}
    op = FlinkDeployJobOperator(task_id="d", jar=str(jar), deferrable=False, **params)
    with pytest.raises(AirflowFailException) as info:
        op.execute(context())
    assert str(info.value) == message.format(jar=jar)
    assert len(responses.calls) == 0


@responses.activate
def test_jar_from_an_allowed_source_passes_the_caps(jar: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without_applications(URL)
    _limited(
        monkeypatch,
        allowed_jar_sources=[f"{jar.parent}/*.jar"],
        max_parallelism=2,
        allowed_entry_classes=[r"x\..*"],
    )
    _accept_upload_and_run("1_job.jar")
    op = FlinkDeployJobOperator(
        task_id="d",
        jar=str(jar),
        entry_class="x.Main",
        parallelism=2,
        job_id=J,
        wait_until_running=False,
        deferrable=False,
    )
    responses.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["none"]})
    assert op.execute(context()) == J


@responses.activate
def test_capacity_check_fail_does_not_submit(jar: Path) -> None:
    responses.get(f"{URL}/overview", json={"slots-available": 1, "slots-total": 4, "taskmanagers": 1})
    op = FlinkDeployJobOperator(
        task_id="d", jar=str(jar), parallelism=2, capacity_check="fail", deferrable=False
    )
    with pytest.raises(FlinkOperatorError) as info:
        op.execute(context())
    assert (
        str(info.value)
        == "Not deploying: the job needs 2 free task slot(s) and flink_default has 1 (capacity_check='fail')"
    )
    assert [c.request.method for c in responses.calls] == ["GET"]


@responses.activate
def test_capacity_check_wait_submits_once_slots_are_free(jar: Path, fake_flink: Any) -> None:
    base = "http://flink.test:8081"  # where fake_flink points the connection
    without_applications(base)
    responses.get(f"{base}/overview", json={"slots-available": 0, "slots-total": 4, "taskmanagers": 1})
    responses.get(f"{base}/jars", json={"files": []})
    responses.post(f"{base}/jars/upload", json={"filename": "/u/1_job.jar", "status": "success"})
    responses.post(f"{base}/jars/1_job.jar/run", json={"jobid": J})
    answers = iter([0, 1, 2])
    fake_flink(
        lambda r: httpx.Response(
            200, json={"taskmanagers": 1, "slots-total": 4, "slots-available": next(answers)}
        )
    )
    op = FlinkDeployJobOperator(
        task_id="d",
        jar=str(jar),
        parallelism=2,
        capacity_check="wait",
        wait_until_running=False,
        poll_interval=0.01,
        deferrable=False,
    )
    job_id = op.execute(context())
    assert [c.request.url for c in responses.calls if c.request.method == "POST"][-1].endswith("/run")
    assert len(job_id) == 32


def test_reconcile_operator_reports_problems_after_reconciling_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad file and a refused jar fail the task at the end, with the report in XCom first."""
    from airflow_provider_flink.deployments import ClusterView, MemoryRecordStore
    from airflow_provider_flink.deployments import reconciler as use_case
    from airflow_provider_flink.operators import FlinkReconcileOperator

    (tmp_path / "broken.yaml").write_text("name: broken\nparallelism: 0\nartifact: {jar: /x.jar}\n")
    (tmp_path / "missing.yaml").write_text("name: missing\nartifact: {jar: /nowhere/x.jar}\n")
    monkeypatch.setattr(use_case, "observe", lambda hook, cluster: ClusterView(cluster, ()))
    store = MemoryRecordStore()
    op = FlinkReconcileOperator(task_id="r", deployments_folder=str(tmp_path))
    monkeypatch.setattr(op, "record_store", lambda: store)
    ctx = context()
    with pytest.raises(FlinkOperatorError) as info:
        op.execute(ctx)
    assert str(info.value) == (
        "Reconcile finished with problems: broken.yaml: parallelism: Input should be greater than or equal to 1; "
        "missing: artifact /nowhere/x.jar does not exist on this worker (or is not a file) "
        "(not retried: each needs a person; see the runbook)"
    )
    # Only a person can resolve these: no retry holds the DAG's next runs (max_active_runs=1)
    assert isinstance(info.value, AirflowFailException)
    pushed = ctx["ti"].pushed["return_value"]
    assert (
        pushed["deployments"][0]["refused"]
        == "artifact /nowhere/x.jar does not exist on this worker (or is not a file)"
    )
    assert store.raw == {}  # nothing acted on
    quiet = FlinkReconcileOperator(task_id="q", deployments_folder=str(tmp_path), fail_on_problems=False)
    monkeypatch.setattr(quiet, "record_store", lambda: store)
    assert quiet.execute(context())["invalid"] == [
        "broken.yaml: parallelism: Input should be greater than or equal to 1"
    ]


@responses.activate
def test_stop_of_a_job_flink_does_not_know_fails_unless_missing_ok() -> None:
    """Returning None here once let the upgrade pattern start a stateless copy beside the real job."""
    responses.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["Job not found"]})
    op = FlinkStopJobOperator(task_id="s", job_id=J, deferrable=False)
    with pytest.raises(FlinkOperatorError) as info:
        op.execute(context())
    assert str(info.value) == (
        f"Cannot stop job {J}: Flink at flink_default does not know it (a wrong job id, another cluster, "
        "or lost in a JobManager restart without HA); no savepoint was taken. "
        "Set missing_ok=True if an unknown job counts as already stopped"
    )
    assert [c.request.method for c in responses.calls] == ["GET"]  # nothing stopped
    lenient = FlinkStopJobOperator(task_id="s", job_id=J, deferrable=False, missing_ok=True)
    assert lenient.execute(context()) is None


@pytest.mark.parametrize("rendered", [None, "", "None"])
@responses.activate
def test_deploy_from_a_savepoint_that_rendered_empty_refuses_to_start_stateless(
    jar: Path, rendered: Any
) -> None:
    op = FlinkDeployJobOperator(
        task_id="d", jar=str(jar), savepoint_path="{{ ti.xcom_pull('stop') }}", deferrable=False
    )
    op.savepoint_path = rendered  # what Airflow's rendering leaves when the stop returned nothing
    with pytest.raises(AirflowFailException) as info:
        op.execute(context())
    assert str(info.value) == (
        f"savepoint_path was given but rendered empty ({rendered!r}): the upstream task took no savepoint. "
        "Not starting the job without its state; set start_without_savepoint=True to start it fresh"
    )
    assert len(responses.calls) == 0  # refused before any call


@responses.activate
def test_deploy_told_to_start_without_the_savepoint_submits_without_one(jar: Path) -> None:
    without_applications(URL)
    _accept_upload_and_run("x_job.jar")
    op = FlinkDeployJobOperator(
        task_id="d",
        jar=str(jar),
        savepoint_path="{{ ti.xcom_pull('stop') }}",
        start_without_savepoint=True,
        wait_until_running=False,
        deferrable=False,
    )
    op.savepoint_path = "None"
    job_id = op.execute(context())
    body = json.loads(responses.calls[-1].request.body)
    assert body["jobId"] == job_id
    assert "savepointPath" not in body


def test_a_reconcile_task_has_no_single_job_link() -> None:
    """The inherited "Flink Job" link logged "XCom not found" at the end of every reconcile run."""
    from airflow_provider_flink.operators import FlinkReconcileOperator

    assert FlinkReconcileOperator(task_id="r", deployments_folder="/x").operator_extra_links == ()


@pytest.mark.parametrize(
    ("given", "names"),
    [
        ("", []),
        ("orders", ["orders"]),
        (" orders, payments ,", ["orders", "payments"]),
        (["a", " b"], ["a", "b"]),
    ],
)
def test_retry_failed_takes_a_list_or_a_rendered_string(given: Any, names: list[str]) -> None:
    from airflow_provider_flink.operators.reconcile import _names

    assert _names(given) == names


@responses.activate
def test_a_submitted_job_carries_the_task_instance_that_started_it(jar: Path) -> None:
    """The job's Flink configuration names DAG, run, task and try (the Flink UI's Configuration
    tab leads back to the Airflow run); a user key of the same name does not hide it."""
    without_applications(URL)
    _accept_upload_and_run("x_job.jar")
    ctx = context()
    ti = ctx["ti"]
    ti.dag_id, ti.run_id, ti.task_id, ti.try_number = (
        "orders_dag",
        "manual__2026-12-01T01:18:24+00:00",
        "deploy",
        2,
    )
    op = FlinkDeployJobOperator(
        task_id="deploy",
        jar=str(jar),
        flink_config={"pipeline.global-job-parameters": "team:orders", "pipeline.name": "orders"},
        wait_until_running=False,
        deferrable=False,
    )
    op.execute(ctx)
    config = json.loads(responses.calls[-1].request.body)["flinkConfiguration"]
    assert config == {
        "pipeline.name": "orders",
        # Flink's map syntax, each entry quoted so that ':' in a run id stays in its value; the
        # user's own parameters first
        "pipeline.global-job-parameters": "team:orders,\"'airflow.dag-id':'orders_dag'\",\"'airflow.run-id':"
        "'manual__2026-12-01T01:18:24+00:00'\",\"'airflow.task-id':'deploy'\",\"'airflow.try-number':'2'\"",
    }


@responses.activate
def test_without_a_task_state_store_an_unanswered_status_is_not_taken_for_an_unknown_trigger() -> None:
    """Flink did not answer about the earlier try's stop: the retry must not start a second stop
    beside it (unknown is not "not known"); it fails and Airflow retries later."""
    earlier = DerivedIds(_Ti(2)).for_try("flink_trigger_id", 1)
    responses.get(f"{URL}/jobs/{J}", json={"jid": J, "state": "RUNNING", "vertices": []})
    responses.get(f"{URL}/jobs/{J}/savepoints/{earlier}", status=503, body="unavailable")
    op = FlinkStopJobOperator(task_id="stop", job_id=J, deferrable=False, wait_timeout=1)
    with pytest.raises(FlinkApiError) as info:
        op.execute(_no_store(2))
    assert info.value.status == 503
    assert not [c for c in responses.calls if c.request.method == "POST"]  # no second stop


def test_a_problem_a_retry_may_resolve_fails_the_task_for_its_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_flink.deployments import ReconcileReport
    from airflow_provider_flink.deployments.report import DeploymentReport
    from airflow_provider_flink.operators import FlinkReconcileOperator
    from airflow_provider_flink.operators import reconcile as module

    refused = DeploymentReport(deployment="a", cluster="c", refused="restart limit reached")
    reports = {
        "refusal": ReconcileReport(deployments=[refused], errors=["a: restart limit reached"]),
        "unobserved": ReconcileReport(
            deployments=[refused],
            errors=["cluster c could not be observed: no action taken (x)", "a: restart limit reached"],
        ),
    }
    for name, report in reports.items():
        monkeypatch.setattr(module, "reconcile", lambda *a, report=report, **k: report)
        op = FlinkReconcileOperator(task_id="r", deployments_folder=str(tmp_path))
        with pytest.raises(FlinkOperatorError) as info:
            op.execute(context())
        assert isinstance(info.value, AirflowFailException) == (name == "refusal"), name


def test_the_operator_reads_what_a_person_asked_from_the_run_conf_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reconcile DAG written from the docs does not template the conf in: the Flink page's
    actions must still reach the use case."""
    from airflow_provider_flink.deployments import Asked, ReconcileReport
    from airflow_provider_flink.operators import FlinkReconcileOperator
    from airflow_provider_flink.operators import reconcile as module

    seen: list[tuple[Any, Any]] = []

    def fake(
        folder: Any, store: Any, clusters: Any, names: Any, *args: Any, **kwargs: Any
    ) -> ReconcileReport:
        seen.append((names, kwargs["asked"]))
        return ReconcileReport()

    monkeypatch.setattr(module, "reconcile", fake)
    plain = FlinkReconcileOperator(task_id="r", deployments_folder=str(tmp_path))
    conf = {"deployments": "orders", "savepoint_now": ["orders"], "suspend": "", "resume": "clicks, views"}
    ctx = context()
    ctx["dag_run"] = SimpleNamespace(conf=conf)
    plain.execute(ctx)
    assert seen[-1] == (
        ["orders"],
        Asked(savepoint_now=frozenset({"orders"}), resume=frozenset({"clicks", "views"})),
    )
    # A task for some deployments acts on no other, whatever the conf names.
    some = FlinkReconcileOperator(
        task_id="s", deployments_folder=str(tmp_path), deployments=["clicks", "orders"]
    )
    some.execute(ctx)
    assert seen[-1][0] == ["orders"]
    ctx["dag_run"] = SimpleNamespace(conf={"retry_failed": 7})
    with pytest.raises(AirflowFailException) as info:
        plain.execute(ctx)
    assert str(info.value) == (
        "the run's conf key 'retry_failed' must be a deployment name, names separated by commas or a list "
        "of names, got int 7"
    )


def test_reconcile_operator_passes_what_a_person_asked_and_refuses_a_contradiction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conf's names (rendered strings "a, b") reach the use case as what was asked; the run is
    short unless told otherwise, and names the task for the history."""
    from airflow_provider_flink.deployments import Asked, ReconcileReport
    from airflow_provider_flink.operators import FlinkReconcileOperator
    from airflow_provider_flink.operators import reconcile as module

    seen: dict[str, Any] = {}

    def fake(*args: Any, **kwargs: Any) -> ReconcileReport:
        seen.update(kwargs)
        return ReconcileReport()

    monkeypatch.setattr(module, "reconcile", fake)
    op = FlinkReconcileOperator(
        task_id="r", deployments_folder=str(tmp_path), savepoint_now="orders, clicks", suspend="payments"
    )
    ctx = context()
    ctx["ti"].dag_id, ctx["ti"].run_id, ctx["ti"].task_id, ctx["ti"].try_number = "d", "manual__1", "r", 2
    op.execute(ctx)
    assert seen["asked"] == Asked(
        savepoint_now=frozenset({"orders", "clicks"}), suspend=frozenset({"payments"})
    )
    assert (seen["wait_for_health"], seen["run"]) == (False, "d/manual__1/r/2")
    both = FlinkReconcileOperator(
        task_id="b", deployments_folder=str(tmp_path), suspend="orders", resume="orders"
    )
    with pytest.raises(FlinkOperatorError) as info:
        both.execute(context())
    assert str(info.value) == "Both suspend and resume were asked for orders: ask for one of them"


def test_a_try_starts_with_an_empty_job_link_and_a_resumption_keeps_its_link() -> None:
    from airflow_provider_flink.tasks import no_job_link_yet

    ctx = context()
    ctx["ti"]._ti_context_from_server = SimpleNamespace(next_method=None)
    FlinkDeployJobOperator(task_id="d", jar="/x.jar").pre_execute(ctx)
    assert ctx["ti"].pushed == {"_link_FlinkJobLink": ""}
    resumed = context()
    resumed["ti"]._ti_context_from_server = SimpleNamespace(next_method="execute_complete")
    no_job_link_yet(resumed)
    assert resumed["ti"].pushed == {}


def test_a_run_that_yielded_does_not_log_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It logged "FAILED upgrade …" while its task was green: another actor had the deployment."""
    from airflow_provider_flink.deployments import ReconcileReport
    from airflow_provider_flink.deployments.report import ActionResult, DeploymentReport
    from airflow_provider_flink.operators import FlinkReconcileOperator
    from airflow_provider_flink.operators import reconcile as module

    busy = ActionResult(kind="upgrade", action="upgrade orders", ok=False, detail="another run", yielded=True)
    entry = DeploymentReport(deployment="orders", cluster="c", done=[busy])
    monkeypatch.setattr(module, "reconcile", lambda *a, **k: ReconcileReport(deployments=[entry]))
    FlinkReconcileOperator(task_id="r", deployments_folder=str(tmp_path)).execute(context())
    out = capsys.readouterr()
    text = out.out + out.err
    assert "yielded upgrade orders: another run" in text
    assert "FAILED" not in text
