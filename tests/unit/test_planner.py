"""Table-driven planner tests: every transition, from specs + observed jobs + records, no I/O."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.client import models
from airflow_provider_flink.deployments.lifecycle import Lifecycle
from airflow_provider_flink.deployments.planner import (
    ClusterView,
    DeploymentPlan,
    plan_deployment,
    rebuild_record,
    retention_victims,
)
from airflow_provider_flink.deployments.records import (
    DeploymentRecord,
    SavepointEntry,
    Savepointing,
    Start,
    Submitting,
    Upgrading,
)
from airflow_provider_flink.deployments.snapshots import Snapshot
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.ids import deployment_prefix, new_job_id, transition_id

NOW = 1_800_000_000.0
H1 = "1" * 64  # the applied spec's hash
H2 = "2" * 64  # a changed spec's hash
NONCE = "abcd0123"


def spec(**fields: Any) -> DeploymentSpec:
    return DeploymentSpec.model_validate({"name": "orders", "artifact": {"jar": "/j.jar"}, **fields})


def jid(spec_hash: str = H1, nonce: str = NONCE) -> str:
    return new_job_id("orders", spec_hash, lambda: nonce)


def job(
    job_id: str, state: str = "RUNNING", running: int = 2, total: int = 2, start: int = 1
) -> models.JobOverview:
    return models.JobOverview.model_validate(
        {"jid": job_id, "state": state, "start-time": start, "tasks": {"running": running, "total": total}}
    )


def view(*jobs: models.JobOverview) -> ClusterView:
    return ClusterView("flink_default", tuple(jobs))


def record(**fields: Any) -> DeploymentRecord:
    base: dict[str, Any] = {"name": "orders", "cluster": "flink_default"}
    return DeploymentRecord.model_validate({**base, **fields})


def running_record(**fields: Any) -> DeploymentRecord:
    base: dict[str, Any] = {
        "status": "running",
        "current_job_id": jid(),
        "applied_hash": H1,
        "last_stable_hash": H1,
    }
    return record(**{**base, **fields})


def upgrade_in_flight(
    from_hash: str | None, to_hash: str, savepoint_path: str | None, started_at: float, new_job_id: str
) -> Upgrading:
    """An upgrade in flight, as the executor records it."""
    start = Start(job_id=new_job_id, spec_hash=to_hash, restore_from=savepoint_path)
    return Upgrading(from_hash=from_hash, start=start, started_at=started_at)


def submitting(job_id: str, spec_hash: str, restore_from: str | None = None) -> Submitting:
    """A submission intended (its id recorded), not yet recorded as the job."""
    return Submitting(start=Start(job_id=job_id, spec_hash=spec_hash, restore_from=restore_from))


def saved(path: str, age: float, reason: str = "periodic") -> SavepointEntry:
    return SavepointEntry(path=path, taken_at=NOW - age, reason=reason, job_id=jid())


def kinds(plan: Any) -> list[str]:
    """The kinds of the plan's actions; every action names the plan's deployment."""
    assert {a.deployment for a in plan.actions} <= {plan.spec.name}
    return [a.kind for a in plan.actions]


CASES = [
    # (id, spec fields, desired hash, jobs on the cluster, stored record, expected kinds, expected skip text)
    ("first deploy", {}, H1, [], None, ["deploy"], None),
    ("no drift: nothing", {}, H1, [job(jid())], running_record(), [], None),
    ("spec changed: upgrade", {}, H2, [job(jid())], running_record(), ["upgrade"], None),
    ("suspend", {"state": "suspended"}, H1, [job(jid())], running_record(), ["suspend"], None),
    (
        "stays suspended",
        {"state": "suspended"},
        H1,
        [job(jid(), "FINISHED", 0)],
        running_record(status="suspended"),
        [],
        None,
    ),
    (
        "resume",
        {},
        H1,
        [job(jid(), "FINISHED", 0)],
        running_record(status="suspended", savepoints=[saved("file:/sp/1", 60, "suspend")]),
        ["resume"],
        None,
    ),
    ("restart failed", {}, H1, [job(jid(), "FAILED", 0)], running_record(), ["restart"], None),
    (
        "restart limit",
        {"restart_policy": {"max_restarts": 2, "window_minutes": 10}},
        H1,
        [job(jid(), "FAILED", 0)],
        running_record(restarts=[NOW - 60, NOW - 120]),
        [],
        "reached the limit of 2",
    ),
    (
        "restarts disabled",
        {"restart_policy": {"enabled": False}},
        H1,
        [job(jid(), "FAILED", 0)],
        running_record(),
        [],
        "restart policy is disabled",
    ),
    ("ended outside: resume", {}, H1, [job(jid(), "CANCELED", 0)], running_record(), ["resume"], None),
    ("lost in JM restart: recover", {}, H1, [], running_record(), ["recover"], None),
    (
        "two live copies: refuse",
        {},
        H1,
        [job(jid()), job(jid(nonce="ffff0000"))],
        running_record(),
        [],
        "2 live jobs belong to this deployment",
    ),
    (
        "pending savepoint blocks upgrade",
        {},
        H2,
        [job(jid())],
        running_record(
            operation=Savepointing(job_id=jid(), trigger_id="t" * 32, reason="periodic", started_at=NOW - 5)
        ),
        [],  # filed before planning had it ended (the executor's catch_up); still running here
        "upgrade waits",
    ),
    (
        "unfinished submission: resubmit same id",
        {},
        H1,
        [],
        record(
            status="running",
            operation=submitting(jid(nonce="99990000"), H1, "file:/sp/9"),
        ),
        ["resubmit"],
        None,
    ),
    (
        "submission seen: adopt",
        {},
        H1,
        [job(jid(nonce="99990000"))],
        record(
            status="running",
            current_job_id=None,
            operation=submitting(jid(nonce="99990000"), H1),
            last_stable_hash=H1,
        ),
        ["adopt"],
        None,
    ),
    (
        "upgrade not healthy in time: rollback",
        {"health_timeout_seconds": 60},
        H2,
        [job(jid(H2), "RUNNING", 0, 2)],
        running_record(
            current_job_id=jid(H2),
            applied_hash=H2,
            operation=upgrade_in_flight(
                from_hash=H1,
                to_hash=H2,
                savepoint_path="file:/sp/u",
                started_at=NOW - 120,
                new_job_id=jid(H2),
            ),
        ),
        ["rollback"],
        None,
    ),
    (
        "upgrade still starting: wait",
        {"health_timeout_seconds": 600},
        H2,
        [job(jid(H2), "RUNNING", 0, 2)],
        running_record(
            current_job_id=jid(H2),
            applied_hash=H2,
            operation=upgrade_in_flight(
                from_hash=H1,
                to_hash=H2,
                savepoint_path="file:/sp/u",
                started_at=NOW - 120,
                new_job_id=jid(H2),
            ),
        ),
        [],
        "waiting for the upgraded job",
    ),
    (
        "upgraded job healthy: mark stable",
        {},
        H2,
        [job(jid(H2))],
        running_record(
            current_job_id=jid(H2),
            applied_hash=H2,
            operation=upgrade_in_flight(
                from_hash=H1,
                to_hash=H2,
                savepoint_path="file:/sp/u",
                started_at=NOW - 120,
                new_job_id=jid(H2),
            ),
        ),
        ["mark-stable"],
        None,
    ),
    (
        "missing record, job running: rebuilt, marked stable",
        {},
        H1,
        [job(jid())],
        None,
        ["mark-stable"],
        None,
    ),
    (
        "record points elsewhere: adopt the live job",
        {},
        H1,
        [job(jid())],
        running_record(current_job_id=jid(nonce="12121212")),
        ["adopt"],
        None,
    ),
    (
        "periodic savepoint due",
        {"savepoint_policy": {"interval_minutes": 10}},
        H1,
        [job(jid())],
        running_record(savepoints=[saved("file:/sp/1", 601)]),
        ["savepoint"],
        None,
    ),
    (
        "periodic savepoint not due",
        {"savepoint_policy": {"interval_minutes": 10}},
        H1,
        [job(jid())],
        running_record(savepoints=[saved("file:/sp/1", 60)]),
        [],
        None,
    ),
    (
        "no periodic savepoint of an unhealthy job",
        {"savepoint_policy": {"interval_minutes": 10}},
        H1,
        [job(jid(), "RESTARTING", 0)],
        running_record(),
        [],
        None,
    ),
    (
        "retention by count",
        {"savepoint_policy": {"keep_last": 1}},
        H1,
        [job(jid())],
        running_record(savepoints=[saved("file:/sp/old", 600), saved("file:/sp/new", 60)]),
        ["dispose"],
        None,
    ),
]


@pytest.mark.parametrize(
    ("spec_fields", "desired", "jobs", "stored", "expected", "skip"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_transitions(
    spec_fields: dict[str, Any],
    desired: str,
    jobs: list[models.JobOverview],
    stored: DeploymentRecord | None,
    expected: list[str],
    skip: str | None,
) -> None:
    plan = plan_deployment(spec(**spec_fields), desired, view(*jobs), stored, NOW)
    assert kinds(plan) == expected
    if skip is None:
        assert plan.skipped is None
    else:
        assert plan.skipped is not None
        assert skip in plan.skipped
    # Refusals a person must resolve make the run red; waiting for Flink does not.
    assert plan.needs_human is (skip in NEEDS_HUMAN)


NEEDS_HUMAN = {
    "reached the limit of 2",
    "restart policy is disabled",
    "2 live jobs belong to this deployment",
}


# What each transition's plan says, word for word: the lifecycle it found, each action as the run
# reports it (kind, job ids, mode, path and reason) and why it skipped.
SUMMARIES = {
    "first deploy": (
        "new",
        ["deploy orders -> 1c168adb00d21111111111113915fcf9: first deployment"],
        None,
    ),
    "no drift: nothing": (
        "stable",
        [],
        None,
    ),
    "spec changed: upgrade": (
        "stable",
        [
            "upgrade orders job 1c168adb00d2111111111111abcd0123 -> 1c168adb00d22222222222220ec5d2e0 (savepoint): the declared spec changed"
        ],
        None,
    ),
    "suspend": (
        "stable",
        ["suspend orders job 1c168adb00d2111111111111abcd0123: declared suspended: stop with a savepoint"],
        None,
    ),
    "stays suspended": (
        "suspended",
        [],
        None,
    ),
    "resume": (
        "suspended",
        [
            "resume orders job 1c168adb00d2111111111111abcd0123 -> 1c168adb00d2111111111111f9c8ce92: declared running again after a suspend"
        ],
        None,
    ),
    "restart failed": (
        "stopped",
        [
            "restart orders job 1c168adb00d2111111111111abcd0123 -> 1c168adb00d2111111111111f9c8ce92: the job FAILED: restart it from its latest state"
        ],
        None,
    ),
    "restart limit": (
        "stopped",
        [],
        "job 1c168adb00d2111111111111abcd0123 FAILED again: 2 restarts in the last 10 min reached the limit of 2",
    ),
    "restarts disabled": (
        "stopped",
        [],
        "job 1c168adb00d2111111111111abcd0123 FAILED and the restart policy is disabled",
    ),
    "ended outside: resume": (
        "stopped",
        [
            "resume orders job 1c168adb00d2111111111111abcd0123 -> 1c168adb00d2111111111111f9c8ce92: the job ended CANCELED outside the provider: start it again"
        ],
        None,
    ),
    "lost in JM restart: recover": (
        "stopped",
        [
            "recover orders job 1c168adb00d2111111111111abcd0123 -> 1c168adb00d2111111111111f9c8ce92: the job is gone from the cluster (JobManager restart without HA?): recover it from its newest snapshot"
        ],
        None,
    ),
    "two live copies: refuse": (
        "stable",
        [],
        "2 live jobs belong to this deployment (1c168adb00d2111111111111abcd0123 (RUNNING), 1c168adb00d2111111111111ffff0000 (RUNNING)): refusing to act; cancel the extra ones",
    ),
    "pending savepoint blocks upgrade": (
        "upgrading",
        [],
        "a savepoint (tttttttttttttttttttttttttttttttt) is pending: the upgrade waits for it",
    ),
    "unfinished submission: resubmit same id": (
        "deploying",
        [
            "resubmit orders -> 1c168adb00d211111111111199990000 [file:/sp/9]: an earlier run recorded this submission but the job is not on the cluster"
        ],
        None,
    ),
    "submission seen: adopt": (
        "stable",
        [
            "adopt orders job 1c168adb00d211111111111199990000: the job an earlier run submitted is on the cluster"
        ],
        None,
    ),
    "upgrade not healthy in time: rollback": (
        "upgrading",
        [
            "rollback orders job 1c168adb00d2222222222222abcd0123 -> 1c168adb00d211111111111126cbc914 [file:/sp/u]: the upgraded job is not healthy after 120 s (RUNNING)"
        ],
        None,
    ),
    "upgrade still starting: wait": (
        "upgrading",
        [],
        "waiting for the upgraded job 1c168adb00d2222222222222abcd0123 to become healthy (120 s so far)",
    ),
    "upgraded job healthy: mark stable": (
        "upgrading",
        [
            "mark-stable orders job 1c168adb00d2222222222222abcd0123: the job runs healthy: its spec becomes the rollback target"
        ],
        None,
    ),
    "missing record, job running: rebuilt, marked stable": (
        "stable",
        [
            "mark-stable orders job 1c168adb00d2111111111111abcd0123: the job runs healthy: its spec becomes the rollback target"
        ],
        None,
    ),
    "record points elsewhere: adopt the live job": (
        "stable",
        [
            "adopt orders job 1c168adb00d2111111111111abcd0123: running job of this deployment not yet in the record"
        ],
        None,
    ),
    "periodic savepoint due": (
        "stable",
        ["savepoint orders job 1c168adb00d2111111111111abcd0123: periodic savepoint (every 10 min)"],
        None,
    ),
    "periodic savepoint not due": (
        "stable",
        [],
        None,
    ),
    "no periodic savepoint of an unhealthy job": (
        "unhealthy",
        [],
        None,
    ),
    "retention by count": (
        "stable",
        ["dispose orders [file:/sp/old]: retention (periodic savepoint of 600 s)"],
        None,
    ),
}


@pytest.mark.parametrize(
    ("spec_fields", "desired", "jobs", "stored", "summary"),
    [(*c[1:5], SUMMARIES[c[0]]) for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_each_transition_says_what_it_does_and_why(
    spec_fields: dict[str, Any],
    desired: str,
    jobs: list[models.JobOverview],
    stored: DeploymentRecord | None,
    summary: tuple[str, list[str], str | None],
) -> None:
    plan = plan_deployment(spec(**spec_fields), desired, view(*jobs), stored, NOW)
    as_dict = plan.as_dict()
    assert (as_dict["lifecycle"], as_dict["actions"], as_dict["skipped"]) == summary


def test_unobservable_cluster_gets_no_action() -> None:
    plan = plan_deployment(
        spec(), H2, ClusterView("flink_default", None, "connection refused"), running_record(), NOW
    )
    assert plan.actions == []
    assert plan.skipped == "cluster flink_default could not be observed (connection refused): no action taken"


def test_job_ids_carry_deployment_and_spec() -> None:
    job_id = new_job_id("orders", H2, lambda: NONCE)
    assert len(job_id) == 32
    assert job_id.startswith(deployment_prefix("orders"))
    assert job_id[12:24] == H2[:12]
    assert job_id.endswith(NONCE)
    plan = plan_deployment(spec(), H2, view(job(jid())), running_record(), NOW)
    (upgrade,) = plan.actions
    assert upgrade.job_id == jid()
    assert upgrade.new_job_id == transition_id("orders", H2, jid())
    assert upgrade.mode == "savepoint"
    assert (
        upgrade.describe()
        == f"upgrade orders job {jid()} -> {upgrade.new_job_id} (savepoint): the declared spec changed"
    )


def test_other_deployments_jobs_are_ignored() -> None:
    other = new_job_id("payments", H1, lambda: NONCE)
    plan = plan_deployment(spec(), H1, view(job(other)), None, NOW)
    assert kinds(plan) == ["deploy"]


def test_first_deploy_starts_from_the_initial_savepoint() -> None:
    plan = plan_deployment(spec(initial_savepoint="s3://b/sp-1"), H1, view(), None, NOW)
    assert plan.actions[0].path == "s3://b/sp-1"


def test_rollback_targets_the_last_stable_spec_from_the_upgrade_savepoint() -> None:
    stored = running_record(
        current_job_id=jid(H2),
        applied_hash=H2,
        operation=upgrade_in_flight(
            from_hash=H1, to_hash=H2, savepoint_path="file:/sp/u", started_at=NOW - 999, new_job_id=jid(H2)
        ),
    )
    plan = plan_deployment(spec(), H2, view(job(jid(H2), "FAILING", 0)), stored, NOW)
    (rollback,) = plan.actions
    assert rollback.path == "file:/sp/u"
    assert rollback.spec_hash == H1
    assert rollback.new_job_id is not None
    assert rollback.new_job_id[12:24] == H1[:12]


def test_retention_by_age_keeps_the_newest() -> None:
    stored = running_record(savepoints=[saved("a", 10 * 86400), saved("b", 9 * 86400), saved("c", 3600)])
    assert [s.path for s in retention_victims(stored, keep_last=5, max_age_days=7, now=NOW)] == ["a", "b"]
    only_old = running_record(savepoints=[saved("a", 10 * 86400)])
    assert retention_victims(only_old, keep_last=5, max_age_days=7, now=NOW) == []  # the newest stays


def test_plan_summary_is_readable() -> None:
    plan = plan_deployment(spec(), H1, view(), None, NOW)
    assert plan.as_dict() == {
        "deployment": "orders",
        "cluster": "flink_default",
        "lifecycle": "new",
        "actions": [f"deploy orders -> {transition_id('orders', H1, None)}: first deployment"],
        "skipped": None,
    }


def test_view_indexes_each_deployments_jobs_oldest_first() -> None:
    """One pass over the cluster's jobs serves every deployment (planning grows linearly)."""
    orders_new, orders_old = job(jid(H2, "00000002"), start=30), job(jid(H1, "00000001"), start=10)
    payments = job(new_job_id("payments", H1, lambda: NONCE), start=20)
    foreign = job("f" * 32, start=5)  # a job the provider did not submit
    seen = view(orders_new, payments, foreign, orders_old)
    assert [j.jid for j in seen.jobs_of("orders")] == [orders_old.jid, orders_new.jid]
    assert [j.jid for j in seen.jobs_of("payments")] == [payments.jid]
    assert seen.jobs_of("nobody") == []
    assert ClusterView("flink_default", None).jobs_of("orders") == []


