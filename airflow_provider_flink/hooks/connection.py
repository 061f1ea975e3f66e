"""Turn an Airflow ``flink`` connection into :class:`ClientSettings`.

Kept apart from the hook so the mapping is one pure-ish function, shared by the sync and the
async path and testable without Airflow's metadata DB. Its only side effects are deliberate:
secrets are registered with Airflow's masker (the derived ``Authorization`` header included), and
PEM contents of the CA bundle, client certificate and key are written to private files in
``secret_dir`` (0700 directory, 0600 files; the hook makes it only when a PEM text is written),
which the hook deletes when it closes.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_flink.client import ClientSettings, RetryPolicy, TlsConfig
from airflow_provider_flink.exceptions import AirflowNotFoundException, FlinkConnectionError
from airflow_provider_flink.hooks.credentials import basic_auth_header, pem_or_path
from airflow_provider_flink.hooks.tls_check import TlsMaterialError, check_ca_bundle, check_client_certificate
from airflow_provider_flink.values import parse_bool

__all__ = ["CONN_TYPE", "FlinkConnectionError", "settings_from_connection", "stored_connection", "web_ui_url"]

log = logging.getLogger(__name__)

CONN_TYPE = "flink"
DEFAULT_TIMEOUT = 30.0


class ConnectionLike(Protocol):
    host: str | None
    port: int | None
    schema: str | None
    login: str | None
    password: str | None

    @property
    def extra_dejson(self) -> dict[str, Any]: ...


def _in_task_process() -> bool:
    """A task or trigger runs here (the supervisor answers its lookups); else a script, the CLI."""
    if os.environ.get("_AIRFLOW_PROCESS_CONTEXT") == "client":
        return True
    try:
        from airflow.sdk.execution_time import task_runner
    except ImportError:
        return False
    return getattr(task_runner, "SUPERVISOR_COMMS", None) is not None


def stored_connection(conn_id: str) -> Any | None:
    """The connection from every secrets backend Airflow's own CLI reads, the metadata DB included;
    None inside a task (a task reads what its supervisor gives it) or when it is not there."""
    if _in_task_process():
        return None
    try:
        from airflow.models.connection import Connection
    except ImportError:
        return None
    try:
        conn = Connection.get_connection_from_secrets(conn_id)
    except AirflowNotFoundException:
        return None
    except Exception as err:  # no metadata DB configured here, or it is down: the SDK's answer stands
        log.debug("connection %s: the metadata DB could not be read (%s)", conn_id, type(err).__name__)
        return None
    return conn  # its secrets are masked where the hook reads them (settings_from_connection)


# Extras renamed so that Airflow's masking hides them (it hides a value by its key's name: the
# connection API's answer and edit form showed a ``client_key`` in plain text); the old name is
# still read.
RENAMED_EXTRAS = {"client_private_key": "client_key"}


def _extra(conn: ConnectionLike, name: str, default: Any = None) -> Any:
    extras = conn.extra_dejson
    old = RENAMED_EXTRAS.get(name)
    for key in (name, f"extra__{CONN_TYPE}__{name}", *((old, f"extra__{CONN_TYPE}__{old}") if old else ())):
        value = extras.get(key)
        if value not in (None, ""):
            return value
    return default


def without_userinfo(url: str) -> str:
    """``url`` without ``user:password@``: every URL the provider shows or stores (links, XCom,
    alerts, the Flink page) goes through here, so credentials written into one never travel."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _as_bool(value: Any, field: str) -> bool:
    try:
        return parse_bool(value, f"Flink connection field {field!r}")
    except ValueError as err:
        raise FlinkConnectionError(str(err)) from None


def base_url(conn: ConnectionLike) -> str:
    """``http(s)://host:port[/path]`` from host (which may be a whole URL), port and schema."""
    host = (conn.host or "").strip()
    if not host:
        raise FlinkConnectionError("Flink connection has no host: set it to the REST endpoint, e.g. flink-jm")
    if "://" in host:
        parts = urlsplit(host)
        if "@" in parts.netloc:
            # Silently dropped before: the calls went out without them and answered 401.
            raise FlinkConnectionError(
                "Flink connection host holds credentials (user:password@): remove them from the host and "
                "put them in the connection's login and password fields, where Airflow masks them"
            )
        scheme, hostname, path = parts.scheme, parts.hostname or "", parts.path.rstrip("/")
        port = conn.port or parts.port
    else:
        hostname, _, path = host.partition("/")
        path = f"/{path}".rstrip("/") if path else ""
        scheme = (conn.schema or "http").strip().lower()
        port = conn.port
    if scheme not in ("http", "https"):
        raise FlinkConnectionError(f"Flink connection protocol must be http or https, got {scheme!r}")
    netloc = f"{hostname}:{port}" if port else hostname
    return f"{scheme}://{netloc}{path}"


