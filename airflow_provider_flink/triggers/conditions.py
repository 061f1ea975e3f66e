"""What each wait is waiting for, decided from one observation: pure functions, no I/O.

Triggers (deferred waits), the operators' in-process waits and the sensors' ``poke`` all judge
observations here, so "healthy", "finished" or "savepoint done" mean the same everywhere.
A judge returns ``None`` to keep waiting or a :class:`Verdict` when the wait is over.

Only Flink's own terminal states end a wait as failed: anything not observed (errors, time-outs)
never reaches a judge, so it can never be mistaken for a failure (invariant I3).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_flink.client import models
from airflow_provider_flink.client.models import VERTEX_UP, JobState, VertexState, named_states
from airflow_provider_flink.triggers.events import WaitEvent

JobTarget = Literal["running", "finished", "states"]


def is_healthy(job: models.JobOverview | models.JobDetail) -> bool:
    """The one judgement of "healthy", for waits, sensors, the planner and the executor alike:
    the job is RUNNING, every vertex (or task) is RUNNING or FINISHED, and at least one RUNNING.

    A RUNNING job can still be scheduling or restarting its tasks, so the job state alone is not
    enough; a FINISHED subtask of a bounded source is not a problem. ``/jobs/overview`` gives the
    task counts, ``/jobs/{id}`` the vertices: the same rule on either.
    """
    if job.state is not JobState.RUNNING:
        return False
    if isinstance(job, models.JobDetail):
        # A vertex is RUNNING, or FINISHED while the job runs on (models.VERTEX_UP): a source
        # subtask with no split to read (more parallelism than splits, e.g. after an upscale)
        # ends FINISHED at once.
        statuses = [VertexState(vertex.status) for vertex in job.vertices]
        return VertexState.RUNNING in statuses and all(status in VERTEX_UP for status in statuses)
    running, finished = job.tasks.get("running", 0), job.tasks.get("finished", 0)
    return running > 0 and running + finished == job.tasks.get("total", 0)


def runs_at_parallelism(job: models.JobDetail, parallelism: int) -> bool:
    """The one judgement of "the job runs at parallelism n" (a rescale's end, in place or not):
    healthy (:func:`is_healthy`) and every vertex at ``parallelism``.

    A rescale in place keeps the job id and the job RUNNING before and after, so health alone
    cannot tell the new parallelism from the old: the vertices' own parallelism does (Flink builds
    a new execution graph at the new parallelism).
    """
    return is_healthy(job) and all(vertex.parallelism == parallelism for vertex in job.vertices)


def parallelisms(job: models.JobDetail) -> str:
    """The vertices' parallelism, as one number when they agree (``"1"``) or per vertex."""
    values = {vertex.parallelism for vertex in job.vertices}
    if len(values) == 1:
        return str(values.pop())
    return ", ".join(f"{v.name}={v.parallelism}" for v in job.vertices)


def vertices_not_up(job: models.JobDetail) -> list[str]:
    """``name=STATUS`` of each vertex that keeps a RUNNING job from being healthy."""
    return [f"{v.name}={v.status}" for v in job.vertices if VertexState(v.status) not in VERTEX_UP]


@dataclass(frozen=True)
class Verdict:
    """The end of a wait: ``ok`` or not, the state seen, a sentence for the log and the task."""

    ok: bool
    state: str
    message: str
    extra: dict[str, Any] = field(default_factory=dict)

    def event(self, **ids: Any) -> WaitEvent:
        """The wait's end as the event every waiter reads (``ids`` name the job / trigger waited on)."""
        return WaitEvent(
            status="success" if self.ok else "failed",
            message=self.message,
            state=self.state,
            **ids,
            **self.extra,
        )


