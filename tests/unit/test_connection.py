"""The flink connection -> client settings: URL, auth, TLS files, timeouts, masking."""

from __future__ import annotations

import base64
import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import Connection

from airflow_provider_flink.hooks.connection import (
    FlinkConnectionError,
    base_url,
    normalize_pem,
    settings_from_connection,
    web_ui_url,
    without_userinfo,
)
from harness.tls import TestCA

CA = TestCA()
CLIENT = CA.issue("airflow-worker")
CERT = CLIENT.cert_pem
KEY = CLIENT.key_pem


def conn(**kwargs: Any) -> Connection:
    extra = kwargs.pop("extra", None)
    return Connection(
        conn_id="flink_test", conn_type="flink", extra=json.dumps(extra) if extra else None, **kwargs
    )


class Masked(list[Any]):
    def __call__(self, secret: Any) -> None:
        self.append(secret)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"host": "flink-jm", "port": 8081}, "http://flink-jm:8081"),
        ({"host": "flink-jm", "port": 443, "schema": "https"}, "https://flink-jm:443"),
        ({"host": "https://flink.example.com/rest/"}, "https://flink.example.com/rest"),
        ({"host": "http://flink.example.com:8081"}, "http://flink.example.com:8081"),
        ({"host": "proxy/flink", "port": 80}, "http://proxy:80/flink"),
    ],
)
def test_base_url(fields: dict[str, Any], expected: str) -> None:
    assert base_url(conn(**fields)) == expected


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Flink connection has no host: set it to the REST endpoint, e.g. flink-jm"),
        ({"host": "h", "schema": "ftp"}, "Flink connection protocol must be http or https, got 'ftp'"),
    ],
)
def test_bad_url_fields(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(FlinkConnectionError) as info:
        base_url(conn(**fields))
    assert str(info.value) == message


def test_basic_auth_header_is_derived_and_masked(tmp_path: Path) -> None:
    masked = Masked()
    settings = settings_from_connection(conn(host="h", login="alice", password="pw!"), tmp_path, masked)
    header = "Basic " + base64.b64encode(b"alice:pw!").decode()
    assert settings.headers == {"Authorization": header}
    assert "pw!" in masked
    assert header in masked
    assert "pw!" not in repr(settings)


def test_bearer_token_header_is_masked(tmp_path: Path) -> None:
    masked = Masked()
    settings = settings_from_connection(conn(host="h", extra={"bearer_token": "tok"}), tmp_path, masked)
    assert settings.headers == {"Authorization": "Bearer tok"}
    assert {"tok", "Bearer tok"} <= set(masked)


def test_legacy_prefixed_extra_names_are_read(tmp_path: Path) -> None:
    settings = settings_from_connection(
        conn(host="h", extra={"extra__flink__bearer_token": "tok", "extra__flink__request_timeout": "7"}),
        tmp_path,
        Masked(),
    )
    assert settings.headers["Authorization"] == "Bearer tok"
    assert settings.timeout == 7.0


def test_login_and_token_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FlinkConnectionError) as info:
        settings_from_connection(
            conn(host="h", login="a", password="p", extra={"bearer_token": "t"}), tmp_path, Masked()
        )
    assert (
        str(info.value)
        == "Flink connection sets both login/password and a bearer token: keep only one of them"
    )


def test_pem_contents_go_to_private_files(tmp_path: Path) -> None:
    masked = Masked()
    secret_dir = tmp_path / "secrets"
    settings = settings_from_connection(
        conn(
            host="h", schema="https", extra={"client_cert": CERT, "client_key": KEY, "ca_bundle": CA.cert_pem}
        ),
        secret_dir,
        masked,
    )
    assert stat.S_IMODE(secret_dir.stat().st_mode) == 0o700
    for path in (settings.tls.client_cert, settings.tls.client_key, settings.tls.ca_bundle):
        assert path is not None
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    assert Path(str(settings.tls.client_key)).read_text() == normalize_pem(KEY)
    assert KEY.strip() in masked
    assert settings.tls.requests_cert() == (settings.tls.client_cert, settings.tls.client_key)
    assert settings.tls.requests_verify() == settings.tls.ca_bundle


def test_pem_pasted_on_one_line_is_rewrapped() -> None:
    one_line = "-----BEGIN PRIVATE KEY----- " + "A" * 70 + " -----END PRIVATE KEY-----"
    assert normalize_pem(one_line) == (
        "-----BEGIN PRIVATE KEY-----\n" + "A" * 64 + "\n" + "A" * 6 + "\n-----END PRIVATE KEY-----\n"
    )


def test_paths_are_used_as_they_are_and_missing_paths_refused(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text(CERT)
    settings = settings_from_connection(
        conn(host="h", extra={"ca_bundle": str(ca)}), tmp_path / "s", Masked()
    )
    assert settings.tls.ca_bundle == str(ca)
    with pytest.raises(FlinkConnectionError) as info:
        settings_from_connection(
            conn(host="h", extra={"client_cert": "/nope/cert.pem"}), tmp_path / "s", Masked()
        )
    assert (
        str(info.value)
        == "Flink connection field 'client_cert' is neither PEM text nor an existing file path"
    )


def test_key_without_certificate_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FlinkConnectionError, match="client key but no client certificate"):
        settings_from_connection(conn(host="h", extra={"client_key": KEY}), tmp_path, Masked())