def auth_headers(conn: ConnectionLike, mask: Any) -> dict[str, str]:
    """Basic auth from login/password or a bearer token; both at once is ambiguous, so refused.

    A password without a login is a bearer token: ``airflow connections add --conn-password``
    is masked in Airflow's audit log, a token in ``--conn-extra`` or ``--conn-json``'s extra is not."""
    token = _extra(conn, "bearer_token") or (None if conn.login else conn.password)
    if token and conn.login:
        raise FlinkConnectionError(
            "Flink connection sets both login/password and a bearer token: keep only one of them"
        )
    if token:
        mask(token)
        header = f"Bearer {token}"
    elif conn.login:
        mask(conn.password or "")
        header = basic_auth_header(conn.login, conn.password)
    else:
        return {}
    mask(header)
    return {"Authorization": header}


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def normalize_pem(text: str) -> str:
    """Re-wrap PEM blocks whose line breaks were lost (a paste into a one-line secret field)."""
    blocks = []
    for label, body in _PEM_BLOCK.findall(text):
        data = "".join(body.split())
        lines = [data[i : i + 64] for i in range(0, len(data), 64)]
        blocks.append("\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]))
    return "\n".join(blocks) + "\n" if blocks else text


def _pem_or_path(
    value: str | None, secret_dir: Path | Callable[[], Path], name: str, mask: Any, secret: bool
) -> str | None:
    """A PEM text is written to a private file; anything else is taken as a path on the worker."""
    if not value:
        return None
    try:
        pem = pem_or_path(value, f"Flink connection field {name!r}")
    except ValueError as err:
        raise FlinkConnectionError(str(err)) from None
    if pem.text is None:
        return str(pem.path)
    text = pem.text
    if secret:
        mask(text)
    directory = secret_dir() if callable(secret_dir) else secret_dir  # made only when needed
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    target = directory / f"{name}.pem"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(normalize_pem(text))
    return str(target)


def settings_from_connection(
    conn: ConnectionLike,
    secret_dir: Path | Callable[[], Path],
    mask: Any,
    retry: RetryPolicy | None = None,
) -> ClientSettings:
    verify = _as_bool(_extra(conn, "verify_tls", True), "verify_tls")
    url = base_url(conn)
    if not verify and url.startswith("https"):
        log.warning(
            "TLS certificate verification is OFF for the Flink connection to %s: anyone on the network "
            "path can read and change this traffic, credentials included. Set verify_tls back to true "
            "and give a CA bundle instead.",
            url,
        )
    tls = TlsConfig(
        verify=verify,
        ca_bundle=_pem_or_path(_extra(conn, "ca_bundle"), secret_dir, "ca_bundle", mask, secret=False),
        client_cert=_pem_or_path(_extra(conn, "client_cert"), secret_dir, "client_cert", mask, secret=True),
        client_key=_pem_or_path(
            _extra(conn, "client_private_key"), secret_dir, "client_private_key", mask, secret=True
        ),
    )
    if tls.client_key and not tls.client_cert:
        raise FlinkConnectionError("Flink connection has a client key but no client certificate")
    try:
        if tls.client_cert:
            check_client_certificate(tls.client_cert, tls.client_key)
        if tls.ca_bundle:
            check_ca_bundle(tls.ca_bundle)
    except TlsMaterialError as err:
        raise FlinkConnectionError(str(err)) from None
    return ClientSettings(
        base_url=url,
        headers=auth_headers(conn, mask),
        tls=tls,
        timeout=_positive(conn, "request_timeout", DEFAULT_TIMEOUT, "a number of seconds"),
        retry=retry or RetryPolicy(),
        breaker_failures=int(_positive(conn, "circuit_breaker_failures", 5, "a number of failed calls")),
        breaker_cooldown=_positive(conn, "circuit_breaker_cooldown", 30.0, "a number of seconds"),
    )


def _positive(conn: ConnectionLike, name: str, default: float, what: str) -> float:
    raw = _extra(conn, name, default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise FlinkConnectionError(f"Flink connection field {name!r} must be {what}, got {raw!r}") from None
    if value <= 0:
        raise FlinkConnectionError(f"Flink connection field {name!r} must be > 0")
    return value


def web_ui_url(conn: ConnectionLike) -> str:
    """The Flink web UI for links: ``web_ui_url`` when the UI is served elsewhere, else the REST URL."""
    return without_userinfo(str(_extra(conn, "web_ui_url") or base_url(conn)).rstrip("/"))
