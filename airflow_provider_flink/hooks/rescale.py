"""The rules of a rescale in place: whether Flink can change a running job's parallelism without
stopping it, and the resource requirements that ask it to.

Flink changes a running job's parallelism in place only under the adaptive scheduler
(``jobmanager.scheduler: adaptive``): ``PUT /jobs/{id}/resource-requirements`` sets each vertex's
parallelism bounds and the scheduler rescales the job itself (a restart from its latest checkpoint,
same job id). Any other scheduler throws ``UnsupportedOperationException`` (HTTP 500), and so does
reactive mode, where the task managers decide the parallelism.

Which scheduler runs a job is read, in this order, from what costs nothing and cannot be wrong:

1. Flink 2.3's ``/jobs/{id}`` names it (``schedulerType``);
2. Flink 1.20 does not: the cluster's ``jobmanager.scheduler`` (and ``scheduler-mode``) from
   ``/jobmanager/config`` decide it, as they decide it inside Flink (the job's own configuration
   cannot change the scheduler);
3. only then ``GET /jobs/{id}/resource-requirements``: it confirms, for this very job, and reads the
   bounds the rescale starts from. It is never sent where 1. or 2. already said no, because a
   default scheduler answers it with HTTP 500, which the client would retry and count against the
   cluster's circuit breaker.

Everything here is pure (observations in, verdict out): :class:`~airflow_provider_flink.hooks.flink.FlinkHook`
gathers the observations and sends the request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from airflow_provider_flink.client import FlinkApiError, models
from airflow_provider_flink.client.models import JobState

ADAPTIVE = "adaptive"
SCHEDULER_KEY = "jobmanager.scheduler"
MODE_KEY = "scheduler-mode"
# What Flink says when the job's scheduler cannot change its parallelism (SchedulerNG's default,
# on 1.20 and 2.x) or when the adaptive scheduler runs in reactive mode.
_UNSUPPORTED_MARKERS = ("does not support changing the parallelism", "reactive mode")


@dataclass(frozen=True)
class RescaleSupport:
    """Whether job ``job_id`` can be rescaled to ``target`` in place, and how.

    ``possible`` False: ``reason`` says why, in a sentence a person can act on (without the job
    id: the caller's message names the job); ``transient`` when the same request may pass later
    (the job is not RUNNING yet, or has no checkpoint yet). ``possible`` True:
    ``requirements`` is what to send (None when the job already has them: a retry, or a rescale
    under way, only waits) and ``current`` the parallelism the job was declared with before.
    """

    job_id: str
    possible: bool
    reason: str
    target: int | None = None
    current: int | None = None
    requirements: models.JobResourceRequirements | None = None
    transient: bool = False
    # Take a checkpoint right before asking (trigger_checkpoint, then FlinkCheckpointTrigger): this
    # Flink (1.x) rescales at once, from its latest checkpoint, and re-processes everything since;
    # Flink 2.x waits for its next checkpoint by itself.
    checkpoint_first: bool = False


def cluster_scheduler(config: Mapping[str, str]) -> str | None:
    """Why the cluster's configuration rules out a rescale in place, or None when it runs the
    adaptive scheduler (what Flink decides from the same two keys for a streaming job)."""
    if config.get(MODE_KEY, "").strip().lower() == "reactive":
        return (
            "the cluster runs the adaptive scheduler in reactive mode (scheduler-mode: reactive), where "
            "the task managers decide every job's parallelism"
        )
    scheduler = config.get(SCHEDULER_KEY, "").strip()
    if scheduler.lower() == ADAPTIVE:
        return None
    said = f"{SCHEDULER_KEY}: {scheduler}" if scheduler else f"{SCHEDULER_KEY} not set: Flink's default"
    return (
        f"the cluster does not run the adaptive scheduler ({said}); Flink changes a running job's "
        f"parallelism only under {SCHEDULER_KEY}: {ADAPTIVE}"
    )


def job_scheduler(job: models.JobDetail) -> str | None:
    """Why this job's own scheduler (Flink 2.3 names it) rules a rescale out, or None when it is the
    adaptive one. Only call it when ``job.scheduler_type`` is known."""
    scheduler = job.scheduler_type or ""
    if scheduler.lower() == ADAPTIVE:
        return None
    return (
        f"the job runs under Flink's {scheduler} scheduler, not the adaptive one; Flink changes a "
        f"running job's parallelism only under {SCHEDULER_KEY}: {ADAPTIVE}"
    )


def refusal_from_flink(err: FlinkApiError) -> str | None:
    """Flink's own "this scheduler cannot" answer to the resource-requirements calls, as a reason;
    None for any other error (which says nothing about support and is raised)."""
    if err.status == 500 and any(marker in err.full_text for marker in _UNSUPPORTED_MARKERS):
        return f"Flink refuses to change its parallelism in place: {err.root_cause}"
    return None


def judge_rescale(
    job: models.JobDetail | None,
    job_id: str,
    scheduler_refusal: str | None,
    current: models.JobResourceRequirements | None,
    target: int | None,
    checkpoint: models.CheckpointInfo | None = None,
    now_ms: int = 0,
    checkpoint_first: bool = False,
) -> RescaleSupport:
    """Whether a rescale of the job to ``target`` (None: any) can be done in place.

    ``scheduler_refusal`` is why the job's scheduler cannot (None: it is the adaptive scheduler);
    ``current`` the job's requirements (read only when the scheduler can); ``checkpoint`` its
    latest completed checkpoint.

    A job with no completed checkpoint is not rescaled: the adaptive scheduler restarts a rescaled
    job from its latest checkpoint, and without one it would start again without its state (I2).
    ``checkpoint_first``: the caller takes one right before the rescale (Flink 1.x), so none is
    needed yet; the rescale itself (:meth:`FlinkHook.rescale_job`) still requires one.

    Bounds sent: every vertex ``lower = min(its current lower bound, target)``, ``upper = target``.
    The upper bound is the parallelism the adaptive scheduler runs the vertex at whenever it has the
    slots; the lower bound stays what the job had (Flink gives a submitted job 1), so the rescaled
    job behaves as one submitted at ``target`` would: it keeps running with fewer slots if task
    managers go away, instead of waiting, stopped, for slots that do not come. A lower bound of
    ``target`` would make exactly that trade; "running at the new parallelism" is judged by the
    wait (every vertex at ``target``), not by the bounds.
    """

    def no(reason: str, transient: bool = False) -> RescaleSupport:
        return RescaleSupport(job_id, False, reason, target, transient=transient)

    if target is not None and target < 1:
        return no(f"parallelism must be at least 1, got {target}")
    if job is None:
        return no("Flink does not know the job")
    if job.job_type and job.job_type.upper() == "BATCH":
        return no("it is a BATCH job; Flink rescales only streaming jobs in place")
    if scheduler_refusal is not None:
        return no(scheduler_refusal)
    if current is None or not current.root:
        return no("Flink gave no resource requirements for the job")
    bounds = current.bounds()
    uppers = {upper for _, upper in bounds.values()}
    names = {v.id: v.name or v.id for v in job.vertices}
    if len(uppers) > 1:
        each = ", ".join(f"{names.get(v, v)}={upper}" for v, (_, upper) in sorted(bounds.items()))
        return no(
            f"the job's vertices have different parallelisms ({each}): the job sets some "
            "operators' parallelism itself, which a rescale in place would overwrite and a redeploy "
            "keeps"
        )
    current_parallelism = uppers.pop()
    wanted: models.JobResourceRequirements | None = None
    if target is not None:
        too_small = [
            f"{v.name or v.id} (max parallelism {v.max_parallelism})"
            for v in job.vertices
            if v.max_parallelism is not None and 0 < v.max_parallelism < target
        ]
        if too_small:
            return no(
                f"parallelism {target} is above the max parallelism of {', '.join(too_small)}; keyed "
                "state is split into that many key groups, so no rescale, in place or by savepoint, can "
                "go above it"
            )
        wanted = models.JobResourceRequirements.of(
            {vertex: (min(lower, target), target) for vertex, (lower, _) in bounds.items()}
        )
        if wanted == current:
            # Asked before (a retry, or a rescale under way): nothing to send, only the wait.
            return RescaleSupport(
                job_id, True, f"parallelism {target} is already asked of the job", target, current_parallelism
            )
    if job.state is not JobState.RUNNING:
        return no(f"the job is {job.state.value}, not RUNNING", transient=True)
    if checkpoint is None and not checkpoint_first:
        return no(
            "the job has no completed checkpoint (none yet, or checkpointing is off), and Flink restarts "
            "a rescaled job from its latest checkpoint: it would lose its state",
            transient=True,
        )
    restart = "; it restarts from a checkpoint taken right before"
    if not checkpoint_first and checkpoint is not None:
        age = (
            f" ({max(0, now_ms - checkpoint.trigger_timestamp) / 1000:.0f} s old)"
            if checkpoint.trigger_timestamp
            else ""
        )
        restart = f"; it restarts from checkpoint {checkpoint.id}{age}"
    if target is None:
        return RescaleSupport(
            job_id,
            True,
            f"the job can be rescaled in place{restart}",
            None,
            current_parallelism,
            checkpoint_first=checkpoint_first,
        )
    return RescaleSupport(
        job_id,
        True,
        f"the job can be rescaled in place from parallelism {current_parallelism} to {target}{restart}",
        target,
        current_parallelism,
        wanted,
        checkpoint_first=checkpoint_first,
    )
