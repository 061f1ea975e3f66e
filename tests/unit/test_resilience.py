"""Circuit breaker and retry classification."""

from __future__ import annotations

import pytest
import responses

from airflow_provider_flink.client import (
    CircuitBreaker,
    ClientSettings,
    FlinkApiError,
    FlinkCircuitOpenError,
    FlinkClient,
    FlinkUnreachableError,
    calls,
)
from airflow_provider_flink.client.resilience import NO_RETRY, breaker_for, is_retryable
from tests.unit.conftest import BASE


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    return CircuitBreaker(BASE, threshold=3, cooldown=30.0, clock=clock)


REFUSED = FlinkUnreachableError("GET /overview", BASE, "connection refused", request_sent=False)


def open_it(breaker: CircuitBreaker) -> None:
    """As many refused calls as the breaker's threshold: it opens."""
    for _ in range(breaker.threshold):
        breaker.record(REFUSED)


@responses.activate
def test_breaker_opens_after_threshold_then_fails_fast(
    settings: ClientSettings, breaker: CircuitBreaker
) -> None:
    responses.get(f"{BASE}/overview", status=502, body="bad gateway")
    client = FlinkClient(settings, breaker=breaker)
    for _ in range(3):
        with pytest.raises(FlinkApiError):
            client.call(calls.overview(), retry=NO_RETRY)
    assert breaker.is_open
    with pytest.raises(FlinkCircuitOpenError) as info:
        client.call(calls.overview())
    assert len(responses.calls) == 3  # the open breaker sent nothing
    assert str(info.value) == (
        f"Not calling Flink at {BASE}: its last 3 calls failed (the last: Flink answered HTTP 502 to "
        "GET /overview: bad gateway.), so the circuit breaker is open; a probe call is let through in 2 s."
    )


@responses.activate
def test_breaker_lets_one_probe_through_and_closes_on_success(
    settings: ClientSettings, breaker: CircuitBreaker, clock: FakeClock
) -> None:
    for _ in range(3):
        breaker.record(FlinkApiError("GET /overview", 503, []))
    clock.now += 31
    responses.get(f"{BASE}/overview", json={"flink-version": "2.3.0"})
    client = FlinkClient(settings, breaker=breaker)
    assert client.call(calls.overview()).flink_version == "2.3.0"
    assert not breaker.is_open


def test_breaker_probe_failure_reopens_and_only_one_probe_at_a_time(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_it(breaker)
    clock.now += 31
    breaker.before_call()  # the probe
    with pytest.raises(FlinkCircuitOpenError):
        breaker.before_call()  # a second caller while the probe is out
    breaker.record(REFUSED)
    assert breaker.is_open
    with pytest.raises(FlinkCircuitOpenError) as info:
        breaker.before_call()
    assert info.value.retry_in == 4.0  # twice the first cooldown: the cluster is still down


def _fail_probe(breaker: CircuitBreaker, clock: FakeClock, error: BaseException) -> float:
    """Wait out the breaker's cooldown, let the probe fail; the next cooldown."""
    with pytest.raises(FlinkCircuitOpenError) as info:
        breaker.before_call()
    clock.now += info.value.retry_in
    breaker.before_call()  # the probe
    breaker.record(error)
    with pytest.raises(FlinkCircuitOpenError) as info:
        breaker.before_call()
    return info.value.retry_in


def test_the_cooldown_starts_short_and_doubles_while_probes_fail_up_to_the_setting(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    """A JobManager restarts in 10-20 s: a breaker that waited its full 30 s every time made the
    triggerer's watchers see the cluster back up to 30 s late."""
    open_it(breaker)
    with pytest.raises(FlinkCircuitOpenError) as info:
        breaker.before_call()
    assert info.value.retry_in == 2.0
    assert [_fail_probe(breaker, clock, REFUSED) for _ in range(6)] == [4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    # back: the probe closes it, and the next outage starts short again
    clock.now += 30
    breaker.before_call()
    breaker.record(None)
    assert not breaker.is_open
    open_it(breaker)
    with pytest.raises(FlinkCircuitOpenError) as info:
        breaker.before_call()
    assert info.value.retry_in == 2.0


def test_a_late_failure_of_a_call_sent_before_the_breaker_opened_does_not_extend_it(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    open_it(breaker)
    clock.now += 1.5
    breaker.record(REFUSED)  # in flight when it opened
    with pytest.raises(FlinkCircuitOpenError) as info:
        breaker.before_call()
    assert info.value.retry_in == pytest.approx(0.5)
    clock.now += 0.5
    breaker.before_call()  # the probe goes through on time


def test_the_cooldown_setting_caps_the_first_one_too(clock: FakeClock) -> None:
    breaker = CircuitBreaker(BASE, threshold=1, cooldown=1.0, clock=clock)
    breaker.record(FlinkApiError("GET /overview", 503, []))
    with pytest.raises(FlinkCircuitOpenError) as info:
        breaker.before_call()
    assert info.value.retry_in == 1.0


def test_client_errors_do_not_count_against_the_cluster(breaker: CircuitBreaker) -> None:
    for _ in range(10):
        breaker.record(FlinkApiError("GET /jobs/x", 404, []))
    assert not breaker.is_open


def test_one_breaker_per_cluster_per_process() -> None:
    assert breaker_for("http://a:1") is breaker_for("http://a:1")
    assert breaker_for("http://a:1") is not breaker_for("http://b:1")


def test_circuit_open_and_unknown_errors_are_never_retried() -> None:
    call = calls.overview()
    assert not is_retryable(call, FlinkCircuitOpenError(BASE, 5, 10))
    assert not is_retryable(call, ValueError("bug"))
