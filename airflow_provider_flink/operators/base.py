"""What every Flink operator shares: the hook, waiting (deferred or in-process), the job link.

Waiting is always done by a trigger from :mod:`airflow_provider_flink.triggers`: deferred to the
triggerer when ``deferrable`` (default from ``[operators] default_deferrable``), or run in the
worker process otherwise. Both paths therefore judge the same observations the same way, and both
end in the operator's ``execute_complete`` with the trigger's :class:`WaitEvent`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, BaseOperatorLink

from airflow_provider_flink import tasks
from airflow_provider_flink.exceptions import FlinkOperatorError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.lineage import events as lineage
from airflow_provider_flink.lineage.datasets import Dataset, dataset_of_uri
from airflow_provider_flink.lineage.observe import observed_run
from airflow_provider_flink.links import FlinkJobLink
from airflow_provider_flink.triggers import (
    FlinkJobTrigger,
    FlinkPollingTrigger,
    JobTarget,
    KillAction,
    WaitEvent,
    run_inline,
)

__all__ = ["FlinkBaseOperator", "FlinkOperatorError"]


def airflow_origin(context: Any) -> dict[str, str]:
    """The task instance that submits a job: DAG, run, task and try, as ``airflow.*`` global job
    parameters (the Flink UI's Configuration tab, User Configuration)."""
    ti: Any = context.get("ti") if context else None
    fields = {
        "airflow.dag-id": "dag_id",
        "airflow.run-id": "run_id",
        "airflow.task-id": "task_id",
        "airflow.try-number": "try_number",
    }
    return {
        key: str(getattr(ti, name)) for key, name in fields.items() if getattr(ti, name, None) is not None
    }


class FlinkBaseOperator(BaseOperator):
    """Common parameters: ``flink_conn_id``, ``deferrable``, ``poll_interval``, ``wait_timeout`` (s),
    ``max_restarts``: a job that fails and restarts this many times while the task waits for it
    (a restart loop, or no free slots) fails the wait with Flink's root cause before the time-out
    (None: wait for the time-out)."""

    operator_extra_links: tuple[BaseOperatorLink, ...] = (FlinkJobLink(),)

    def pre_execute(self, context: Any) -> None:
        if self.operator_extra_links:
            tasks.no_job_link_yet(context)

    def __init__(
        self,
        *,
        flink_conn_id: str = FlinkHook.default_conn_name,
        deferrable: bool | None = None,
        poll_interval: float = 2.0,
        wait_timeout: float = 600.0,
        max_restarts: int | None = 3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_restarts = max_restarts
        self.flink_conn_id = flink_conn_id
        self.deferrable = tasks.deferrable_or_default(deferrable)
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout

    @cached_property
    def hook(self) -> FlinkHook:
        return FlinkHook(self.flink_conn_id)

    def deadline(self) -> float:
        return time.time() + float(self.wait_timeout)

    def push_job_link(self, context: Any, job_id: str) -> None:
        tasks.push_job_link(self, context, self.hook, job_id)

    def wait(self, context: Any, trigger: FlinkPollingTrigger) -> Any:
        """Run the trigger here, or (deferrable) look for a moment and defer to the triggerer only
        if the wait goes on; either way end in execute_complete with the event as a dict (what
        Airflow hands over after a deferral)."""
        if self.deferrable:
            event = tasks.defer_unless_done(
                self, trigger, self.wait_timeout, end_xcoms=self.end_xcoms(trigger)
            )
        else:
            event = run_inline(trigger)
        return self.execute_complete(context, event.payload())

    def wait_for_job(
        self,
        context: Any,
        job_id: str,
        target: JobTarget,
        states: Sequence[str] = (),
        kill_action: KillAction = "none",
        asked_parallelism: int | None = None,
    ) -> Any:
        """Wait until the job is ``target`` (see :class:`FlinkJobTrigger`), then execute_complete."""
        trigger = FlinkJobTrigger(
            self.flink_conn_id,
            job_id,
            self.deadline(),
            target=target,
            states=states,
            poll_interval=self.poll_interval,
            kill_action=kill_action,
            max_restarts=self.max_restarts,
            asked_parallelism=asked_parallelism,
        )
        return self.wait(context, trigger)

    def end_xcoms(self, trigger: FlinkPollingTrigger) -> dict[str, str] | None:
        """The XComs (key -> the wait event's field) a successful deferred wait of ``trigger``
        pushes when the triggerer ends the task itself; None: the task resumes in a worker (its
        ``execute_complete`` does more than return a value)."""
        return None

    def completed(self, event: dict[str, Any] | None) -> WaitEvent:
        """The event of a wait that reached its goal (logged); anything else fails the task."""
        return tasks.completed(self, event)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError

    # ------------------------------------------------------------------ lineage
    # What this task's OpenLineage events say (lineage/events.py): set where it saw its jobs, read
    # by the OpenLineage listener in the same process when the task ends.
    # (jobs, inputs, outputs of the task's own, whether the jobs' datasets are the task's: it started them)
    _lineage_facts: tuple[list[lineage.FlinkRun], list[Dataset], list[Dataset], bool] | None = None

    def report_lineage(
        self,
        context: Any,
        jobs: Mapping[str, str],
        events: Sequence[str] = (),
        *,
        key: str | None = None,
        sql: str | None = None,
        savepoint: str | None = None,
        savepoint_output: bool = False,
        started_here: bool = True,
    ) -> None:
        """Lineage of the Flink jobs this task acted on (``jobs``: job id -> a suffix of its
        OpenLineage job name, "" for a task's one job): each one read from Flink once, ``events``
        sent for each as a run of its own, and kept for the task's own COMPLETE event, with
        ``savepoint`` as an input (restored from) or an output (``savepoint_output``: taken).
        ``started_here``: this task run started the jobs (their parent, and their OpenLineage job
        named by ``key`` or the task); else the name comes from the job's global parameters.
        Nothing without the OpenLineage provider; never fails the task."""
        parent = lineage.task_run(context)
        if parent is None:
            return
        try:
            runs = []
            for job_id, suffix in jobs.items():
                base = (
                    lineage.flink_job_name(parent, key)
                    if started_here
                    else self._lineage_name_of(job_id, parent)
                )
                name = f"{base}.{suffix}" if suffix else base
                runs.append(observed_run(self.hook, job_id, name, sql=sql, savepoint=savepoint))
            stored = dataset_of_uri(savepoint) if savepoint else None
            snapshot = [stored] if stored else []
            inputs, outputs = ([], snapshot) if savepoint_output else (snapshot, [])
            self._lineage_facts = (runs, inputs, outputs, started_here)
            lineage.emit_runs([(run, event) for run in runs for event in events], parent, started_here)
        except Exception as err:  # lineage never fails a task
            self.log.warning("OpenLineage: lineage of %s not reported: %s", ", ".join(jobs), err)

    def _lineage_name_of(self, job_id: str, parent: lineage.TaskRun) -> str:
        """The OpenLineage job the task that started ``job_id`` named (its global parameters), else
        this task's own."""
        try:
            named = lineage.job_name_in(self.hook.job_parameters(job_id))
        except Exception as err:
            self.log.info(
                "OpenLineage: job %s's parameters not read (%s): named after this task", job_id, err
            )
            named = None
        return named or lineage.flink_job_name(parent)

    def lineage_request(
        self, context: Any, config: Mapping[str, Any], key: str | None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """(job configuration, global parameters to add) for a job this task starts: the
        OpenLineage parent run and job names (lineage.parent_config) in the configuration, the job's
        OpenLineage name in its parameters (for the task that ends it). Unchanged without lineage."""
        parent = lineage.task_run(context)
        if parent is None:
            return dict(config), {}
        name = lineage.flink_job_name(parent, key)
        return lineage.with_parent_config(config, parent, name), {lineage.LINEAGE_JOB_PARAM: name}

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The Flink jobs' inputs and outputs and the ``flink`` run facet (the OpenLineage
        provider's listener asks, when installed; also for a failed try): empty when this try
        saw no job."""
        if self._lineage_facts is None:  # empty, not None (which the listener warns about)
            return lineage.operator_lineage([])
        runs, inputs, outputs, started = self._lineage_facts
        return lineage.operator_lineage(runs, inputs, outputs, job_datasets=started)

    def post_execute(self, context: Any, result: Any = None) -> None:
        super().post_execute(context, result)
        if "hook" in self.__dict__:
            self.hook.close()
