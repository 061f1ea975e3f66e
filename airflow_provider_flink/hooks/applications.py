"""Flink 2.3 applications (FLIP-549): a job submitted through ``POST /jars/{id}/run-application``.

What differs from ``/jars/{id}/run`` (measured on 2.3.0) and what this module does about it:

* Flink answers **202 before the program's** ``main`` **runs**: the job does not exist yet, and a
  program error is not in the answer. The submission therefore waits here until the application
  shows the job (returned like ``/run``'s answer) or ends without it
  (:class:`FlinkApplicationFailedError`, with the cause from ``/applications/{id}/exceptions``), so
  callers see the same outcomes on either route.
* The application id is chosen by the caller and refused when seen before, even of an ended
  application. One job per application: its **application id is its job id**
  (:func:`~airflow_provider_flink.ids.application_id`), so a retry, a racing actor or a lost answer
  is settled by either id, as on the jar route. An application of an earlier submission that ended
  without starting the job leaves the job id free: the submission goes on under the next
  attempt's derived application id, running the program again as ``/run`` would.
* An unknown application id is answered with HTTP 500 (``FlinkApplicationNotFoundException``), not
  404: the client reads it as "not found" (``FlinkApiError.is_not_found``), never retried.
* FAILING and CANCELING are not the end
  (:data:`~airflow_provider_flink.client.models.APPLICATION_ENDED`); a failing application cancels
  the jobs it had started. A cancelled one is a person's (or another actor's) doing, not a refusal.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from airflow_provider_flink.client import FlinkApiError, FlinkError, FlinkOutcomeUnknownError, calls, models
from airflow_provider_flink.client.calls import Call
from airflow_provider_flink.client.errors import FlinkApplicationFailedError
from airflow_provider_flink.client.models import ApplicationState

T = TypeVar("T")
log = logging.getLogger(__name__)

# How long a program's ``main`` may take to start its job before the submission gives up waiting
# (the application is left as it is: unknown, not failed, I3); a JVM program starts its job in
# well under a second here, a Python one in 2-10 s.
MAIN_SECONDS = 300.0
POLL_SECONDS = 0.2
# How long Flink may answer "no such application" (and no such job) before the submission stops
# waiting: Flink shows an application from its 202 on, so one missing this long is gone (a
# JobManager restarted without HA forgets it), not slow.
MISSING_SECONDS = 10.0
# A failing application: a job it shows is being (or was) cancelled with it, so not a success.
_FAILING = frozenset({ApplicationState.FAILING, ApplicationState.FAILED})
_CANCELLED = frozenset({ApplicationState.CANCELING, ApplicationState.CANCELED})


class FlinkApplicationPendingError(FlinkOutcomeUnknownError):
    """The submission's application has not shown the job within the wait: its ``main`` is still
    running (or Flink never showed the application). Neither failed nor running (I3): nothing is
    cancelled, nothing rolled back; a retry adopts the application or the job by its id.
    ``jobs`` names what was waited for when it is not one job id ("jobs first, second")."""

    def __init__(
        self,
        call: str,
        application_id: str,
        job_id: str,
        waited: float,
        seen: bool,
        gone: bool = False,
        jobs: str | None = None,
    ) -> None:
        self.application_id, self.job_id, self.seen, self.gone = application_id, job_id, seen, gone
        self.jobs = jobs or f"job {job_id}"
        super().__init__(call, self.jobs, "its application has not started it", waited)

    def __str__(self) -> str:
        if self.gone:
            return (
                f"Flink no longer shows application {self.application_id} (nor {self.jobs}) after "
                "showing it: a JobManager restarted without HA forgets both. Not a failure: the next try "
                "submits it again under the same ids"
            )
        if self.seen:
            what = f"Flink's application {self.application_id} runs, but its main has not started {self.jobs}"
            hint = "Look at the JobManager's log for what the program is doing"
        else:
            what = f"Flink did not show application {self.application_id} (nor {self.jobs})"
            hint = "Check that the cluster is up"
        return f"{what} within {self.waited:.0f} s: left as it is (not a failure); a retry adopts it by its id. {hint}"


class FlinkApplicationCancelledError(FlinkOutcomeUnknownError):
    """The submission's application was cancelled (by a person or another actor) before its
    ``main`` started the job: nothing runs, and Flink did not refuse the program. Not a failure of
    the spec: a retry (or the next run) submits it again under the next application id."""

    def __init__(
        self, call: str, application_id: str, job_id: str, state: str, jobs: str | None = None
    ) -> None:
        self.application_id, self.job_id, self.state = application_id, job_id, state
        self.jobs = jobs or f"job {job_id}"
        super().__init__(call, self.jobs, f"its application ended {state}", 0.0)

    def __str__(self) -> str:
        return (
            f"Flink's application {self.application_id} ended {self.state} before its main started "
            f"{self.jobs} (cancelled outside this submission): nothing runs; a retry "
            "submits it again"
        )


class FlinkApplicationJobsError(FlinkError):
    """The program started a job the deployment does not declare (or two of one name): the
    declaration and the program disagree. Running it again does the same: no retry. ``cancelled``
    says what became of the application (the caller cancels it: it is its own)."""

    def __init__(self, application_id: str, declared: Sequence[str], started: Sequence[str]) -> None:
        self.application_id, self.declared, self.started = application_id, tuple(declared), tuple(started)
        self.cancelled = "the application was not cancelled"
        super().__init__()

    def __str__(self) -> str:
        return (
            f"Flink's application {self.application_id} started jobs named {', '.join(sorted(self.started))}, but "
            f"the deployment declares {', '.join(self.declared)} (each name once): {self.cancelled}. Declare in "
            "jobs= the names the program gives its jobs (env.executeAsync(name))"
        )


class ApplicationRoute:
    """The application route of one hook: ``call`` sends a call through the hook's client,
    ``find_job`` reads a job (None: unknown)."""

    def __init__(
        self,
        call: Callable[[Call[Any]], Any],
        find_job: Callable[[str], Any],
        main_seconds: float = MAIN_SECONDS,
    ) -> None:
        self._call = call
        self._find_job = find_job
        self.main_seconds = main_seconds

    def find(self, application_id: str) -> models.ApplicationDetail | None:
        """The application, or None when Flink does not know the id."""
        try:
            detail: models.ApplicationDetail = self._call(calls.application(application_id))
        except FlinkApiError as err:
            if err.is_not_found:
                return None
            raise
        return detail

    def await_job(self, application_id: str, job_id: str, call: str) -> None:
        """Return once the application shows job ``job_id`` (in any state: a bounded job may have
        ended) and is not failing; a cancelled application that shows it is returned too (what
        became of the job is the wait's to judge). Raise :class:`FlinkApplicationFailedError` when
        it failed or finished without the job, :class:`FlinkApplicationCancelledError` when it was
        cancelled before, :class:`FlinkApplicationPendingError` when neither within
        :attr:`main_seconds`."""

        def started(app: models.ApplicationDetail) -> bool:
            return app.job(job_id) is not None

        def by_job_id() -> bool:  # not shown (a JobManager that forgot it): the job's id may say it runs
            return self._find_job(job_id) is not None

        self._await(application_id, call, started, job_id, f"job {job_id}", by_job_id)

    @staticmethod
    def check_jobs(app: models.ApplicationDetail, names: Sequence[str]) -> bool:
        """Whether the application shows a job of every name; a job of a name not declared, or two
        of one name, raise :class:`FlinkApplicationJobsError`."""
        found = [job.name for job in app.jobs]
        if any(name not in names for name in found) or len(set(found)) < len(found):
            raise FlinkApplicationJobsError(app.id, names, found)
        return set(names) <= set(found)

    def await_jobs(self, application_id: str, names: Sequence[str], call: str) -> models.ApplicationDetail:
        """Return the application once it shows a job of every name in ``names`` (a program of
        several jobs, whose ids Flink chooses), as :meth:`await_job` does for one job id. A job of
        a name not declared, or two of one name, raise :class:`FlinkApplicationJobsError`."""
        shown: list[models.ApplicationDetail] = []

        def started(app: models.ApplicationDetail) -> bool:
            shown[:] = [app]
            return self.check_jobs(app, names)

        self._await(application_id, call, started, "", "jobs " + ", ".join(names), None)
        return shown[0]

    def _await(
        self,
        application_id: str,
        call: str,
        started: Callable[[models.ApplicationDetail], bool],
        job_id: str,
        jobs: str,
        by_job_id: Callable[[], bool] | None,
    ) -> None:
        began, seen, missing_since = time.monotonic(), False, None
        while True:
            try:
                app = self.find(application_id)
                if app is None and by_job_id is not None and by_job_id():
                    return
            except FlinkError as busy:  # asked again: a busy JobManager is not a failed program
                log.info("Flink cannot show application %s yet: %s", application_id, busy)
                app, missing_since = None, None  # no answer: not seen missing either
            else:
                if app is None:
                    missing_since = missing_since or time.monotonic()
                    if time.monotonic() - missing_since >= MISSING_SECONDS:
                        waited = time.monotonic() - began
                        raise FlinkApplicationPendingError(
                            call, application_id, job_id, waited, seen, gone=seen, jobs=jobs
                        )
            if app is not None:
                seen, missing_since = True, None
                shown = started(app)
                if shown and app.status not in _FAILING:
                    return
                if app.status in _CANCELLED and app.ended:
                    raise FlinkApplicationCancelledError(call, application_id, job_id, app.status.value, jobs)
                if app.ended:
                    raise self._failed(app, call, shown)
            if time.monotonic() - began >= self.main_seconds:
                raise FlinkApplicationPendingError(
                    call, application_id, job_id, self.main_seconds, seen, jobs=jobs
                )
            time.sleep(POLL_SECONDS)

    def _failed(self, app: models.ApplicationDetail, call: str, shown: bool) -> FlinkApplicationFailedError:
        try:
            traces = self._call(calls.application_exceptions(app.id)).stack_traces()
        except FlinkError as err:
            traces = []
            log.warning("Could not read application %s's exceptions: %s", app.id, err)
        return FlinkApplicationFailedError(
            call, app.id, app.status.value, traces, started_no_job=not app.jobs, job_shown=shown
        )
