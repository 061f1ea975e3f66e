"""The two transports: :class:`FlinkClient` (requests) and :class:`AsyncFlinkClient` (httpx).

Both send a :class:`~airflow_provider_flink.client.calls.Call` and return its parsed answer.
Everything that is not moving bytes (building the request, reading the answer, classifying
errors, retrying, the circuit breaker) lives in shared functions, so the two stay identical in
behaviour: only :meth:`FlinkClient._send` and :meth:`AsyncFlinkClient._send` differ.
"""

from __future__ import annotations

import functools
import json
import os
import ssl
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pydantic
import requests

from airflow_provider_flink.client.calls import Call
from airflow_provider_flink.client.errors import (
    FlinkApiError,
    FlinkError,
    FlinkResponseError,
    FlinkTimeoutError,
    FlinkUnreachableError,
)
from airflow_provider_flink.client.multipart import MultipartFile
from airflow_provider_flink.client.resilience import CircuitBreaker, RetryPolicy, breaker_for

T = TypeVar("T")
USER_AGENT = "airflow-provider-flink"


@dataclass(frozen=True)
class TlsConfig:
    """TLS settings as file paths (the hook writes PEM contents to private temp files)."""

    verify: bool = True
    ca_bundle: str | None = None
    client_cert: str | None = None
    client_key: str | None = None

    def requests_verify(self) -> bool | str:
        return self.ca_bundle if (self.verify and self.ca_bundle) else self.verify

    def requests_cert(self) -> tuple[str, str] | str | None:
        if self.client_cert and self.client_key:
            return (self.client_cert, self.client_key)
        return self.client_cert

    def ssl_context(self) -> ssl.SSLContext | bool:
        """For httpx, which takes an SSLContext (paths for ``verify``/``cert`` are deprecated)."""
        if not self.verify and not self.client_cert:
            return False
        files = (self.ca_bundle, self.client_cert, self.client_key)
        return _ssl_context(self, tuple(os.stat(f).st_mtime_ns if f else 0 for f in files))


@functools.lru_cache(maxsize=32)
def _ssl_context(tls: TlsConfig, file_stamps: tuple[int, ...]) -> ssl.SSLContext:
    """Built once per TLS setting and file version: loading CA certificates costs tens of ms and
    triggers open many clients; a rotated certificate file (new mtime) gets a new context."""
    ctx = ssl.create_default_context(cafile=tls.ca_bundle)
    if not tls.verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if tls.client_cert:
        ctx.load_cert_chain(tls.client_cert, tls.client_key)
    return ctx


@dataclass(frozen=True)
class ClientSettings:
    """Everything a client needs; ``headers`` carries authentication and is never logged."""

    base_url: str
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    tls: TlsConfig = field(default_factory=TlsConfig)
    timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_failures: int = 5
    breaker_cooldown: float = 30.0

    @property
    def root(self) -> str:
        return self.base_url.rstrip("/")


# ------------------------------------------------------------------ shared request/answer logic
@dataclass
class _Prepared:
    method: str
    url: str
    params: dict[str, str] | None
    headers: dict[str, str]
    json_body: Any
    upload: MultipartFile | None


def _prepare(settings: ClientSettings, call: Call[Any]) -> _Prepared:
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **settings.headers}
    upload = MultipartFile(call.upload, filename=call.upload_name) if call.upload is not None else None
    if upload is not None:
        headers.update(upload.headers)
    return _Prepared(call.method, settings.root + call.path, call.params, headers, call.body, upload)


def _interpret(call: Call[T], status: int, content: bytes) -> T:
    """Turn an HTTP answer into the call's result or a typed error."""
    text = content.decode("utf-8", errors="replace")
    if call.text and status < 400:
        return call.parse(text)
    try:
        payload: Any = json.loads(text) if text.strip() else None
    except ValueError:
        payload = None
    if status >= 400:
        errors = payload.get("errors") if isinstance(payload, dict) else None
        error_list = [str(e) for e in errors] if isinstance(errors, list) else []
        raise FlinkApiError(call.description, status, error_list, body=text[:2000])
    if payload is None and text.strip():
        raise FlinkResponseError(call.description, f"not JSON (HTTP {status}): {text[:200]!r}")
    try:
        return call.parse(payload if payload is not None else {})
    except pydantic.ValidationError as err:
        raise FlinkResponseError(call.description, str(err)) from err


class _Base:
    """What both transports do around sending: breaker check before, reading and recording after."""

    def __init__(self, settings: ClientSettings, breaker: CircuitBreaker | None = None) -> None:
        self.settings = settings
        self.breaker = breaker or breaker_for(
            settings.root, settings.breaker_failures, settings.breaker_cooldown
        )

    def _begin(self, call: Call[Any]) -> _Prepared:
        self.breaker.before_call()
        return _prepare(self.settings, call)

    def _failed(self, error: FlinkError, attempt: int) -> FlinkError:
        self.breaker.record(error)
        error.attempts = attempt
        return error

    def _complete(self, call: Call[T], status: int, content: bytes, attempt: int) -> T:
        try:
            result = _interpret(call, status, content)
        except FlinkError as err:
            raise self._failed(err, attempt) from err.__cause__
        self.breaker.record(None)
        return result

    def _no_answer(self, call: Call[Any], err: Exception, table: _NoAnswerTable, attempt: int) -> FlinkError:
        """The typed error for a transport exception: timed out or not, and whether the request
        can have reached Flink (which decides whether a write may be sent again)."""
        timed_out, sent = next((t, s) for kinds, t, s in table if isinstance(err, kinds))
        if sent is None:
            sent = not _connect_phase(err)
        kind = FlinkTimeoutError if timed_out else FlinkUnreachableError
        return self._failed(
            kind(call.description, self.settings.root, _reason(err), request_sent=sent), attempt
        )


