"""Every change of a deployment's record is a function that returns a new record: what each one
changes, what it keeps, and what becomes of the one operation in flight."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from airflow_provider_flink.deployments import transitions as t
from airflow_provider_flink.deployments.records import (
    HISTORY_KEPT,
    AppliedSpec,
    DeploymentRecord,
    FailedSpec,
    HistoryEntry,
    Rescaling,
    SavepointEntry,
    Savepointing,
    Start,
    Submitting,
    Upgrading,
)

H1, H2, H3 = "1" * 64, "2" * 64, "3" * 64
OLD, NEW = "a" * 32, "b" * 32
SPEC: dict[str, Any] = {"name": "orders", "parallelism": 2}


def record(**fields: Any) -> DeploymentRecord:
    base: dict[str, Any] = {
        "name": "orders",
        "cluster": "c",
        "status": "running",
        "current_job_id": OLD,
        "applied": {"spec_hash": H1, "spec": {"name": "orders", "parallelism": 1}},
        "stable": {"spec_hash": H1, "spec": {"name": "orders", "parallelism": 1}},
    }
    return DeploymentRecord.model_validate({**base, **fields})


def start(job_id: str = NEW, spec_hash: str = H2, restore_from: str | None = "file:/sp/1") -> Start:
    return Start(job_id=job_id, spec_hash=spec_hash, restore_from=restore_from)


def savepointing(job_id: str = OLD) -> Savepointing:
    return Savepointing(job_id=job_id, trigger_id="t" * 32, reason="upgrade", started_at=5.0)


def test_a_record_is_a_value_changes_return_a_new_one() -> None:
    before = record()
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        before.status = "suspended"  # type: ignore[misc]
    after = t.suspended(before)
    assert (before.status, after.status) == ("running", "suspended")


def test_an_intent_is_a_submission_in_flight_until_the_job_is_recorded() -> None:
    intended = t.intended(record(status="suspended"), start(), now=7.0)  # a resume
    assert intended.operation == Submitting(start=start(), started_at=7.0)
    assert intended.submission == start()
    assert intended.status == "suspended"  # until the job runs
    # The same intent again (a run finishing its own) keeps the first one, its time included.
    assert t.intended(intended, start(), now=9.0) is intended
    done = t.submitted(intended, start(), SPEC, "jar-2")
    assert (done.operation, done.submission, done.started) == (None, None, start())
    assert (done.current_job_id, done.status, done.applied) == (
        NEW,
        "running",
        AppliedSpec(spec_hash=H2, spec=SPEC),
    )


def test_an_upgrade_is_its_own_submission_and_stays_in_flight_until_its_job_is_healthy() -> None:
    upgrading = t.upgrade_begun(record(), start(), now=3.0)
    flight = upgrading.upgrading
    assert flight == Upgrading(from_hash=H1, start=start(), started_at=3.0)
    assert (flight.new_job_id, flight.to_hash, flight.savepoint_path) == (NEW, H2, "file:/sp/1")
    assert upgrading.submission == start()
    # Its submission does not replace it: the upgrade is the intent.
    assert t.intended(upgrading, start(), now=4.0) is upgrading
    submitted = t.submitted(upgrading, start(), SPEC, "jar-2")
    assert (submitted.upgrading, submitted.submission) == (flight, None)
    healthy = t.stable(submitted, H2, SPEC)
    assert (healthy.operation, healthy.stable, healthy.applied) == (
        None,
        AppliedSpec(spec_hash=H2, spec=SPEC),
        AppliedSpec(spec_hash=H2, spec=SPEC),
    )


def test_another_submission_replaces_an_upgrade_in_flight() -> None:
    """A rollback's submission (of the stable spec) is not the upgrade's own."""
    upgrading = t.upgrade_begun(record(), start(), now=3.0)
    rollback = start(job_id="c" * 32, spec_hash=H1)
    assert t.intended(upgrading, rollback, now=4.0).operation == Submitting(start=rollback, started_at=4.0)


def test_a_never_stable_spec_started_again_is_an_upgrade_from_the_stable_one() -> None:
    again = t.upgrade_of_never_stable(record(applied={"spec_hash": H3}), start(), now=3.0)
    assert again.upgrading == Upgrading(from_hash=H1, start=start(), started_at=3.0)
    assert t.upgrade_begun(record(applied={"spec_hash": H3}), start(), 3.0).upgrading == Upgrading(
        from_hash=H3, start=start(), started_at=3.0
    )


def test_stable_lifts_only_its_own_failed_mark_and_ends_only_an_upgrade() -> None:
    failed = FailedSpec(spec_hash=H2, reason="crashed", failed_at=1.0)
    made = t.stable(record(failed_spec=failed, applied={"spec_hash": H2}), H2, SPEC)
    assert made.failed_spec is None  # a retry made it
    assert made.applied == made.stable == AppliedSpec(spec_hash=H2, spec=SPEC)  # its fields now known
    assert t.stable(record(failed_spec=failed), H1, SPEC).failed_spec == failed
    pending = record(operation=savepointing())
    assert t.stable(pending, H1, SPEC).operation == pending.operation  # a savepoint is not an upgrade
    assert t.upgrade_over(pending) is pending
    assert t.upgrade_over(t.upgrade_begun(record(), start(), 1.0)).operation is None


def test_adopting_the_intended_job_records_it_with_its_hash() -> None:
    intended = t.intended(record(status="suspended"), start(spec_hash=H3), now=1.0)
    adopted = t.adopted(intended, NEW)
    assert (adopted.current_job_id, adopted.status, adopted.applied, adopted.operation, adopted.started) == (
        NEW,
        "running",
        AppliedSpec(spec_hash=H3),  # submitted by a run that died: known by hash only
        None,
        start(spec_hash=H3),
    )
    # Intended with the applied spec: its fields are kept.
    same = t.adopted(t.intended(record(), start(spec_hash=H1), now=1.0), NEW)
    assert same.applied == record().applied
    # An upgrade's job adopted: the upgrade stays in flight until the job is healthy.
    upgrade = t.upgrade_begun(record(), start(), now=1.0)
    assert t.adopted(upgrade, NEW).upgrading == upgrade.upgrading


def test_adopting_a_job_nobody_intended_keeps_the_rest() -> None:
    intended = t.intended(record(status="new"), start(), now=1.0)
    other = "d" * 32
    adopted = t.adopted(intended, other)
    assert (adopted.current_job_id, adopted.status, adopted.operation, adopted.applied) == (
        other,
        "running",
        intended.operation,
        intended.applied,
    )


def test_a_savepoint_in_flight_ends_filed_or_failed() -> None:
    begun = t.savepoint_begun(record(), OLD, "t" * 32, "periodic", now=5.0)
    assert begun.savepointing == Savepointing(
        job_id=OLD, trigger_id="t" * 32, reason="periodic", started_at=5.0
    )
    entry = SavepointEntry(path="file:/sp/2", taken_at=6.0, reason="periodic", job_id=OLD, checkpoint_id=9)
    filed = t.savepoint_filed(begun, entry)
    assert (filed.operation, filed.savepoints) == (None, [entry])
    refused = t.savepoint_failed(begun, "t" * 32)
    assert (refused.operation, refused.failed_triggers) == (None, ["t" * 32])
    timed_out = t.savepoint_failed(begun, None)  # may still complete: the same id is asked again
    assert (timed_out.operation, timed_out.failed_triggers) == (None, [])


def test_ending_a_savepoint_leaves_another_operation_alone() -> None:
    upgrade = t.upgrade_begun(record(), start(), now=1.0)
    entry = SavepointEntry(path="file:/sp/2", taken_at=6.0, reason="asked", job_id=OLD)
    assert t.savepoint_filed(upgrade, entry).operation == upgrade.operation
    assert t.savepoint_failed(upgrade, "x").operation == upgrade.operation


def test_lists_keep_their_newest() -> None:
    many = record()
    for n in range(HISTORY_KEPT + 3):
        many = t.remembered(many, HistoryEntry(at=float(n), kind="savepoint", ok=True, detail=""))
        many = t.restarted(many, float(n))
    assert [h.at for h in many.history] == [float(n) for n in range(3, HISTORY_KEPT + 3)]
    assert many.restarts == [float(n) for n in range(HISTORY_KEPT + 3 - t.RESTARTS_KEPT, HISTORY_KEPT + 3)]


def test_uploads_disposals_holds_and_lineage() -> None:
    with_jars = t.submitted(record(uploads=["jar-1", "jar-2"]), start(), SPEC, "jar-1")
    assert with_jars.uploads == ["jar-2", "jar-1"]  # uploaded again: newest last
    assert t.upload_dropped(with_jars, "jar-2").uploads == ["jar-1"]
    entries = [
        SavepointEntry(path=p, taken_at=1.0, reason="periodic", job_id=OLD) for p in ("file:/a", "file:/b")
    ]
    assert [s.path for s in t.disposed(record(savepoints=entries), "file:/a").savepoints] == ["file:/b"]
    held = t.held(record(), 9.0, "dag/run/t/1")
    assert held.hold is not None
    assert (held.hold.at, held.hold.by) == (9.0, "dag/run/t/1")
    assert t.released(held).hold is None
    assert t.new_lineage(record(), 11.0).lineage_since == 11.0
    failed = t.failed(record(), H2, "not healthy", 12.0)
    assert failed.failed_spec == FailedSpec(spec_hash=H2, reason="not healthy", failed_at=12.0)


def test_a_rescale_in_place_ends_with_the_spec_the_job_now_runs() -> None:
    flight = Rescaling(job_id=OLD, from_parallelism=1, to_parallelism=2, to_hash=H2, started_at=1.0)
    begun = t.rescale_begun(record(), flight)
    assert begun.rescaling == flight
    done = t.rescaled(begun, OLD, H2, SPEC)
    assert (done.operation, done.rescaled.spec_hash if done.rescaled else None) == (None, H2)
    assert done.applied == done.stable == AppliedSpec(spec_hash=H2, spec=SPEC)
    assert t.rescale_given_up(begun).operation is None
    other = record(operation=savepointing())
    assert t.rescale_given_up(other) is other


def test_a_record_of_an_earlier_version_reads_as_one_operation_in_flight() -> None:
    """Records in users' Variables from before: the intended triple, ``upgrade``, ``rescale`` and
    ``pending_savepoint`` each become the one operation (a savepoint first: the next run settles
    it), and an intent already recorded as the job becomes what that job started from."""
    base = {"name": "orders", "cluster": "c", "current_job_id": OLD}
    intent = {"intended_job_id": NEW, "intended_hash": H2, "intended_savepoint": "file:/sp/1"}
    upgrade = {
        "from_hash": H1,
        "to_hash": H2,
        "savepoint_path": "file:/sp/1",
        "started_at": 3.0,
        "new_job_id": NEW,
    }
    pending = {"job_id": OLD, "trigger_id": "t" * 32, "reason": "upgrade", "started_at": 5.0}
    rescale = {"job_id": OLD, "from_parallelism": 1, "to_parallelism": 2, "to_hash": H2, "started_at": 1.0}
    read = DeploymentRecord.model_validate
    assert read({**base, **intent}).operation == Submitting(start=start())
    assert read({**base, **intent, "upgrade": upgrade}).operation == Upgrading(
        from_hash=H1, start=start(), started_at=3.0
    )
    assert (
        read({**base, **intent, "upgrade": upgrade, "pending_savepoint": pending}).operation == savepointing()
    )
    assert read({**base, "rescale": rescale}).operation == Rescaling(**rescale)
    recorded = read({**base, **intent, "current_job_id": NEW})
    assert (recorded.operation, recorded.started) == (None, start())
    assert read({**base, "intended_job_id": NEW}).operation is None  # no hash: nothing to finish
    both = {**base, "upgrade": upgrade, "operation": {"kind": "savepoint", **pending}}
    assert read(both).operation == savepointing()  # the new field wins over an old one beside it
    stored = read({**base, **intent}).model_dump(mode="json")
    assert "intended_job_id" not in stored
    assert read(stored).operation == Submitting(start=start())


def test_a_refused_submission_ends_its_own_intent_and_fails_only_a_never_stable_spec() -> None:
    refused = t.submission_refused(record(operation=Submitting(start=start())), start(), "main raised", 9.0)
    assert refused.operation is None
    assert refused.failed_spec == FailedSpec(spec_hash=H2, reason="main raised", failed_at=9.0)
    upgrading = record(operation=Upgrading(from_hash=H1, start=start(), started_at=1.0))
    assert t.submission_refused(upgrading, start(), "x", 9.0).operation is None
    # Another submission's intent (a later run's) is not this refusal's to end.
    other = record(operation=Submitting(start=start(job_id="c" * 32)))
    assert t.submission_refused(other, start(), "x", 9.0).operation == other.operation
    pending = record(operation=savepointing())
    assert t.submission_refused(pending, start(), "x", 9.0).operation == pending.operation
    # The stable spec refused (a restore Flink cannot read): tried again, not failed; the failed
    # mark of another spec stays as it was.
    marked = FailedSpec(spec_hash=H3, reason="earlier", failed_at=1.0)
    stable = t.submission_refused(record(failed_spec=marked), start(spec_hash=H1), "unreadable", 9.0)
    assert stable.failed_spec == marked
    assert stable.operation is None
