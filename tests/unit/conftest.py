from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.client import ClientSettings, RetryPolicy
from airflow_provider_flink.client.resilience import reset_breakers

RECORDED = Path(__file__).parent / "recorded"
BASE = "http://flink.test:8081"
FAST_RETRY = RetryPolicy(attempts=4, initial=0.001, maximum=0.001, jitter=0.0)


def recorded(name: str) -> Any:
    """A response body recorded from a real Flink (file name says which version)."""
    return json.loads((RECORDED / name).read_text())


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    reset_breakers()
    yield
    reset_breakers()


@pytest.fixture
def settings() -> ClientSettings:
    return ClientSettings(BASE, headers={"Authorization": "Bearer s3cr3t-token"}, retry=FAST_RETRY)