def test_an_upgraded_job_with_a_finished_source_subtask_is_healthy_not_rolled_back() -> None:
    """One judgement of health: a RUNNING job whose spare source subtask FINISHED (more
    parallelism than splits) is healthy; the planner once judged it not, and rolled it back."""
    new = jid(H2)
    upgraded = job(new, running=3, total=4)
    upgraded = upgraded.model_copy(update={"tasks": {"running": 3, "finished": 1, "total": 4}})
    stored = running_record(
        current_job_id=new,
        applied_hash=H2,
        operation=upgrade_in_flight(H1, H2, "file:/sp/1", NOW - 999, new),
    )
    plan = plan_deployment(spec(health_timeout_seconds=60), H2, view(upgraded), stored, NOW)
    assert kinds(plan) == ["mark-stable"]


def test_a_spec_that_failed_and_was_rolled_back_is_not_applied_again() -> None:
    """Applied on every run, a broken spec cost a savepoint, a failing job and a rollback each time."""
    failed = {"spec_hash": H2, "reason": "the new job could not be submitted: boom", "failed_at": NOW - 600}
    stored = running_record(failed_spec=failed, savepoints=[saved("file:/sp/1", 7200)])
    due = spec(savepoint_policy={"interval_minutes": 60})
    plan = plan_deployment(due, H2, view(job(jid())), stored, NOW)
    assert kinds(plan) == ["savepoint"]  # the stable job's housekeeping goes on
    assert plan.skipped == (
        "the declared spec failed 600 s ago and was rolled back (the new job could not be submitted: boom); "
        "it is not applied again until the spec changes or a retry is asked (retry_failed='orders')"
    )
    assert not plan.needs_human  # the failing run reported it; later runs do not turn red again
    assert kinds(plan_deployment(spec(), H2, view(job(jid())), stored, NOW, retry_failed=True)) == ["upgrade"]
    h3 = "3" * 64
    assert kinds(plan_deployment(spec(), h3, view(job(jid())), stored, NOW)) == ["upgrade"]  # a new spec


