"""A person's answer to an approval request, written into the deployment's record.

The approval DAG's task (operators/approval.py) calls :func:`record_answer` once a person answered
(or nobody did in time). It writes like any run: a compare-and-set under the deployment's lease,
so it never overwrites what a reconcile wrote meanwhile; a lease a reconcile holds is waited for
(a run holds it seconds). The next reconcile run reads the answer and acts, or says it was
rejected (deployments/approvals.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from airflow_provider_flink.deployments import transitions
from airflow_provider_flink.deployments.stores import RunRecords
from airflow_provider_flink.exceptions import DeploymentBusyError

BUSY_WAIT_SECONDS = 120.0  # a reconcile holds a deployment's lease for one action at a time


@dataclass(frozen=True)
class Request:
    """An approval request as the approval DAG's run names it (its conf)."""

    deployment: str
    cluster: str
    key: str


@dataclass(frozen=True)
class Answered:
    """What :func:`record_answer` did: its words, and the decision the record now holds for the
    request (None: the request is not in the record any more)."""

    text: str
    decision: str | None


def record_answer(
    records: RunRecords,
    request: Request,
    approved: bool,
    by: str,
    note: str | None = None,
    now: float | None = None,
    expired: bool = False,
) -> Answered:
    """Write the answer to ``request`` (``expired``: nobody answered in time; the next run asks
    again); or say why nothing was written (the request is not in the record any more, or another
    answer was recorded first: the first one stands)."""

    @retry(
        retry=retry_if_exception_type(DeploymentBusyError),
        wait=wait_exponential(multiplier=0.5, max=10),
        stop=stop_after_delay(BUSY_WAIT_SECONDS),
        reraise=True,
    )
    def write() -> Answered:
        record = records.get(request.cluster, request.deployment)
        asked = record.approval(request.key) if record is not None else None
        if record is None or asked is None:
            return Answered(
                f"{request.deployment}: request {request.key} is not in its record any more: nothing recorded",
                None,
            )
        if asked.decision is not None:
            return Answered(
                f"{request.deployment}: request {request.key} was already {asked.decision} by {asked.by}: "
                "the first answer stands",
                asked.decision,
            )
        at = time.time() if now is None else now
        if expired:
            records.write(transitions.approval_expired(record, request.key, at, note))
            return Answered(
                f"{request.deployment}: {asked.action}: nobody answered ({note or 'timeout'}); "
                "the next reconcile run asks again",
                "expired",
            )
        records.write(transitions.approval_decided(record, request.key, approved, by, at, note))
        word = "approved" if approved else "rejected"
        return Answered(f"{request.deployment}: {asked.action}: {word} by {by}", word)

    try:
        return write()
    finally:
        records.release(request.cluster, request.deployment)
