"""Table of every judgement a wait can make from one observation."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.client import models
from airflow_provider_flink.triggers.conditions import (
    describe_target,
    judge_cluster,
    judge_job,
    judge_savepoint,
)

J = "a" * 32


def job(state: str, *vertex_states: str) -> models.JobDetail:
    return models.JobDetail.model_validate(
        {
            "jid": J,
            "state": state,
            "vertices": [{"id": str(i), "name": f"v{i}", "status": s} for i, s in enumerate(vertex_states)],
        }
    )


@pytest.mark.parametrize(
    ("observed", "target", "states", "expected"),
    [
        (
            job("RUNNING", "RUNNING", "RUNNING"),
            "running",
            (),
            (True, "RUNNING", f"Job {J} is RUNNING with all 2 vertices RUNNING"),
        ),
        (job("RUNNING", "RUNNING", "DEPLOYING"), "running", (), None),
        (job("CREATED"), "running", (), None),
        (job("RESTARTING", "CANCELING"), "running", (), None),
        (
            job("FAILED", "FAILED"),
            "running",
            (),
            (
                False,
                "FAILED",
                f"Job {J} ended FAILED while waiting for it to be RUNNING with all vertices RUNNING",
            ),
        ),
        (
            job("FINISHED", "FINISHED"),
            "running",
            (),
            (
                False,
                "FINISHED",
                f"Job {J} ended FINISHED while waiting for it to be RUNNING with all vertices RUNNING",
            ),
        ),
        (job("FINISHED", "FINISHED"), "finished", (), (True, "FINISHED", f"Job {J} FINISHED")),
        (job("RUNNING", "RUNNING"), "finished", (), None),
        (
            job("CANCELED"),
            "finished",
            (),
            (False, "CANCELED", f"Job {J} ended CANCELED while waiting for it to be FINISHED"),
        ),
        (job("CANCELED"), "states", ("CANCELED",), (True, "CANCELED", f"Job {J} is CANCELED")),
        (job("CANCELLING"), "states", ("CANCELED",), None),
        (
            job("FINISHED"),
            "states",
            ("CANCELED", "FAILED"),
            (False, "FINISHED", f"Job {J} ended FINISHED while waiting for it to be CANCELED or FAILED"),
        ),
        (job("SUSPENDED"), "states", ("CANCELED",), None),
    ],
)
def test_judge_job(
    observed: models.JobDetail, target: Any, states: tuple[str, ...], expected: tuple[bool, str, str] | None
) -> None:
    verdict = judge_job(observed, target, states)
    if expected is None:
        assert verdict is None
    else:
        assert verdict is not None
        assert (verdict.ok, verdict.state, verdict.message) == expected


def test_healthy_needs_a_recent_checkpoint_when_asked() -> None:
    running = job("RUNNING", "RUNNING")
    now = 1_000_000
    assert judge_job(running, "running", checkpoint_within=10, last_checkpoint_ms=None, now_ms=now) is None
    assert (
        judge_job(running, "running", checkpoint_within=10, last_checkpoint_ms=now - 11_000, now_ms=now)
        is None
    )
    verdict = judge_job(running, "running", checkpoint_within=10, last_checkpoint_ms=now - 2_500, now_ms=now)
    assert verdict is not None
    assert verdict.message == f"Job {J} is healthy: all vertices RUNNING, last checkpoint 2.5 s ago"
    assert describe_target("running", checkpoint_within=10) == (
        "RUNNING with all vertices RUNNING and a checkpoint completed within 10 s"
    )


def test_judge_savepoint() -> None:
    status = models.AsyncOperationStatus.model_validate
    assert judge_savepoint(J, status({"status": {"id": "IN_PROGRESS"}})) is None
    done = judge_savepoint(
        J, status({"status": {"id": "COMPLETED"}, "operation": {"location": "file:/sp/1"}})
    )
    assert done is not None
    assert done.event(job_id=J).payload() == {
        "status": "success",
        "job_id": J,
        "state": "COMPLETED",
        "message": f"Savepoint of job {J} completed at file:/sp/1",
        "location": "file:/sp/1",
    }
    failed = judge_savepoint(
        J,
        status(
            {
                "status": {"id": "COMPLETED"},
                "operation": {
                    "failure-cause": {"class": "x", "stack-trace": "java.io.IOException: disk full"}
                },
            }
        ),
        "Stop-with-savepoint",
    )
    assert failed is not None
    assert not failed.ok
    assert failed.message == f"Stop-with-savepoint of job {J} failed: java.io.IOException: disk full"
    odd = judge_savepoint(J, status({"status": {"id": "COMPLETED"}, "operation": {}}))
    assert odd is not None
    assert odd.message == f"Savepoint of job {J} failed: Flink reported no location and no cause"


def test_judge_cluster() -> None:
    info = models.ClusterOverview.model_validate(
        {"taskmanagers": 1, "slots-total": 4, "slots-available": 1, "flink-version": "2.3.0"}
    )
    assert judge_cluster(info, 1, 2) is None
    assert judge_cluster(info, 2, 1) is None
    verdict = judge_cluster(info, 1, 1)
    assert verdict is not None
    assert verdict.message == "Cluster healthy: Flink 2.3.0: 1 task manager(s), 1 free slot(s) of 4"
