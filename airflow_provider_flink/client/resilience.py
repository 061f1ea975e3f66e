"""What is retried, how, and when to stop trying: shared by the sync and async transports.

Rules (see :func:`is_retryable`):

* The request never reached Flink (connection refused, connect timeout), or Flink said it did not
  process it (429, 503): always safe to retry.
* The outcome is unknown (read timeout, connection dropped, 502/504 from a proxy): retried only
  for idempotent calls.
* 500 is retried for reads only: from a write handler it means the handler threw, and the body
  names a cause that repeating will not fix (a missing entry class, an exception in ``main()``).
* Any other 4xx: never.

The :class:`CircuitBreaker` is per cluster (base URL) per process: after ``threshold``
consecutive failures it fails calls at once, for ``FIRST_COOLDOWN`` seconds the first time, then
lets one probe call through; the probe's success closes it, its failure opens it again for twice
as long, up to ``cooldown`` seconds.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import tenacity

from airflow_provider_flink.client.calls import Call
from airflow_provider_flink.client.errors import (
    FlinkApiError,
    FlinkCircuitOpenError,
    FlinkUnreachableError,
)

NOT_PROCESSED = frozenset({429, 503})
OUTCOME_UNKNOWN = frozenset({502, 504})


def is_retryable(call: Call[Any], error: BaseException) -> bool:
    if isinstance(error, FlinkUnreachableError):
        return not error.request_sent or call.idempotent
    if isinstance(error, FlinkApiError):
        if error.is_not_found:
            return False
        if error.status in NOT_PROCESSED:
            return True
        if error.status in OUTCOME_UNKNOWN:
            return call.idempotent
        return error.status == 500 and call.method == "GET"
    return False


def counts_as_failure(error: BaseException) -> bool:
    """Failures that say the cluster is unwell (feed the breaker); a 4xx means it is alive."""
    if isinstance(error, FlinkUnreachableError):
        return True
    return isinstance(error, FlinkApiError) and error.status >= 500 and not error.is_not_found


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter between ``initial`` and ``maximum`` seconds."""

    attempts: int = 4
    initial: float = 0.5
    maximum: float = 8.0
    jitter: float = 0.5
    give_up_after: float = 60.0

    def _kwargs(self, call: Call[Any]) -> dict[str, Any]:
        return {
            "stop": tenacity.stop_after_attempt(self.attempts)
            | tenacity.stop_after_delay(self.give_up_after),
            "wait": tenacity.wait_exponential(multiplier=self.initial, max=self.maximum)
            + tenacity.wait_random(0, self.jitter),
            "retry": tenacity.retry_if_exception(lambda exc: is_retryable(call, exc)),
            "reraise": True,
        }

    def retrying(self, call: Call[Any]) -> tenacity.Retrying:
        return tenacity.Retrying(**self._kwargs(call))

    def async_retrying(self, call: Call[Any]) -> tenacity.AsyncRetrying:
        return tenacity.AsyncRetrying(**self._kwargs(call))


NO_RETRY = RetryPolicy(attempts=1)

# Why the cooldown starts short and grows: a JobManager restarts in 10-20 s and a REST outage is
# often shorter. A fixed 30 s made every watcher in the triggerer see the cluster back up to 30 s
# late (the soak: a job's loss found 34.8 s after the JobManager's kill). Doubling while the
# cluster stays down keeps a long outage to one probe call per ``cooldown``.
FIRST_COOLDOWN = 2.0


@dataclass
class CircuitBreaker:
    url: str
    threshold: int = 5
    cooldown: float = 30.0
    clock: Any = time.monotonic
    first_cooldown: float = FIRST_COOLDOWN
    _failures: int = 0
    _opened_at: float | None = None
    _open_for: float = 0.0  # this opening's cooldown: first_cooldown, doubled by each failed probe
    _probing: bool = False
    _last_error: str = ""  # what the breaker's message names: the real cause, not only "open"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before_call(self) -> None:
        """Raise :class:`FlinkCircuitOpenError` while open; let exactly one probe through after."""
        with self._lock:
            if self._opened_at is None:
                return
            waited = self.clock() - self._opened_at
            if waited < self._open_for or self._probing:
                raise FlinkCircuitOpenError(
                    self.url, self._failures, max(0.0, self._open_for - waited), self._last_error
                )
            self._probing = True

    def record(self, error: BaseException | None) -> None:
        with self._lock:
            probed, self._probing = self._probing, False
            if error is None or not counts_as_failure(error):
                self._failures = 0
                self._opened_at = None
                return
            self._failures += 1
            self._last_error = str(error)
            if self._opened_at is None:
                if self._failures >= self.threshold:
                    self._opened_at = self.clock()
                    self._open_for = min(self.first_cooldown, self.cooldown)
            elif probed:  # the probe failed: still down, look again twice as late
                self._opened_at = self.clock()
                self._open_for = min(self._open_for * 2, self.cooldown)
            # else a call sent before the breaker opened failed late: this opening stands

    @property
    def is_open(self) -> bool:
        return self._opened_at is not None


_BREAKERS: dict[str, CircuitBreaker] = {}
_BREAKERS_LOCK = threading.Lock()


def breaker_for(url: str, threshold: int = 5, cooldown: float = 30.0) -> CircuitBreaker:
    """The process-wide breaker of one cluster (the first caller's threshold and cooldown apply)."""
    with _BREAKERS_LOCK:
        if url not in _BREAKERS:
            _BREAKERS[url] = CircuitBreaker(url, threshold=threshold, cooldown=cooldown)
        return _BREAKERS[url]


def reset_breakers() -> None:
    """Forget every breaker (tests; a new process starts clean anyway)."""
    with _BREAKERS_LOCK:
        _BREAKERS.clear()
