"""Errors more than one layer raises or catches, in one place below all of them.

The REST client's own errors (:class:`FlinkError` and its kinds) live in
:mod:`airflow_provider_flink.client.errors`, which imports nothing of Airflow; the three a DAG
author catches are re-exported here: :class:`FlinkError` (any of them), :class:`FlinkApiError`
(Flink answered with an error) and :class:`FlinkUnreachableError` (no answer: state unknown).

Each message says what was wrong and what to do; none carries a secret.
"""

from __future__ import annotations

# Airflow 3.3 moved its task exceptions to the SDK (the old names warn); 3.1 and 3.2 have them only
# in airflow.exceptions. One import here, so the rest of the provider runs on all of them (3.1 to 3.4).
try:
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
        TaskDeferred,
    )
except ImportError:  # Airflow 3.1 / 3.2
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined]
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
        AirflowSkipException,
        TaskDeferred,
    )

from airflow_provider_flink.client.errors import FlinkApiError, FlinkError, FlinkUnreachableError

__all__ = [
    "AirflowException",
    "AirflowFailException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "ArtifactError",
    "DeploymentBusyError",
    "FlinkApiError",
    "FlinkConnectionError",
    "FlinkError",
    "FlinkOperatorError",
    "FlinkRefusedError",
    "FlinkUnreachableError",
    "LimitError",
    "ReconcileError",
    "RecordConflictError",
    "RecordStoreError",
    "RescaleNotPossibleError",
    "TaskDeferred",
]


class FlinkConnectionError(ValueError):
    """The Airflow connection's fields do not make sense; the message names the field to fix."""


class LimitError(ValueError):
    """A request exceeds the connection's caps; the message names the cap and the value."""


class ArtifactError(ValueError):
    """The artifact cannot be used; the message names it and says why. Nothing was uploaded."""


class ReconcileError(RuntimeError):
    """An action could not be completed; the message says what happened and what state things are in."""


class DeploymentBusyError(ReconcileError):
    """Another actor changed the deployment's record while this run was acting on it (I8): this
    run stops acting on that deployment and leaves it to the other one."""


class RecordConflictError(DeploymentBusyError):
    """A record write lost a race: the stored revision is not the one this run read, or this run's
    lease on the deployment was taken over or ran out. Not a failure: the run stops acting on the
    deployment (yielded), the actor that won goes on."""


class RecordStoreError(ReconcileError):
    """The record store could not be read or written (unreachable, a server error, a table it
    cannot create): a failure, never taken for a lost race. The message names the store and the
    cause, never its credentials."""


class RescaleNotPossibleError(RuntimeError):
    """Flink cannot change this job's parallelism in place (not the adaptive scheduler, a batch
    job, a job that does not run ...); the message says why. Nothing was changed on the cluster.
    ``transient``: the same request may pass later (the job not RUNNING yet, no checkpoint yet)."""

    def __init__(self, reason: str, *, transient: bool = False) -> None:
        super().__init__(reason)
        self.transient = transient


class FlinkOperatorError(AirflowException):
    """A Flink operation did not reach its goal; the message carries Flink's cause."""


class FlinkRefusedError(FlinkOperatorError, AirflowFailException):
    """Refused for a reason only a person can resolve (an invalid spec, a cap, a restart limit
    reached): the task fails without its retries, which would fail the same way and hold its
    DAG's next runs behind it."""
