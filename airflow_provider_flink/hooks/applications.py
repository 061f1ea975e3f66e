"""Flink 2.3 applications (FLIP-549): a job submitted through ``POST /jars/{id}/run-application``.

What differs from ``/jars/{id}/run`` (measured on 2.3.0) and what this module does about it:

* Flink answers **202 before the program's** ``main`` **runs**: the job does not exist yet, and a
  program error is not in the answer. The submission therefore waits here until the application
  shows the job (returned like ``/run``'s answer) or ends without it
  (:class:`FlinkApplicationFailedError`, with the cause from ``/applications/{id}/exceptions``), so
  callers see the same outcomes on either route.
* The application id is chosen by the caller and refused when seen before, even of an ended
  application. One job per application: its **application id is its job id** (derived and
  recorded as the job id is: I1, I4), so a retry, a racing actor or a lost answer is settled by
  either id, as on the jar route.
* An unknown application id is answered with HTTP 500 (``FlinkApplicationNotFoundException``), not
  404: :func:`is_application_not_found`.
* FAILING and CANCELING are not the end (:data:`~airflow_provider_flink.client.models.APPLICATION_ENDED`);
  a failing application cancels the jobs it had started.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from airflow_provider_flink.client import FlinkApiError, FlinkError, calls, models
from airflow_provider_flink.client.calls import Call
from airflow_provider_flink.client.errors import FlinkApplicationFailedError
from airflow_provider_flink.client.models import ApplicationState

T = TypeVar("T")
log = logging.getLogger(__name__)

NOT_FOUND_MARKER = "FlinkApplicationNotFoundException"
# How long a program's ``main`` may take to start its job before the submission gives up waiting
# (the application is left as it is: unknown, not failed, I3); a JVM program starts its job in
# well under a second here, a Python one in 2-10 s.
MAIN_SECONDS = 300.0
POLL_SECONDS = 0.2
# An application failing or cancelled (or on its way): a job it shows is being (or was) cancelled
# with it, so it is not the submission's success.
_FAILING = frozenset(
    {ApplicationState.FAILING, ApplicationState.FAILED, ApplicationState.CANCELING, ApplicationState.CANCELED}
)


def is_application_not_found(err: FlinkApiError) -> bool:
    return err.is_not_found or NOT_FOUND_MARKER in err.full_text


class ApplicationRoute:
    """The application route of one hook: ``call`` sends a call through the hook's client."""

    def __init__(self, call: Callable[[Call[Any]], Any], main_seconds: float = MAIN_SECONDS) -> None:
        self._call = call
        self.main_seconds = main_seconds

    def find(self, application_id: str) -> models.ApplicationDetail | None:
        """The application, or None when Flink does not know the id."""
        try:
            detail: models.ApplicationDetail = self._call(calls.application(application_id))
        except FlinkApiError as err:
            if is_application_not_found(err):
                return None
            raise
        return detail

    def await_job(self, application_id: str, job_id: str, call: str) -> None:
        """Wait until the application shows job ``job_id`` (any state: a bounded job may already
        have ended) while it is not ending; raise :class:`FlinkApplicationFailedError` when it
        ended (or is ending) without it, or :class:`FlinkApplicationPendingError` when ``main``
        has not started it within :attr:`main_seconds`."""
        began = time.monotonic()
        while True:
            try:
                app = self.find(application_id)
            except FlinkError as busy:  # asked again: a busy JobManager is not a failed program
                log.info("Flink cannot show application %s yet: %s", application_id, busy)
                app = None
            if app is not None:
                if app.job(job_id) is not None and app.status not in _FAILING:
                    return
                if app.ended:
                    raise self._failed(app, job_id, call)
            if time.monotonic() - began >= self.main_seconds:
                raise FlinkApplicationPendingError(application_id, job_id, self.main_seconds)
            time.sleep(POLL_SECONDS)

    def _failed(self, app: models.ApplicationDetail, job_id: str, call: str) -> FlinkApplicationFailedError:
        try:
            text = self._call(calls.application_exceptions(app.id)).text()
        except FlinkError as err:
            text = ""
            log.warning("Could not read application %s's exceptions: %s", app.id, err)
        return FlinkApplicationFailedError(
            call, app.id, app.status.value, [text] if text else [], started_no_job=not app.jobs
        )


class FlinkApplicationPendingError(FlinkError):
    """The application runs, and its ``main`` has not started the job within the wait: neither
    failed nor running (I3). Nothing is cancelled; a retry adopts the application by its id."""

    def __init__(self, application_id: str, job_id: str, waited: float) -> None:
        self.application_id, self.job_id, self.waited = application_id, job_id, waited
        super().__init__()

    def __str__(self) -> str:
        return (
            f"Flink's application {self.application_id} runs, but its main has not started job {self.job_id} "
            f"within {self.waited:.0f} s: left as it is (not a failure); a retry adopts it by its id. "
            "Look at the JobManager's log for what the program is doing"
        )
