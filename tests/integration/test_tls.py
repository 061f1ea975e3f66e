"""Flink's REST endpoint with TLS and required client certificates (mutual TLS), as a security
review expects: keystores built with the JDK's keytool from a test CA, the provider's connection
with CA bundle, client certificate and key."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.client import FlinkUnreachableError, calls
from airflow_provider_flink.client.resilience import reset_breakers
from airflow_provider_flink.hooks import FlinkConnectionError, FlinkHook
from harness.flink_cluster import LocalFlink
from harness.tls import RestTls, TestCA, make_rest_tls

pytestmark = pytest.mark.integration
CA = TestCA()


@pytest.fixture(scope="module")
def tls_flink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalFlink, RestTls]]:
    folder = tmp_path_factory.mktemp("flink-tls")
    tls = make_rest_tls(folder / "tls", CA)
    flink = LocalFlink(workdir=folder / "flink", tls=tls)
    flink.start()
    try:
        yield flink, tls
    finally:
        flink.stop()


def _mutual(monkeypatch: pytest.MonkeyPatch, flink: LocalFlink, tls: RestTls) -> FlinkHook:
    """A connection with the CA bundle and the right client certificate and key."""
    return _use(
        monkeypatch,
        flink,
        ca_bundle=tls.ca_pem.read_text(),
        client_cert=tls.client_cert_pem.read_text(),
        client_key=tls.client_key_pem.read_text(),
    )


def _use(monkeypatch: pytest.MonkeyPatch, flink: LocalFlink, **extra: Any) -> FlinkHook:
    reset_breakers()
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_TLS",
        json.dumps({"conn_type": "flink", "host": flink.rest_url, "extra": {"request_timeout": 5, **extra}}),
    )
    return FlinkHook("flink_tls")


def test_right_client_certificate_works(
    tls_flink: tuple[LocalFlink, RestTls], monkeypatch: pytest.MonkeyPatch
) -> None:
    flink, tls = tls_flink
    hook = _mutual(monkeypatch, flink, tls)
    ok, message = hook.test_connection()
    assert ok, message
    assert message.startswith(f"Connected to Flink {flink.version}")

    async def through_httpx() -> str:
        async with await hook.aget_conn() as client:
            return (await client.call(calls.overview())).flink_version

    import asyncio

    assert asyncio.run(through_httpx()) == flink.version


def test_without_a_client_certificate_the_handshake_is_refused(
    tls_flink: tuple[LocalFlink, RestTls], monkeypatch: pytest.MonkeyPatch
) -> None:
    flink, tls = tls_flink
    hook = _use(monkeypatch, flink, ca_bundle=tls.ca_pem.read_text())
    with pytest.raises(FlinkUnreachableError) as info:
        hook.call(calls.overview())
    assert str(info.value).startswith(f"Flink at {flink.rest_url} did not answer GET /overview: ")
    assert not info.value.request_sent


def test_certificate_from_an_untrusted_ca_is_refused(
    tls_flink: tuple[LocalFlink, RestTls], monkeypatch: pytest.MonkeyPatch
) -> None:
    flink, tls = tls_flink
    stranger = TestCA("someone else's CA").issue("intruder")
    hook = _use(
        monkeypatch,
        flink,
        ca_bundle=tls.ca_pem.read_text(),
        client_cert=stranger.cert_pem,
        client_key=stranger.key_pem,
    )
    with pytest.raises(FlinkUnreachableError) as info:
        hook.call(calls.overview())
    assert str(info.value).startswith(f"Flink at {flink.rest_url} did not answer GET /overview: ")


def test_expired_client_certificate_is_refused_before_any_call(
    tls_flink: tuple[LocalFlink, RestTls], monkeypatch: pytest.MonkeyPatch
) -> None:
    flink, tls = tls_flink
    now = datetime.datetime.now(datetime.timezone.utc)
    old = CA.issue(
        "old-worker",
        valid_from=now - datetime.timedelta(days=9),
        valid_until=now - datetime.timedelta(days=2),
    )
    hook = _use(
        monkeypatch, flink, ca_bundle=tls.ca_pem.read_text(), client_cert=old.cert_pem, client_key=old.key_pem
    )
    ok, message = hook.test_connection()
    assert not ok
    assert message.startswith("Flink connection client certificate (CN=old-worker) expired on ")
    with pytest.raises(FlinkConnectionError):
        hook.get_conn()


def test_server_certificate_not_trusted_without_the_ca_bundle(
    tls_flink: tuple[LocalFlink, RestTls], monkeypatch: pytest.MonkeyPatch
) -> None:
    flink, tls = tls_flink
    hook = _use(
        monkeypatch,
        flink,
        client_cert=tls.client_cert_pem.read_text(),
        client_key=tls.client_key_pem.read_text(),
    )
    with pytest.raises(FlinkUnreachableError) as info:
        hook.call(calls.overview())
    assert (
        "TLS certificate verification failed (set a CA bundle on the connection, or check the host name)"
        in str(info.value)
    )


def test_key_files_are_private_and_gone_after_close(
    tls_flink: tuple[LocalFlink, RestTls], monkeypatch: pytest.MonkeyPatch
) -> None:
    flink, tls = tls_flink
    hook = _mutual(monkeypatch, flink, tls)
    assert hook.call(calls.overview()).taskmanagers == 1
    key_file = Path(str(hook.get_conn().settings.tls.client_key))
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    hook.close()
    assert not key_file.exists()
