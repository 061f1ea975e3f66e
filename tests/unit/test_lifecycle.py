"""One derived word for what a deployment is doing: every state, from a record and the jobs Flink shows."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.client import models
from airflow_provider_flink.deployments.lifecycle import (
    ACTIVE,
    AT_REST,
    IN_FLIGHT,
    TROUBLED,
    Lifecycle,
    lifecycle,
)
from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.ids import deployment_prefix

OLD, NEW = (deployment_prefix("orders") + "0" * 12 + f"{n:08x}" for n in (1, 2))
FLIGHT = {
    "kind": "upgrade",
    "from_hash": "1" * 64,
    "start": {"job_id": NEW, "spec_hash": "2" * 64},
    "started_at": 1.0,
}
SUBMITTING = {"kind": "submit", "start": {"job_id": NEW, "spec_hash": "2" * 64}}


def job(job_id: str, state: str = "RUNNING", running: int = 2) -> models.JobOverview:
    return models.JobOverview.model_validate(
        {"jid": job_id, "state": state, "start-time": 1, "tasks": {"running": running, "total": 2}}
    )


def record(**fields: Any) -> DeploymentRecord:
    base = {"name": "orders", "cluster": "flink_default", "status": "running", "current_job_id": OLD}
    return DeploymentRecord.model_validate({**base, "last_stable_hash": "1" * 64, **fields})


CASES = [
    ("cluster not observed", record(), False, None, Lifecycle.UNKNOWN),
    ("nothing recorded, nothing on Flink", None, False, [], Lifecycle.NEW),
    ("nothing recorded, a healthy job", None, False, [job(OLD)], Lifecycle.STABLE),
    ("nothing recorded, a starting job", None, False, [job(OLD, running=0)], Lifecycle.DEPLOYING),
    ("nothing recorded, an ended job", None, False, [job(OLD, "CANCELED")], Lifecycle.STOPPED),
    (
        "recorded, never submitted",
        record(current_job_id=None, last_stable_hash=None),
        False,
        [],
        Lifecycle.NEW,
    ),
    (
        "first submission intended, not on Flink yet",
        record(current_job_id=None, last_stable_hash=None, operation=SUBMITTING),
        False,
        [],
        Lifecycle.DEPLOYING,
    ),
    ("first job starting", record(last_stable_hash=None), False, [job(OLD, running=1)], Lifecycle.DEPLOYING),
    ("healthy, stable", record(), False, [job(OLD)], Lifecycle.STABLE),
    (
        "healthy, its upgrade rolled back",
        record(failed_spec={"spec_hash": "2" * 64, "reason": "x", "failed_at": 1}),
        False,
        [job(OLD)],
        Lifecycle.ROLLED_BACK,
    ),
    ("a stable spec's job restarting", record(), False, [job(OLD, "RESTARTING", 0)], Lifecycle.UNHEALTHY),
    (
        "an upgrade in flight",
        record(operation=FLIGHT),
        False,
        [job(OLD, "FINISHED"), job(NEW)],
        Lifecycle.UPGRADING,
    ),
    (
        "a savepoint pending",
        record(
            operation={
                "kind": "savepoint",
                "job_id": OLD,
                "trigger_id": "t",
                "reason": "periodic",
                "started_at": 1,
            }
        ),
        False,
        [job(OLD)],
        Lifecycle.UPGRADING,
    ),
    (
        "declared suspended, stopped",
        record(status="suspended"),
        True,
        [job(OLD, "FINISHED")],
        Lifecycle.SUSPENDED,
    ),
    (
        "held by a person, stopped",
        record(hold={"at": 1.0}),
        False,
        [job(OLD, "FINISHED")],
        Lifecycle.SUSPENDED,
    ),
    ("held, the job still runs", record(hold={"at": 1.0}), False, [job(OLD)], Lifecycle.STABLE),
    ("ended outside the provider", record(), False, [job(OLD, "CANCELED")], Lifecycle.STOPPED),
    ("lost in a JobManager restart", record(), False, [], Lifecycle.STOPPED),
    # the record's own status, with neither the file nor a person saying so
    (
        "recorded suspended, stopped",
        record(status="suspended"),
        False,
        [job(OLD, "FINISHED")],
        Lifecycle.SUSPENDED,
    ),
    # no intent beside the current job: a job that never ran healthy and is gone is stopped
    ("never stable, gone", record(last_stable_hash=None), False, [], Lifecycle.STOPPED),
    # a submission intended, never stable: the next run submits it
    (
        "resubmission intended, never stable",
        record(last_stable_hash=None, operation=SUBMITTING),
        False,
        [],
        Lifecycle.DEPLOYING,
    ),
    # a submission intended after a stable spec ran (a rollback or an upgrade): no job runs now
    ("resubmission intended after a stable one", record(operation=SUBMITTING), False, [], Lifecycle.STOPPED),
    # the intended job (an upgrade's or a rollback's, submitted before it was recorded) still starting
    (
        "intended job starting",
        record(operation=SUBMITTING),
        False,
        [job(OLD, "FINISHED"), job(NEW, running=0)],
        Lifecycle.DEPLOYING,
    ),
    (
        "intended job healthy",
        record(operation=SUBMITTING),
        False,
        [job(OLD, "FINISHED"), job(NEW)],
        Lifecycle.STABLE,
    ),
    # the intent not on Flink yet: the stable spec's job runs, unhealthy
    (
        "intent pending, old job restarting",
        record(operation=SUBMITTING),
        False,
        [job(OLD, "RESTARTING", 0)],
        Lifecycle.UNHEALTHY,
    ),
]


@pytest.mark.parametrize(
    ("stored", "declared_suspended", "jobs", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_lifecycle(
    stored: DeploymentRecord | None,
    declared_suspended: bool,
    jobs: list[models.JobOverview] | None,
    expected: Lifecycle,
) -> None:
    assert lifecycle(stored, declared_suspended, jobs) is expected


def test_every_state_is_reached_and_the_sets_say_what_they_mean() -> None:
    assert {case[-1] for case in CASES} == set(Lifecycle)
    assert IN_FLIGHT <= ACTIVE
    assert not (AT_REST & IN_FLIGHT)
    assert Lifecycle.SUSPENDED not in ACTIVE
    assert Lifecycle.STABLE not in TROUBLED
    assert str(Lifecycle.ROLLED_BACK) == "rolled-back"
