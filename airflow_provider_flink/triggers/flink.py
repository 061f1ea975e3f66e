"""Async waits for the triggerer: job state, savepoint/stop completion, cluster health.

Every trigger here:

* takes plain, serializable arguments (``serialize()`` mirrors ``__init__``) and an absolute
  wall-clock ``deadline`` (epoch seconds), so it can be re-created and run again anywhere and still
  end when it was meant to;
* treats every failure to observe (no answer, 5xx, circuit open) as *unknown*: logged, waited out
  until the deadline, never turned into a failure (I3);
* judges what it sees with :mod:`airflow_provider_flink.triggers.conditions`, shared with the
  sensors' poke and the operators' and executor's non-deferred waits (which run these same
  triggers in-process);
* talks to Flink only through the hook's async verbs.

Every wait ends in a :class:`~airflow_provider_flink.triggers.events.WaitEvent` ("success" |
"failed" | "timeout", a message, the ids waited on), sent as a plain dict.
"""

from __future__ import annotations

import asyncio
import time
from abc import abstractmethod
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal

from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

from airflow_provider_flink.client import (
    FlinkApiError,
    FlinkCircuitOpenError,
    FlinkUnreachableError,
    RetryPolicy,
    models,
)
from airflow_provider_flink.client.models import RECOVERING, TERMINAL, JobState, named_states
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.hooks.verbs import AsyncFlinkVerbs, KillAction
from airflow_provider_flink.triggers.coalesce import shared_jobs
from airflow_provider_flink.triggers.conditions import (
    JobTarget,
    Verdict,
    describe_target,
    is_healthy,
    judge_checkpoint,
    judge_cluster,
    judge_job,
    judge_savepoint,
    parallelisms,
    vertices_not_up,
)
from airflow_provider_flink.triggers.events import UNKNOWN, WaitEvent
from airflow_provider_flink.triggers.waiting import ends_tasks_here, push_xcoms

# The poll loop is itself a retry: each observation tries at most twice, then waits for the next poll.
POLL_RETRY = RetryPolicy(attempts=2, initial=0.5, maximum=2.0, give_up_after=10.0)
# Most transitions (submit -> RUNNING, savepoint done) take about a second: poll fast at first, so a
# wait ends within ~0.1 s of the change, then slow down to ``poll_interval`` for long waits.
FAST_POLL = 0.1
FAST_PHASE = 3.0
POLL_GROWTH = 1.5
PROGRESS_EVERY = 30.0  # seconds between "still waiting" lines when nothing changes
RESTART_CHECK_EVERY = 10.0  # seconds between looks at the exception history of a job not yet up


def poll_delays(poll_interval: float) -> Iterator[float]:
    """Delays between observations: FAST_POLL for FAST_PHASE seconds, then growing to ``poll_interval``."""
    fast = max(1, int(FAST_PHASE / FAST_POLL))
    for _ in range(fast):
        yield min(FAST_POLL, poll_interval)
    delay = FAST_POLL
    while True:
        delay = min(poll_interval, delay * POLL_GROWTH)
        yield max(delay, min(FAST_POLL, poll_interval))


def _is_unknown(err: BaseException) -> bool:
    """Errors that say nothing about the job: the cluster could not be observed."""
    if isinstance(err, (FlinkUnreachableError, FlinkCircuitOpenError)):
        return True
    return isinstance(err, FlinkApiError) and (err.status >= 500 or err.status == 429)