@pytest.mark.parametrize(
    ("state", "expected"), [("CANCELED", "resume"), ("FAILED", "restart"), (None, "recover")]
)
def test_a_failed_spec_stays_failed_when_the_stable_job_ends(state: str | None, expected: str) -> None:
    """Failure 3 of issue 18: after a rollback a person cancelled the stable job; the next run
    resumed it with the failed declared spec, which failed at once, and two restarts followed."""
    failed = {"spec_hash": H2, "reason": "the upgraded job FAILED", "failed_at": NOW - 600}
    stored = running_record(failed_spec=failed, last_stable_spec=spec().model_dump(mode="json"))
    jobs = [job(jid(), state)] if state else []  # None: gone in a JobManager restart
    plan = plan_deployment(spec(), H2, view(*jobs), stored, NOW)
    (action,) = plan.actions
    assert (action.kind, action.spec_hash, action.mode) == (expected, H1, "stable")
    assert action.new_job_id == transition_id("orders", H1, jid(), {j.jid for j in jobs})
    assert action.reason.endswith(", with the last stable spec (the declared one failed and was rolled back)")
    # A retry asked for, or a new spec, starts the declared one.
    retried = plan_deployment(spec(), H2, view(*jobs), stored, NOW, retry_failed=True)
    assert (retried.actions[0].spec_hash, retried.actions[0].mode) == (H2, None)
    assert plan_deployment(spec(), "3" * 64, view(*jobs), stored, NOW).actions[0].mode is None


