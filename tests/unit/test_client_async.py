"""The httpx transport against httpx.MockTransport: same rules as the sync one."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from airflow_provider_flink.client import (
    AsyncFlinkClient,
    ClientSettings,
    FlinkApiError,
    FlinkTimeoutError,
    FlinkUnreachableError,
    calls,
)
from tests.unit.conftest import BASE, recorded


def _client(settings: ClientSettings, handler: Callable[[httpx.Request], httpx.Response]) -> AsyncFlinkClient:
    return AsyncFlinkClient(settings, transport=httpx.MockTransport(handler))


def test_async_reads_checkpoints_with_auth(settings: ClientSettings) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=recorded("flink-2.3.0-checkpoints.json"))

    async def go() -> str | None:
        async with _client(settings, handler) as client:
            result = await client.call(calls.job_checkpoints("a" * 32))
            return result.latest.completed.external_path if result.latest.completed else None

    path = asyncio.run(go())
    assert path is not None
    assert path.startswith("file:/")
    assert "/chk-" in path
    assert seen[0].headers["authorization"] == "Bearer s3cr3t-token"
    assert seen[0].url == f"{BASE}/jobs/{'a' * 32}/checkpoints"


@pytest.mark.parametrize(
    ("raised", "error", "sent", "reason", "attempts"),
    [
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            FlinkUnreachableError,
            False,
            "connection refused",
            4,
        ),
        (httpx.ReadTimeout("timed out"), FlinkTimeoutError, True, "timed out (ReadTimeout)", 1),
    ],
    ids=["refused: never sent, retried", "read timeout: outcome unknown, not repeated"],
)
def test_async_upload_failures_follow_the_retry_rules(
    settings: ClientSettings,
    tmp_path: Path,
    raised: Exception,
    error: type[Exception],
    sent: bool,
    reason: str,
    attempts: int,
) -> None:
    seen: list[int] = []
    jar = tmp_path / "job.jar"
    jar.write_bytes(b"PK")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        raise raised

    async def go() -> None:
        async with _client(settings, handler) as client:
            await client.call(calls.upload_jar(jar))

    with pytest.raises(error) as info:
        asyncio.run(go())
    assert info.value.request_sent is sent  # type: ignore[attr-defined]
    assert info.value.reason == reason  # type: ignore[attr-defined]
    assert len(seen) == attempts


def test_async_upload_streams_the_file(settings: ClientSettings, tmp_path: Path) -> None:
    jar = tmp_path / "big.jar"
    payload = b"x" * (3 * 1024 * 1024 + 17)
    jar.write_bytes(payload)
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.read()
        bodies.append(body)
        assert int(request.headers["content-length"]) == len(body)
        assert "transfer-encoding" not in request.headers
        return httpx.Response(200, json={"filename": "/u/1_big.jar", "status": "success"})

    async def go() -> str:
        async with _client(settings, handler) as client:
            return (await client.call(calls.upload_jar(jar))).jar_id

    assert asyncio.run(go()) == "1_big.jar"
    assert payload in bodies[0]


def test_async_savepoint_failure_is_read_from_a_completed_status(settings: ClientSettings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=recorded("flink-2.3.0-savepoint-failed.json"))

    async def go() -> object:
        async with _client(settings, handler) as client:
            return await client.call(calls.savepoint_status("a" * 32, "b" * 32))

    status = asyncio.run(go())
    assert not status.in_progress  # type: ignore[attr-defined]
    assert not status.succeeded  # type: ignore[attr-defined]
    assert status.failure == (  # type: ignore[attr-defined]
        "java.io.IOException: Failed to create savepoint directory at file:/proc/nope"
    )


def test_async_api_error_carries_flinks_cause(settings: ClientSettings) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json=recorded("flink-2.3.0-duplicate-job-id.json"))

    async def go() -> None:
        async with _client(settings, handler) as client:
            await client.call(calls.job("a" * 32))

    with pytest.raises(FlinkApiError) as info:
        asyncio.run(go())
    assert info.value.is_duplicate_submission
