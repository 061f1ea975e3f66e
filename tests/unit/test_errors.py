"""Root-cause extraction from Flink's Java stack traces."""

from __future__ import annotations

import pytest

from airflow_provider_flink.client.errors import FlinkApiError, FlinkTimeoutError, root_cause
from tests.unit.conftest import recorded


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "org.apache.flink.runtime.rest.handler.RestHandlerException: Job could not be found.\n\tat a.B(C.java:1)",
            "Job could not be found.",
        ),
        (
            "Internal server error.\n<Exception on server side:\njava.util.concurrent.CompletionException: "
            "java.lang.RuntimeException: inner message\n\tat a.B(C.java:1)",
            "java.lang.RuntimeException: inner message",
        ),
        (
            "x\nCaused by: java.lang.IllegalStateException: one\nCaused by: java.io.IOException: two",
            "java.io.IOException: two",
        ),
        (
            "org.apache.flink.runtime.rest.NotFoundException: Job abc not found",
            "org.apache.flink.runtime.rest.NotFoundException: Job abc not found",
        ),
        ("java.lang.ClassNotFoundException: nope.Main", "java.lang.ClassNotFoundException: nope.Main"),
        ("plain words", "plain words"),
    ],
)
def test_root_cause(text: str, expected: str) -> None:
    assert root_cause(text) == expected


def test_duplicate_recognised_for_1x_name_too() -> None:
    err = FlinkApiError(
        "POST /jars/x/run",
        400,
        ["org.apache.flink.runtime.client.DuplicateJobSubmissionException: Job has already been submitted."],
    )
    assert err.is_duplicate_submission
    plain = FlinkApiError("POST /jars/x/run", 400, recorded("flink-2.3.0-missing-entry-class.json")["errors"])
    assert not plain.is_duplicate_submission
    assert not plain.is_not_found
    assert FlinkApiError("GET /jobs/x", 404, []).is_not_found


def test_timeout_is_unreachable_with_reason() -> None:
    err = FlinkTimeoutError("GET /overview", "http://h:1", "timed out (ReadTimeout)", request_sent=True)
    assert "did not answer GET /overview: timed out (ReadTimeout)" in str(err)