def test_two_actors_planning_the_same_transition_derive_the_same_job_id() -> None:
    """I8: racing reconciles submit one job id; Flink accepts it once, the other run adopts it."""
    first = plan_deployment(spec(), H2, view(job(jid())), running_record(), NOW)
    second = plan_deployment(spec(), H2, view(job(jid())), running_record(), NOW + 5)
    assert first.actions[0].new_job_id == second.actions[0].new_job_id
    # A later run that finds the old job ended (the first run stopped it, then died) resumes with
    # the same id the first run would have submitted.
    resumed = plan_deployment(spec(), H2, view(job(jid(), "FINISHED")), running_record(), NOW)
    assert kinds(resumed) == ["resume"]
    assert resumed.actions[0].new_job_id == first.actions[0].new_job_id


def test_a_job_id_flink_has_seen_is_not_derived_again() -> None:
    """Flink refuses an id it has seen, even of an ended job: the next attempt's id is taken."""
    plain = transition_id("orders", H2, jid())
    assert transition_id("orders", H2, jid(), taken={plain}) not in (plain, jid())
    assert transition_id("orders", H2, jid(), taken={plain})[:24] == plain[:24]


def test_an_upgraded_job_that_failed_is_rolled_back_not_restarted() -> None:
    """A run died after Flink accepted the upgraded job; the job then FAILED. The next run rolls back
    to the last stable spec from the upgrade's savepoint; it once "recovered" the failing spec."""
    new = transition_id("orders", H2, jid())
    stored = running_record(
        operation=upgrade_in_flight(
            from_hash=H1, to_hash=H2, savepoint_path="file:/sp/u", started_at=NOW - 30, new_job_id=new
        ),
    )
    plan = plan_deployment(
        spec(), H2, view(job(jid(), "FINISHED"), job(new, "FAILED", 0, start=2)), stored, NOW
    )
    adopt, rollback = plan.actions  # the record first names the job it submitted, then rolls it back
    assert (adopt.kind, adopt.job_id) == ("adopt", new)
    assert (rollback.kind, rollback.job_id, rollback.spec_hash, rollback.path) == (
        "rollback",
        new,
        H1,
        "file:/sp/u",
    )
    assert rollback.new_job_id == transition_id("orders", H1, new, {jid(), new})


def test_a_recorded_rollback_is_finished_and_a_stale_intent_dropped() -> None:
    """A run died after recording a rollback's job (intent of the stable spec): the next run submits
    it again. An intent of a spec declared no more is not finished: the run plans from Flink."""
    rollback_job = transition_id("orders", H1, jid(H2))
    stored = running_record(
        current_job_id=jid(H2),
        operation=submitting(rollback_job, H1, "file:/sp/u"),
    )
    seen = view(job(jid(), "FINISHED"), job(jid(H2), "FAILED", 0, start=2))
    (resubmit,) = plan_deployment(spec(), H2, seen, stored, NOW).actions
    assert (resubmit.kind, resubmit.new_job_id, resubmit.spec_hash) == ("resubmit", rollback_job, H1)
    stale = stored.model_copy(update={"operation": submitting(rollback_job, "9" * 64, "file:/sp/u")})
    assert kinds(plan_deployment(spec(), H2, seen, stale, NOW)) != ["resubmit"]


# ---------------------------------------------------------------------------- bounded jobs
def test_a_bounded_job_that_ran_to_its_end_is_not_started_again() -> None:
    """FINISHED is a bounded job's goal: once ran "resume: the job ended FINISHED outside the
    provider" and processed its input a second time on every run."""
    plan = plan_deployment(spec(bounded=True), H1, view(job(jid(), "FINISHED")), running_record(), NOW)
    assert plan.actions == []
    assert plan.skipped == (
        f"the bounded job {jid()} ran to its end (FINISHED); it runs again when the spec changes"
    )
    streaming = plan_deployment(spec(), H1, view(job(jid(), "FINISHED")), running_record(), NOW)
    assert kinds(streaming) == ["resume"]  # an unbounded job that FINISHED was stopped by someone


def test_a_bounded_job_runs_a_changed_spec_once_from_its_declared_start() -> None:
    plan = plan_deployment(
        spec(bounded=True, initial_savepoint="file:/sp/seed"),
        H2,
        view(job(jid(), "FINISHED")),
        running_record(),
        NOW,
    )
    (deploy,) = plan.actions
    assert (deploy.kind, deploy.spec_hash, deploy.path) == ("deploy", H2, "file:/sp/seed")
    assert deploy.new_job_id == transition_id("orders", H2, jid(), {jid()})


@pytest.mark.parametrize(
    ("bounded", "expected"),
    [(True, ["adopt"]), (False, ["adopt", "resume"])],
)
def test_a_first_job_that_ended_before_it_was_recorded_is_adopted_not_deployed_again(
    bounded: bool, expected: list[str]
) -> None:
    """The first deploy's run died after Flink accepted the job; the job ended before the next run.
    The next run once saw no current job and deployed a second copy (fresh, without state)."""
    first = transition_id("orders", H1, None)
    stored = record(operation=submitting(first, H1))
    plan = plan_deployment(spec(bounded=bounded), H1, view(job(first, "FINISHED")), stored, NOW)
    assert kinds(plan) == expected
    assert plan.actions[0].job_id == first
    if not bounded:  # resumed from the ended job's newest snapshot, as any job that FINISHED outside
        assert plan.actions[1].job_id == first


# ------------------------------------------------------------------ what a person asks (the page)
def test_a_suspend_asked_is_held_first_then_the_job_stopped_with_a_savepoint() -> None:
    plan = plan_deployment(spec(), H1, view(job(jid())), running_record(), NOW, request="suspend")
    assert kinds(plan) == ["hold", "suspend"]
    assert plan.actions[1].reason == "held suspended by a person: stop with a savepoint"


def test_a_held_deployment_stays_suspended_until_a_resume_is_asked() -> None:
    held = running_record(status="suspended", hold={"at": NOW - 60, "by": "page"})
    stopped = view(job(jid(), "FINISHED", 0))
    assert kinds(plan_deployment(spec(), H1, stopped, held, NOW)) == []
    resumed = plan_deployment(spec(), H1, stopped, held, NOW, request="resume")
    assert kinds(resumed) == ["release", "resume"]


def test_a_resume_asked_does_not_override_a_file_that_declares_suspended() -> None:
    held = running_record(status="suspended", hold={"at": NOW - 60, "by": "page"})
    plan = plan_deployment(
        spec(state="suspended"), H1, view(job(jid(), "FINISHED", 0)), held, NOW, request="resume"
    )
    assert kinds(plan) == ["release"]
    assert plan.skipped == "declared suspended in its file: a resume asked from outside does not override it"


