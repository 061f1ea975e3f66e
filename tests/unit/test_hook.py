"""FlinkHook with a real Airflow Connection (from an AIRFLOW_CONN_ variable) and faked HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import responses

from airflow_provider_flink.client import FlinkApiError
from airflow_provider_flink.client.resilience import breaker_for
from airflow_provider_flink.hooks import FlinkHook
from tests.unit.conftest import recorded
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


def test_links_use_the_web_ui_url(flink_conn: None) -> None:
    hook = FlinkHook()
    assert hook.job_url("ab" * 16) == f"https://ui.test/#/job/running/{'ab' * 16}/overview"


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
