"""Basic and bearer auth through a real nginx in front of the real Flink, as teams run it."""

from __future__ import annotations

import json

import pytest

from airflow_provider_flink.artifacts import sha256_of
from airflow_provider_flink.client import FlinkApiError, calls, models
from airflow_provider_flink.hooks import FlinkHook
from airflow_provider_flink.ids import new_id
from harness.auth_proxy import AuthProxy
from harness.job_jars import COUNTER_JOB
from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def _hook(monkeypatch: pytest.MonkeyPatch, url: str, **fields: object) -> FlinkHook:
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_PROXIED", json.dumps({"conn_type": "flink", "host": url, **fields})
    )
    return FlinkHook("flink_proxied")


def test_basic_auth_deploys_a_job_through_the_proxy(
    auth_proxy: AuthProxy, flink: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    hook = _hook(monkeypatch, auth_proxy.basic_url, login=auth_proxy.user, password=auth_proxy.password)
    ok, message = hook.test_connection()
    assert ok, message
    jar_id = hook.upload_jar(flink.jar, sha256_of(flink.jar))  # the multipart upload streams through nginx
    job_id = new_id()
    hook.submit_job(jar_id, models.JarRunRequest(entry_class=COUNTER_JOB, job_id=job_id))
    assert flink.wait_all_running(job_id).jid == job_id


def test_wrong_password_is_a_clear_401_and_changes_nothing(
    auth_proxy: AuthProxy, flink: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = [j.jid for j in flink.client.call(calls.jobs_overview()).jobs]
    hook = _hook(
        monkeypatch, auth_proxy.basic_url, login=auth_proxy.user, password="not-" + auth_proxy.password
    )
    with pytest.raises(FlinkApiError) as info:
        hook.call(calls.jobs_overview())
    assert info.value.status == 401
    assert str(info.value).endswith(
        "Check the credentials (login/password or bearer token) of the Flink connection."
    )
    assert auth_proxy.password not in str(info.value)
    assert [j.jid for j in flink.client.call(calls.jobs_overview()).jobs] == before


def test_bearer_token(auth_proxy: AuthProxy, flink: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    good = _hook(monkeypatch, auth_proxy.bearer_url, extra={"bearer_token": auth_proxy.token})
    assert good.call(calls.overview()).flink_version == flink.version
    bad = _hook(monkeypatch, auth_proxy.bearer_url, extra={"bearer_token": "wrong-token"})
    with pytest.raises(FlinkApiError) as info:
        bad.call(calls.overview())
    assert info.value.status == 401
    assert info.value.root_cause == "bearer token required"
    assert "wrong-token" not in str(info.value)
