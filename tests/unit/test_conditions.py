"""Table of every judgement a wait can make from one observation."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.client import models
from airflow_provider_flink.triggers.conditions import (
    describe_target,
    is_healthy,
    judge_cluster,
    judge_job,
    judge_savepoint,
    vertices_not_up,
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
    assert verdict.message == f"Job {J} is healthy: all 1 vertices RUNNING, last checkpoint 2.5 s ago"
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


def test_a_running_job_with_a_vertex_still_deploying_is_not_healthy() -> None:
    from tests.unit.conftest import recorded

    detail = recorded("flink-2.3.0-running-job.json")
    assert is_healthy(models.JobDetail.model_validate(detail))
    detail["vertices"][1]["status"] = "DEPLOYING"
    job = models.JobDetail.model_validate(detail)
    assert job.state is models.JobState.RUNNING
    assert not is_healthy(job)
    assert vertices_not_up(job) == [f"{detail['vertices'][1]['name']}=DEPLOYING"]


@pytest.mark.parametrize(
    ("state", "tasks", "healthy"),
    [
        ("RUNNING", {"running": 2, "total": 2}, True),
        # a source subtask with no split ends FINISHED at once (more parallelism than splits, e.g.
        # after an upscale 1 -> 2): the job is healthy; judged unhealthy, it was once rolled back
        ("RUNNING", {"running": 3, "finished": 1, "total": 4}, True),
        ("RUNNING", {"running": 1, "deploying": 1, "total": 2}, False),
        ("RUNNING", {"finished": 2, "total": 2}, False),
        ("RUNNING", {"total": 0}, False),
        ("RESTARTING", {"running": 2, "total": 2}, False),
    ],
)
def test_one_judgement_of_health_from_the_overview(state: str, tasks: dict[str, int], healthy: bool) -> None:
    job = models.JobOverview.model_validate({"jid": "a" * 32, "state": state, "tasks": tasks})
    assert is_healthy(job) is healthy


@pytest.mark.parametrize(
    ("statuses", "healthy"),
    [
        (["RUNNING", "RUNNING"], True),
        (["FINISHED", "RUNNING"], True),
        (["FINISHED", "FINISHED"], False),
        (["RUNNING", "INITIALIZING"], False),
        ([], False),
    ],
)
def test_the_same_judgement_from_the_vertices(statuses: list[str], healthy: bool) -> None:
    vertices = [{"id": str(i), "name": f"v{i}", "status": s} for i, s in enumerate(statuses)]
    job = models.JobDetail.model_validate({"jid": "a" * 32, "state": "RUNNING", "vertices": vertices})
    assert is_healthy(job) is healthy
    verdict = judge_job(job, "running")
    assert (verdict is not None) is healthy
    if statuses == ["FINISHED", "RUNNING"]:
        assert verdict is not None
        assert verdict.message == (
            f"Job {'a' * 32} is RUNNING with 1 vertices RUNNING and 1 FINISHED (a bounded source done)"
        )