class FlinkPollingTrigger(BaseTrigger):
    """Poll one observation until a verdict or the deadline. Subclasses say what to observe."""

    def __init__(
        self,
        flink_conn_id: str,
        deadline: float,
        poll_interval: float = 2.0,
        end_xcoms: dict[str, str] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.flink_conn_id = flink_conn_id
        self.deadline = float(deadline)
        self.poll_interval = float(poll_interval)
        # XCom key -> WaitEvent field, set by a task whose resumption would only return that value:
        # a wait that reaches its goal then ends the task here, in the triggerer, instead of
        # scheduling a worker to resume it just to return (1.5-3 s per deferred wait).
        self.end_xcoms = dict(end_xcoms) if end_xcoms else None
        self.last_seen = UNKNOWN
        self._unknown_reason: str | None = None
        self._reported: tuple[str, float] = ("", 0.0)  # what the last progress line said, and when

    @abstractmethod
    async def probe(self, flink: AsyncFlinkVerbs) -> Verdict | None:
        """Observe once; a verdict ends the wait. May raise client errors."""

    @abstractmethod
    def waiting_for(self) -> str:
        """What this trigger waits for, for the time-out message."""

    @abstractmethod
    def ids(self) -> dict[str, Any]:
        """Identifiers carried in every event (the operator keeps nothing between defer and resume)."""

    def _own_kwargs(self) -> dict[str, Any]:
        return {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "flink_conn_id": self.flink_conn_id,
            "deadline": self.deadline,
            "poll_interval": self.poll_interval,
        }
        if self.end_xcoms:
            kwargs["end_xcoms"] = self.end_xcoms
        return f"{type(self).__module__}.{type(self).__qualname__}", {**kwargs, **self._own_kwargs()}

    def _timeout_event(self) -> WaitEvent:
        return WaitEvent(
            status="timeout",
            state=self.last_seen,
            message=f"Timed out waiting for {self.waiting_for()}; last seen: {self.last_seen}",
            **self.ids(),
        )

    async def _observe(self, flink: AsyncFlinkVerbs) -> Verdict | None:
        """One probe; *unknown* errors are logged and mean "no verdict yet"."""
        try:
            verdict = await self.probe(flink)
        except Exception as err:
            if not _is_unknown(err):
                raise
            self.last_seen = UNKNOWN
            # Once per kind of failure, not once per (fast) poll: the text itself changes (an
            # open breaker counts down its seconds).
            reason = f"{type(err).__name__}:{getattr(err, 'status', '')}"
            if reason != self._unknown_reason:
                self.log.warning("Flink state unknown (%s); still waiting for %s", err, self.waiting_for())
                self._unknown_reason = reason
            return None
        if self._unknown_reason is not None:
            self.log.info("Flink answers again; still waiting for %s", self.waiting_for())
            self._unknown_reason = None
        return verdict

    async def check_once(self) -> WaitEvent | None:
        """A single observation with its own client: what a sensor's ``poke`` needs. The event is
        the one the deferred wait ends with (a FAILED job's root cause included: one judgement for
        both modes); None while it goes on, with the same progress line in the log."""
        hook = FlinkHook(self.flink_conn_id, retry=POLL_RETRY)
        try:
            async with hook.async_verbs() as flink:
                try:
                    verdict = await self._observe(flink)
                except FlinkApiError as err:  # Flink answered with a client error: it cannot succeed
                    return WaitEvent(status="failed", state=self.last_seen, message=str(err), **self.ids())
                if verdict is None:
                    self._progress()
                    return None
                return await self.complete(flink, verdict)
        finally:
            hook.close()

    async def run(self) -> AsyncIterator[TriggerEvent]:
        event = await self.wait_for_event()
        if self.end_xcoms and event.ok and ends_tasks_here():
            values = event.model_dump()
            try:
                await push_xcoms(
                    self.task_instance, {key: values[name] for key, name in self.end_xcoms.items()}
                )
            except Exception as err:  # the task resumes in a worker, which pushes them
                self.log.warning(
                    "Could not push the task's XComs from the triggerer (%s): it resumes in a worker", err
                )
            else:
                # Logged here: the task's log shows the triggerer's lines of its wait.
                self.log.info("%s", event.message)
                yield TaskSuccessEvent()
                return
        yield TriggerEvent(event.payload())  # type: ignore[no-untyped-call]

    async def wait_for_event(self) -> WaitEvent:
        """Poll until a verdict, a client error from Flink, or the deadline."""
        event = await self._poll(None)
        assert event is not None  # without a stop time, only the deadline ends the polling
        return event

    async def look(self, seconds: float) -> WaitEvent | None:
        """Poll for at most ``seconds`` (the fast phase): the event if the wait ended in that time,
        else None. What a task does before it defers: most waits end within a second or two."""
        return await self._poll(time.time() + seconds)

    async def _poll(self, stop_at: float | None) -> WaitEvent | None:
        hook = FlinkHook(self.flink_conn_id, retry=POLL_RETRY)
        try:
            async with hook.async_verbs() as flink:
                for delay in poll_delays(self.poll_interval):
                    try:
                        verdict = await self._observe(flink)
                    except FlinkApiError as err:
                        # Flink answered with a client error: the wait cannot succeed.
                        return WaitEvent(
                            status="failed", state=self.last_seen, message=str(err), **self.ids()
                        )
                    if verdict is not None:
                        return await self.complete(flink, verdict)
                    self._progress()
                    now = time.time()
                    if self.deadline - now <= 0:
                        return self._timeout_event()
                    if stop_at is not None and stop_at - now <= 0:
                        return None
                    await asyncio.sleep(min(delay, self.deadline - now, (stop_at or self.deadline) - now))
        finally:
            hook.close()
        raise AssertionError("unreachable: poll_delays never ends")  # pragma: no cover

    def _progress(self) -> None:
        """A line when what the wait sees changes, and every PROGRESS_EVERY seconds while it does
        not: a waiting task's log tells what it is waiting on."""
        said, at = self._reported
        now = time.time()
        if self.last_seen == UNKNOWN or (self.last_seen == said and now - at < PROGRESS_EVERY):
            return
        self.log.info("Waiting for %s: %s", self.waiting_for(), self.last_seen)
        self._reported = (self.last_seen, now)

    async def complete(self, flink: AsyncFlinkVerbs, verdict: Verdict) -> WaitEvent:
        """The event for a verdict; subclasses may add what they can learn (a root cause)."""
        return verdict.event(**self.ids())


class FlinkJobTrigger(FlinkPollingTrigger):
    """Wait until a job is healthy (``running``), ``finished``, or in one of ``states``.

    A job that ends FAILED ends the wait with Flink's root-cause exception in the message.
    ``kill_action`` says what to do with the job when a user kills the deferred task.
    """

    def __init__(
        self,
        flink_conn_id: str,
        job_id: str,
        deadline: float,
        target: JobTarget = "running",
        states: Sequence[str] = (),
        checkpoint_within: float | None = None,
        poll_interval: float = 2.0,
        kill_action: KillAction = "none",
        max_restarts: int | None = 3,
        since: float | None = None,
        coalesce: bool = False,
        parallelism: int | None = None,
        asked_parallelism: int | None = None,
        end_xcoms: dict[str, str] | None = None,
    ) -> None:
        super().__init__(flink_conn_id, deadline, poll_interval, end_xcoms)
        self.job_id = job_id
        # With target "running": the parallelism the job was submitted with. A healthy job below
        # it (Flink's adaptive scheduler starts a job with the slots it has) ends the wait all the
        # same, and the message says so: no one should learn it from the Flink UI.
        self.asked_parallelism = None if asked_parallelism is None else int(asked_parallelism)
        self.target: JobTarget = target
        # With target "running": every vertex at this parallelism too (a rescale's end; the job is
        # RUNNING and healthy at the old parallelism before a rescale in place starts).
        self.parallelism = None if parallelism is None else int(parallelism)
        self.states = list(states)
        self.checkpoint_within = checkpoint_within
        self.kill_action: KillAction = kill_action
        # A job that fails and restarts this many times while the wait runs (a restart loop, or
        # no slots: each failed slot request is a restart) ends the wait with Flink's root cause
        # instead of running into the deadline. None: wait for the deadline.
        self.max_restarts = max_restarts
        self.since = time.time() if since is None else float(since)  # survives a triggerer restart
        self._restart_check = time.time()  # the first look after RESTART_CHECK_EVERY, unless it restarts
        # Share one /jobs/overview per cluster per interval with the other waits of this process
        # (the triggerer's); the job's own details only when the wait may be over. Set for waits
        # handed to the triggerer; a wait run in a worker is alone in its process.
        self.coalesce = coalesce

    def _own_kwargs(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "target": self.target,
            "states": self.states,
            "checkpoint_within": self.checkpoint_within,
            "kill_action": self.kill_action,
            "max_restarts": self.max_restarts,
            "since": self.since,
            "coalesce": self.coalesce,
            "parallelism": self.parallelism,
            **({"asked_parallelism": self.asked_parallelism} if self.asked_parallelism else {}),
        }

    def ids(self) -> dict[str, Any]:
        return {"job_id": self.job_id}

    def waiting_for(self) -> str:
        return f"job {self.job_id} to be {self._target()}"

    def _target(self) -> str:
        return describe_target(self.target, self.states, self.checkpoint_within, self.parallelism)

    async def probe(self, flink: AsyncFlinkVerbs) -> Verdict | None:
        if self.coalesce:
            fast = time.time() - self.since < FAST_PHASE
            max_age = FAST_POLL if fast else self.poll_interval * 0.9
            jobs = await shared_jobs(self.flink_conn_id, flink, max_age)
            brief = next((j for j in jobs if j.jid == self.job_id), None)
            if brief is not None and not self._may_be_over(brief):
                running, total = brief.tasks.get("running", 0), brief.tasks.get("total", 0)
                self.last_seen = f"{brief.state.value}, {running}/{total} tasks running"
                return await self._restart_loop(flink, brief.state) if self.target != "states" else None
        job = await flink.find_job(self.job_id)
        if job is None:
            return Verdict(
                False,
                "NOT_FOUND",
                f"Flink does not know job {self.job_id}: never submitted to this "
                "cluster, or lost in a JobManager restart without high availability",
            )
        self.last_seen = job.state.value
        if job.state is JobState.RUNNING and (waiting := vertices_not_up(job)):
            self.last_seen = f"RUNNING, vertices not running yet: {', '.join(waiting)}"
        if self.parallelism is not None and job.vertices:
            self.last_seen += f" at parallelism {parallelisms(job)}"
        last_checkpoint: int | None = None
        if self.target == "running" and self.checkpoint_within and is_healthy(job):
            latest = await flink.latest_checkpoint(self.job_id)
            last_checkpoint = latest.trigger_timestamp if latest else None
        verdict = judge_job(
            job,
            self.target,
            self.states,
            self.checkpoint_within,
            last_checkpoint,
            int(time.time() * 1000),
            parallelism=self.parallelism,
        )
        if verdict is None and self.target != "states":
            return await self._restart_loop(flink, job.state)
        return verdict

    def _may_be_over(self, brief: models.JobOverview) -> bool:
        """Whether the job's line in /jobs/overview could end this wait (then its details decide)."""
        if brief.state.is_globally_terminal:
            return True
        if self.target == "states":
            return brief.state in named_states(self.states)
        return self.target == "running" and is_healthy(brief)

    async def _restart_loop(self, flink: AsyncFlinkVerbs, state: JobState) -> Verdict | None:
        """A job that keeps failing while the wait runs ends it early, with Flink's root cause."""
        now = time.time()
        restarting = state in RECOVERING
        if self.max_restarts is None or (not restarting and now - self._restart_check < RESTART_CHECK_EVERY):
            return None
        self._restart_check = now
        failures, cause = await flink.failures_since(self.job_id, int(self.since * 1000))
        if failures:
            self.last_seen = f"{self.last_seen}, {failures} restart(s) since the wait began, last: {cause}"
        if failures < self.max_restarts:
            return None
        return Verdict(
            False,
            state.value,
            f"Job {self.job_id} failed and restarted {failures} times while waiting for it to be "
            f"{self._target()} "
            f"(max_restarts={self.max_restarts}). Root cause: {cause}",
            {"root_cause": cause},
        )

    async def complete(self, flink: AsyncFlinkVerbs, verdict: Verdict) -> WaitEvent:
        event = verdict.event(**self.ids())
        if verdict.ok and self.target == "running" and self.asked_parallelism:
            return await self._below_asked(flink, event, self.asked_parallelism)
        if JobState(verdict.state) is not JobState.FAILED:  # a job state, or NOT_FOUND
            return event
        try:
            cause = await flink.root_cause(self.job_id)
        except Exception as err:  # the job did fail; not knowing why must not hide that
            cause = f"(root cause not available: {err})"
        return event.model_copy(
            update={"root_cause": cause, "message": f"{verdict.message}. Root cause: {cause}"}
        )

    async def _below_asked(self, flink: AsyncFlinkVerbs, event: WaitEvent, asked: int) -> WaitEvent:
        try:
            job = await flink.find_job(self.job_id)
        except Exception:  # the job is healthy; a look that fails must not fail the wait
            return event
        if job is None or not any(v.parallelism < asked for v in job.vertices):
            return event
        note = (
            f"it runs at parallelism {parallelisms(job)}, below the {asked} asked: Flink's adaptive scheduler "
            "started it with the task slots it had; it scales up when slots free up (see the cluster's free "
            "slots, or set capacity_check='fail' to refuse instead)"
        )
        self.log.warning("Job %s: %s", self.job_id, note)
        return event.model_copy(update={"message": f"{event.message}; {note}"})

    async def on_kill(self) -> None:
        """The user killed the deferred task: cancel or stop the job if asked to (never waits long)."""
        if self.kill_action == "none":
            return
        hook = FlinkHook(self.flink_conn_id)
        try:
            async with hook.async_verbs() as flink:
                await flink.kill_job(self.job_id, self.kill_action)
        finally:
            hook.close()


class FlinkSavepointTrigger(FlinkPollingTrigger):
    """Wait for a savepoint or stop-with-savepoint started with ``request_id`` to complete.

    (``request_id`` is the caller-chosen trigger id; ``trigger_id`` is taken by Airflow's BaseTrigger.)
    """

    def __init__(
        self,
        flink_conn_id: str,
        job_id: str,
        request_id: str,
        deadline: float,
        operation: Literal["savepoint", "stop"] = "savepoint",
        poll_interval: float = 1.0,
        end_xcoms: dict[str, str] | None = None,
    ) -> None:
        super().__init__(flink_conn_id, deadline, poll_interval, end_xcoms)
        self.job_id = job_id
        self.request_id = request_id
        self.operation = operation

    def _own_kwargs(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "request_id": self.request_id, "operation": self.operation}

    def ids(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "trigger_id": self.request_id}

    def _what(self) -> str:
        return "Stop-with-savepoint" if self.operation == "stop" else "Savepoint"

    def waiting_for(self) -> str:
        return f"{self._what().lower()} {self.request_id} of job {self.job_id} to complete"

    async def probe(self, flink: AsyncFlinkVerbs) -> Verdict | None:
        status = await flink.savepoint_status(self.job_id, self.request_id)
        self.last_seen = status.status.id
        verdict = judge_savepoint(self.job_id, status, self._what())
        if verdict is None or not verdict.ok or self.operation != "stop":
            return verdict
        # The savepoint is done, but the job may still be winding down: a stop is over only when the
        # job has ended, or an immediate redeploy would briefly run next to it (I1).
        job = await flink.find_job(self.job_id)
        if job is not None and job.state not in TERMINAL:
            self.last_seen = f"savepoint at {status.location}, job still {job.state.value}"
            return None
        state = job.state.value if job is not None else "gone"
        return Verdict(True, state, f"{verdict.message}; the job is {state}", verdict.extra)


class FlinkCheckpointTrigger(FlinkPollingTrigger):
    """Wait for a checkpoint asked for with ``request_id`` (``FlinkHook.trigger_checkpoint``) to
    complete: taken right before a rescale in place on Flink 1.x, so that the rescaled job restarts
    from a checkpoint taken a moment ago. Polls fast (a small job's checkpoint takes 0.1-0.3 s, and
    every moment between it and the rescale is re-processed after the restart)."""

    def __init__(
        self,
        flink_conn_id: str,
        job_id: str,
        request_id: str,
        deadline: float,
        poll_interval: float = 0.5,
        end_xcoms: dict[str, str] | None = None,
    ) -> None:
        super().__init__(flink_conn_id, deadline, poll_interval, end_xcoms)
        self.job_id = job_id
        self.request_id = request_id

    def _own_kwargs(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "request_id": self.request_id}

    def ids(self) -> dict[str, Any]:
        return {"job_id": self.job_id, "trigger_id": self.request_id}

    def waiting_for(self) -> str:
        return f"checkpoint {self.request_id} of job {self.job_id} to complete"

    async def probe(self, flink: AsyncFlinkVerbs) -> Verdict | None:
        status = await flink.checkpoint_status(self.job_id, self.request_id)
        self.last_seen = status.status.id
        return judge_checkpoint(self.job_id, status)


class FlinkDisposalTrigger(FlinkPollingTrigger):
    """Wait for a savepoint disposal started through Flink (``POST /savepoint-disposal``) to finish."""

    def __init__(
        self,
        flink_conn_id: str,
        request_id: str,
        path: str,
        deadline: float,
        poll_interval: float = 1.0,
        end_xcoms: dict[str, str] | None = None,
    ) -> None:
        super().__init__(flink_conn_id, deadline, poll_interval, end_xcoms)
        self.request_id = request_id
        self.path = path

    def _own_kwargs(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "path": self.path}

    def ids(self) -> dict[str, Any]:
        return {"trigger_id": self.request_id, "path": self.path}

    def waiting_for(self) -> str:
        return f"disposal of {self.path}"

    async def probe(self, flink: AsyncFlinkVerbs) -> Verdict | None:
        status = await flink.disposal_status(self.request_id)
        self.last_seen = status.status.id
        if status.in_progress:
            return None
        if status.succeeded:
            return Verdict(True, "DISPOSED", f"{self.path} disposed through Flink")
        return Verdict(False, "FAILED", f"Flink could not dispose {self.path}: {status.failure}")


class FlinkClusterHealthTrigger(FlinkPollingTrigger):
    """Wait until the REST API answers with enough task managers and free slots."""

    def __init__(
        self,
        flink_conn_id: str,
        deadline: float,
        min_taskmanagers: int = 1,
        min_free_slots: int = 1,
        poll_interval: float = 2.0,
        end_xcoms: dict[str, str] | None = None,
    ) -> None:
        super().__init__(flink_conn_id, deadline, poll_interval, end_xcoms)
        self.min_taskmanagers = int(min_taskmanagers)
        self.min_free_slots = int(min_free_slots)

    def _own_kwargs(self) -> dict[str, Any]:
        return {"min_taskmanagers": self.min_taskmanagers, "min_free_slots": self.min_free_slots}

    def ids(self) -> dict[str, Any]:
        return {}

    def waiting_for(self) -> str:
        return (
            f"Flink ({self.flink_conn_id}) to have >= {self.min_taskmanagers} task manager(s) "
            f"and >= {self.min_free_slots} free slot(s)"
        )

    async def probe(self, flink: AsyncFlinkVerbs) -> Verdict | None:
        info = await flink.overview()
        self.last_seen = f"{info.taskmanagers} task manager(s), {info.slots_available} free slot(s)"
        return judge_cluster(info, self.min_taskmanagers, self.min_free_slots)
