"""Errors more than one layer raises or catches, in one place below all of them.

The REST client's own errors (:class:`FlinkError` and its kinds) live in
:mod:`airflow_provider_flink.client.errors`, which imports nothing of Airflow; they are re-exported
here so a DAG author finds every error of the provider in one module.

Each message says what was wrong and what to do; none carries a secret.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException

from airflow_provider_flink.client.errors import (
    FlinkApiError,
    FlinkCircuitOpenError,
    FlinkError,
    FlinkResponseError,
    FlinkTimeoutError,
    FlinkUnreachableError,
)

__all__ = [
    "ArtifactError",
    "FlinkApiError",
    "FlinkCircuitOpenError",
    "FlinkConnectionError",
    "FlinkError",
    "FlinkOperatorError",
    "FlinkResponseError",
    "FlinkTimeoutError",
    "FlinkUnreachableError",
    "LimitError",
    "ReconcileError",
]


class FlinkConnectionError(ValueError):
    """The Airflow connection's fields do not make sense; the message names the field to fix."""


class LimitError(ValueError):
    """A request exceeds the connection's caps; the message names the cap and the value."""


class ArtifactError(ValueError):
    """The artifact cannot be used; the message names it and says why. Nothing was uploaded."""


class ReconcileError(RuntimeError):
    """An action could not be completed; the message says what happened and what state things are in."""


class FlinkOperatorError(AirflowException):
    """A Flink operation did not reach its goal; the message carries Flink's cause."""
