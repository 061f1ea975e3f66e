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


def record_answer(
    records: RunRecords,
    request: Request,
    approved: bool,
    by: str,
    note: str | None = None,
    now: float | None = None,
) -> str:
    """Write the answer to ``request``; returns what was recorded, or why nothing was (the request
    is not in the record any more, or another answer was recorded first: the first one stands)."""

    @retry(
        retry=retry_if_exception_type(DeploymentBusyError),
        wait=wait_exponential(multiplier=0.5, max=10),
        stop=stop_after_delay(BUSY_WAIT_SECONDS),
        reraise=True,
    )
    def write() -> str:
        record = records.get(request.cluster, request.deployment)
        asked = record.approval(request.key) if record is not None else None
        if record is None or asked is None:
            return (
                f"{request.deployment}: request {request.key} is not in its record any more: nothing recorded"
            )
        if asked.decision is not None:
            return (
                f"{request.deployment}: request {request.key} was already {asked.decision} by {asked.by}: "
                "the first answer stands"
            )
        decided = transitions.approval_decided(
            record, request.key, approved, by, time.time() if now is None else now, note
        )
        records.write(decided)
        word = "approved" if approved else "rejected"
        return f"{request.deployment}: {asked.action}: {word} by {by}"

    try:
        return write()
    finally:
        records.release(request.cluster, request.deployment)
