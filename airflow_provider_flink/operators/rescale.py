"""Rescale a running job in place: same job id, no savepoint, no redeploy.

Under Flink's adaptive scheduler (``jobmanager.scheduler: adaptive``) a job's parallelism can be
changed while it runs: Flink restarts its tasks at the new parallelism from the latest checkpoint.
Where Flink cannot do that, the task fails before changing anything and says what to do instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from airflow_provider_flink import ids
from airflow_provider_flink.exceptions import (
    AirflowFailException,
    FlinkOperatorError,
    LimitError,
    RescaleNotPossibleError,
)
from airflow_provider_flink.operators.base import FlinkBaseOperator
from airflow_provider_flink.triggers import (
    FlinkCheckpointTrigger,
    FlinkJobTrigger,
    FlinkPollingTrigger,
    WaitEvent,
)
from airflow_provider_flink.triggers.steps import checkpoint_first

# The advice a refusal ends with: the savepoint upgrade that makes the same change with a stop.
SAVEPOINT_UPGRADE = (
    "Change its parallelism with a savepoint upgrade instead: FlinkStopJobOperator, then "
    "FlinkDeployJobOperator with parallelism={parallelism} and savepoint_path set to the stop's "
    "output (or declare the parallelism in the job's deployment spec and let the reconcile apply it)"
)


def _parallelism(value: Any) -> int:
    """The rendered ``parallelism``: a whole number >= 1, or the task fails before any call."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise AirflowFailException(f"parallelism must be a whole number, got {value!r}") from None
    if number < 1:
        raise AirflowFailException(f"parallelism must be at least 1, got {number}")
    return number


class FlinkRescaleJobOperator(FlinkBaseOperator):
    """Change a running job's parallelism in place and wait until it runs at the new one.

    :param job_id: the job (templated).
    :param parallelism: the new parallelism of every vertex (templated; a rendered string is
        accepted).

    Flink does it only under the adaptive scheduler: every vertex gets the upper bound
    ``parallelism`` (``PUT /jobs/{id}/resource-requirements``) and the scheduler restarts the job's
    tasks at it from the latest checkpoint, under the same job id. Flink 2.x waits for its next
    checkpoint before it restarts the job; on Flink 1.x, which restarts it at once, the task first
    takes a checkpoint (``POST /jobs/{id}/checkpoints``), so the job re-processes only the records
    since that moment, not those of up to a checkpoint interval. The task then waits (deferred or
    in the worker) until every vertex runs at ``parallelism``; with Flink's defaults the scheduler
    waits up to 30 s after the job's start or its last rescale before it acts (its cooldown), so
    keep ``wait_timeout`` above that.

    On a cluster without the adaptive scheduler, a batch job, or a job that sets some operators'
    parallelism itself, the task fails at once without retries, changes nothing, and says why and
    how to make the change with a savepoint upgrade. A job that is not RUNNING or has no completed
    checkpoint yet (the rescaled job restarts from its latest checkpoint: without one it would lose
    its state) fails the same way but leaves the task's retries to Airflow. A retry repeats the
    request harmlessly (bounds already asked are not sent again) and waits.

    Returns the job id (unchanged).
    """

    template_fields: Sequence[str] = ("job_id", "parallelism")

    def __init__(self, *, job_id: str, parallelism: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.parallelism = parallelism

    def execute(self, context: Any) -> Any:
        job_id = str(self.job_id)
        parallelism = _parallelism(self.parallelism)
        with self._refusals(job_id, parallelism):
            support = self.hook.supports_rescale(job_id, parallelism)
            if not support.possible:
                raise RescaleNotPossibleError(support.reason, transient=support.transient)
        self.push_job_link(context, job_id)
        if support.checkpoint_first and support.requirements is not None:
            # Flink 1.x rescales at once from the job's latest checkpoint and re-processes all
            # since (up to a checkpoint interval): take one first, rescale as soon as it is done.
            trigger_id = ids.new_id()
            if not checkpoint_first(self.hook, job_id, trigger_id, self.log):
                return self._rescale(context, job_id, parallelism)
            checkpoint = FlinkCheckpointTrigger(
                self.flink_conn_id,
                job_id,
                trigger_id,
                self.deadline(),
                poll_interval=min(self.poll_interval, 0.5),
            )
            return self.wait(context, checkpoint)
        return self._rescale(context, job_id, parallelism)

    def _rescale(self, context: Any, job_id: str, parallelism: int) -> Any:
        with self._refusals(job_id, parallelism):
            self.hook.rescale_job(job_id, parallelism)
        trigger = FlinkJobTrigger(
            self.flink_conn_id,
            job_id,
            self.deadline(),
            target="running",
            poll_interval=self.poll_interval,
            max_restarts=self.max_restarts,
            parallelism=parallelism,
        )
        return self.wait(context, trigger)

    @contextmanager
    def _refusals(self, job_id: str, parallelism: int) -> Iterator[None]:
        """The hook's refusals as the task's errors; nothing was sent when they are raised."""
        try:
            yield
        except LimitError as err:
            raise AirflowFailException(f"Cannot rescale job {job_id}: {err}. Nothing was changed.") from None
        except RescaleNotPossibleError as err:
            message = (
                f"Cannot rescale job {job_id} to parallelism {parallelism} in place: {err}. "
                f"Nothing was changed. {SAVEPOINT_UPGRADE.format(parallelism=parallelism)}."
            )
            # A refusal that may pass later (no checkpoint yet, not RUNNING yet) leaves the task's
            # retries to Airflow; any other would meet the same refusal again.
            raise (FlinkOperatorError if err.transient else AirflowFailException)(message) from None

    def end_xcoms(self, trigger: FlinkPollingTrigger) -> dict[str, str] | None:
        # The checkpoint's wait resumes (the rescale is asked for after it); the rescale's returns.
        return {"return_value": "job_id"} if isinstance(trigger, FlinkJobTrigger) else None

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """Ends both waits: the checkpoint's (its event names the checkpoint's trigger id), after
        which the rescale is asked for, and the rescale's."""
        done = WaitEvent.from_payload(event, self.task_id)
        if done.trigger_id is None:
            rescaled = self.completed(event).job_id
            # The same job, rescaled in place: the task's facets name it; no run starts or ends.
            self.report_lineage(context, {str(rescaled): ""}, started_here=False)
            return rescaled
        if done.ok:
            self.log.info("%s", done.message)
        else:  # the rescale is still safe: Flink restarts the job from its latest checkpoint
            self.log.warning("%s: rescaling from the latest checkpoint there is", done.message)
        return self._rescale(context, str(done.job_id or self.job_id), _parallelism(self.parallelism))