def test_a_savepoint_asked_is_taken_only_of_a_healthy_job() -> None:
    plan = plan_deployment(spec(), H1, view(job(jid())), running_record(), NOW, savepoint_now=True)
    assert [(a.kind, a.mode, a.reason) for a in plan.actions] == [("savepoint", "asked", "asked by a person")]
    restarting = plan_deployment(
        spec(), H1, view(job(jid(), "RESTARTING")), running_record(), NOW, savepoint_now=True
    )
    assert kinds(restarting) == []
    assert restarting.skipped == f"savepoint asked, but job {jid()} is not healthy (RESTARTING): not taken"


def test_a_savepoint_asked_replaces_the_periodic_one_due_in_the_same_run() -> None:
    due = spec(savepoint_policy={"interval_minutes": 1})
    plan = plan_deployment(due, H1, view(job(jid())), running_record(), NOW, savepoint_now=True)
    assert [(a.kind, a.mode) for a in plan.actions] == [("savepoint", "asked")]


# ------------------------------------------------------------------ short runs: the next run judges
def test_a_new_job_seen_healthy_by_the_next_run_is_marked_stable() -> None:
    submitted = running_record(last_stable_hash=None)
    assert kinds(plan_deployment(spec(), H1, view(job(jid())), submitted, NOW)) == ["mark-stable"]


def test_a_first_job_never_healthy_past_its_timeout_is_reported_for_a_person() -> None:
    submitted = running_record(last_stable_hash=None)
    started_ms = int((NOW - 200) * 1000)
    stuck = view(job(jid(), "RUNNING", running=1, total=2, start=started_ms))
    plan = plan_deployment(spec(health_timeout_seconds=120), H1, stuck, submitted, NOW)
    assert plan.needs_human
    assert plan.skipped == (
        f"job {jid()} is not healthy 200 s after it started (RUNNING, 1/2 tasks running): "
        "see its exceptions in the Flink UI"
    )
    young = view(job(jid(), "RUNNING", running=1, total=2, start=int((NOW - 30) * 1000)))
    waiting = plan_deployment(spec(health_timeout_seconds=120), H1, young, submitted, NOW)
    assert not waiting.needs_human
    assert waiting.skipped == f"waiting for job {jid()} to become healthy (30 s so far, 1/2 tasks running)"


def test_a_job_submitted_by_a_short_run_is_made_stable_before_its_file_changes_it() -> None:
    """Its file changed before a later run saw it healthy: without this, a failing upgrade had no
    rollback target and the deployment was left with no job (found by the campaign's short kinds)."""
    applied = {"spec_hash": H1, "spec": spec().model_dump(mode="json")}
    submitted = running_record(last_stable_hash=None, applied_spec=applied)
    plan = plan_deployment(spec(parallelism=2), H2, view(job(jid())), submitted, NOW)
    assert [(a.kind, a.spec_hash, a.mode) for a in plan.actions] == [
        ("mark-stable", H1, "applied"),
        ("upgrade", H2, "savepoint"),
    ]
    starting = view(job(jid(), "RUNNING", running=0, total=2, start=int((NOW - 5) * 1000)))
    waiting = plan_deployment(spec(parallelism=2), H2, starting, submitted, NOW)
    assert kinds(waiting) == []
    assert (
        waiting.skipped
        == f"the upgrade waits for job {jid()} to become healthy (5 s so far, 0/2 tasks running)"
    )


# ------------------------------------------------------------------ blackout windows
WINDOW_NOW = spec(blackout_windows=[{"daily": "00:00-23:59"}])  # NOW is 2027-01-15 08:00 UTC


def test_an_upgrade_in_a_blackout_window_waits_and_says_until_when() -> None:
    plan = plan_deployment(
        WINDOW_NOW.model_copy(update={"parallelism": 2}), H2, view(job(jid())), running_record(), NOW
    )
    assert kinds(plan) == []
    assert (
        plan.skipped
        == "the upgrade waits: blackout window daily 00:00-23:59 (UTC) until 2027-01-15 23:59 UTC"
    )


def test_a_periodic_savepoint_in_a_blackout_window_waits_but_one_asked_for_is_taken() -> None:
    due = WINDOW_NOW.model_copy(
        update={"savepoint_policy": spec(savepoint_policy={"interval_minutes": 1}).savepoint_policy}
    )
    plan = plan_deployment(due, H1, view(job(jid())), running_record(), NOW)
    assert kinds(plan) == []
    assert plan.skipped is not None
    assert plan.skipped.startswith("the periodic savepoint waits: blackout window")
    asked = plan_deployment(due, H1, view(job(jid())), running_record(), NOW, savepoint_now=True)
    assert kinds(asked) == ["savepoint"]


def test_a_restart_is_not_held_back_by_a_blackout_window() -> None:
    plan = plan_deployment(WINDOW_NOW, H1, view(job(jid(), "FAILED", 0)), running_record(), NOW)
    assert kinds(plan) == ["restart"]


# ------------------------------------------------------------------ rescale in place
def test_only_a_parallelism_change_of_a_healthy_job_is_a_rescale_in_place() -> None:
    plan = plan_deployment(spec(parallelism=2), H2, view(job(jid())), running_record(), NOW, rescale_from=1)
    assert [(a.kind, a.deployment, a.job_id, a.spec_hash, a.mode) for a in plan.actions] == [
        ("rescale", "orders", jid(), H2, "savepoint")
    ]
    assert plan.actions[0].reason == (
        "only the parallelism changed (1 -> 2): in place where the cluster can, else a savepoint upgrade"
    )
    # the fallback upgrade's job id, derived as for an upgrade
    fallback = transition_id("orders", H2, jid(), {jid()})
    assert plan.actions[0].new_job_id == fallback
    # the plan line does not name a new job for a job that keeps its id
    assert plan.actions[0].describe() == (
        f"rescale orders job {jid()} in place (else a savepoint upgrade -> {fallback}): "
        "only the parallelism changed (1 -> 2): in place where the cluster can, else a savepoint upgrade"
    )
    stateless = plan_deployment(
        spec(parallelism=2, upgrade_mode="stateless"),
        H2,
        view(job(jid())),
        running_record(),
        NOW,
        rescale_from=1,
    )
    assert kinds(stateless) == ["upgrade"]  # asked to start without state: not a restore from a checkpoint


def test_a_rescaled_job_runs_the_spec_its_record_names_not_the_one_its_id_names() -> None:
    rescaled = running_record(
        applied_hash=H2, last_stable_hash=H2, rescaled={"job_id": jid(), "spec_hash": H2}
    )
    plan = plan_deployment(spec(parallelism=2), H2, view(job(jid())), rescaled, NOW)
    assert kinds(plan) == []  # no upgrade of a job that already runs the declared parallelism


def rescaling() -> dict[str, Any]:
    """A rescale in place 1 -> 2 an earlier run asked for 5 s ago."""
    return {
        "kind": "rescale",
        "job_id": jid(),
        "from_parallelism": 1,
        "to_parallelism": 2,
        "to_hash": H2,
        "started_at": NOW - 5,
    }


def test_a_rescale_an_earlier_run_asked_for_is_finished_first() -> None:
    plan = plan_deployment(
        spec(parallelism=2), H2, view(job(jid())), running_record(operation=rescaling()), NOW
    )
    assert [(a.kind, a.deployment, a.reason) for a in plan.actions] == [
        ("rescale", "orders", "finish the rescale in place to parallelism 2 an earlier run asked for")
    ]


