"""Models read both Flink 1.20 and 2.x shapes; their derived answers are what callers rely on."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from airflow_provider_flink.client import models
from airflow_provider_flink.client.models import JobState
from tests.unit.conftest import recorded


def test_unknown_future_state_is_unknown_not_failed() -> None:
    job = models.JobOverview.model_validate({"jid": "a" * 32, "state": "SOMETHING_NEW"})
    assert job.state is JobState.UNKNOWN
    assert not job.state.is_failure
    assert not job.state.is_globally_terminal


@pytest.mark.parametrize(
    ("state", "terminal"),
    [("FINISHED", True), ("FAILED", True), ("CANCELED", True), ("SUSPENDED", False), ("RUNNING", False)],
)
def test_globally_terminal_states(state: str, terminal: bool) -> None:
    assert JobState(state).is_globally_terminal is terminal


def test_the_named_state_sets_classify_every_state_as_they_claim() -> None:
    every = set(JobState)
    named = {
        "TERMINAL": models.TERMINAL,
        "FAILURE": models.FAILURE,
        "RECOVERING": models.RECOVERING,
        "FAILING_STATES": models.FAILING_STATES,
        "LEFT_RUNNING": models.LEFT_RUNNING,
        "COMING_UP": models.COMING_UP,
    }
    for name, states in named.items():
        assert JobState.UNKNOWN not in states, f"{name}: unknown is neither failed nor anything else"
    # Every state Flink reports is coming up or has left RUNNING; only RESTARTING is both (it left
    # RUNNING after a failure and is on its way back).
    assert every - {JobState.UNKNOWN} == models.COMING_UP | models.LEFT_RUNNING
    assert {JobState.RESTARTING} == models.COMING_UP & models.LEFT_RUNNING
    # Flink's globally terminal states, and what the properties say is exactly the sets.
    assert {JobState.FAILED, JobState.CANCELED, JobState.FINISHED} == models.TERMINAL
    for state in JobState:
        assert state.is_globally_terminal is (state in models.TERMINAL)
        assert state.is_failure is (state in models.FAILURE)
    assert models.FAILING_STATES == models.FAILURE | models.RECOVERING
    assert models.TERMINAL < models.LEFT_RUNNING
    assert models.FAILING_STATES < models.LEFT_RUNNING
    assert not models.TERMINAL & models.COMING_UP  # an ended job never becomes healthy
    # Left RUNNING without a failure: ended, ending or suspended.
    assert {
        JobState.CANCELLING,
        JobState.CANCELED,
        JobState.FINISHED,
        JobState.SUSPENDED,
    } == models.LEFT_RUNNING - models.FAILING_STATES


def test_named_states_reads_strings_exactly_and_a_typo_matches_nothing() -> None:
    assert models.named_states(["RUNNING", "FINISHED"]) == {JobState.RUNNING, JobState.FINISHED}
    assert models.named_states([JobState.CANCELED]) == {JobState.CANCELED}
    # JobState("RUNING") is UNKNOWN; a target state with a typo must not match a job Flink reports
    # in a state this version does not know.
    assert models.named_states(["RUNING", "running"]) == frozenset()
    assert models.named_states(["UNKNOWN"]) == {JobState.UNKNOWN}  # asked for by name: kept


def test_vertex_states_are_flinks_execution_states_not_job_states() -> None:
    # CANCELING (one L) and DEPLOYING are a vertex's; a job's is CANCELLING.
    assert models.VertexState("CANCELING") is models.VertexState.CANCELING
    assert models.VertexState("DEPLOYING") is models.VertexState.DEPLOYING
    assert JobState("CANCELING") is JobState.UNKNOWN
    assert models.VertexState("SOMETHING_NEW") is models.VertexState.UNKNOWN
    assert {models.VertexState.RUNNING, models.VertexState.FINISHED} == models.VERTEX_UP


@pytest.mark.parametrize("version", ["2.3.0", "1.20.5"])
def test_root_cause_of_a_failed_job_recorded_shapes(version: str) -> None:
    exc = models.JobExceptions.model_validate(recorded(f"flink-{version}-failed-job-exceptions.json"))
    assert exc.root_cause() == "java.lang.IllegalStateException: failing on purpose after 20 records"


def test_root_cause_of_a_failed_job_legacy_1x_field_only() -> None:
    body = {
        "root-exception": "org.apache.flink.runtime.JobException: Recovery is suppressed\n\tat a.b(C.java:1)\n"
        "Caused by: java.lang.IllegalStateException: boom\n\tat x.y(Z.java:2)",
        "all-exceptions": [],
        "truncated": False,
    }
    assert models.JobExceptions.model_validate(body).root_cause() == "java.lang.IllegalStateException: boom"


def test_root_cause_is_none_for_a_job_that_never_failed() -> None:
    assert models.JobExceptions.model_validate({"exceptionHistory": {"entries": []}}).root_cause() is None


def test_run_request_body_and_claim_mode_by_version() -> None:
    req = models.JarRunRequest(
        entry_class="x.Main",
        program_args=["--rate", "5"],
        parallelism=2,
        job_id="0123456789abcdef0123456789abcdef",
        savepoint_path="file:/sp/1",
        allow_non_restored_state=True,
        claim_mode="NO_CLAIM",
        flink_configuration={"pipeline.name": "x", "parallelism.default": 3, "a.flag": True},
    )
    body = req.body("2.3.0")
    assert body == {
        "entryClass": "x.Main",
        "programArgsList": ["--rate", "5"],
        "parallelism": 2,
        "jobId": "0123456789abcdef0123456789abcdef",
        "savepointPath": "file:/sp/1",
        "allowNonRestoredState": True,
        "claimMode": "NO_CLAIM",
        "flinkConfiguration": {"pipeline.name": "x", "parallelism.default": "3", "a.flag": "true"},
    }
    assert "claimMode" in req.body("1.20.5")
    assert req.body("1.18.1")["restoreMode"] == "NO_CLAIM"
    assert "claimMode" in req.body("weird")
    assert models.JarRunRequest(entry_class="x").body() == {"entryClass": "x"}


@pytest.mark.parametrize("job_id", ["ABC", "g" * 32, "a" * 31])
def test_job_id_must_be_32_lowercase_hex(job_id: str) -> None:
    with pytest.raises(ValidationError, match=r"job_id|jobId"):
        models.JarRunRequest(entry_class="x", job_id=job_id)


def test_async_operation_success_and_progress() -> None:
    done = models.AsyncOperationStatus.model_validate(
        {"status": {"id": "COMPLETED"}, "operation": {"location": "file:/sp/savepoint-1"}}
    )
    assert done.succeeded
    assert done.location == "file:/sp/savepoint-1"
    assert done.failure is None
    running = models.AsyncOperationStatus.model_validate({"status": {"id": "IN_PROGRESS"}})
    assert running.in_progress
    assert not running.succeeded
    assert running.failure is None


def test_jar_upload_id_and_config_dict() -> None:
    up = models.JarUploaded.model_validate(
        {"filename": "/tmp/x/flink-web-upload/1_a.jar", "status": "success"}
    )
    assert up.jar_id == "1_a.jar"
    cfg = models.JobManagerConfig.model_validate([{"key": "rest.port", "value": "8081"}])
    assert cfg.as_dict() == {"rest.port": "8081"}
    jobs = models.JobsOverview.model_validate({"jobs": [{"jid": "a" * 32, "state": "RUNNING"}]})
    assert jobs.by_id()["a" * 32].state is JobState.RUNNING
    metrics = models.AggregatedMetrics.model_validate([{"id": "count.counter", "max": 5.0}])
    assert metrics.by_id()["count.counter"].max == 5.0
