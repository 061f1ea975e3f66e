"""FlinkHook with a real Airflow Connection (from an AIRFLOW_CONN_ variable) and faked HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import responses

from airflow_provider_flink.client import FlinkApiError
from airflow_provider_flink.client.resilience import breaker_for
from airflow_provider_flink.hooks import FlinkHook
from tests.unit.conftest import recorded, without_applications
from tests.unit.test_connection import CERT, KEY

URL = "http://flink-hook.test:8081"


@pytest.fixture
def flink_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_DEFAULT",
        json.dumps(
            {
                "conn_type": "flink",
                "host": "flink-hook.test",
                "port": 8081,
                "extra": {"client_cert": CERT, "client_key": KEY, "web_ui_url": "https://ui.test"},
            }
        ),
    )


@responses.activate
def test_test_connection_reports_version_and_capacity(flink_conn: None) -> None:
    responses.get(f"{URL}/overview", json=recorded("flink-2.3.0-overview.json"))
    ok, message = FlinkHook().test_connection()
    assert ok
    assert message == "Connected to Flink 2.3.0: 1 task manager(s), 4/4 slots free, 0 job(s) running"


@responses.activate
def test_test_connection_reports_the_failure(flink_conn: None) -> None:
    responses.get(f"{URL}/overview", status=401, body="")
    ok, message = FlinkHook().test_connection()
    assert not ok
    assert message.startswith("Flink answered HTTP 401 to GET /overview")


@responses.activate
def test_test_connection_names_the_cause_when_the_breaker_is_open(flink_conn: None) -> None:
    """The breaker is per process: the api-server's Test button said "circuit breaker is open" on a
    dead cluster once other calls had failed; it asks the cluster and names the real cause."""
    responses.get(f"{URL}/overview", status=401, body="")
    hook = FlinkHook()
    settings = hook.get_conn().settings
    breaker = breaker_for(settings.root, settings.breaker_failures, settings.breaker_cooldown)
    for _ in range(settings.breaker_failures):
        breaker.record(FlinkApiError("GET /overview", 503, ["unavailable"]))
    assert breaker.is_open
    ok, message = FlinkHook().test_connection()
    assert not ok
    assert message.startswith("Flink answered HTTP 401 to GET /overview")
    assert len(responses.calls) == 1  # it did ask the cluster


def test_test_connection_reports_a_bad_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_BAD", json.dumps({"conn_type": "flink", "host": "h", "schema": "gopher"})
    )
    assert FlinkHook("flink_bad").test_connection() == (
        False,
        "Flink connection protocol must be http or https, got 'gopher'",
    )


@responses.activate
def test_secret_files_exist_only_while_the_client_does(flink_conn: None) -> None:
    responses.get(f"{URL}/overview", json=recorded("flink-2.3.0-overview.json"))
    hook = FlinkHook()
    client = hook.get_conn()
    key_file = Path(str(client.settings.tls.client_key))
    assert "PRIVATE KEY" in key_file.read_text()
    assert hook.flink_version() == "2.3.0"
    assert hook.flink_version() == "2.3.0"
    assert len(responses.calls) == 1  # the version is asked once
    hook.close()
    assert not key_file.exists()
    assert not key_file.parent.exists()


def test_a_connection_without_pem_texts_leaves_no_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Task processes end with os._exit (no finalizer): a directory made for every hook stayed in
    /tmp after every task. Only a PEM text to write makes one now."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_PLAIN", json.dumps({"conn_type": "flink", "host": "h", "port": 8081})
    )
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    hook = FlinkHook("flink_plain")
    assert hook.get_conn().settings.root == "http://h:8081"
    assert list(tmp_path.iterdir()) == []


def test_links_use_the_web_ui_url(flink_conn: None, monkeypatch: pytest.MonkeyPatch) -> None:
    hook = FlinkHook()
    assert hook.job_url("ab" * 16) == f"https://ui.test/#/job/running/{'ab' * 16}/overview"
    # A trigger's link: the same page, the connection looked up on the event loop.
    conn = hook.connection

    async def lookup(conn_id: str) -> object:
        return conn

    monkeypatch.setattr(FlinkHook, "aget_connection", staticmethod(lookup))
    ended = asyncio.run(hook.ajob_url("ab" * 16, ended=True, tab="exceptions"))
    assert ended == f"https://ui.test/#/job/completed/{'ab' * 16}/exceptions"


@responses.activate
def test_checkpoint_history_of_a_job_flink_forgot_is_none(flink_conn: None) -> None:
    job = "a" * 32
    responses.get(f"{URL}/jobs/{job}/checkpoints", status=404, json={"errors": ["Job not found"]})
    assert FlinkHook().checkpoint_history(job) is None


@pytest.mark.parametrize(
    ("externalization", "survives"),
    [
        ({"enabled": True, "delete_on_cancellation": False}, True),  # RETAIN_ON_CANCELLATION
        ({"enabled": True, "delete_on_cancellation": True}, False),  # Flink's default
        ({"enabled": False, "delete_on_cancellation": True}, False),  # none retained at all
    ],
)
@responses.activate
def test_checkpoint_config_says_whether_checkpoints_survive_a_cancel(
    flink_conn: None, externalization: dict[str, bool], survives: bool
) -> None:
    job = "b" * 32
    body = {"mode": "exactly_once", "interval": 2000, "externalization": externalization}
    responses.get(f"{URL}/jobs/{job}/checkpoints/config", json=body)
    assert FlinkHook().checkpoint_config(job).survives_cancel is survives


JOB = "c" * 32
TRIGGER = "d" * 32


def _run_request() -> object:
    from airflow_provider_flink.client import models

    return models.JarRunRequest(entry_class="a.B", job_id=JOB)


def _quick(monkeypatch: pytest.MonkeyPatch) -> FlinkHook:
    """A hook that settles a lost answer within a second, with no retries of its own."""
    from airflow_provider_flink.client.resilience import NO_RETRY

    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_DEFAULT",
        json.dumps({"conn_type": "flink", "host": "flink-hook.test", "port": 8081}),
    )
    hook = FlinkHook(retry=NO_RETRY)
    hook.settle_seconds, hook.settle_interval = 0.3, 0.05
    return hook


@responses.activate
def test_a_lost_answer_to_a_submission_is_settled_by_its_job_id(monkeypatch: pytest.MonkeyPatch) -> None:
    """Failure 4 of issue 18: a /run answered after the request timeout was taken for a failed
    submission; the job ran, was stopped and its valid spec recorded failed. Its id says it runs."""
    without_applications(URL)
    import requests

    hook = _quick(monkeypatch)
    responses.post(f"{URL}/jars/j1/run", body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(f"{URL}/jobs/{JOB}", status=404, json={"errors": ["Job not found"]})  # not yet
    responses.get(f"{URL}/jobs/{JOB}", json=recorded("flink-2.3.0-running-job.json") | {"jid": JOB})
    assert hook.submit_job("j1", _run_request()) is True  # type: ignore[arg-type]
    # GET /applications/overview (404: no applications, so /jars/{id}/run), then POST and two GETs.
    assert [c.request.method for c in responses.calls] == ["GET", "POST", "GET", "GET"]


@responses.activate
def test_a_lost_answer_flink_cannot_settle_is_unknown_not_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    without_applications(URL)
    import requests

    from airflow_provider_flink.client import FlinkOutcomeUnknownError

    hook = _quick(monkeypatch)
    responses.post(f"{URL}/jars/j1/run", body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(f"{URL}/jobs/{JOB}", status=404, json={"errors": ["Job not found"]})
    with pytest.raises(FlinkOutcomeUnknownError) as info:
        hook.submit_job("j1", _run_request())  # type: ignore[arg-type]
    assert str(info.value) == (
        f"the answer to POST /jars/j1/run was lost (timed out (ReadTimeout)), and Flink did not show job {JOB} "
        "within 0 s: whether it ran is unknown (not a failure). Sending it again with the same id is safe: "
        "Flink runs it once"
    )


@responses.activate
def test_a_lost_answer_to_a_stop_is_settled_by_its_trigger_id(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    hook = _quick(monkeypatch)
    responses.post(f"{URL}/jobs/{JOB}/stop", body=requests.exceptions.ReadTimeout("read timed out"))
    responses.get(f"{URL}/jobs/{JOB}/savepoints/{TRIGGER}", json={"status": {"id": "IN_PROGRESS"}})
    hook.stop_job(JOB, TRIGGER)  # no error: the caller waits on the trigger as usual
    assert [c.request.method for c in responses.calls] == ["POST", "GET"]


@responses.activate
def test_a_server_error_to_a_submission_of_a_job_flink_runs_adopts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    without_applications(URL)
    hook = _quick(monkeypatch)
    responses.post(f"{URL}/jars/j1/run", status=502, body="bad gateway")
    responses.get(f"{URL}/jobs/{JOB}", json=recorded("flink-2.3.0-running-job.json") | {"jid": JOB})
    assert hook.submit_job("j1", _run_request()) is True  # type: ignore[arg-type]
    responses.replace(responses.GET, f"{URL}/jobs/{JOB}", status=404, json={"errors": ["Job not found"]})
    with pytest.raises(FlinkApiError, match="HTTP 502"):
        hook.submit_job("j1", _run_request())  # type: ignore[arg-type]