def test_tls_verification_off_is_loud(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        settings = settings_from_connection(
            conn(host="https://h", extra={"verify_tls": "false"}), tmp_path, Masked()
        )
    assert settings.tls.verify is False
    assert settings.tls.ssl_context() is False
    assert "TLS certificate verification is OFF for the Flink connection to https://h" in caplog.text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            {"request_timeout": "soon"},
            "Flink connection field 'request_timeout' must be a number of seconds, got 'soon'",
        ),
        ({"request_timeout": 0}, "Flink connection field 'request_timeout' must be > 0"),
        (
            {"circuit_breaker_cooldown": "x"},
            "Flink connection field 'circuit_breaker_cooldown' must be a number of seconds, got 'x'",
        ),
        ({"verify_tls": "maybe"}, "Flink connection field 'verify_tls' must be true or false, got 'maybe'"),
    ],
)
def test_bad_extras(tmp_path: Path, extra: dict[str, Any], message: str) -> None:
    with pytest.raises(FlinkConnectionError) as info:
        settings_from_connection(conn(host="h", extra=extra), tmp_path, Masked())
    assert str(info.value) == message


def test_web_ui_url_defaults_to_rest_url() -> None:
    assert web_ui_url(conn(host="h", port=8081)) == "http://h:8081"
    assert (
        web_ui_url(conn(host="h", extra={"web_ui_url": "https://ui.example.com/"}))
        == "https://ui.example.com"
    )


def test_credentials_never_leave_in_a_web_ui_url() -> None:
    """The link XCom, the task log, alerts and the Flink page all take this URL."""
    ui = conn(host="h", extra={"web_ui_url": "https://bob:s3cret@ui.example.com:8443/flink/"})
    assert web_ui_url(ui) == "https://ui.example.com:8443/flink"
    assert without_userinfo("https://tok@ui.example.com/a") == "https://ui.example.com/a"
    assert without_userinfo("https://ui.example.com/a@b") == "https://ui.example.com/a@b"


def test_credentials_in_the_host_url_are_refused() -> None:
    with pytest.raises(FlinkConnectionError) as info:
        base_url(conn(host="https://bob:s3cret@flink.example.com"))
    assert str(info.value) == (
        "Flink connection host holds credentials (user:password@): remove them from the host and put them "
        "in the connection's login and password fields, where Airflow masks them"
    )
    assert "s3cret" not in str(info.value)


def test_a_password_without_a_login_is_a_bearer_token(tmp_path: Path) -> None:
    """What `airflow connections add --conn-password` stores, masked in Airflow's audit log."""
    masked = Masked()
    settings = settings_from_connection(conn(host="h", password="tok"), tmp_path, masked)
    assert settings.headers == {"Authorization": "Bearer tok"}
    assert {"tok", "Bearer tok"} <= set(masked)


@pytest.mark.parametrize("name", ["client_private_key", "client_key", "extra__flink__client_key"])
def test_the_client_key_is_read_by_its_masked_name_and_its_old_ones(tmp_path: Path, name: str) -> None:
    settings = settings_from_connection(
        conn(host="h", schema="https", extra={"client_cert": CERT, name: KEY}), tmp_path, Masked()
    )
    assert Path(str(settings.tls.client_key)).read_text() == normalize_pem(KEY)


def test_airflow_masks_every_secret_extra_by_its_name() -> None:
    """Airflow hides an extra's value by its key's name (the connection API's answer, the edit form)."""
    try:
        from airflow.sdk._shared.secrets_masker import should_hide_value_for_key
    except ImportError:  # Airflow 3.1
        from airflow.sdk.execution_time.secrets_masker import should_hide_value_for_key

    from airflow_provider_flink.get_provider_info import CONN_FIELDS

    secret = {
        name for name, field in CONN_FIELDS.items() if field.get("schema", {}).get("format") == "password"
    }
    assert secret == {"bearer_token", "client_cert", "client_private_key"}
    assert {name for name in secret if should_hide_value_for_key(name)} == {
        "bearer_token",
        "client_private_key",
    }


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("expired", "Flink connection client certificate (CN=old-worker) expired on "),
        ("not yet valid", "Flink connection client certificate (CN=future-worker) is not valid before "),
        (
            "wrong key",
            "Flink connection 'client_private_key' does not belong to the client certificate (CN=airflow-worker)",
        ),
        ("not a certificate", "Flink connection 'client_cert' is not a PEM certificate"),
        ("not a key", "Flink connection 'client_private_key' is not a PEM private key"),
        ("empty CA bundle", "Flink connection 'ca_bundle' holds no PEM certificate"),
    ],
)
def test_bad_tls_material_is_refused_before_any_call(tmp_path: Path, case: str, message: str) -> None:
    import datetime

    now = datetime.datetime.now(datetime.timezone.utc)
    extra: dict[str, Any] = {"client_cert": CERT, "client_key": KEY}
    if case == "expired":
        old = CA.issue(
            "old-worker",
            valid_from=now - datetime.timedelta(days=10),
            valid_until=now - datetime.timedelta(days=1),
        )
        extra = {"client_cert": old.cert_pem, "client_key": old.key_pem}
    elif case == "not yet valid":
        new = CA.issue(
            "future-worker",
            valid_from=now + datetime.timedelta(days=1),
            valid_until=now + datetime.timedelta(days=9),
        )
        extra = {"client_cert": new.cert_pem, "client_key": new.key_pem}
    elif case == "wrong key":
        extra["client_key"] = CA.issue("someone-else").key_pem
    elif case == "not a certificate":
        extra["client_cert"] = "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    elif case == "not a key":
        extra["client_key"] = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    else:
        extra["ca_bundle"] = str(tmp_path / "empty.pem")
        (tmp_path / "empty.pem").write_text("nothing here")
    with pytest.raises(FlinkConnectionError) as info:
        settings_from_connection(conn(host="h", schema="https", extra=extra), tmp_path / "s", Masked())
    assert str(info.value).startswith(message)
    assert "PRIVATE KEY" not in str(info.value)
