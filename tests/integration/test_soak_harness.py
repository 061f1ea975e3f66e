"""The soak's own faults on the harness (faults/soak): a PostgreSQL crash and restart keeps what
was committed; a REST outage refuses every request until it is over, then forwards again."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from airflow_provider_flink.client import calls
from harness.fault_proxy import FaultProxy
from harness.postgres import LocalPostgres
from tests.integration.conftest import VERSIONS, Cluster

pytestmark = pytest.mark.integration


def test_a_crashed_postgres_starts_again_on_its_port_with_its_data() -> None:
    server = LocalPostgres(durable=True).start()
    try:
        engine = create_engine(server.url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE kept (n INT)"))
            conn.execute(text("INSERT INTO kept VALUES (7)"))
        engine.dispose()
        port = server.port
        server.crash()
        with pytest.raises(Exception, match=r"Connection refused|could not connect"):
            create_engine(server.url).connect()
        server.restart()
        assert server.port == port
        engine = create_engine(server.url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT n FROM kept")).scalar_one() == 7
        engine.dispose()
    finally:
        server.stop()


def test_a_rest_outage_refuses_every_request_then_forwards_again(flink: Cluster) -> None:
    proxy = FaultProxy(flink.flink.rest_url).start()
    try:
        with httpx.Client(base_url=proxy.url, timeout=5) as client:
            assert client.get("/overview").status_code == 200
            proxy.outage(1.5)
            with pytest.raises(httpx.HTTPError):
                client.get("/overview")
            time.sleep(1.6)
            assert client.get("/overview").status_code == 200
        assert ("GET", "/overview") in proxy.requests
    finally:
        proxy.stop()


def test_the_soaks_sampler_flags_a_job_started_without_its_state(flink: Cluster) -> None:
    """The outside checker can fail: a deployment's job replaced by one started without its state
    (the counter from 0, below what the old job had by its newest checkpoint) is flagged; a
    cancelled job is down, a counting one up."""
    from faults.soak.uptime import UptimeSampler
    from harness.job_jars import COUNTER_JOB
    from harness.waiting import wait_for

    if flink.version != VERSIONS[0]:
        pytest.skip(f"runs on Flink {VERSIONS[0]} in this suite")
    args = ["--rate", "50", "--checkpoint-interval-ms", "500"]
    old = flink.run(COUNTER_JOB, args=[*args, "--name", "t-sampler.g1"])
    sampler = UptimeSampler(flink.flink.rest_url, ["t-sampler"], interval=0.5).start()
    try:
        wait_for("the old job up", lambda: sampler.current.get("t-sampler") == old and _up(sampler), 60)
        completed = flink.client.call(calls.job_checkpoints(old)).counts.completed
        wait_for(
            "a checkpoint after the sampler's first counter",
            lambda: flink.client.call(calls.job_checkpoints(old)).counts.completed > completed + 1,
            30,
        )
        time.sleep(1.0)  # the sampler reads the newest checkpoint
        flink.client.call(calls.cancel_job(old))
        wait_for("the old job down", lambda: not _up(sampler), 30)
        assert sampler.back == []
        new = flink.run(COUNTER_JOB, args=[*args, "--name", "t-sampler.g2"])  # no state restored
        wait_for("the new job up", lambda: sampler.current.get("t-sampler") == new and _up(sampler), 60)
        [back] = sampler.back
        assert back.startswith(f"t-sampler: job {new} started at counter ")
        assert f"job {old} had counted by its newest snapshot" in back
        flink.client.call(calls.cancel_job(new))
    finally:
        sampler.stop()


def _up(sampler: object) -> bool:
    samples = sampler.samples  # type: ignore[attr-defined]
    return bool(samples) and bool(samples[-1][1]) and samples[-1][1]["t-sampler"][0]