def test_the_observe_steps_newest_snapshot_is_named_by_the_plan_or_refuses_it() -> None:
    """I7 before anything is planned: a resume names the snapshot storage proves newest; when it
    is gone, the plan refuses (a person decides) instead of restoring older state."""
    from airflow_provider_flink.deployments.snapshots import Snapshot

    ended = view(job(jid(), "CANCELED"))
    found = Snapshot(path="file:/chk/125", what="retained checkpoint chk-125")
    (resume,) = plan_deployment(spec(), H1, ended, running_record(), NOW, restore=found).actions
    assert (resume.kind, resume.path) == ("resume", "file:/chk/125")
    gone = Snapshot(refusal="the newest state of the deployment, chk-130, is gone from storage")
    refused = plan_deployment(spec(), H1, ended, running_record(), NOW, restore=gone)
    assert (refused.actions, refused.needs_human) == ([], True)
    assert (
        refused.skipped == "resume refused: the newest state of the deployment, chk-130, is gone from storage"
    )


# ------------------------------------------------------------------ the limits, exactly
def upgrading(started_at: float) -> DeploymentRecord:
    flight = upgrade_in_flight(
        from_hash=H1, to_hash=H2, savepoint_path="file:/sp/u", started_at=started_at, new_job_id=jid(H2)
    )
    return running_record(current_job_id=jid(H2), applied_hash=H2, operation=flight)


def test_a_rebuilt_record_says_so_and_names_the_one_live_job() -> None:
    rebuilt = rebuild_record(spec(), view(job(jid()), job(jid(nonce="00000001"), "CANCELED")))
    assert (rebuilt.current_job_id, rebuilt.status, rebuilt.rebuilt) == (jid(), "running", True)
    empty = rebuild_record(spec(), view())
    assert (empty.current_job_id, empty.status, empty.rebuilt) == (None, "new", True)


def test_an_upgraded_job_gets_exactly_its_health_timeout() -> None:
    starting = view(job(jid(H2), "RUNNING", 0, 2))
    at_limit = plan_deployment(spec(health_timeout_seconds=120), H2, starting, upgrading(NOW - 120), NOW)
    assert kinds(at_limit) == []
    assert at_limit.skipped == f"waiting for the upgraded job {jid(H2)} to become healthy (120 s so far)"
    past = plan_deployment(spec(health_timeout_seconds=120), H2, starting, upgrading(NOW - 121), NOW)
    assert kinds(past) == ["rollback"]


def test_a_job_to_be_upgraded_gets_exactly_its_health_timeout_to_start() -> None:
    """The short-run wait before an upgrade: up to the timeout inclusive, not for a stateless
    upgrade (no savepoint is needed), and not when Flink gave no start time."""
    submitted = running_record(last_stable_hash=None)

    def upgrade_of(start_ms: int, **fields: Any) -> DeploymentPlan:
        starting = view(job(jid(), "RUNNING", running=0, total=2, start=start_ms))
        return plan_deployment(spec(health_timeout_seconds=120, **fields), H2, starting, submitted, NOW)

    at_limit = upgrade_of(int((NOW - 120) * 1000))
    assert at_limit.skipped == (
        f"the upgrade waits for job {jid()} to become healthy (120 s so far, 0/2 tasks running)"
    )
    assert kinds(upgrade_of(int((NOW - 121) * 1000))) == ["upgrade"]
    assert kinds(upgrade_of(int((NOW - 5) * 1000), upgrade_mode="stateless")) == ["upgrade"]
    assert kinds(upgrade_of(0)) == ["upgrade"]


def test_a_plain_upgrade_of_a_stable_job_marks_nothing_stable_first() -> None:
    applied = {"spec_hash": H1, "spec": spec().model_dump(mode="json")}
    plan = plan_deployment(
        spec(parallelism=2), H2, view(job(jid())), running_record(applied_spec=applied), NOW
    )
    assert kinds(plan) == ["upgrade"]


def test_a_first_job_is_judged_only_with_a_start_time_and_past_its_timeout() -> None:
    submitted = running_record(last_stable_hash=None)

    def first(start_ms: int, **fields: Any) -> DeploymentPlan:
        starting = view(job(jid(), "RUNNING", running=1, total=2, start=start_ms))
        return plan_deployment(spec(health_timeout_seconds=120, **fields), H1, starting, submitted, NOW)

    assert first(int((NOW - 120) * 1000)).skipped == (
        f"waiting for job {jid()} to become healthy (120 s so far, 1/2 tasks running)"
    )
    assert first(int((NOW - 121) * 1000)).needs_human
    assert first(1).needs_human  # started at the epoch's first millisecond: long past its timeout
    unknown = first(0)  # Flink gave no start time: nothing to judge
    assert (unknown.skipped, unknown.needs_human, kinds(unknown)) == (None, False, [])
    bounded = first(int((NOW - 121) * 1000), bounded=True)  # a bounded job may start slowly
    assert not bounded.needs_human


def test_a_job_overview_without_task_counts_reads_zero_of_zero() -> None:
    submitted = running_record(last_stable_hash=None)
    bare = models.JobOverview.model_validate(
        {"jid": jid(), "state": "RUNNING", "start-time": int((NOW - 30) * 1000)}
    )
    plan = plan_deployment(spec(health_timeout_seconds=120), H1, view(bare), submitted, NOW)
    assert plan.skipped == f"waiting for job {jid()} to become healthy (30 s so far, 0/0 tasks running)"


def test_restarts_count_within_their_window_inclusive() -> None:
    policy = {"restart_policy": {"max_restarts": 1, "window_minutes": 10}}
    failed = view(job(jid(), "FAILED"))
    at_edge = plan_deployment(spec(**policy), H1, failed, running_record(restarts=[NOW - 600]), NOW)
    assert at_edge.needs_human
    assert at_edge.skipped == (
        f"job {jid()} FAILED again: 1 restarts in the last 10 min reached the limit of 1"
    )
    outside = plan_deployment(spec(**policy), H1, failed, running_record(restarts=[NOW - 601]), NOW)
    assert kinds(outside) == ["restart"]


def test_a_periodic_savepoint_is_due_at_its_interval_exactly() -> None:
    every = spec(savepoint_policy={"interval_minutes": 10})
    due = plan_deployment(
        every, H1, view(job(jid())), running_record(savepoints=[saved("file:/sp/1", 600)]), NOW
    )
    assert [a.describe() for a in due.actions] == [
        f"savepoint orders job {jid()}: periodic savepoint (every 10 min)"
    ]
    early = plan_deployment(
        every, H1, view(job(jid())), running_record(savepoints=[saved("file:/sp/1", 599)]), NOW
    )
    assert kinds(early) == []


def test_a_savepoint_asked_while_one_is_pending_says_so() -> None:
    pending = Savepointing(job_id=jid(), trigger_id="t" * 32, reason="periodic", started_at=NOW - 5)
    plan = plan_deployment(
        spec(), H1, view(job(jid())), running_record(operation=pending), NOW, savepoint_now=True
    )
    assert kinds(plan) == []
    assert plan.skipped == f"a savepoint ({'t' * 32}) is already in progress"
    asked = plan_deployment(spec(), H1, view(job(jid())), running_record(), NOW, savepoint_now=True)
    assert [a.describe() for a in asked.actions] == [
        f"savepoint orders job {jid()} (asked): asked by a person"
    ]


