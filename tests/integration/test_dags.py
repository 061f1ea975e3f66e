"""Example and failure-path DAGs under real Airflow (dag.test) against the real local Flink.

Every DAG runs with its Flink tasks waiting in the worker, and (on the first Flink version) deferred
to a trigger (dag.test runs the trigger in-line, as the triggerer would).
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from airflow_provider_flink.client import FlinkApiError, FlinkClient, FlinkTimeoutError, calls
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.ids import new_id
from harness.job_jars import BATCH_JOB, COUNTER_JOB
from harness.tcp_proxy import TcpProxy
from tests.integration.conftest import VERSIONS, Cluster, connection_json, run_dag

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("deferrable", [False, True], ids=["wait", "defer"]),
]


@pytest.fixture(autouse=True)
def _deferred_on_the_first_version_only(request: pytest.FixtureRequest, cluster: Cluster) -> None:
    """Deferred runs on the first Flink version only: what deferring changes is Airflow's side (the
    trigger, its event, the resume), covered for real by test_real_components.py; the waits' REST
    answers of every version are read the same way in both modes (and recorded for the unit tests)."""
    if request.node.callspec.params.get("deferrable") and cluster.version != VERSIONS[0]:
        pytest.skip(f"deferred DAG runs: on Flink {VERSIONS[0]} only, to keep the suite within its time")


def _local(location: str) -> Path:
    return Path(location.removeprefix("file:"))


def test_lifecycle_example_upgrades_with_state(airflow: Cluster, deferrable: bool) -> None:
    result = run_dag("flink_job_lifecycle", deferrable=deferrable)
    assert result.state == "success", result.tasks
    assert set(result.tasks.values()) == {"success"}
    x = result.xcom
    first, upgraded = x[("deploy", "return_value")], x[("redeploy_from_savepoint", "return_value")]
    assert first != upgraded
    assert (_local(x[("savepoint", "return_value")]) / "_metadata").exists()
    stop_location = x[("stop_with_savepoint", "return_value")]
    assert (_local(stop_location) / "_metadata").exists()
    assert airflow.job(first).state is JobState.FINISHED  # stopped with a savepoint, not cancelled
    upgraded_job = airflow.job(upgraded)
    assert upgraded_job.state is JobState.FINISHED  # the last task stopped it too
    assert {v.parallelism for v in upgraded_job.vertices} == {2}  # the upgrade: 1 -> 2
    restored = airflow.client.call(calls.job_checkpoints(upgraded)).latest.restored
    assert restored is not None
    assert restored.is_savepoint
    assert restored.external_path == stop_location  # state came from the stop's savepoint
    link = x[("deploy", "_link_FlinkJobLink")]
    assert link == f"{airflow.flink.rest_url}/#/job/running/{first}/overview"
    # The Flink UI leads back to the Airflow run: the job's configuration names DAG, run, task, try.
    origin = _job_config(airflow, upgraded)
    assert origin["airflow.dag-id"] == "flink_job_lifecycle"
    assert origin["airflow.task-id"] == "redeploy_from_savepoint"
    assert origin["airflow.run-id"]
    assert origin["airflow.try-number"] == "1"


def _job_config(cluster: Cluster, job_id: str) -> dict[str, str]:
    """The job's user configuration, as the Flink UI's Configuration tab shows it."""
    answer = requests.get(f"{cluster.flink.rest_url}/jobs/{job_id}/config", timeout=10)
    answer.raise_for_status()
    user: dict[str, str] = answer.json()["execution-config"]["user-config"]
    return user


def test_batch_example_succeeds_only_at_finished(airflow: Cluster, deferrable: bool) -> None:
    result = run_dag("flink_batch_job", deferrable=deferrable)
    assert result.tasks == {"run_batch": "success"}
    job_id = result.xcom[("run_batch", "return_value")]
    assert result.xcom[("run_batch", "final_state")] == "FINISHED"
    assert airflow.job(job_id).state is JobState.FINISHED


def test_manual_example_takes_params_from_the_trigger_form(airflow: Cluster, deferrable: bool) -> None:
    conf = {"entry_class": COUNTER_JOB, "parallelism": 3, "args": ["--rate", "7", "--name", "manual-run"]}
    result = run_dag("flink_deploy_manual", deferrable=deferrable, conf=conf)
    assert result.tasks == {"deploy": "success"}
    job = airflow.job(result.xcom[("deploy", "return_value")])
    assert job.state is JobState.RUNNING
    assert job.name == "manual-run"
    assert {v.parallelism for v in job.vertices} == {3}


def test_deploy_retried_after_a_lost_submit_answer_leaves_one_job(
    airflow: Cluster, deferrable: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The submit reaches Flink but every answer of its 4 attempts is lost: the same try asks Flink
    about the job id it chose, finds the job and adopts it (I3: a lost answer is a question, not a
    failure; before, the task failed and its retry adopted the job)."""
    real_send = FlinkClient._send
    lost: list[str] = []

    def lossy_send(self: FlinkClient, call: calls.Call[Any], attempt: int) -> Any:
        # every answer of the first try's 4 attempts, on either route (run-application on Flink 2.3)
        if call.path.endswith(("/run", "/run-application")) and len(lost) < 4:
            with contextlib.suppress(
                FlinkApiError
            ):  # reaches Flink: the 1st submits, the rest are duplicates
                real_send(self, call, attempt)
            lost.append(call.path)
            raise FlinkTimeoutError(call.description, self.settings.root, "read timed out", request_sent=True)
        return real_send(self, call, attempt)

    monkeypatch.setattr(FlinkClient, "_send", lossy_send)
    before = {j.jid for j in airflow.client.call(calls.jobs_overview()).jobs}
    result = run_dag("test_deploy_retry", deferrable=deferrable)
    assert result.tasks == {"deploy": "success"}
    assert result.tries == {"deploy": 1}
    assert len(lost) == 4
    new_jobs = [j for j in airflow.client.call(calls.jobs_overview()).jobs if j.jid not in before]
    assert [j.jid for j in new_jobs] == [result.xcom[("deploy", "return_value")]]  # one job, not two
    assert new_jobs[0].state is JobState.RUNNING


