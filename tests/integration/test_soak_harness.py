"""The soak's own faults on the harness (faults/soak): a PostgreSQL crash and restart keeps what
was committed; a REST outage refuses every request until it is over, then forwards again."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import create_engine, text

from harness.fault_proxy import FaultProxy
from harness.postgres import LocalPostgres
from tests.integration.conftest import Cluster

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