# (exception types, timed out, request sent: None = tell from the message); the first match wins.
_NoAnswerTable = tuple[tuple[type[Exception] | tuple[type[Exception], ...], bool, bool | None], ...]
REQUESTS_NO_ANSWER: _NoAnswerTable = (
    (requests.exceptions.ConnectTimeout, True, False),
    (requests.exceptions.Timeout, True, True),
    (requests.exceptions.SSLError, False, False),
    (requests.exceptions.ConnectionError, False, None),
)
HTTPX_NO_ANSWER: _NoAnswerTable = (
    ((httpx.ConnectTimeout, httpx.PoolTimeout), True, False),
    (httpx.TimeoutException, True, True),
    (httpx.ConnectError, False, False),
    (httpx.TransportError, False, True),
)


# ------------------------------------------------------------------ sync
class FlinkClient(_Base):
    """Synchronous client (requests). Use as a context manager or call :meth:`close`."""

    def __init__(
        self,
        settings: ClientSettings,
        session: requests.Session | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        super().__init__(settings, breaker)
        self._session = session or requests.Session()
        # Passed with every request, not set on the session: requests lets REQUESTS_CA_BUNDLE /
        # CURL_CA_BUNDLE from the environment override a session's verify, not a request's.
        self._verify = settings.tls.requests_verify()
        self._cert = settings.tls.requests_cert()

    def call(self, call: Call[T], retry: RetryPolicy | None = None) -> T:
        """Send ``call`` with retries as its idempotency allows; return the parsed answer."""
        for attempt in (retry or self.settings.retry).retrying(call):
            with attempt:
                return self._send(call, attempt.retry_state.attempt_number)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    def _send(self, call: Call[T], attempt: int) -> T:
        req = self._begin(call)
        try:
            resp = self._session.request(
                req.method,
                req.url,
                params=req.params,
                headers=req.headers,
                json=req.json_body if req.upload is None else None,
                data=req.upload,
                timeout=self.settings.timeout,
                verify=self._verify,
                cert=self._cert,
            )
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as err:
            raise self._no_answer(call, err, REQUESTS_NO_ANSWER, attempt) from None
        return self._complete(call, resp.status_code, resp.content, attempt)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> FlinkClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ------------------------------------------------------------------ async
class AsyncFlinkClient(_Base):
    """Asynchronous client (httpx) for triggers. Use with ``async with`` or call :meth:`aclose`."""

    def __init__(self, settings: ClientSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        super().__init__(settings)  # the cluster's process-wide breaker, shared with sync clients
        self._http = httpx.AsyncClient(
            verify=settings.tls.ssl_context(), timeout=settings.timeout, transport=transport
        )

    async def call(self, call: Call[T], retry: RetryPolicy | None = None) -> T:
        async for attempt in (retry or self.settings.retry).async_retrying(call):
            with attempt:
                return await self._send(call, attempt.retry_state.attempt_number)
        raise AssertionError("unreachable: tenacity re-raises the last error")  # pragma: no cover

    async def _send(self, call: Call[T], attempt: int) -> T:
        req = self._begin(call)
        try:
            resp = await self._http.request(
                req.method,
                req.url,
                params=req.params,
                headers=req.headers,
                json=req.json_body if req.upload is None else None,
                content=req.upload.aiter() if req.upload is not None else None,
            )
        except httpx.TransportError as err:
            raise self._no_answer(call, err, HTTPX_NO_ANSWER, attempt) from None
        return self._complete(call, resp.status_code, resp.content, attempt)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncFlinkClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _connect_phase(err: Exception) -> bool:
    """True when requests failed while connecting, so the request never left this process."""
    text = repr(err)
    return any(
        marker in text
        for marker in ("NewConnectionError", "ConnectionRefused", "NameResolution", "Failed to establish")
    )


def _reason(err: BaseException) -> str:
    """A short reason without the URL's query or any header: safe to log."""
    text = str(err) or type(err).__name__
    if "Connection refused" in text or "ConnectionRefused" in text:
        return "connection refused"
    if "Name or service not known" in text or "NameResolution" in text or "nodename nor servname" in text:
        return "host name could not be resolved"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return (
            "TLS certificate verification failed (set a CA bundle on the connection, or check the host name)"
        )
    if isinstance(err, (requests.exceptions.Timeout, httpx.TimeoutException)):
        return f"timed out ({type(err).__name__})"
    return text.splitlines()[0][:300]