@pytest.mark.parametrize(
    ("age", "said"),
    [
        (59.4, "59 s"),
        (3600, "1.0 h"),
        (3599, "3599 s"),
        (86400, "1.0 d"),
        (86399, "24.0 h"),
        (5 * 86400, "5.0 d"),
    ],
)
def test_retention_says_how_old_a_disposed_savepoint_is(age: float, said: str) -> None:
    stored = running_record(savepoints=[saved("file:/sp/old", age), saved("file:/sp/new", 1)])
    plan = plan_deployment(spec(savepoint_policy={"keep_last": 1}), H1, view(job(jid())), stored, NOW)
    assert [a.describe() for a in plan.actions] == [
        f"dispose orders [file:/sp/old]: retention (periodic savepoint of {said})"
    ]


def test_retention_by_age_is_strictly_older_than_the_limit() -> None:
    newest, at_limit, older = (
        saved("file:/sp/3", 10),
        saved("file:/sp/2", 7 * 86400),
        saved("file:/sp/1", 7 * 86400 + 1),
    )
    stored = running_record(savepoints=[older, at_limit, newest])
    assert retention_victims(stored, keep_last=5, max_age_days=7, now=NOW) == [older]
    beyond = running_record(savepoints=[saved(f"file:/sp/{n}", n) for n in range(1, 4)])
    # beyond the count and past the age: each once, oldest first
    victims = retention_victims(beyond, keep_last=1, max_age_days=0.00001, now=NOW)
    assert [v.path for v in victims] == ["file:/sp/3", "file:/sp/2"]


# ------------------------------------------------------------------ what each plan says, exactly
def described(plan: DeploymentPlan) -> list[str]:
    return [a.describe() for a in plan.actions]


def test_a_persons_suspend_and_resume_say_who_asked() -> None:
    held = plan_deployment(spec(), H1, view(job(jid())), running_record(), NOW, request="suspend")
    assert described(held) == [
        "hold orders: suspend asked by a person: held suspended until resumed",
        f"suspend orders job {jid()}: held suspended by a person: stop with a savepoint",
    ]
    stopped = view(job(jid(), "FINISHED"))
    holding = running_record(status="suspended", hold={"at": NOW - 60})
    released = plan_deployment(spec(), H1, stopped, holding, NOW, request="resume")
    assert described(released) == [
        "release orders: resume asked by a person: the hold is released",
        f"resume orders job {jid()} -> {transition_id('orders', H1, jid(), {jid()})}: declared running "
        "again after a suspend",
    ]


def test_the_plan_finds_a_declared_suspend_stopped() -> None:
    plan = plan_deployment(spec(state="suspended"), H1, view(job(jid(), "FINISHED")), running_record(), NOW)
    assert (plan.lifecycle, plan.actions, plan.skipped) == (Lifecycle.SUSPENDED, [], None)


def test_a_rescale_in_flight_is_finished_with_its_own_target() -> None:
    plan = plan_deployment(
        spec(parallelism=2), H2, view(job(jid())), running_record(operation=rescaling()), NOW
    )
    (action,) = plan.actions
    assert (action.job_id, action.new_job_id, action.spec_hash, action.mode) == (
        jid(),
        transition_id("orders", H2, jid(), {jid()}),
        H2,
        "savepoint",
    )


def test_the_job_to_be_upgraded_is_marked_stable_by_its_applied_spec() -> None:
    applied = {"spec_hash": H1, "spec": spec().model_dump(mode="json")}
    plan = plan_deployment(
        spec(parallelism=2),
        H2,
        view(job(jid())),
        running_record(last_stable_hash=None, applied_spec=applied),
        NOW,
    )
    assert described(plan)[0] == (
        f"mark-stable orders job {jid()} (applied): the running job is healthy: its spec becomes the "
        "rollback target before the upgrade"
    )


def test_an_upgrade_held_by_a_blackout_still_disposes_old_savepoints() -> None:
    stored = running_record(savepoints=[saved("file:/sp/old", 7200), saved("file:/sp/new", 60)])
    windowed = WINDOW_NOW.model_copy(
        update={
            "parallelism": 2,
            "savepoint_policy": WINDOW_NOW.savepoint_policy.model_copy(update={"keep_last": 1}),
        }
    )
    plan = plan_deployment(windowed, H2, view(job(jid())), stored, NOW)
    assert described(plan) == ["dispose orders [file:/sp/old]: retention (periodic savepoint of 2.0 h)"]
    assert plan.skipped is not None
    assert plan.skipped.startswith("the upgrade waits: blackout window")


def test_a_periodic_savepoint_not_due_is_not_reported_held_by_a_blackout() -> None:
    every = WINDOW_NOW.model_copy(
        update={"savepoint_policy": WINDOW_NOW.savepoint_policy.model_copy(update={"interval_minutes": 10})}
    )
    plan = plan_deployment(
        every, H1, view(job(jid())), running_record(savepoints=[saved("file:/sp/1", 60)]), NOW
    )
    assert (plan.actions, plan.skipped) == ([], None)


def test_retention_by_age_runs_in_the_plan() -> None:
    stored = running_record(savepoints=[saved("file:/sp/old", 3 * 86400), saved("file:/sp/new", 60)])
    plan = plan_deployment(spec(savepoint_policy={"max_age_days": 2}), H1, view(job(jid())), stored, NOW)
    assert described(plan) == ["dispose orders [file:/sp/old]: retention (periodic savepoint of 3.0 d)"]


def test_a_savepoint_asked_of_the_stable_job_while_the_declared_spec_stays_failed() -> None:
    failed = {"spec_hash": H2, "reason": "the upgraded job FAILED", "failed_at": NOW - 600}
    plan = plan_deployment(
        spec(), H2, view(job(jid())), running_record(failed_spec=failed), NOW, savepoint_now=True
    )
    assert described(plan) == [f"savepoint orders job {jid()} (asked): asked by a person"]


def test_a_failed_spec_restarted_with_the_stable_one_says_both_and_counts_restarts() -> None:
    failed = {"spec_hash": H2, "reason": "the upgraded job FAILED", "failed_at": NOW - 600}
    stored = running_record(
        failed_spec=failed, last_stable_spec=spec().model_dump(mode="json"), restarts=[NOW - 10]
    )
    plan = plan_deployment(spec(), H2, view(job(jid(), "FAILED")), stored, NOW)
    assert [a.reason for a in plan.actions] == [
        "the job FAILED: restart it from its latest state, with the last stable spec (the declared one "
        "failed and was rolled back)"
    ]
    refused = plan_deployment(
        spec(),
        H2,
        view(job(jid(), "FAILED")),
        stored,
        NOW,
        restore=Snapshot(refusal="the newest state is gone"),
    )
    assert (refused.actions, refused.skipped) == ([], "restart refused: the newest state is gone")


def test_an_upgraded_job_that_failed_is_the_one_rolled_back_and_one_cancelled_is_not() -> None:
    earlier = job(jid(nonce="00000001"), "FAILED", start=1)  # an earlier failure of the deployment
    stable = job(jid(), "FINISHED", start=2)
    flight = upgrade_in_flight(
        from_hash=H1, to_hash=H2, savepoint_path="file:/sp/u", started_at=NOW - 60, new_job_id=jid(H2)
    )
    stored = running_record(current_job_id=jid(H2), applied_hash=H2, operation=flight)
    failed = plan_deployment(spec(), H2, view(earlier, stable, job(jid(H2), "FAILED", start=3)), stored, NOW)
    (rollback,) = failed.actions
    assert (rollback.kind, rollback.job_id, rollback.reason) == (
        "rollback",
        jid(H2),
        f"the upgraded job {jid(H2)} FAILED",
    )
    cancelled = plan_deployment(spec(), H2, view(stable, job(jid(H2), "CANCELED", start=3)), stored, NOW)
    assert kinds(cancelled) == ["resume"]