def describe_target(
    target: JobTarget,
    states: Sequence[str] = (),
    checkpoint_within: float | None = None,
    parallelism: int | None = None,
) -> str:
    if target == "running":
        at = f" at parallelism {parallelism}" if parallelism is not None else ""
        text = f"RUNNING{at} with all vertices RUNNING"
        if checkpoint_within:
            text += f" and a checkpoint completed within {checkpoint_within:g} s"
        return text
    if target == "finished":
        return "FINISHED"
    return " or ".join(states)


def judge_job(
    job: models.JobDetail,
    target: JobTarget,
    states: Sequence[str] = (),
    checkpoint_within: float | None = None,
    last_checkpoint_ms: int | None = None,
    now_ms: int = 0,
    parallelism: int | None = None,
) -> Verdict | None:
    """``parallelism``: with target ``running``, healthy is not enough: every vertex must run at
    it (:func:`runs_at_parallelism`)."""
    state = job.state
    wanted = describe_target(target, states, checkpoint_within, parallelism)
    if target == "states" and state in named_states(states):
        return Verdict(True, state.value, f"Job {job.jid} is {state.value}")
    if target == "finished" and state is JobState.FINISHED:
        return Verdict(True, state.value, f"Job {job.jid} FINISHED")
    up = is_healthy(job) if parallelism is None else runs_at_parallelism(job, parallelism)
    if target == "running" and up:
        if not checkpoint_within:
            at = f" at parallelism {parallelism}" if parallelism is not None else ""
            return Verdict(True, state.value, f"Job {job.jid} is RUNNING{at} with {_vertices_up(job)}")
        if last_checkpoint_ms is not None and now_ms - last_checkpoint_ms <= checkpoint_within * 1000:
            age = max(0.0, (now_ms - last_checkpoint_ms) / 1000)
            return Verdict(
                True,
                state.value,
                f"Job {job.jid} is healthy: {_vertices_up(job)}, last checkpoint {age:.1f} s ago",
            )
        return None
    if state.is_globally_terminal:
        return Verdict(
            False, state.value, f"Job {job.jid} ended {state.value} while waiting for it to be {wanted}"
        )
    return None


def _vertices_up(job: models.JobDetail) -> str:
    finished = sum(1 for v in job.vertices if VertexState(v.status) is VertexState.FINISHED)
    if not finished:
        return f"all {len(job.vertices)} vertices RUNNING"
    return f"{len(job.vertices) - finished} vertices RUNNING and {finished} FINISHED (a bounded source done)"


def judge_savepoint(
    job_id: str, status: models.AsyncOperationStatus, what: str = "Savepoint"
) -> Verdict | None:
    if status.in_progress:
        return None
    if status.succeeded and status.location:
        return Verdict(
            True,
            "COMPLETED",
            f"{what} of job {job_id} completed at {status.location}",
            {"location": status.location},
        )
    cause = status.failure or "Flink reported no location and no cause"
    return Verdict(False, "FAILED", f"{what} of job {job_id} failed: {cause}", {"location": None})


def judge_checkpoint(job_id: str, status: models.CheckpointTriggerStatus) -> Verdict | None:
    """A checkpoint asked for through REST (``POST /jobs/{id}/checkpoints``): done or failed."""
    if status.in_progress:
        return None
    if status.failure is None:
        return Verdict(True, "CHECKPOINTED", f"Checkpoint {status.checkpoint_id} of job {job_id} completed")
    return Verdict(False, "FAILED", f"Checkpoint of job {job_id} failed: {status.failure}")


def judge_cluster(info: models.ClusterOverview, min_taskmanagers: int, min_free_slots: int) -> Verdict | None:
    summary = (
        f"Flink {info.flink_version}: {info.taskmanagers} task manager(s), "
        f"{info.slots_available} free slot(s) of {info.slots_total}"
    )
    if info.taskmanagers >= min_taskmanagers and info.slots_available >= min_free_slots:
        return Verdict(
            True,
            "HEALTHY",
            f"Cluster healthy: {summary}",
            {"taskmanagers": info.taskmanagers, "free_slots": info.slots_available},
        )
    return None