def test_failed_savepoint_fails_the_task_and_leaves_the_job_running(
    airflow: Cluster, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    job_id = airflow.run(COUNTER_JOB)
    airflow.wait_all_running(job_id)
    result = run_dag("test_failed_savepoint", deferrable=deferrable, conf={"job_id": job_id})
    assert result.tasks == {"savepoint": "failed"}
    output = capfd.readouterr()
    assert (
        f"Savepoint of job {job_id} failed: java.io.IOException: Failed to create savepoint directory at "
        "file:/proc/flink-cannot-write-here"
    ) in output.out + output.err
    assert airflow.job(job_id).state is JobState.RUNNING


def test_failing_job_fails_its_task_with_the_root_cause(
    airflow: Cluster, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    result = run_dag("test_failing_job", deferrable=deferrable)
    assert result.tasks == {"deploy_failing": "failed"}
    output = capfd.readouterr()
    assert (
        "ended FAILED while waiting for it to be FINISHED. Root cause: "
        "java.lang.IllegalStateException: failing on purpose after 20 records"
    ) in output.out + output.err


def test_rest_outage_during_a_wait_does_not_fail_the_task(
    airflow: Cluster, deferrable: bool, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    host, port = airflow.flink.rest_url.removeprefix("http://").split(":")
    proxy = TcpProxy(host, int(port)).start()
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_PROXY", connection_json(proxy.url, circuit_breaker_cooldown=1))
    job_id = airflow.run(COUNTER_JOB)
    airflow.wait_all_running(job_id)
    proxy.down()
    back = threading.Timer(6.0, proxy.up)
    back.start()
    try:
        result = run_dag("test_rest_outage", deferrable=deferrable, conf={"job_id": job_id})
    finally:
        back.cancel()
        proxy.down()
    assert result.tasks == {"job_healthy": "success"}
    assert result.seconds >= 6.0  # it waited the outage out
    output = capfd.readouterr()
    assert "Flink state unknown" in output.out + output.err
    assert airflow.job(job_id).state is JobState.RUNNING


def test_stop_and_cancel_are_idempotent(
    airflow: Cluster, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    finished = airflow.run(BATCH_JOB, args=["--count", "1000"])
    airflow.wait_state(finished, JobState.FINISHED)
    unknown = new_id()
    result = run_dag(
        "test_idempotent_stop_cancel",
        deferrable=deferrable,
        conf={"finished_job": finished, "unknown_job": unknown},
    )
    assert result.tasks == {"stop_finished": "success", "cancel_unknown": "success"}
    assert result.xcom.get(("stop_finished", "return_value")) is None
    text = "".join(capfd.readouterr())
    assert f"Job {finished} is already FINISHED: nothing to stop, no savepoint taken" in text
    assert f"Job {unknown} is not known to Flink (already gone): nothing to cancel" in text


def test_reconcile_example_dag_keeps_records_in_airflow(
    airflow: Cluster, deferrable: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scheduled reconcile DAG under real Airflow: records go to Variables through the Task SDK."""
    import yaml
    from airflow.models.variable import Variable as VariableModel

    from airflow_provider_flink.ids import deployment_prefix

    name = f"dag-{'defer' if deferrable else 'wait'}-{airflow.version.replace('.', '-')}"
    folder = tmp_path / "deployments"
    folder.mkdir()
    spec = {"name": name, "artifact": {"jar": str(airflow.jar)}, "entry_class": COUNTER_JOB, "parallelism": 1}
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    monkeypatch.setenv("AIRFLOW_VAR_FLINK_DEPLOYMENTS_FOLDER", str(folder))

    first = run_dag("flink_reconcile", deferrable=deferrable)
    assert first.tasks == {"reconcile": "success", "ask_approval": "skipped"}
    summary = first.xcom[("reconcile", "return_value")]
    assert summary["deployments"][0]["actions"][0].startswith(f"deploy {name}")
    live = [
        j
        for j in airflow.client.call(calls.jobs_overview()).jobs
        if j.jid.startswith(deployment_prefix(name)) and not j.state.is_globally_terminal
    ]
    assert len(live) == 1
    # A short run: submitted and recorded, its health left to the next run.
    [deployed] = summary["deployments"][0]["done"]
    assert deployed["detail"] == f"job {live[0].jid} submitted; the next run judges its health"
    record = json.loads(VariableModel.get(f"flink_deployment.flink_default.{name}"))
    assert (record["current_job_id"], record["stable"]) == (live[0].jid, None)
    assert [(h["kind"], h["ok"], h["job_id"]) for h in record["history"]] == [("deploy", True, live[0].jid)]
    assert record["history"][0]["run"].startswith("flink_reconcile/")
    airflow.wait_all_running(live[0].jid)
    judged = run_dag("flink_reconcile", deferrable=deferrable)
    assert judged.xcom[("reconcile", "return_value")]["deployments"][0]["actions"] == [
        f"mark-stable {name} job {live[0].jid}: the job runs healthy: its spec becomes the rollback target"
    ]
    record = json.loads(VariableModel.get(f"flink_deployment.flink_default.{name}"))
    assert record["stable"] == record["applied"]  # one spec, hash and fields, stored once each

    spec["parallelism"] = 2
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    second = run_dag("flink_reconcile", deferrable=deferrable)
    assert second.tasks == {"reconcile": "success", "ask_approval": "skipped"}
    done = second.xcom[("reconcile", "return_value")]["deployments"][0]["done"]
    assert done[0]["ok"]
    assert done[0]["action"].startswith(f"upgrade {name} job {live[0].jid}")
    record = json.loads(VariableModel.get(f"flink_deployment.flink_default.{name}"))
    new_job = airflow.job(record["current_job_id"])
    assert {v.parallelism for v in new_job.vertices} == {2}
    assert record["savepoints"][-1]["reason"] == "upgrade"


def test_a_deployment_key_never_starts_a_second_copy(
    airflow: Cluster, deferrable: bool, capfd: pytest.CaptureFixture[str]
) -> None:
    """Separate DAG runs deploying one key: the second adopts the live job, one told to refuse fails
    with a clear message; Flink runs one job of the key throughout."""
    key = f"orders-{new_id()[:6]}"
    first = run_dag("test_deployment_key", deferrable=deferrable, conf={"key": key})
    assert first.tasks == {"deploy": "success"}
    job = first.xcom[("deploy", "return_value")]
    second = run_dag("test_deployment_key", deferrable=deferrable, conf={"key": key})
    assert second.xcom[("deploy", "return_value")] == job
    refused = run_dag("test_deployment_key_refuse", deferrable=deferrable, conf={"key": key})
    assert refused.tasks == {"deploy": "failed"}
    text = "".join(capfd.readouterr())
    assert f"Deployment key {key!r}: adopting its live job {job} (RUNNING)" in text
    assert (
        f"Deployment key {key!r} already has a live job {job} (RUNNING): not starting a second copy "
        "(on_live_job='fail'). Stop or cancel it first, or set on_live_job='adopt'"
    ) in text
    live = [j.jid for j in airflow.client.call(calls.jobs_overview()).jobs if j.jid[:12] == job[:12]]
    assert live == [job]
    airflow.client.call(calls.cancel_job(job))
