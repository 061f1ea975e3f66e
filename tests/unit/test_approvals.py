"""Approval before risk (``deployments.approvals`` and the planner's gate): which actions wait for
a person, the request they record, and what an answer does to the next plan."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.deployments.answers import Answered, Request, record_answer
from airflow_provider_flink.deployments.approvals import (
    approval_key,
    cluster_risks,
    required_risks,
    restore_words,
    risks_of,
    waiting,
)
from airflow_provider_flink.deployments.planner import AskApproval, plan_deployment
from airflow_provider_flink.deployments.records import Approval, Hold
from airflow_provider_flink.deployments.stores import MemoryRecordStore, RunRecords
from airflow_provider_flink.deployments.transitions import (
    approval_asked,
    approval_decided,
    approval_expired,
    approval_used,
)
from tests.unit.test_planner import H1, H2, NOW, jid, job, kinds, running_record, saved, spec, view

ALL = frozenset({"stateless-upgrade", "drop-state", "old-checkpoint", "dispose", "suspend"})


def upgrade_plan(approvals: frozenset[str] = ALL, record: Any = None, **fields: Any) -> Any:
    return plan_deployment(
        spec(**fields), H2, view(job(jid())), record or running_record(), NOW, approvals=approvals
    )


def test_a_stateless_upgrade_waits_for_a_person_and_records_its_request_first() -> None:
    plan = upgrade_plan(upgrade_mode="stateless")
    assert kinds(plan) == ["ask-approval"]
    [ask] = plan.actions
    assert isinstance(ask, AskApproval)
    asked = ask.approval
    assert asked.risks == ["stateless upgrade: the new job starts without the running job's state"]
    assert asked.action.startswith(f"upgrade orders job {jid()} -> ")
    assert asked.restore == f"nothing: the new job starts empty; the state of job {jid()} is not carried over"
    assert (asked.asked_at, asked.decision) == (NOW, None)
    assert plan.skipped == f"waiting for a person's approval (0 s ago): {asked.action}"
    assert not plan.needs_human  # waiting is not a failure of the run
    # Not required: the same plan acts at once.
    assert kinds(upgrade_plan(approvals=frozenset({"suspend"}), upgrade_mode="stateless")) == ["upgrade"]
    assert kinds(upgrade_plan(approvals=frozenset(), upgrade_mode="stateless")) == ["upgrade"]


def test_a_request_already_recorded_is_not_asked_twice_and_an_answer_decides() -> None:
    first = upgrade_plan(upgrade_mode="stateless")
    asked = first.actions[0].approval
    pending = approval_asked(running_record(), asked)
    again = upgrade_plan(record=pending, upgrade_mode="stateless")
    assert kinds(again) == []
    assert again.skipped == f"waiting for a person's approval (0 s ago): {asked.action}"
    approved = approval_decided(pending, asked.key, True, "ada", NOW)
    assert kinds(upgrade_plan(record=approved, upgrade_mode="stateless")) == ["upgrade"]
    rejected = approval_decided(pending, asked.key, False, "ada", NOW - 120, note="not during the sale")
    plan = upgrade_plan(record=rejected, upgrade_mode="stateless")
    assert kinds(plan) == []
    assert plan.skipped == (
        f"{asked.action} was rejected by ada 2.0 min ago: not during the sale; not done "
        "(it is asked again once the spec or the job changes)"
    )
    # Another spec is another action: asked anew, the rejection of the old one does not hold.
    other = plan_deployment(
        spec(upgrade_mode="stateless"), "3" * 64, view(job(jid())), rejected, NOW, approvals=ALL
    )
    assert kinds(other) == ["ask-approval"]
    assert other.actions[0].approval.key != asked.key


def test_the_request_names_the_changed_fields_and_the_state_it_would_restore() -> None:
    applied = spec(parallelism=1).model_dump(mode="json")
    record = running_record(applied={"spec_hash": H1, "spec": applied})
    plan = upgrade_plan(record=record, parallelism=3, allow_non_restored_state=True)
    asked = plan.actions[0].approval
    assert asked.changes == ["parallelism: 1 -> 3 (declared)"]
    assert asked.risks == ["allow_non_restored_state: state the new job does not map is dropped"]
    assert asked.restore == f"a savepoint of job {jid()}, taken as the upgrade stops it"


@pytest.mark.parametrize(
    ("age", "expected"),
    [
        (None, ["last-state upgrade: the age of the checkpoint it restores is not known"]),
        (3601.0, ["last-state upgrade from a checkpoint 60.0 min old (approval needed past 60 min)"]),
        (3600.0, []),
    ],
)
def test_a_last_state_upgrade_waits_only_from_a_checkpoint_past_the_limit(
    age: float | None, expected: list[str]
) -> None:
    last_state = spec(upgrade_mode="last-state")
    assert [r.text for r in risks_of("upgrade", "last-state", last_state, ALL, age)] == expected
    assert [r.text for r in risks_of("rescale", "last-state", last_state, ALL, age)] == expected
    plan = plan_deployment(
        last_state, H2, view(job(jid())), running_record(), NOW, approvals=ALL, checkpoint_age=age
    )
    assert kinds(plan) == (["ask-approval"] if expected else ["upgrade"])


def test_suspend_and_a_retention_disposal_wait_too_and_earlier_actions_go_on() -> None:
    suspended = plan_deployment(
        spec(state="suspended"), H1, view(job(jid())), running_record(), NOW, approvals=frozenset({"suspend"})
    )
    assert kinds(suspended) == ["ask-approval"]
    assert (
        suspended.actions[0].approval.restore
        == f"job {jid()} stops with a savepoint; a resume starts from it"
    )
    # A person's suspend: the hold is recorded (no risk), the stop waits for the approval.
    held = plan_deployment(
        spec(),
        H1,
        view(job(jid())),
        running_record(),
        NOW,
        request="suspend",
        approvals=frozenset({"suspend"}),
    )
    assert kinds(held) == ["hold", "ask-approval"]
    many = running_record(savepoints=[saved(f"file:/sp/{i}", 100 * (9 - i)) for i in range(8)])
    retention = plan_deployment(
        spec(savepoint_policy={"keep_last": 5}),
        H1,
        view(job(jid())),
        many,
        NOW,
        approvals=frozenset({"dispose"}),
    )
    assert kinds(retention) == ["ask-approval"]
    assert retention.actions[0].approval.restore == "file:/sp/0 is deleted; it is not restored from again"
    assert (
        kinds(plan_deployment(spec(savepoint_policy={"keep_last": 5}), H1, view(job(jid())), many, NOW))
        == ["dispose"] * 3
    )


def test_keys_are_the_same_for_the_same_action_and_differ_for_another() -> None:
    key = approval_key("orders", "upgrade", "j1", H2, "stateless", None)
    assert key == approval_key("orders", "upgrade", "j1", H2, "stateless", None)
    assert len({key, *(approval_key("orders", "upgrade", *alt) for alt in (
        ("j2", H2, "stateless", None), ("j1", H1, "stateless", None), ("j1", H2, "savepoint", None),
        ("j1", H2, "stateless", "file:/x"),
    ))}) == 5  # fmt: skip


def test_a_connection_may_require_more_and_a_wrong_word_is_one_clear_error() -> None:
    assert cluster_risks(None, "c") == frozenset()
    assert cluster_risks("suspend, dispose", "c") == frozenset({"suspend", "dispose"})
    assert cluster_risks(["stateless-upgrade"], "c") == frozenset({"stateless-upgrade"})
    assert required_risks(spec(approval={"required_for": ["dispose"]}), {"suspend"}) == frozenset(
        {"dispose", "suspend"}
    )
    with pytest.raises(ValueError, match=r"^connection c: extra approval_required_for names 'supsend': known risks are stateless-upgrade, drop-state, old-checkpoint, dispose, suspend$"):  # fmt: skip
        cluster_risks(["supsend"], "c")
    with pytest.raises(ValueError, match="must be a list of risks or one comma-separated string, got 3"):
        cluster_risks(3, "c")


def test_waiting_words_for_a_timeout() -> None:
    timed_out = Approval(
        key="k", action="suspend orders", risks=["r"], asked_at=NOW - 7200, decision="rejected",
        by="timeout", decided_at=NOW - 3600, note="nobody answered within 24 h",
    )  # fmt: skip
    assert waiting(timed_out, NOW) == (
        "suspend orders was rejected by timeout 1.0 h ago: nobody answered within 24 h; not done "
        "(it is asked again once the spec or the job changes)"
    )


def test_a_start_of_a_changed_spec_that_drops_state_waits_like_its_upgrade() -> None:
    """The file changed (its upgrade rejected, or waiting) and the job ended: a restart, resume or
    recovery would run the new spec from the newest snapshot, with allow_non_restored_state."""
    risky = spec(allow_non_restored_state=True)
    failed = view(job(jid(), "FAILED"))
    plan = plan_deployment(risky, H2, failed, running_record(), NOW, approvals=ALL)
    assert kinds(plan) == ["ask-approval"]
    asked = plan.actions[0].approval
    assert (asked.kind, asked.risks) == (
        "restart",
        [
            "restart with a changed spec and allow_non_restored_state: state the new job does not map is dropped"
        ],
    )
    assert (
        asked.restore
        == f"the deployment's newest snapshot, restored into the declared spec (job {jid()} ran another)"
    )
    # The same spec as the job ran: a restart is a repair, never held back.
    assert kinds(plan_deployment(risky, H1, failed, running_record(), NOW, approvals=ALL)) == ["restart"]
    # Gone from the cluster, or cancelled outside: the same rule.
    assert kinds(plan_deployment(risky, H2, view(), running_record(), NOW, approvals=ALL)) == ["ask-approval"]
    cancelled = view(job(jid(), "CANCELED"))
    assert kinds(plan_deployment(risky, H2, cancelled, running_record(), NOW, approvals=ALL)) == [
        "ask-approval"
    ]


def test_a_risk_added_since_the_approval_is_asked_anew() -> None:
    """allow_non_restored_state set on the same spec (its hash unchanged): an approval of a
    last-state upgrade from an old checkpoint does not cover dropping state too."""
    old = spec(upgrade_mode="last-state")
    plan = plan_deployment(
        old, H2, view(job(jid())), running_record(), NOW, approvals=ALL, checkpoint_age=7200
    )
    asked = plan.actions[0].approval
    approved = approval_decided(approval_asked(running_record(), asked), asked.key, True, "ada", NOW)
    same = plan_deployment(old, H2, view(job(jid())), approved, NOW, approvals=ALL, checkpoint_age=7200)
    assert kinds(same) == ["upgrade"]
    assert same.approved == {same.actions[0].describe(): asked.key}
    more = spec(upgrade_mode="last-state", allow_non_restored_state=True)
    again = plan_deployment(more, H2, view(job(jid())), approved, NOW, approvals=ALL, checkpoint_age=7200)
    assert kinds(again) == ["ask-approval"]
    assert again.actions[0].approval.key != asked.key


def test_an_approval_covers_its_action_once() -> None:
    plan = upgrade_plan(upgrade_mode="stateless")
    asked = plan.actions[0].approval
    approved = approval_decided(approval_asked(running_record(), asked), asked.key, True, "ada", NOW)
    used = approval_used(approved, asked.key)
    assert kinds(upgrade_plan(record=used, upgrade_mode="stateless")) == ["ask-approval"]


def test_a_rejected_suspend_releases_the_persons_hold() -> None:
    held = running_record(hold=Hold(at=NOW - 60, by="flink_reconcile/manual__1/reconcile/1"))
    plan = plan_deployment(spec(), H1, view(job(jid())), held, NOW, approvals=frozenset({"suspend"}))
    asked = plan.actions[0].approval
    assert asked.kind == "suspend"
    rejected = approval_decided(approval_asked(held, asked), asked.key, False, "ada", NOW)
    assert rejected.hold is None  # the deployment follows its file again
    assert (
        kinds(plan_deployment(spec(), H1, view(job(jid())), rejected, NOW, approvals=frozenset({"suspend"})))
        == []
    )
    approved = approval_decided(approval_asked(held, asked), asked.key, True, "ada", NOW)
    assert approved.hold is not None


DROP = "allow_non_restored_state: state the new job does not map is dropped"
STATELESS = "stateless upgrade: the new job starts without the running job's state"


@pytest.mark.parametrize(
    ("kind", "mode", "fields", "age", "changes_spec", "expected"),
    [
        ("upgrade", "stateless", {}, None, False, [("stateless-upgrade", STATELESS)]),
        ("upgrade", "savepoint", {"allow_non_restored_state": True}, None, False, [("drop-state", DROP)]),
        ("rescale", "savepoint", {"allow_non_restored_state": True}, None, False, [("drop-state", DROP)]),
        ("upgrade", "stateless", {"allow_non_restored_state": True}, None, False, [("stateless-upgrade", STATELESS)]),
        ("upgrade", "savepoint", {}, None, False, []),
        ("upgrade", "last-state", {}, None, False,
         [("old-checkpoint", "last-state upgrade: the age of the checkpoint it restores is not known")]),
        ("upgrade", "last-state", {"approval": {"checkpoint_older_than_minutes": 10}}, 601.0, False,
         [("old-checkpoint", "last-state upgrade from a checkpoint 10.0 min old (approval needed past 10 min)")]),
        ("upgrade", "last-state", {"approval": {"checkpoint_older_than_minutes": 10}}, 600.0, False, []),
        ("dispose", None, {}, None, False, [("dispose", "dispose: the savepoint is deleted for good")]),
        ("suspend", None, {}, None, False, [("suspend", "suspend: the job stops until it is resumed")]),
        ("restart", None, {"allow_non_restored_state": True}, None, True,
         [("drop-state", "restart with a changed spec and allow_non_restored_state: state the new job does not map is dropped")]),
        ("resume", None, {"allow_non_restored_state": True}, None, False, []),  # the same spec
        ("recover", None, {}, None, True, []),  # nothing allowed to be dropped
        ("savepoint", None, {"allow_non_restored_state": True}, None, True, []),
    ],
)  # fmt: skip
def test_each_risk_has_its_kind_and_words(
    kind: str,
    mode: str | None,
    fields: dict[str, Any],
    age: float | None,
    changes_spec: bool,
    expected: list[tuple[str, str]],
) -> None:
    found = risks_of(kind, mode, spec(**fields), ALL, age, changes_spec=changes_spec)
    assert [(r.kind, r.text) for r in found] == expected
    # A risk not named by the deployment (or its cluster) needs nobody.
    assert (
        risks_of(kind, mode, spec(**fields), ALL - {k for k, _ in expected}, age, changes_spec=changes_spec)
        == []
    )


def test_a_start_asked_without_saying_whether_the_spec_changed_risks_nothing() -> None:
    assert risks_of("restart", None, spec(allow_non_restored_state=True), ALL, None) == []


# ---------------------------------------------------------------------------- nobody answered
def test_a_request_nobody_answered_is_asked_again_by_the_next_run() -> None:
    asked = upgrade_plan(upgrade_mode="stateless").actions[0].approval
    pending = approval_asked(running_record(), asked)
    expired = approval_expired(pending, asked.key, NOW + 86400, "nobody answered within 1 day, 0:00:00")
    [kept] = expired.approvals
    assert (kept.decision, kept.by, kept.decided_at, kept.note) == (
        "expired", "timeout", NOW + 86400, "nobody answered within 1 day, 0:00:00",
    )  # fmt: skip
    plan = upgrade_plan(record=expired, upgrade_mode="stateless")
    assert kinds(plan) == ["ask-approval"]  # asked again: not a rejection that stands
    [again] = plan.actions
    assert (again.approval.key, again.approval.decision, again.approval.asked_at) == (asked.key, None, NOW)
    assert approval_asked(expired, again.approval).approvals == [again.approval]  # replaces it
    # A request not in the record: nothing changes.
    assert approval_expired(pending, "unknown", NOW).approvals == pending.approvals


def test_an_unanswered_suspend_releases_the_persons_hold() -> None:
    held = running_record(hold=Hold(at=NOW - 60, by="flink_reconcile/manual__1/reconcile/1"))
    asked = (
        plan_deployment(spec(), H1, view(job(jid())), held, NOW, approvals=frozenset({"suspend"}))
        .actions[0]
        .approval
    )
    assert approval_expired(approval_asked(held, asked), asked.key, NOW).hold is None
    other = upgrade_plan(upgrade_mode="stateless").actions[0].approval  # not a suspend: the hold stays
    assert approval_expired(approval_asked(held, other), other.key, NOW).hold == held.hold


# ---------------------------------------------------------------------------- answers
def _answer_store() -> tuple[MemoryRecordStore, Approval, Request]:
    store = MemoryRecordStore()
    asked = upgrade_plan(upgrade_mode="stateless").actions[0].approval
    base = running_record()
    store.write(approval_asked(base, asked).model_copy(update={"revision": 0}))
    return store, asked, Request(base.name, base.cluster, asked.key)


def test_an_answer_is_written_once_and_the_first_one_stands() -> None:
    store, asked, request = _answer_store()
    records = RunRecords(store, "flink_approval/manual__1/approve/1")
    first = record_answer(records, request, True, "ada", now=NOW)
    assert first == Answered(f"orders: {asked.action}: approved by ada", "approved")
    stored = store.get(request.cluster, request.deployment)
    assert stored is not None
    assert [(a.decision, a.by, a.decided_at) for a in stored.approvals] == [("approved", "ada", NOW)]
    second = record_answer(records, request, False, "bob", now=NOW + 5)
    assert second == Answered(
        f"orders: request {asked.key} was already approved by ada: the first answer stands", "approved"
    )
    assert store.get(request.cluster, request.deployment) == stored  # nothing written
    gone = record_answer(records, Request(request.deployment, request.cluster, "f" * 32), True, "ada")
    assert gone == Answered(
        f"orders: request {'f' * 32} is not in its record any more: nothing recorded", None
    )
    assert store.leases[(request.cluster, request.deployment)].expires_at == 0.0  # released after each


def test_nobody_answering_is_recorded_expired() -> None:
    store, asked, request = _answer_store()
    records = RunRecords(store, "flink_approval/manual__1/approve/1")
    done = record_answer(
        records, request, False, "timeout", "nobody answered within 1 day", now=NOW, expired=True
    )
    assert done == Answered(
        f"orders: {asked.action}: nobody answered (nobody answered within 1 day); the next reconcile run asks again",
        "expired",
    )
    stored = store.get(request.cluster, request.deployment)
    assert stored is not None
    assert [(a.decision, a.by) for a in stored.approvals] == [("expired", "timeout")]


def test_the_request_shows_every_value_as_written_not_as_markdown() -> None:
    from airflow_provider_flink.operators.approval import _describe, code, md

    assert md("a*b_[x](https://evil)`c` <b>#1 a-b -> c") == r"a\*b\_\[x\](https://evil)\`c\` \<b>#1 a-b -> c"
    assert md("two\n# lines") == "two # lines"  # no heading made of a note
    assert code("args: ['*'] -> ['`x`'] (declared)") == "``args: ['*'] -> ['`x`'] (declared)``"
    assert code("`edge") == "`` `edge ``"
    asked = Approval(
        key="k" * 32,
        kind="upgrade",
        action="upgrade orders: the declared spec changed",
        risks=["stateless upgrade: the new job starts without the running job's state"],
        changes=["args: ['--topic', 'a_b'] -> ['--topic', '*'] (declared)"],
        restore="nothing: the new job starts empty",
        asked_at=NOW,
        decision="rejected",
        by="[ada](https://evil)",
    )
    body = _describe(Request("orders", "flink_default", "k" * 32), asked)
    assert body.splitlines() == [
        "### Approve orders (kkkkkkkk)",
        "",
        "Deployment **orders** on `flink_default`.",
        "- **Action:** upgrade orders: the declared spec changed",
        r"- **Risk:** stateless upgrade: the new job starts without the running job's state",
        "- **Change:** `args: ['--topic', 'a_b'] -> ['--topic', '*'] (declared)`",
        "- **State:** nothing: the new job starts empty",
        r"- Already **rejected** by \[ada\](https://evil): that answer stands.",
    ]


# ------------------------------------------------------------------ housekeeping while one waits
POLICY = {"interval_minutes": 60, "keep_last": 1}
OLD_SAVEPOINTS = {"savepoints": [saved("file:/sp/1", 7200), saved("file:/sp/2", 3700)]}


def test_periodic_savepoints_and_retention_go_on_while_an_upgrade_waits_for_a_person() -> None:
    waits = plan_deployment(
        spec(upgrade_mode="stateless", savepoint_policy=POLICY), H2, view(job(jid())),
        running_record(**OLD_SAVEPOINTS), NOW, approvals=frozenset({"stateless-upgrade"}),
    )  # fmt: skip
    assert kinds(waits) == ["ask-approval", "savepoint", "dispose"]
    assert waits.skipped is not None
    assert waits.skipped.startswith("waiting for a person's approval (0 s ago): upgrade orders job ")
    assert [a.describe() for a in waits.actions[1:]] == [
        f"savepoint orders job {jid()}: periodic savepoint (every 60 min)",
        "dispose orders [file:/sp/1]: retention (periodic savepoint of 2.0 h)",
    ]
    # A disposal that needs its own approval waits for it; the savepoint is still taken.
    both = plan_deployment(
        spec(upgrade_mode="stateless", savepoint_policy=POLICY), H2, view(job(jid())),
        running_record(**OLD_SAVEPOINTS), NOW, approvals=frozenset({"stateless-upgrade", "dispose"}),
    )  # fmt: skip
    assert kinds(both) == ["ask-approval", "savepoint", "ask-approval"]
    assert [a.approval.kind for a in both.actions if isinstance(a, AskApproval)] == ["upgrade", "dispose"]
    assert both.skipped == waits.skipped  # the upgrade's wait is what the run reports


def test_a_rejected_upgrade_keeps_the_housekeeping_going_and_an_approved_one_needs_none_extra() -> None:
    base = running_record(**OLD_SAVEPOINTS)
    asked = plan_deployment(
        spec(upgrade_mode="stateless", savepoint_policy=POLICY), H2, view(job(jid())), base, NOW,
        approvals=frozenset({"stateless-upgrade"}),
    ).actions[0].approval  # fmt: skip
    pending = approval_asked(base, asked)
    rejected = approval_decided(pending, asked.key, False, "ada", NOW)
    plan = plan_deployment(
        spec(upgrade_mode="stateless", savepoint_policy=POLICY), H2, view(job(jid())), rejected, NOW,
        approvals=frozenset({"stateless-upgrade"}),
    )  # fmt: skip
    assert kinds(plan) == ["savepoint", "dispose"]
    assert plan.skipped is not None
    assert "was rejected by ada" in plan.skipped
    approved = approval_decided(pending, asked.key, True, "ada", NOW)
    go = plan_deployment(
        spec(upgrade_mode="stateless", savepoint_policy=POLICY), H2, view(job(jid())), approved, NOW,
        approvals=frozenset({"stateless-upgrade"}),
    )  # fmt: skip
    assert kinds(go) == ["upgrade"]  # the upgrade itself: no savepoint beside it


def test_a_suspend_that_waits_adds_no_housekeeping() -> None:
    held = running_record(hold=Hold(at=NOW - 60), **OLD_SAVEPOINTS)
    plan = plan_deployment(
        spec(savepoint_policy=POLICY), H1, view(job(jid())), held, NOW, approvals=frozenset({"suspend"})
    )
    assert kinds(plan) == ["ask-approval"]  # only an upgrade's wait keeps the housekeeping going


# ------------------------------------------------------------------------------- words and keys
def test_a_requests_key_is_derived_from_every_part_of_its_action() -> None:
    base = ("orders", "upgrade", jid(), H2, "stateless", None, ["stateless-upgrade"])
    key = approval_key(*base)
    # Pinned: keys are stored in records; a new derivation would orphan every pending request.
    assert key == approval_key(*base)
    assert len(key) == 32
    assert key == "31de7eba1ca50350817bc63a41cf627e"
    assert approval_key("orders", "suspend", None, None, None, None) == "1055f94b045d1428e5c9962dee78acc3"
    for i, other in enumerate(["billing", "rescale", jid(H2), H1, "savepoint", "file:/sp/1"]):
        changed = list(base)
        changed[i] = other
        assert approval_key(*changed) != key, i
    assert approval_key(*base[:-1], ["stateless-upgrade", "drop-state"]) != key


def test_the_state_words_of_each_action() -> None:
    j = jid()
    assert (
        restore_words("upgrade", "last-state", j, None, 7200.0)
        == f"the latest checkpoint of job {j}, 120.0 min old"
    )
    assert restore_words("rescale", "last-state", j, None, None) == f"the latest checkpoint of job {j}"
    assert (
        restore_words("upgrade", "savepoint", j, None, None)
        == f"a savepoint of job {j}, taken as the upgrade stops it"
    )
    assert (
        restore_words("dispose", None, None, "file:/sp/1", None)
        == "file:/sp/1 is deleted; it is not restored from again"
    )
    assert (
        restore_words("suspend", None, j, None, None)
        == f"job {j} stops with a savepoint; a resume starts from it"
    )
    assert restore_words("restart", None, j, None, None) == (
        f"the deployment's newest snapshot, restored into the declared spec (job {j} ran another)"
    )
    assert restore_words("savepoint", None, j, None, None) is None


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(59.0, "59 s ago"), (60.0, "1.0 min ago"), (90.0, "1.5 min ago"), (3599.0, "60.0 min ago"),
     (3600.0, "1.0 h ago"), (5400.0, "1.5 h ago"), (-5.0, "0 s ago")],
)  # fmt: skip
def test_how_long_ago_a_request_was_asked(seconds: float, said: str) -> None:
    asked = Approval(key="k", action="suspend orders", risks=[], asked_at=NOW - seconds)
    assert waiting(asked, NOW) == f"waiting for a person's approval ({said}): suspend orders"


def test_a_rejection_says_who_when_and_why_if_they_said() -> None:
    rejected = Approval(
        key="k", action="suspend orders", risks=[], asked_at=NOW - 600, decision="rejected", by="ada",
        decided_at=NOW - 120,
    )  # fmt: skip
    tail = "; not done (it is asked again once the spec or the job changes)"
    assert waiting(rejected, NOW) == "suspend orders was rejected by ada 2.0 min ago" + tail
    noted = rejected.model_copy(update={"note": "not during the sale"})
    assert waiting(noted, NOW) == "suspend orders was rejected by ada 2.0 min ago: not during the sale" + tail


def test_a_connections_risks_are_read_from_a_list_or_one_string() -> None:
    assert cluster_risks(None, "c") == frozenset()
    assert cluster_risks("", "c") == frozenset()
    assert cluster_risks([], "c") == frozenset()
    assert cluster_risks("suspend, dispose", "c") == frozenset({"suspend", "dispose"})
    with pytest.raises(ValueError, match="names 'nope', 'supsend'") as bad:
        cluster_risks(["supsend", "dispose", "nope"], "flink_prod")
    assert str(bad.value) == (
        "connection flink_prod: extra approval_required_for names 'nope', 'supsend': known risks are "
        "stateless-upgrade, drop-state, old-checkpoint, dispose, suspend"
    )
