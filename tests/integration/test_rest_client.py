"""The REST client against a real local Flink (every supported version)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from airflow_provider_flink.client import AsyncFlinkClient, ClientSettings, FlinkApiError, calls, models
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.hooks import FlinkHook
from airflow_provider_flink.ids import new_id
from airflow_provider_flink.triggers.conditions import is_healthy
from harness.job_jars import BATCH_JOB, COUNTER_JOB, FAILING_JOB
from tests.integration.conftest import Cluster, wait_for

pytestmark = pytest.mark.integration


def _local(location: str) -> Path:
    return Path(location.removeprefix("file:"))


def test_upload_list_and_delete_a_jar(flink: Cluster) -> None:
    uploaded = flink.client.call(calls.upload_jar(flink.jar))
    assert uploaded.jar_id.endswith(flink.jar.name)
    listed = {f.id for f in flink.client.call(calls.list_jars()).files}
    assert uploaded.jar_id in listed
    flink.client.call(calls.delete_jar(uploaded.jar_id))
    assert uploaded.jar_id not in {f.id for f in flink.client.call(calls.list_jars()).files}
    with pytest.raises(FlinkApiError) as info:
        flink.client.call(calls.delete_jar(uploaded.jar_id))
    assert info.value.status == 400
    assert f"File {uploaded.jar_id} does not exist" in info.value.root_cause


def test_run_with_chosen_job_id_then_duplicate_is_recognised(flink: Cluster) -> None:
    job_id = new_id()
    assert flink.run(COUNTER_JOB, job_id=job_id, parallelism=2) == job_id
    detail = flink.wait_all_running(job_id)
    assert [v.parallelism for v in detail.vertices] == [2, 2]
    before = flink.running_job_ids()
    with pytest.raises(FlinkApiError) as info:
        flink.run(COUNTER_JOB, job_id=job_id)
    assert info.value.is_duplicate_submission
    assert "has already been submitted" in info.value.root_cause
    assert flink.running_job_ids() == before  # no second copy
    assert [j.jid for j in flink.client.call(calls.jobs_overview()).jobs].count(job_id) == 1


def test_duplicate_is_recognised_after_the_first_job_ended(flink: Cluster) -> None:
    job_id = flink.run(BATCH_JOB, args=["--count", "1000"])
    flink.wait_state(job_id, JobState.FINISHED)
    with pytest.raises(FlinkApiError) as info:
        flink.run(BATCH_JOB, job_id=job_id)
    assert info.value.is_duplicate_submission


def test_savepoint_stop_and_restore_keeps_state(flink: Cluster, tmp_path: Path) -> None:
    job_id = flink.run(COUNTER_JOB, args=["--rate", "50"])
    flink.wait_all_running(job_id)
    wait_for("counter past 50", lambda: flink.counter(job_id) >= 50)

    trigger = new_id()
    accepted = flink.client.call(calls.trigger_savepoint(job_id, trigger, str(tmp_path / "sp"), "CANONICAL"))
    assert accepted.request_id == trigger
    status = flink.wait_savepoint(job_id, trigger)
    assert status.succeeded, status.failure
    assert status.location is not None
    assert (_local(status.location) / "_metadata").exists()
    assert flink.job(job_id).state is JobState.RUNNING  # a plain savepoint leaves the job running

    counted = flink.counter(job_id)
    stop_trigger = new_id()
    flink.client.call(
        calls.stop_job(job_id, stop_trigger, drain=False, target_directory=str(tmp_path / "stop"))
    )
    stopped = flink.wait_savepoint(job_id, stop_trigger)
    assert stopped.succeeded, stopped.failure
    assert stopped.location is not None
    assert stopped.location.startswith(f"file:{tmp_path / 'stop'}")
    flink.wait_state(job_id, JobState.FINISHED)

    restored_id = flink.run(
        COUNTER_JOB, args=["--rate", "50"], savepoint_path=stopped.location, claim_mode="NO_CLAIM"
    )
    flink.wait_all_running(restored_id)
    checkpoints = wait_for(
        "restore recorded",
        lambda: (c := flink.client.call(calls.job_checkpoints(restored_id))).latest.restored and c,
    )
    restored = checkpoints.latest.restored
    assert restored is not None
    assert restored.is_savepoint
    assert restored.external_path == stopped.location
    first = wait_for("counter after restore", lambda: flink.counter(restored_id) or None)
    assert first >= counted, f"the counter restarted at {first} instead of continuing from {counted}"


def test_failed_savepoint_is_a_failure_and_the_job_keeps_running(flink: Cluster) -> None:
    job_id = flink.run(COUNTER_JOB)
    flink.wait_all_running(job_id)
    trigger = new_id()
    flink.client.call(calls.trigger_savepoint(job_id, trigger, "file:///proc/flink-cannot-write-here"))
    status = flink.wait_savepoint(job_id, trigger)
    assert not status.succeeded
    assert status.failure is not None
    assert "Failed to create savepoint directory at file:/proc/flink-cannot-write-here" in status.failure
    assert flink.job(job_id).state is JobState.RUNNING


def test_cancel_and_cancel_again(flink: Cluster) -> None:
    job_id = flink.run(COUNTER_JOB)
    flink.wait_all_running(job_id)
    flink.client.call(calls.cancel_job(job_id))
    assert flink.wait_state(job_id, JobState.CANCELED).state is JobState.CANCELED
    flink.client.call(calls.cancel_job(job_id))  # already CANCELED: accepted, nothing happens
    unknown = new_id()
    with pytest.raises(FlinkApiError) as info:
        flink.client.call(calls.cancel_job(unknown))
    assert info.value.status == 404
    assert info.value.root_cause == (
        f"org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job ({unknown})"
    )


def test_failing_job_reports_its_root_cause(flink: Cluster) -> None:
    job_id = flink.run(FAILING_JOB, args=["--fail-after", "20"])
    flink.wait_state(job_id, JobState.FAILED)
    exceptions = flink.client.call(calls.job_exceptions(job_id))
    assert exceptions.root_cause() == "java.lang.IllegalStateException: failing on purpose after 20 records"


def test_exception_in_main_is_a_clear_error_and_starts_nothing(flink: Cluster) -> None:
    before = {j.jid for j in flink.client.call(calls.jobs_overview()).jobs}
    with pytest.raises(FlinkApiError) as info:
        flink.run(FAILING_JOB, args=["--fail-in-main"])
    assert info.value.status == 400
    assert (
        info.value.root_cause
        == "java.lang.IllegalArgumentException: FailingJob refused its arguments on purpose"
    )
    assert {j.jid for j in flink.client.call(calls.jobs_overview()).jobs} == before


def test_missing_entry_class_is_a_clear_error(flink: Cluster) -> None:
    with pytest.raises(FlinkApiError) as info:
        flink.run("com.example.DoesNotExist")
    assert info.value.status == 500
    assert info.value.root_cause == "java.lang.ClassNotFoundException: com.example.DoesNotExist"


def test_batch_job_reaches_finished(flink: Cluster) -> None:
    job_id = flink.run(BATCH_JOB, args=["--count", "100000"])
    finished = flink.wait_state(job_id, JobState.FINISHED, JobState.FAILED)
    assert finished.state is JobState.FINISHED
    assert finished.end_time > 0


def test_dispose_a_savepoint(flink: Cluster, tmp_path: Path) -> None:
    job_id = flink.run(COUNTER_JOB)
    flink.wait_all_running(job_id)
    trigger = new_id()
    flink.client.call(calls.trigger_savepoint(job_id, trigger, str(tmp_path)))
    location = flink.wait_savepoint(job_id, trigger).location
    assert location is not None
    assert _local(location).exists()
    disposal = flink.client.call(calls.dispose_savepoint(location))
    done = wait_for(
        "disposal",
        lambda: (
            None if (s := flink.client.call(calls.disposal_status(disposal.request_id))).in_progress else s
        ),
    )
    assert done.succeeded, done.failure
    assert not _local(location).exists()


def test_cluster_views(flink: Cluster) -> None:
    info = flink.client.call(calls.overview())
    assert info.flink_version == flink.version
    assert info.taskmanagers == 1
    tms = flink.client.call(calls.taskmanagers()).taskmanagers
    assert [tm.slots_number for tm in tms] == [4]
    config = flink.client.call(calls.jobmanager_config()).as_dict()
    assert config["rest.port"] == str(flink.flink.rest_port)
    with pytest.raises(FlinkApiError) as missing:
        flink.job(new_id())
    assert missing.value.is_not_found


def test_async_client_reads_the_same_cluster(flink: Cluster) -> None:
    job_id = flink.run(COUNTER_JOB)

    async def go() -> models.JobDetail:
        async with AsyncFlinkClient(ClientSettings(flink.flink.rest_url)) as client:
            assert (await client.call(calls.overview())).flink_version == flink.version
            for _ in range(200):
                detail = await client.call(calls.job(job_id))
                if is_healthy(detail):
                    return detail
                await asyncio.sleep(0.1)
            raise AssertionError("job never ran")

    assert asyncio.run(go()).state is JobState.RUNNING


def test_hook_test_connection_against_real_flink(flink: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    host, port = flink.flink.rest_url.removeprefix("http://").split(":")
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_LOCAL", json.dumps({"conn_type": "flink", "host": host, "port": int(port)})
    )
    ok, message = FlinkHook("flink_local").test_connection()
    assert ok, message
    assert message.startswith(f"Connected to Flink {flink.version}: 1 task manager(s)")
