"""Flink 2.3 applications: the route of a submission told from the cluster, and run-application's
outcomes (adopted, failed, lost, pending) read as Flink 2.3.0 answered them (recorded answers)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
import responses

from airflow_provider_flink.client import FlinkApiError, FlinkOutcomeUnknownError, calls, models
from airflow_provider_flink.client.errors import FlinkApplicationFailedError
from airflow_provider_flink.client.models import APPLICATION_ENDED, ApplicationState
from airflow_provider_flink.hooks import applications
from airflow_provider_flink.hooks.applications import (
    FlinkApplicationCancelledError,
    FlinkApplicationPendingError,
)
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.ids import application_id, derived_id
from tests.unit.conftest import recorded, without_applications

URL = "http://flink-apps.test:8081"
APP = "a1" * 16  # the recorded application: its id is its job's
RUN = f"{URL}/jars/j1/run-application"


@pytest.fixture
def hook(monkeypatch: pytest.MonkeyPatch) -> FlinkHook:
    from airflow_provider_flink.client.resilience import NO_RETRY

    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_DEFAULT",
        json.dumps({"conn_type": "flink", "host": "flink-apps.test", "port": 8081}),
    )
    monkeypatch.setattr(applications, "POLL_SECONDS", 0.0)
    hook = FlinkHook(retry=NO_RETRY)
    hook.settle_seconds, hook.settle_interval = 1.0, 0.0
    return hook


def _request(job_id: str = APP) -> models.JarRunRequest:
    return models.JarRunRequest(entry_class="flinkprovider.testjobs.CounterJob", job_id=job_id)


def _with_applications() -> None:
    responses.get(f"{URL}/applications/overview", json=recorded("flink-2.3.0-applications-overview.json"))


def _not_shown() -> None:
    """Flink 2.3.0's answer for an application it does not know: HTTP 500, not 404."""
    responses.get(
        f"{URL}/applications/{APP}", status=500, json=recorded("flink-2.3.0-unknown-application.json")
    )


