from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_flink.client import AsyncFlinkClient, ClientSettings, RetryPolicy
from airflow_provider_flink.client.resilience import reset_breakers

Handler = Callable[[httpx.Request], httpx.Response]
RECORDED = Path(__file__).parent / "recorded"
BASE = "http://flink.test:8081"
FAST_RETRY = RetryPolicy(attempts=4, initial=0.001, maximum=0.001, jitter=0.0)


def recorded(name: str) -> Any:
    """A response body recorded from a real Flink (file name says which version)."""
    return json.loads((RECORDED / name).read_text())


@pytest.fixture(autouse=True)
def _fast_default_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection's default retry policy (4 attempts) without its backoff: a unit test that
    meets an unreachable Flink through a hook waits no seconds for the same answer."""
    from airflow_provider_flink.hooks import connection

    monkeypatch.setattr(connection, "RetryPolicy", lambda: FAST_RETRY)


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def settings() -> ClientSettings:
    return ClientSettings(BASE, headers={"Authorization": "Bearer s3cr3t-token"}, retry=FAST_RETRY)


def use_flink_connection(monkeypatch: pytest.MonkeyPatch, host: str, **extra: Any) -> None:
    """``flink_default`` pointing at ``host``:8081 (faked HTTP), with connection extras."""
    conn: dict[str, Any] = {"conn_type": "flink", "host": host, "port": 8081}
    if extra:
        conn["extra"] = extra
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", json.dumps(conn))


@pytest.fixture
def fake_flink(monkeypatch: pytest.MonkeyPatch) -> Callable[[Handler], list[httpx.Request]]:
    """Route the triggers' async client to a handler; returns the list of requests seen."""
    from airflow_provider_flink.hooks.flink import FlinkHook

    use_flink_connection(monkeypatch, "flink.test")

    def install(handler: Handler) -> list[httpx.Request]:
        seen: list[httpx.Request] = []

        def recording(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return handler(request)

        async def aget_conn(self: Any) -> AsyncFlinkClient:
            settings = ClientSettings("http://flink.test:8081", retry=FAST_RETRY)
            return AsyncFlinkClient(settings, transport=httpx.MockTransport(recording))

        monkeypatch.setattr(FlinkHook, "aget_conn", aget_conn)
        return seen

    return install


def without_applications(base: str) -> None:
    """The mocked cluster is a Flink before 2.3 (no applications): its answer to the hook's
    ``GET /applications/overview`` (Flink 1.20.5's, as recorded), so submissions take /jars/{id}/run."""
    import responses

    responses.get(
        f"{base}/applications/overview", status=404, json=recorded("flink-1.20.5-unknown-path.json")
    )
