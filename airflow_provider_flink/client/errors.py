"""Typed errors of the Flink REST client.

Callers need to tell three situations apart, because they lead to different decisions:

* :class:`FlinkApiError`: Flink answered, with an error. The request reached the cluster and was
  refused; the message carries Flink's own root cause. Repeating it rarely helps.
* :class:`FlinkUnreachableError` (and :class:`FlinkTimeoutError`): no answer. The state of the
  cluster is *unknown*, never "failed" (invariant I3).
* :class:`FlinkCircuitOpenError`: this process saw the cluster fail repeatedly and is not even
  trying for a while; also *unknown*.

Flink's error bodies are Java stack traces. :func:`root_cause` turns one into the single line a
person needs ("java.lang.IllegalStateException: failing on purpose after 20 records").
"""

from __future__ import annotations

import re

# Wrapper exceptions that say nothing about the cause: stripped from the front of a cause line.
_WRAPPERS = (
    "java.util.concurrent.CompletionException",
    "java.util.concurrent.ExecutionException",
    "org.apache.flink.runtime.rest.handler.RestHandlerException",
    "org.apache.flink.runtime.rest.util.RestClientException",
    "org.apache.flink.util.FlinkRuntimeException",
    "org.apache.flink.util.SerializedThrowable",
)
_CLASS_PREFIX = re.compile(r"^((?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*)(?::\s*|$)")
_CLASS_WITH_MESSAGE = re.compile(r"^(?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*:")
_DUPLICATE_MARKERS = ("DuplicateJobSubmissionException", "DuplicateApplicationSubmissionException")
# Flink 2.3.0 answers GET /applications/{unknown id} with HTTP 500 carrying this, not with 404.
_APPLICATION_NOT_FOUND = "FlinkApplicationNotFoundException"


def _innermost(line: str) -> str:
    """``A: B: msg`` -> ``B: msg`` while the remainder still starts with a class name."""
    line = line.strip()
    while True:
        match = _CLASS_PREFIX.match(line)
        if not match:
            return line
        rest = line[match.end() :]
        if rest and (_CLASS_WITH_MESSAGE.match(rest) or match.group(1) in _WRAPPERS):
            line = rest
            continue
        return line


def root_cause(text: str) -> str:
    """The deepest cause of a Java stack trace, as one human-readable line.

    Takes the last ``Caused by:`` line (the innermost exception), else the first line that is not
    boilerplate, and strips wrapper exception class names from its front.
    """
    lines = [ln.strip() for ln in text.splitlines()]
    causes = [ln[len("Caused by:") :].strip() for ln in lines if ln.startswith("Caused by:")]
    if causes:
        return _innermost(causes[-1])
    for ln in lines:
        cleaned = ln.removeprefix("<Exception on server side:").strip()
        if cleaned and not cleaned.startswith("at ") and cleaned != "Internal server error.":
            return _innermost(cleaned)
    return text.strip()[:500]


class FlinkError(Exception):
    """Base of every error this client raises.

    ``attempts`` counts the tries made; a message of an error that outlived its retries says so.
    """

    attempts: int = 1

    def _giving_up(self) -> str:
        if self.attempts > 1:
            return f" (giving up after {self.attempts} attempts)"
        return ""


class FlinkApiError(FlinkError):
    """Flink answered ``status`` >= 400 to ``call``; ``errors`` is Flink's own ``errors`` list."""

    def __init__(self, call: str, status: int, errors: list[str], body: str = "") -> None:
        self.call, self.status, self.errors = call, status, errors
        text = "\n".join(errors) or body
        self.root_cause = root_cause(text) if text else f"HTTP {status} with an empty body"
        self.full_text = text
        super().__init__()

    @property
    def is_duplicate_submission(self) -> bool:
        """True when Flink refused a job id it has seen before: the job was already submitted."""
        return any(marker in self.full_text for marker in _DUPLICATE_MARKERS)

    @property
    def is_not_found(self) -> bool:
        """Flink does not know what was asked for: a 404, or Flink 2.3.0's HTTP 500 for an unknown
        application id (an answer, not a sick cluster: never retried, never counted as a failure)."""
        return self.status == 404 or (self.status == 500 and _APPLICATION_NOT_FOUND in self.full_text)

    def __str__(self) -> str:
        hint = ""
        if self.status in (401, 403):
            hint = " Check the credentials (login/password or bearer token) of the Flink connection."
        elif self.is_duplicate_submission:
            hint = " A job with this job id was already submitted to this cluster."
        cause = self.root_cause.rstrip(".")
        return f"Flink answered HTTP {self.status} to {self.call}: {cause}.{hint}{self._giving_up()}"


