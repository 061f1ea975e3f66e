"""Table of every judgement a wait can make from one observation."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.client import models
from airflow_provider_flink.triggers.conditions import (
    Verdict,
    describe_target,
    is_healthy,
    judge_checkpoint,
    judge_cluster,
    judge_job,
    judge_savepoint,
    parallelisms,
    runs_at_parallelism,
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
    assert judge_cluster(info, 1, 1) == Verdict(
        True,
        "HEALTHY",
        "Cluster healthy: Flink 2.3.0: 1 task manager(s), 1 free slot(s) of 4",
        {"taskmanagers": 1, "free_slots": 1},
    )


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


@pytest.mark.parametrize(
    ("tasks", "healthy"),
    [
        # a job of one task: one RUNNING is enough
        ({"running": 1, "total": 1}, True),
        # no task RUNNING (the count missing): not healthy, however many FINISHED
        ({"finished": 1, "total": 2}, False),
        # no total said: nothing proves every task is up
        ({"running": 1}, False),
    ],
)
def test_health_from_the_overview_counts_only_what_flink_says(tasks: dict[str, int], healthy: bool) -> None:
    job = models.JobOverview.model_validate({"jid": J, "state": "RUNNING", "tasks": tasks})
    assert is_healthy(job) is healthy


def parallel(state: str, *parallelism: int, status: str = "RUNNING") -> models.JobDetail:
    vertices = [
        {"id": str(i), "name": f"v{i}", "status": status, "parallelism": p} for i, p in enumerate(parallelism)
    ]
    return models.JobDetail.model_validate({"jid": J, "state": state, "vertices": vertices})


def test_runs_at_parallelism_needs_health_and_every_vertex_at_it() -> None:
    assert runs_at_parallelism(parallel("RUNNING", 2, 2), 2)
    assert not runs_at_parallelism(parallel("RUNNING", 2, 1), 2)  # one vertex still at the old one
    assert not runs_at_parallelism(parallel("RUNNING", 2, 2), 1)
    assert not runs_at_parallelism(parallel("RUNNING", 2, 2, status="DEPLOYING"), 2)  # not healthy


def test_parallelisms_one_number_when_the_vertices_agree() -> None:
    assert parallelisms(parallel("RUNNING", 3, 3)) == "3"
    assert parallelisms(parallel("RUNNING", 1, 2)) == "v0=1, v1=2"


def test_judge_job_at_a_parallelism() -> None:
    assert judge_job(parallel("RUNNING", 2, 1), "running", parallelism=2) is None  # healthy, not rescaled
    verdict = judge_job(parallel("RUNNING", 2, 2), "running", parallelism=2)
    assert verdict == Verdict(
        True, "RUNNING", f"Job {J} is RUNNING at parallelism 2 with all 2 vertices RUNNING"
    )
    assert describe_target("running", parallelism=2) == "RUNNING at parallelism 2 with all vertices RUNNING"
    # the target as the wait described it: parallelism and checkpoint age both named
    ended = judge_job(parallel("FAILED", 2, status="FAILED"), "running", checkpoint_within=10, parallelism=2)
    assert ended == Verdict(
        False,
        "FAILED",
        f"Job {J} ended FAILED while waiting for it to be RUNNING at parallelism 2 with all vertices "
        "RUNNING and a checkpoint completed within 10 s",
    )


def test_the_checkpoint_age_limit_is_inclusive_and_in_seconds() -> None:
    running, now = job("RUNNING", "RUNNING"), 1_000_000
    at_limit = judge_job(
        running, "running", checkpoint_within=100, last_checkpoint_ms=now - 100_000, now_ms=now
    )
    assert at_limit == Verdict(
        True, "RUNNING", f"Job {J} is healthy: all 1 vertices RUNNING, last checkpoint 100.0 s ago"
    )
    assert (
        judge_job(running, "running", checkpoint_within=10, last_checkpoint_ms=now - 10_001, now_ms=now)
        is None
    )
    recent = judge_job(running, "running", checkpoint_within=10, last_checkpoint_ms=now - 500, now_ms=now)
    assert recent == Verdict(
        True, "RUNNING", f"Job {J} is healthy: all 1 vertices RUNNING, last checkpoint 0.5 s ago"
    )


def test_a_failed_savepoint_is_a_failed_verdict_without_a_location() -> None:
    status = models.AsyncOperationStatus.model_validate(
        {"status": {"id": "COMPLETED"}, "operation": {"failure-cause": {"class": "java.io.IOException"}}}
    )
    assert judge_savepoint(J, status) == Verdict(
        False, "FAILED", f"Savepoint of job {J} failed: java.io.IOException", {"location": None}
    )


def test_judge_checkpoint() -> None:
    status = models.CheckpointTriggerStatus.model_validate
    assert judge_checkpoint(J, status({"status": {"id": "IN_PROGRESS"}})) is None
    done = status({"status": {"id": "COMPLETED"}, "operation": {"checkpointId": 42}})
    assert judge_checkpoint(J, done) == Verdict(True, "CHECKPOINTED", f"Checkpoint 42 of job {J} completed")
    failed = status({"status": {"id": "COMPLETED"}, "operation": {"failureCause": {"class": "x.Declined"}}})
    assert judge_checkpoint(J, failed) == Verdict(
        False, "FAILED", f"Checkpoint of job {J} failed: x.Declined"
    )
    odd = status({"status": {"id": "COMPLETED"}, "operation": {}})
    assert judge_checkpoint(J, odd) == Verdict(
        False, "FAILED", f"Checkpoint of job {J} failed: Flink reported no checkpoint id"
    )
