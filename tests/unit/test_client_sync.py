"""The requests transport against faked HTTP: errors, retry rules, upload streaming."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from airflow_provider_flink.client import (
    ClientSettings,
    FlinkApiError,
    FlinkClient,
    FlinkResponseError,
    FlinkTimeoutError,
    FlinkUnreachableError,
    calls,
    models,
)
from tests.unit.conftest import BASE, FAST_RETRY, recorded

JOB = "a" * 32
RUN = models.JarRunRequest(entry_class="x.Main", job_id=JOB)


@pytest.fixture
def client(settings: ClientSettings) -> FlinkClient:
    return FlinkClient(settings)


@responses.activate
def test_overview_is_parsed_and_auth_header_sent(client: FlinkClient) -> None:
    responses.get(f"{BASE}/overview", json=recorded("flink-2.3.0-overview.json"))
    info = client.call(calls.overview())
    assert info.flink_version == "2.3.0"
    assert info.slots_total == 4
    assert responses.calls[0].request.headers["Authorization"] == "Bearer s3cr3t-token"


@responses.activate
def test_duplicate_job_id_is_recognised_and_not_retried(client: FlinkClient) -> None:
    responses.post(f"{BASE}/jars/j.jar/run", status=400, json=recorded("flink-2.3.0-duplicate-job-id.json"))
    with pytest.raises(FlinkApiError) as info:
        client.call(calls.run_jar("j.jar", RUN))
    err = info.value
    assert err.is_duplicate_submission
    assert err.status == 400
    assert str(err) == (
        "Flink answered HTTP 400 to POST /jars/j.jar/run: org.apache.flink.runtime.client."
        "DuplicateApplicationSubmissionException: Application has already been submitted. "
        "A job with this job id was already submitted to this cluster."
    )
    assert len(responses.calls) == 1


@responses.activate
def test_missing_entry_class_500_on_a_write_is_not_retried(client: FlinkClient) -> None:
    responses.post(
        f"{BASE}/jars/j.jar/run", status=500, json=recorded("flink-2.3.0-missing-entry-class.json")
    )
    with pytest.raises(FlinkApiError) as info:
        client.call(calls.run_jar("j.jar", RUN))
    assert info.value.root_cause == "java.lang.ClassNotFoundException: nope.Main"
    assert not info.value.is_duplicate_submission
    assert len(responses.calls) == 1


@responses.activate
def test_500_on_a_read_is_retried_until_it_succeeds(client: FlinkClient) -> None:
    url = f"{BASE}/jobs/overview"
    responses.get(url, status=500, json={"errors": ["Internal server error."]})
    responses.get(url, status=500, json={"errors": ["Internal server error."]})
    responses.get(url, json={"jobs": []})
    assert client.call(calls.jobs_overview()).jobs == []
    assert len(responses.calls) == 3


@responses.activate
def test_retries_give_up_with_the_attempt_count(client: FlinkClient) -> None:
    responses.get(f"{BASE}/jobs/overview", status=503, body="busy")
    with pytest.raises(FlinkApiError) as info:
        client.call(calls.jobs_overview())
    assert len(responses.calls) == FAST_RETRY.attempts
    assert str(info.value) == (
        "Flink answered HTTP 503 to GET /jobs/overview: busy. (giving up after 4 attempts)"
    )


@responses.activate
def test_503_is_retried_even_for_an_upload(client: FlinkClient, tmp_path: Path) -> None:
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"PK\x03\x04 fake")
    responses.post(f"{BASE}/jars/upload", status=503)
    responses.post(f"{BASE}/jars/upload", json={"filename": "/up/123_job.jar", "status": "success"})
    assert client.call(calls.upload_jar(jar)).jar_id == "123_job.jar"
    assert len(responses.calls) == 2


@pytest.mark.parametrize(
    ("status", "call", "expected_calls"),
    [
        (502, calls.run_jar("j.jar", RUN), 4),  # with a job id: safe to repeat
        (504, calls.run_jar("j.jar", models.JarRunRequest(entry_class="x.Main")), 1),  # no job id: not safe
        (409, calls.cancel_job(JOB), 1),  # a 4xx is an answer, never retried
        (404, calls.job(JOB), 1),
        (429, calls.run_jar("j.jar", models.JarRunRequest(entry_class="x.Main")), 4),  # never processed
    ],
)
@responses.activate
def test_retry_rules_by_status(
    client: FlinkClient, status: int, call: calls.Call[object], expected_calls: int
) -> None:
    responses.add(call.method, f"{BASE}{call.path}", status=status, json={"errors": ["nope"]})
    with pytest.raises(FlinkApiError):
        client.call(call)
    assert len(responses.calls) == expected_calls


@responses.activate
def test_read_timeout_is_retried_for_reads_only(client: FlinkClient, tmp_path: Path) -> None:
    responses.get(f"{BASE}/overview", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(FlinkTimeoutError) as info:
        client.call(calls.overview())
    assert info.value.request_sent
    assert len(responses.calls) == 4
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"PK")
    responses.post(f"{BASE}/jars/upload", body=requests.exceptions.ReadTimeout("read timed out"))
    with pytest.raises(FlinkTimeoutError):
        client.call(calls.upload_jar(jar))
    assert len(responses.calls) == 5  # the upload's answer was lost: not repeated


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_unreachable_and_retried_even_for_writes(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"PK")
    with (
        FlinkClient(ClientSettings(url, retry=FAST_RETRY)) as client,
        pytest.raises(FlinkUnreachableError) as info,
    ):
        client.call(calls.upload_jar(jar))
    err = info.value
    assert not err.request_sent
    assert err.attempts == 4
    assert str(err) == (
        f"Flink at {url} did not answer POST /jars/upload: connection refused. Check that the cluster is up "
        "and that host, port, protocol and TLS settings of the Flink connection are right. "
        "(giving up after 4 attempts)"
    )


@responses.activate
def test_unreadable_answers_are_response_errors(client: FlinkClient) -> None:
    responses.get(f"{BASE}/overview", body="<html>proxy login</html>")
    with pytest.raises(FlinkResponseError, match=r"not JSON \(HTTP 200\)"):
        client.call(calls.overview())
    responses.get(f"{BASE}/jobs/{JOB}", json={"name": "no jid"})
    with pytest.raises(FlinkResponseError, match="jid"):
        client.call(calls.job(JOB))


@responses.activate
def test_401_message_points_at_the_credentials(client: FlinkClient) -> None:
    responses.get(f"{BASE}/overview", status=401, body="")
    with pytest.raises(FlinkApiError) as info:
        client.call(calls.overview())
    assert str(info.value) == (
        "Flink answered HTTP 401 to GET /overview: HTTP 401 with an empty body. "
        "Check the credentials (login/password or bearer token) of the Flink connection."
    )
    assert "s3cr3t" not in str(info.value)


@responses.activate
def test_upload_sends_the_jar_as_multipart_jarfile(client: FlinkClient, tmp_path: Path) -> None:
    jar = tmp_path / "my job.jar"
    payload = bytes(range(256)) * 4096  # 1 MiB of every byte value
    jar.write_bytes(payload)
    seen: dict[str, bytes | str] = {}

    def capture(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        body = request.body
        seen["body"] = body.read() if hasattr(body, "read") else body  # type: ignore[union-attr,assignment]
        seen["type"] = request.headers["Content-Type"]
        seen["length"] = request.headers["Content-Length"]
        return 200, {}, '{"filename": "/x/abc_my job.jar", "status": "success"}'

    responses.add_callback(responses.POST, f"{BASE}/jars/upload", callback=capture)
    uploaded = client.call(calls.upload_jar(jar))
    assert uploaded.jar_id == "abc_my job.jar"
    body = seen["body"]
    assert isinstance(body, bytes)
    boundary = str(seen["type"]).split("boundary=")[1]
    assert int(str(seen["length"])) == len(body)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="my job.jar"\r\n'.encode()
    )
    assert body.startswith(head)
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())
    assert payload in body


@responses.activate
def test_path_segments_from_input_cannot_change_the_path(client: FlinkClient) -> None:
    responses.delete(f"{BASE}/jars/..%2Fjobs", json={})
    client.call(calls.delete_jar("../jobs"))
    assert responses.calls[0].request.url == f"{BASE}/jars/..%2Fjobs"


def test_connection_tls_settings_win_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """requests lets REQUESTS_CA_BUNDLE override a session's verify; the client passes it per request."""
    from airflow_provider_flink.client import TlsConfig

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/not-the-flink-ca.pem")
    seen: dict[str, Any] = {}

    def fake_send(
        self: requests.Session, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        seen.update(kwargs)
        resp = requests.Response()
        resp.status_code = 200
        resp._content = b'{"flink-version": "2.3.0"}'
        return resp

    monkeypatch.setattr(requests.Session, "send", fake_send)
    tls = TlsConfig(ca_bundle=str(tmp_path / "flink-ca.pem"), client_cert="/c.pem", client_key="/k.pem")
    with FlinkClient(ClientSettings("https://flink.test", tls=tls)) as client:
        client.call(calls.overview())
    assert seen["verify"] == str(tmp_path / "flink-ca.pem")
    assert seen["cert"] == ("/c.pem", "/k.pem")