class FlinkApplicationFailedError(FlinkApiError):
    """Flink took the program (``run-application`` answered 202) and its application then ended
    without running the job: its ``main`` raised, started no job, or a job it started failed to
    start (Flink cancels it with the application: ``job_shown``). A refusal like a 400 of
    ``/jars/{id}/run`` (``status`` 400): Flink's cause is in ``errors`` (the application's
    exception history, the newest last); ``state`` is how the application ended."""

    def __init__(
        self,
        call: str,
        application_id: str,
        state: str,
        errors: list[str],
        *,
        started_no_job: bool,
        job_shown: bool = False,
    ) -> None:
        self.application_id, self.state = application_id, state
        self.started_no_job, self.job_shown = started_no_job, job_shown
        super().__init__(call, 400, errors)

    def __str__(self) -> str:
        if self.errors:
            cause = self.root_cause.rstrip(".")
        elif self.started_no_job:
            cause = "its main ended without starting a job (it must build one and call execute)"
        else:
            cause = "Flink recorded no exception for it"
        return f"Flink's application {self.application_id} of {self.call} ended {self.state}: {cause}."


class FlinkUnreachableError(FlinkError):
    """No answer from Flink at ``url``.

    ``request_sent`` is False when the connection failed before the request left (nothing can
    have happened on the cluster); True when the answer was lost (the outcome is unknown).
    """

    def __init__(self, call: str, url: str, reason: str, *, request_sent: bool) -> None:
        self.call, self.url, self.reason, self.request_sent = call, url, reason, request_sent
        super().__init__()

    def __str__(self) -> str:
        return (
            f"Flink at {self.url} did not answer {self.call}: {self.reason}. "
            "Check that the cluster is up and that host, port, protocol and TLS settings of the "
            f"Flink connection are right.{self._giving_up()}"
        )


class FlinkTimeoutError(FlinkUnreachableError):
    """The request timed out (the connection's request timeout)."""


class FlinkCircuitOpenError(FlinkError):
    """Calls to ``url`` are refused locally after repeated failures, until ``retry_in`` passes."""

    def __init__(self, url: str, failures: int, retry_in: float, last_error: str = "") -> None:
        self.url, self.failures, self.retry_in, self.last_error = url, failures, retry_in, last_error
        super().__init__()

    def __str__(self) -> str:
        cause = f" (the last: {self.last_error})" if self.last_error else ""
        return (
            f"Not calling Flink at {self.url}: its last {self.failures} calls failed{cause}, so the "
            f"circuit breaker is open; a probe call is let through in {self.retry_in:.0f} s."
        )


class FlinkResponseError(FlinkError):
    """Flink answered 2xx with a body this client cannot read (an incompatible Flink version?)."""

    def __init__(self, call: str, problem: str) -> None:
        self.call, self.problem = call, problem
        super().__init__()

    def __str__(self) -> str:
        return f"Unexpected answer from Flink to {self.call}: {self.problem}"


class FlinkOutcomeUnknownError(FlinkError):
    """A request that may change the cluster lost its answer (``reason``), and asking Flink about the
    id the caller chose for it (``what``: "job <id>", "savepoint trigger <id>") did not tell within
    ``waited`` seconds whether it ran (I3: unknown, not failed). Sending it again with the same id is
    safe: Flink runs it once."""

    def __init__(self, call: str, what: str, reason: str, waited: float) -> None:
        self.call, self.what, self.reason, self.waited = call, what, reason, waited
        super().__init__()

    def __str__(self) -> str:
        return (
            f"the answer to {self.call} was lost ({self.reason}), and Flink did not show {self.what} within "
            f"{self.waited:.0f} s: whether it ran is unknown (not a failure). Sending it again with the same id "
            "is safe: Flink runs it once"
        )
