"""The hook's verbs (sync) and the async verbs the triggers use: the rules they share."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import responses

from airflow_provider_flink.client import FlinkApiError
from airflow_provider_flink.hooks import FlinkHook
from tests.unit.conftest import use_flink_connection

URL = "http://flink-verbs.test:8081"
J = "d" * 32


@pytest.fixture(autouse=True)
def conn(monkeypatch: pytest.MonkeyPatch) -> None:
    use_flink_connection(monkeypatch, "flink-verbs.test")


@pytest.mark.parametrize(("status", "sent"), [(202, True), (404, False), (409, False)])
@responses.activate
def test_cancel_of_an_unknown_or_ended_job_is_no_error(status: int, sent: bool) -> None:
    responses.patch(f"{URL}/jobs/{J}", status=status, json={"errors": ["whatever Flink says"]})
    assert FlinkHook().cancel_job(J) is sent


@responses.activate
def test_cancel_refused_for_another_reason_raises_flinks_cause() -> None:
    responses.patch(f"{URL}/jobs/{J}", status=400, json={"errors": ["java.lang.IllegalStateException: no"]})
    with pytest.raises(
        FlinkApiError, match=rf"HTTP 400 to PATCH /jobs/{J}: java.lang.IllegalStateException: no"
    ):
        FlinkHook().cancel_job(J)


@responses.activate
def test_find_job_is_none_only_for_404() -> None:
    responses.get(f"{URL}/jobs/{J}", status=404, json={"errors": ["Job not found"]})
    assert FlinkHook().find_job(J) is None
    responses.replace(responses.GET, f"{URL}/jobs/{J}", status=400, json={"errors": ["bad id"]})
    with pytest.raises(FlinkApiError, match="HTTP 400"):
        FlinkHook().find_job(J)


@responses.activate
def test_kill_none_sends_nothing() -> None:
    FlinkHook().kill_job(J, "none")
    assert len(responses.calls) == 0


@responses.activate
def test_upload_reuses_a_jar_with_the_same_digest(tmp_path: Any) -> None:
    jar = tmp_path / "orders.jar"
    jar.write_bytes(b"PK")
    digest = "e" * 64
    responses.get(
        f"{URL}/jars",
        json={
            "files": [
                {"id": "x_orders.sha256-" + digest + ".jar", "name": "orders.sha256-" + digest + ".jar"}
            ]
        },
    )
    assert (
        FlinkHook().upload_jar(jar, digest, "s3://jobs/orders.jar?versionId=7")
        == f"x_orders.sha256-{digest}.jar"
    )
    assert [c.request.method for c in responses.calls] == ["GET"]  # nothing uploaded


def test_async_verbs_share_the_rules(fake_flink: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(404, json={"errors": ["Job not found"]})
        return httpx.Response(202, json={"request-id": "f" * 32})

    seen = fake_flink(handler)

    async def go() -> Any:
        async with FlinkHook().async_verbs() as flink:
            missing = await flink.find_job(J)
            await flink.kill_job(J, "none")
            await flink.kill_job(J, "stop")
            return missing

    assert asyncio.run(go()) is None
    assert [(r.method, r.url.path) for r in seen] == [("GET", f"/jobs/{J}"), ("POST", f"/jobs/{J}/stop")]
    assert json.loads(seen[1].content)["triggerId"]  # a fresh trigger id per stop


@responses.activate
def test_the_example_in_docs_hook_md_works() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "hook.md").read_text()
    source = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(source, "docs/hook.md", "exec"), namespace)  # noqa: S102 - the page's own code, as written
    other = "e" * 32
    responses.get(
        f"{URL}/jobs/overview",
        json={"jobs": [{"jid": J, "state": "RUNNING"}, {"jid": other, "state": "FINISHED"}]},
    )
    responses.post(f"{URL}/jobs/{J}/savepoints", status=202, json={"request-id": "x"})
    started = namespace["savepoint_every_running_job"].function()
    (one,) = started
    assert one.startswith(f"{J}/")
    sent = json.loads(responses.calls[1].request.body)
    assert sent["triggerId"] == one.split("/")[1]  # the id chosen before the request
    assert sent["cancel-job"] is False