def test_a_job_gone_while_an_older_one_is_still_listed_is_recovered() -> None:
    older = job(jid(nonce="00000001"), "CANCELED")  # Flink still lists an older job of the deployment
    plan = plan_deployment(spec(), H1, view(older), running_record(), NOW)
    assert kinds(plan) == ["recover"]


def test_a_job_id_flink_already_shows_is_skipped_when_planning() -> None:
    seen = transition_id("orders", H1, jid())  # an earlier attempt of the same transition, ended
    stopped = view(job(jid(), "FINISHED", start=1), job(seen, "CANCELED", start=2))
    plan = plan_deployment(spec(), H1, stopped, running_record(status="suspended", current_job_id=jid()), NOW)
    (resume,) = plan.actions
    assert resume.new_job_id == transition_id("orders", H1, jid(), {jid(), seen})
    assert resume.new_job_id != seen


def test_an_ended_intent_beside_the_live_job_is_not_adopted() -> None:
    """A submission recorded by a run that died, which ended (FAILED) while the recorded job
    runs on: the live job stays the deployment's job."""
    intent = transition_id("orders", H1, jid())
    stored = running_record(operation=submitting(intent, H1))
    plan = plan_deployment(spec(), H1, view(job(intent, "FAILED", start=1), job(jid(), start=2)), stored, NOW)
    assert kinds(plan) == []


def test_an_ended_intent_is_adopted_saying_how_it_ended() -> None:
    first = transition_id("orders", H1, None)
    plan = plan_deployment(
        spec(bounded=True),
        H1,
        view(job(first, "FINISHED")),
        record(operation=submitting(first, H1)),
        NOW,
    )
    assert described(plan) == [f"adopt orders job {first}: the job an earlier run submitted ended FINISHED"]


def test_a_bounded_job_that_finished_before_it_was_recorded_is_adopted() -> None:
    plan = plan_deployment(spec(bounded=True), H1, view(job(jid(), "FINISHED")), None, NOW)
    assert described(plan) == [
        f"adopt orders job {jid()}: the bounded job an earlier run submitted ran to its end"
    ]
    changed = plan_deployment(spec(bounded=True), H2, view(job(jid(), "FINISHED")), running_record(), NOW)
    assert described(changed) == [
        f"deploy orders -> {transition_id('orders', H2, jid(), {jid()})}: the bounded job ran to its end and "
        "the spec changed: run the new version once"
    ]


def test_a_job_seen_healthy_is_marked_stable_with_the_declared_spec() -> None:
    plan = plan_deployment(spec(), H1, view(job(jid())), running_record(last_stable_hash=None), NOW)
    assert [(a.kind, a.job_id, a.spec_hash) for a in plan.actions] == [("mark-stable", jid(), H1)]


def test_a_rescale_in_flight_keeps_its_target_when_the_file_changed_again() -> None:
    plan = plan_deployment(
        spec(parallelism=3), "3" * 64, view(job(jid())), running_record(operation=rescaling()), NOW
    )
    (action,) = plan.actions
    assert (action.spec_hash, action.new_job_id) == (H2, transition_id("orders", H2, jid(), {jid()}))


def test_a_savepoint_asked_is_taken_while_a_blackout_holds_the_upgrade() -> None:
    plan = plan_deployment(
        WINDOW_NOW.model_copy(update={"parallelism": 2}),
        H2,
        view(job(jid())),
        running_record(),
        NOW,
        savepoint_now=True,
    )
    assert described(plan) == [f"savepoint orders job {jid()} (asked): asked by a person"]


def test_an_upgrade_interrupted_after_its_stop_is_not_called_a_stop_outside_the_provider() -> None:
    """The next run finishes it; its line said "the job ended FINISHED outside the provider"."""
    stopped = running_record(savepoints=[saved("file:///sp/upgrade", 10, reason="upgrade")])
    plan = plan_deployment(spec(), H1, view(job(jid(), "FINISHED", 0)), stopped, NOW)
    assert kinds(plan) == ["resume"]
    assert plan.actions[0].job_id == jid()  # the job it replaces, as any resume names it
    assert plan.actions[0].reason == (
        f"an earlier run's upgrade stopped job {jid()} with a savepoint and ended before it started the new "
        "job: start it now"
    )
    by_a_person = running_record(savepoints=[saved("file:///sp/periodic", 10)])
    plan = plan_deployment(spec(), H1, view(job(jid(), "FINISHED", 0)), by_a_person, NOW)
    assert plan.actions[0].reason == "the job ended FINISHED outside the provider: start it again"


def test_a_cleared_restart_limit_is_recorded_first_then_the_failed_job_restarts() -> None:
    policy = {"restart_policy": {"max_restarts": 2, "window_minutes": 10}}
    failed = view(job(jid(), "FAILED"))
    at_limit = running_record(restarts=[NOW - 60, NOW - 30])
    refused = plan_deployment(spec(**policy), H1, failed, at_limit, NOW)
    assert refused.needs_human
    assert kinds(refused) == []
    cleared = plan_deployment(spec(**policy), H1, failed, at_limit, NOW, clear_restarts=True)
    assert kinds(cleared) == ["clear-restarts", "restart"]
    assert (
        cleared.actions[0].describe()
        == "clear-restarts orders: restart limit cleared by a person (2 restarts forgotten)"
    )
    assert cleared.record.restarts == [NOW - 60, NOW - 30]  # the executor clears it, as its first write
    assert not cleared.needs_human
    # Nothing counted: nothing to clear, and the plan is what it would be without the request.
    fresh = plan_deployment(spec(**policy), H1, failed, running_record(), NOW, clear_restarts=True)
    assert kinds(fresh) == ["restart"]
    # A cleared limit is no licence for anything else: a healthy job gets no action from it.
    healthy = plan_deployment(spec(**policy), H1, view(job(jid())), at_limit, NOW, clear_restarts=True)
    assert kinds(healthy) == ["clear-restarts"]


def test_an_intent_of_a_spec_flink_refused_is_not_submitted_again() -> None:
    """Histories seed 32: a recorded submission of a spec that failed since (Flink refused it: a
    Python program whose main raises) is not finished again, run after run, while the deployment
    runs nothing: the last stable spec is started instead; a person's retry submits it again."""
    refused_id = jid(H2, "99990000")
    stored = running_record(
        last_stable_spec=spec().model_dump(),
        operation=upgrade_in_flight(H1, H2, "file:/sp/9", NOW - 10, refused_id),
        failed_spec={"spec_hash": H2, "reason": "refused", "failed_at": NOW - 5},
    )
    plan = plan_deployment(spec(), H2, view(job(jid(), "FINISHED", 0)), stored, NOW)
    assert "resubmit" not in kinds(plan)
    assert [a.spec_hash for a in plan.actions] == [H1]  # the last stable spec
    again = plan_deployment(spec(), H2, view(job(jid(), "FINISHED", 0)), stored, NOW, retry_failed=True)
    assert kinds(again) == ["resubmit"]
    assert again.actions[0].new_job_id == refused_id
