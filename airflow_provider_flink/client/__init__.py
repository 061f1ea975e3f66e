"""Typed Flink REST client with no Airflow import: the lowest layer (see docs/architecture.md).

``calls`` describes each REST call once; :class:`FlinkClient` (requests) and
:class:`AsyncFlinkClient` (httpx) send them::

    from airflow_provider_flink.client import FlinkClient, ClientSettings, calls

    with FlinkClient(ClientSettings("http://127.0.0.1:8081")) as client:
        print(client.call(calls.overview()).flink_version)
"""

from airflow_provider_flink.client import calls, models
from airflow_provider_flink.client.errors import (
    FlinkApiError,
    FlinkCircuitOpenError,
    FlinkError,
    FlinkOutcomeUnknownError,
    FlinkResponseError,
    FlinkTimeoutError,
    FlinkUnreachableError,
)
from airflow_provider_flink.client.resilience import CircuitBreaker, RetryPolicy
from airflow_provider_flink.client.transport import AsyncFlinkClient, ClientSettings, FlinkClient, TlsConfig

__all__ = [
    "AsyncFlinkClient",
    "CircuitBreaker",
    "ClientSettings",
    "FlinkApiError",
    "FlinkCircuitOpenError",
    "FlinkClient",
    "FlinkError",
    "FlinkOutcomeUnknownError",
    "FlinkResponseError",
    "FlinkTimeoutError",
    "FlinkUnreachableError",
    "RetryPolicy",
    "TlsConfig",
    "calls",
    "models",
]