def _application(status: str = "RUNNING", jobs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = recorded("flink-2.3.0-application-running.json")
    return answer | {"status": status, "jobs": answer["jobs"] if jobs is None else jobs}


def _posted() -> list[dict[str, Any]]:
    return [json.loads(c.request.body) for c in responses.calls if c.request.method == "POST"]


# ------------------------------------------------------------------------------ models
def test_the_answer_to_run_application_is_read_as_flink_spells_it() -> None:
    assert (
        models.ApplicationSubmitted.model_validate(
            recorded("flink-2.3.0-run-application.json")
        ).application_id
        == APP
    )


def test_an_application_shows_its_jobs_and_only_failed_canceled_finished_are_its_end() -> None:
    app = models.ApplicationDetail.model_validate(recorded("flink-2.3.0-application-running.json"))
    assert (app.status, app.ended) == (ApplicationState.RUNNING, False)
    assert app.job(APP) is not None
    assert app.job("b2" * 16) is None
    assert {
        ApplicationState.FAILED,
        ApplicationState.CANCELED,
        ApplicationState.FINISHED,
    } == APPLICATION_ENDED
    # a status a later Flink adds is not understood, and not the end
    assert models.ApplicationDetail.model_validate({"id": APP, "status": "SUSPENDING"}).ended is False


def test_an_applications_exceptions_are_its_stack_traces_oldest_first() -> None:
    exceptions = models.ApplicationExceptions.model_validate(
        {
            "exceptionHistory": {
                "entries": [
                    {"exceptionName": "B", "stacktrace": "newer", "timestamp": 2},
                    {"exceptionName": "A", "stacktrace": "older", "timestamp": 1},
                ]
            }
        }
    )
    assert exceptions.stack_traces() == ["older", "newer"]


def test_the_unknown_application_answer_is_not_found_never_retried_nor_a_sick_cluster() -> None:
    """Flink 2.3.0's HTTP 500 for an unknown application id: retried and counted by the circuit
    breaker, one lookup cost four requests and a second one found the breaker open."""
    from airflow_provider_flink.client.resilience import counts_as_failure, is_retryable

    err = FlinkApiError(
        "GET /applications/x", 500, recorded("flink-2.3.0-unknown-application.json")["errors"]
    )
    assert err.is_not_found
    assert not is_retryable(calls.application("x"), err)
    assert not counts_as_failure(err)
    other = FlinkApiError("GET /applications/x", 500, ["java.lang.IllegalStateException: busy"])
    assert not other.is_not_found
    assert is_retryable(calls.application("x"), other)
    assert counts_as_failure(other)


@responses.activate
def test_looking_up_unknown_applications_with_the_default_retries_asks_once_each(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_DEFAULT",
        json.dumps({"conn_type": "flink", "host": "flink-apps.test", "port": 8081}),
    )
    hook = FlinkHook()  # the default retry policy and the process's circuit breaker
    _not_shown()
    assert [hook.applications.find(APP) for _ in range(6)] == [None] * 6
    assert len(responses.calls) == 6


# ------------------------------------------------------------------------------ the route
@responses.activate
def test_the_cluster_says_whether_it_has_applications_and_is_asked_once(hook: FlinkHook) -> None:
    _with_applications()
    assert hook.has_applications()
    assert hook.has_applications()
    assert len(responses.calls) == 1


@responses.activate
def test_a_flink_without_applications_takes_the_jar_route(hook: FlinkHook) -> None:
    without_applications(URL)
    responses.post(f"{URL}/jars/j1/run", json={"jobid": APP})
    assert hook.submit_job("j1", _request()) is False
    assert [c.request.url for c in responses.calls][-1] == f"{URL}/jars/j1/run"


@responses.activate
def test_a_cluster_that_cannot_say_is_not_taken_for_one_without_applications(hook: FlinkHook) -> None:
    responses.get(f"{URL}/applications/overview", status=503, body="busy")
    with pytest.raises(FlinkApiError, match="HTTP 503"):
        hook.submit_job("j1", _request())
    assert not _posted()


@responses.activate
def test_the_jar_route_asked_for_is_taken_without_asking_the_cluster(hook: FlinkHook) -> None:
    responses.post(f"{URL}/jars/j1/run", json={"jobid": APP})
    assert hook.submit_job("j1", _request(), route="jar") is False
    assert [c.request.url for c in responses.calls] == [f"{URL}/jars/j1/run"]


# ------------------------------------------------------------------------------ run-application
@responses.activate
def test_a_job_is_submitted_as_an_application_of_its_own_id_and_returns_once_flink_shows_it(
    hook: FlinkHook,
) -> None:
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    responses.get(f"{URL}/applications/{APP}", json=_application(jobs=[]))  # main not run yet
    responses.get(f"{URL}/applications/{APP}", json=_application())
    assert hook.submit_job("j1", _request()) is False
    assert _posted() == [
        {"entryClass": "flinkprovider.testjobs.CounterJob", "jobId": APP, "applicationId": APP}
    ]
    assert [c.request.url for c in responses.calls][-2:] == [f"{URL}/applications/{APP}"] * 2


@responses.activate
def test_an_application_flink_already_has_is_adopted_once_it_shows_the_job(hook: FlinkHook) -> None:
    _with_applications()
    responses.post(RUN, status=400, json=recorded("flink-2.3.0-duplicate-application.json"))
    responses.get(f"{URL}/applications/{APP}", json=_application())
    assert hook.submit_job("j1", _request()) is True


@responses.activate
def test_a_main_that_fails_is_reported_with_flinks_cause_from_the_applications_exceptions(
    hook: FlinkHook,
) -> None:
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    responses.get(f"{URL}/applications/{APP}", json=_application("FAILING", jobs=[]))
    responses.get(
        f"{URL}/applications/{APP}", json=recorded("flink-2.3.0-application-failed.json") | {"id": APP}
    )
    responses.get(
        f"{URL}/applications/{APP}/exceptions",
        json=recorded("flink-2.3.0-application-failed-exceptions.json"),
    )
    with pytest.raises(FlinkApplicationFailedError) as info:
        hook.submit_job("j1", _request())
    assert str(info.value) == (
        f"Flink's application {APP} of POST /jars/j1/run-application ended FAILED: "
        'java.lang.NumberFormatException: For input string: "fast".'
    )
    assert info.value.status == 400
    assert not info.value.is_duplicate_submission
    assert info.value.started_no_job


@responses.activate
def test_a_job_shown_by_a_failing_application_is_not_taken_for_a_success(hook: FlinkHook) -> None:
    """A main that raised after starting its job: Flink cancels the job with the application."""
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    canceled = [recorded("flink-2.3.0-application-running.json")["jobs"][0] | {"state": "CANCELED"}]
    responses.get(f"{URL}/applications/{APP}", json=_application("FAILING"))
    responses.get(f"{URL}/applications/{APP}", json=_application("FAILED", jobs=canceled))
    responses.get(f"{URL}/applications/{APP}/exceptions", json={"exceptionHistory": {"entries": []}})
    with pytest.raises(FlinkApplicationFailedError) as info:
        hook.submit_job("j1", _request())
    assert str(info.value).endswith("ended FAILED: Flink recorded no exception for it.")
    assert not info.value.started_no_job


@responses.activate
def test_a_main_that_starts_no_job_is_told_so(hook: FlinkHook) -> None:
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    responses.get(f"{URL}/applications/{APP}", json=_application("FINISHED", jobs=[]))
    responses.get(f"{URL}/applications/{APP}/exceptions", json={"exceptionHistory": {"entries": []}})
    with pytest.raises(
        FlinkApplicationFailedError, match="ended FINISHED: its main ended without starting a job"
    ):
        hook.submit_job("j1", _request())


@responses.activate
def test_a_bounded_job_that_already_finished_with_its_application_is_a_success(hook: FlinkHook) -> None:
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    finished = [recorded("flink-2.3.0-application-running.json")["jobs"][0] | {"state": "FINISHED"}]
    responses.get(f"{URL}/applications/{APP}", json=_application("FINISHED", jobs=finished))
    assert hook.submit_job("j1", _request()) is False


@pytest.mark.parametrize("shown", [True, False])
@responses.activate
def test_a_lost_answer_is_settled_by_the_application_id_or_is_unknown_not_failed(
    hook: FlinkHook, shown: bool
) -> None:
    _with_applications()
    responses.post(RUN, body=requests.exceptions.ReadTimeout("read timed out"))
    _not_shown()
    if shown:
        responses.get(f"{URL}/applications/{APP}", json=_application())
        assert hook.submit_job("j1", _request()) is True
        return
    with pytest.raises(FlinkOutcomeUnknownError, match=f"did not show application {APP}"):
        hook.submit_job("j1", _request())


@responses.activate
def test_a_server_error_to_a_submission_flink_took_adopts_it_and_one_it_did_not_stands(
    hook: FlinkHook,
) -> None:
    _with_applications()
    responses.post(RUN, status=502, body="bad gateway")
    responses.get(f"{URL}/applications/{APP}", json=_application())
    assert hook.submit_job("j1", _request()) is True
    responses.replace(
        responses.GET,
        f"{URL}/applications/{APP}",
        status=500,
        json=recorded("flink-2.3.0-unknown-application.json"),
    )
    with pytest.raises(FlinkApiError, match="HTTP 502"):
        hook.submit_job("j1", _request())


@responses.activate
def test_a_main_that_does_not_start_its_job_in_time_is_pending_not_failed(hook: FlinkHook) -> None:
    _with_applications()
    hook.applications.main_seconds = 0.5
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    responses.get(f"{URL}/applications/{APP}", json=_application(jobs=[]))
    with pytest.raises(FlinkApplicationPendingError) as info:
        hook.submit_job("j1", _request())
    assert isinstance(info.value, FlinkOutcomeUnknownError)  # I3: unknown, not failed
    assert str(info.value) == (
        f"Flink's application {APP} runs, but its main has not started job {APP} within 0 s: left as it is "
        "(not a failure); a retry adopts it by its id. Look at the JobManager's log for what the program is doing"
    )
    assert len([c for c in responses.calls if c.request.url.endswith(APP)]) > 1  # looked more than once
    assert not [c for c in responses.calls if c.request.method in ("PATCH", "DELETE")]


@responses.activate
def test_an_application_flink_never_shows_is_pending_and_says_so(hook: FlinkHook) -> None:
    _with_applications()
    hook.applications.main_seconds = 0.0
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    _not_shown()
    responses.get(f"{URL}/jobs/{APP}", status=404, json={"errors": ["Job not found"]})
    with pytest.raises(FlinkApplicationPendingError) as info:
        hook.submit_job("j1", _request())
    assert str(info.value).startswith(f"Flink did not show application {APP} (nor job {APP}) within 0 s")


@responses.activate
def test_a_job_flink_shows_without_its_application_is_there(hook: FlinkHook) -> None:
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    _not_shown()
    responses.get(f"{URL}/jobs/{APP}", json=recorded("flink-2.3.0-running-job.json") | {"jid": APP})
    assert hook.submit_job("j1", _request()) is False


@responses.activate
def test_an_earlier_submissions_application_that_failed_before_the_job_runs_the_program_again(
    hook: FlinkHook,
) -> None:
    """Flink never accepts an application id twice, while the job id its main never used is free:
    a retry (of a task, or a person's retry of a refused spec) runs the program again under the
    next attempt's application id, as a /run retry would, instead of re-reporting the old failure."""
    _with_applications()
    second = application_id(APP, 1)
    responses.post(RUN, status=400, json=recorded("flink-2.3.0-duplicate-application.json"))
    responses.post(RUN, status=202, json={"applicationid": second})
    responses.get(
        f"{URL}/applications/{APP}", json=recorded("flink-2.3.0-application-failed.json") | {"id": APP}
    )
    responses.get(
        f"{URL}/applications/{APP}/exceptions",
        json=recorded("flink-2.3.0-application-failed-exceptions.json"),
    )
    responses.get(f"{URL}/applications/{second}", json=_application() | {"id": second})
    assert hook.submit_job("j1", _request()) is False  # this submission started it
    assert [body["applicationId"] for body in _posted()] == [APP, second]
    assert {body["jobId"] for body in _posted()} == {APP}
    assert second == derived_id("application", APP, "1")  # the same for every actor (I8)


@responses.activate
def test_this_submissions_failure_is_not_submitted_again(hook: FlinkHook) -> None:
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    responses.get(
        f"{URL}/applications/{APP}", json=recorded("flink-2.3.0-application-failed.json") | {"id": APP}
    )
    responses.get(
        f"{URL}/applications/{APP}/exceptions",
        json=recorded("flink-2.3.0-application-failed-exceptions.json"),
    )
    with pytest.raises(FlinkApplicationFailedError):
        hook.submit_job("j1", _request())
    assert len(_posted()) == 1


@responses.activate
def test_an_application_that_failed_because_flink_has_the_job_adopts_it(hook: FlinkHook) -> None:
    """A job id first used through /run (its application named otherwise): a new application of
    it fails on the duplicate job inside; the job is the submission's."""
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    responses.get(f"{URL}/applications/{APP}", json=_application("FAILED", jobs=[]))
    duplicate = (
        "org.apache.flink.runtime.client.DuplicateJobSubmissionException: Job has already been submitted."
    )
    responses.get(
        f"{URL}/applications/{APP}/exceptions",
        json={
            "exceptionHistory": {
                "entries": [
                    {"exceptionName": "x", "stacktrace": f"x\nCaused by: {duplicate}", "timestamp": 1}
                ]
            }
        },
    )
    responses.get(f"{URL}/jobs/{APP}", json=recorded("flink-2.3.0-running-job.json") | {"jid": APP})
    assert hook.submit_job("j1", _request()) is True


@responses.activate
def test_a_cancelled_application_is_not_a_refusal(hook: FlinkHook) -> None:
    """Cancelled by a person: shown with its job, the wait judges the job; cancelled before its
    main started the job, the submission is unknown (I3), never a refusal of the program."""
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    canceled = [recorded("flink-2.3.0-application-running.json")["jobs"][0] | {"state": "CANCELED"}]
    responses.get(f"{URL}/applications/{APP}", json=_application("CANCELING", jobs=canceled))
    assert hook.submit_job("j1", _request()) is False
    responses.replace(responses.GET, f"{URL}/applications/{APP}", json=_application("CANCELED", jobs=[]))
    with pytest.raises(FlinkApplicationCancelledError) as info:
        hook.submit_job("j1", _request())
    assert isinstance(info.value, FlinkOutcomeUnknownError)
    assert str(info.value) == (
        f"Flink's application {APP} ended CANCELED before its main started job {APP} (cancelled outside this "
        "submission): nothing runs; a retry submits it again"
    )


@responses.activate
def test_the_cause_reported_is_the_newest_failures(hook: FlinkHook) -> None:
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    responses.get(f"{URL}/applications/{APP}", json=_application("FAILED", jobs=[]))
    entries = [
        {
            "exceptionName": "x",
            "stacktrace": "x\nCaused by: java.lang.IllegalStateException: newer",
            "timestamp": 2,
        },
        {
            "exceptionName": "x",
            "stacktrace": "x\nCaused by: java.lang.IllegalStateException: older",
            "timestamp": 1,
        },
    ]
    responses.get(f"{URL}/applications/{APP}/exceptions", json={"exceptionHistory": {"entries": entries}})
    with pytest.raises(
        FlinkApplicationFailedError, match=r"ended FAILED: java\.lang\.IllegalStateException: newer\.$"
    ):
        hook.submit_job("j1", _request())


@responses.activate
def test_an_application_that_vanishes_is_gone_at_once_not_waited_for(
    hook: FlinkHook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A JobManager restarted without HA forgets the application right after its 202: the
    submission says so (unknown, not failed) instead of waiting out the 300 s for a main."""
    monkeypatch.setattr(applications, "MISSING_SECONDS", 0.0)
    _with_applications()
    responses.post(RUN, status=202, json=recorded("flink-2.3.0-run-application.json"))
    responses.get(f"{URL}/applications/{APP}", json=_application(jobs=[]))
    _not_shown()
    responses.get(f"{URL}/jobs/{APP}", status=404, json={"errors": ["Job not found"]})
    with pytest.raises(FlinkApplicationPendingError) as info:
        hook.submit_job("j1", _request())
    assert info.value.waited < 5
    assert str(info.value) == (
        f"Flink no longer shows application {APP} (nor job {APP}) after showing it: a JobManager restarted "
        "without HA forgets both. Not a failure: the next try submits it again under the same ids"
    )


@responses.activate
def test_a_submission_gives_up_unknown_after_twenty_spent_application_ids(hook: FlinkHook) -> None:
    """Every earlier application of the job ended without starting it: after 20 the submission
    stops as unknown (never a refusal of a program this try did not run), having posted 20 times."""
    import re

    _with_applications()
    responses.post(RUN, status=400, json=recorded("flink-2.3.0-duplicate-application.json"))
    ended = recorded("flink-2.3.0-application-failed.json")
    responses.get(re.compile(rf"{URL}/applications/[0-9a-f]{{32}}$"), json=ended)
    responses.get(
        re.compile(rf"{URL}/applications/[0-9a-f]{{32}}/exceptions$"),
        json={"exceptionHistory": {"entries": []}},
    )
    with pytest.raises(FlinkOutcomeUnknownError) as info:
        hook.submit_job("j1", _request())
    assert "20 applications of it ended without starting it" in str(info.value)
    assert [body["applicationId"] for body in _posted()] == [application_id(APP, n) for n in range(20)]
