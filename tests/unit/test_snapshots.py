"""Which snapshot a restore uses: the highest checkpoint id on storage since the last fresh start (I7).

Each test is one of the ways the record alone got it wrong: a job that ended before its first
checkpoint, a savepoint no run lived to file, a snapshot deleted on cancel, a stateless restart.
"""

from __future__ import annotations

import os
import struct
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import responses

from airflow_provider_flink.client import FlinkApiError, models
from airflow_provider_flink.deployments.records import DeploymentRecord, SavepointEntry
from airflow_provider_flink.deployments.snapshots import (
    METADATA_MAGIC,
    UNKNOWN,
    Candidate,
    Snapshot,
    _from_flink,
    _from_record,
    _key,
    checkpoint_dir,
    choose,
    deployment_savepoint_dir,
    exists,
    gather,
    known_checkpoint_id,
    newest_first,
    newest_snapshot,
    read_checkpoint_id,
    retained_checkpoints,
    stored_savepoints,
    surviving_checkpoint,
    too_old,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.exceptions import ReconcileError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.ids import deployment_prefix
from tests.unit.conftest import use_flink_connection

URL = "http://flink-snap.test:8081"
PREFIX = deployment_prefix("orders")
J1, J2, J3 = (PREFIX + "0" * 12 + f"{n:08x}" for n in (1, 2, 3))
OTHER = deployment_prefix("payments") + "0" * 20


@pytest.fixture(autouse=True)
def conn(monkeypatch: pytest.MonkeyPatch) -> None:
    use_flink_connection(monkeypatch, "flink-snap.test")


def snapshot(directory: Path, checkpoint_id: int, mtime: float = 1000.0) -> str:
    """A snapshot on storage: its ``_metadata`` begins as Flink writes it (magic, version, id)."""
    directory.mkdir(parents=True)
    metadata = directory / "_metadata"
    metadata.write_bytes(struct.pack(">IIq", METADATA_MAGIC, 3, checkpoint_id) + b"operator state")
    os.utime(metadata, (mtime, mtime))
    return f"file:{directory}"


def cluster(tmp_path: Path) -> tuple[Path, Path]:
    """The cluster's checkpoint and savepoint directories, as /jobmanager/config says."""
    checkpoints, savepoints = tmp_path / "checkpoints", tmp_path / "savepoints"
    responses.get(
        f"{URL}/jobmanager/config",
        json=[
            {"key": "execution.checkpointing.dir", "value": f"file://{checkpoints}"},
            {"key": "execution.checkpointing.savepoint-dir", "value": f"file://{savepoints}"},
        ],
    )
    return checkpoints, savepoints


def forgotten(*job_ids: str) -> None:
    for job_id in job_ids:
        responses.get(f"{URL}/jobs/{job_id}/checkpoints", status=404, json={"errors": ["Job not found"]})


def spec(**fields: object) -> DeploymentSpec:
    return DeploymentSpec.model_validate({"name": "orders", "artifact": {"jar": "/j.jar"}, **fields})


def record(**fields: object) -> DeploymentRecord:
    return DeploymentRecord.model_validate({"name": "orders", "cluster": "flink_default", **fields})


def upgrade_savepoint(path: str, checkpoint_id: int | None = 27, taken_at: float = 500.0) -> SavepointEntry:
    return SavepointEntry(
        path=path, taken_at=taken_at, reason="upgrade", job_id=J1, checkpoint_id=checkpoint_id
    )


def upgrade_savepoint_and_deleted_checkpoint(tmp_path: Path, job_id: str, checkpoint_id: int) -> str:
    """An upgrade savepoint (id 27) on storage, and a newer checkpoint of ``job_id`` that Flink's
    history names but Flink deleted (a cancel under its default retention); the savepoint's path."""
    _, savepoints = cluster(tmp_path)
    older = snapshot(savepoints / "orders" / "savepoint-aaaaaa-000000000001", 27)
    deleted = f"file://{tmp_path}/checkpoints/{job_id}/chk-{checkpoint_id}"
    latest = {"id": checkpoint_id, "external_path": deleted, "trigger_timestamp": 900_000}
    responses.get(f"{URL}/jobs/{job_id}/checkpoints", json={"latest": {"completed": latest}})
    return older


@responses.activate
def test_a_job_that_ended_before_its_first_checkpoint_restores_what_it_started_from(tmp_path: Path) -> None:
    """Failure 1: J2 resumed from J1's retained chk-125 and was cancelled before a checkpoint of
    its own; J3 restored the record's older upgrade savepoint (id 27): the counter fell 878 -> 283."""
    checkpoints, savepoints = cluster(tmp_path)
    older = snapshot(savepoints / "orders" / "savepoint-aaaaaa-000000000001", 27)
    chk = snapshot(checkpoints / J1 / "chk-125", 125)
    snapshot(checkpoints / OTHER / "chk-900", 900)  # another deployment's: never a candidate
    responses.get(f"{URL}/jobs/{J2}/checkpoints", json={"latest": {}})
    stored = record(
        savepoints=[upgrade_savepoint(older)],
        started={"job_id": J2, "spec_hash": "2" * 64, "restore_from": chk},
    )
    chosen = newest_snapshot(FlinkHook(), spec(), stored, PREFIX, [J2], now=2000.0)
    assert (chosen.path, chosen.refusal) == (chk, None)
    assert chosen.what == f"{chk}, which job {J2} was started from (checkpoint id 125)"


@responses.activate
def test_a_savepoint_no_run_filed_is_found_on_storage(tmp_path: Path) -> None:
    """Failure 2: the upgrade's stop-with-savepoint completed, the JobManager died before a run
    filed it (Flink forgot the trigger and the job); the record's older savepoint was restored."""
    checkpoints, savepoints = cluster(tmp_path)
    older = snapshot(savepoints / "orders" / "savepoint-aaaaaa-000000000001", 27)
    snapshot(checkpoints / J1 / "chk-55", 55)
    stop = snapshot(savepoints / "orders" / "savepoint-aaaaaa-000000000002", 61)
    forgotten(J1)
    chosen = newest_snapshot(
        FlinkHook(), spec(), record(savepoints=[upgrade_savepoint(older)]), PREFIX, [J1], 2000.0
    )
    assert chosen.path == f"file://{stop.removeprefix('file:')}"
    assert chosen.what.endswith("(checkpoint id 61)")


@responses.activate
def test_the_newest_snapshot_gone_from_storage_is_a_refusal_not_an_older_restore(tmp_path: Path) -> None:
    """Flink's default retention deleted the cancelled job's checkpoint 130: the older savepoint is
    not restored silently; nothing is chosen and the run says what to do."""
    older = upgrade_savepoint_and_deleted_checkpoint(tmp_path, J1, 130)
    chosen = newest_snapshot(
        FlinkHook(), spec(), record(savepoints=[upgrade_savepoint(older)]), PREFIX, [J1], 2000.0
    )
    assert chosen.path is None
    assert chosen.refusal == (
        f"the newest state of the deployment, checkpoint 130 of job {J1} (checkpoint id 130), is gone from "
        f"storage (deleted on cancel?): not restoring older state instead of savepoint {older} (upgrade) "
        "(checkpoint id 27) silently; restore a snapshot by hand, or remove the deployment's record to start "
        "it without state"
    )


@responses.activate
def test_snapshots_from_before_a_fresh_start_are_not_newer_state(tmp_path: Path) -> None:
    """A stateless upgrade started the ids again at 1: the old lineage's chk-300 is not newer than
    the new job's chk-4 (it would send the deployment back to before the upgrade)."""
    checkpoints, _ = cluster(tmp_path)
    snapshot(checkpoints / J1 / "chk-300", 300, mtime=1000.0)
    new = snapshot(checkpoints / J2 / "chk-4", 4, mtime=1600.0)
    forgotten(J2)
    chosen = newest_snapshot(FlinkHook(), spec(), record(lineage_since=1500.0), PREFIX, [J2], 2000.0)
    assert chosen.path is not None
    assert chosen.path.endswith(new.removeprefix("file:"))


@responses.activate
def test_a_failing_jobs_deleted_checkpoint_is_given_up_by_its_rollback(tmp_path: Path) -> None:
    upgrade = upgrade_savepoint_and_deleted_checkpoint(tmp_path, J2, 29)
    stored = record(savepoints=[upgrade_savepoint(upgrade)])
    chosen = newest_snapshot(FlinkHook(), spec(), stored, PREFIX, [J2], 2000.0, forfeit=J2)
    assert chosen.path == upgrade
    assert chosen.describe() == (
        f"state from savepoint {upgrade} (upgrade) (checkpoint id 27); passed over: checkpoint 29 of job {J2} "
        "(checkpoint id 29) of the failing job (gone from storage)"
    )
    refused = newest_snapshot(FlinkHook(), spec(), stored, PREFIX, [J2], 2000.0)
    assert refused.path is None
    assert refused.refusal is not None


@responses.activate
def test_a_checkpoint_older_than_the_guard_is_refused(tmp_path: Path) -> None:
    checkpoints, _ = cluster(tmp_path)
    chk = snapshot(checkpoints / J1 / "chk-5", 5)
    responses.get(
        f"{URL}/jobs/{J1}/checkpoints",
        json={"latest": {"completed": {"id": 5, "external_path": chk, "trigger_timestamp": 100_000}}},
    )
    chosen = newest_snapshot(
        FlinkHook(), spec(max_checkpoint_age_minutes=10), record(), PREFIX, [J1], now=100.0 + 3600
    )
    assert chosen.refusal == (
        f"the newest state is checkpoint 5 of job {J1}, 60.0 min old, older than max_checkpoint_age_minutes=10: "
        "not restoring from it silently; restore it by hand, or raise the limit in the spec"
    )


@responses.activate
def test_nothing_ever_taken_starts_without_state(tmp_path: Path) -> None:
    cluster(tmp_path)
    forgotten(J1)
    chosen = newest_snapshot(FlinkHook(), spec(), record(), PREFIX, [J1], 2000.0)
    assert (chosen.path, chosen.refusal) == (None, None)
    assert chosen.describe() == "started without state: none was ever taken"


def test_the_checkpoint_id_is_read_from_the_snapshots_own_metadata(tmp_path: Path) -> None:
    assert read_checkpoint_id(snapshot(tmp_path / "sp", 4711)) == 4711
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "_metadata").write_bytes(b"not a checkpoint at all")
    assert read_checkpoint_id(f"file:{tmp_path / 'junk'}") == UNKNOWN
    assert read_checkpoint_id(f"file:{tmp_path / 'missing'}") == UNKNOWN


def test_each_deployment_has_a_savepoint_directory_of_its_own() -> None:
    assert deployment_savepoint_dir(spec(savepoint_dir="s3://b/sp/"), None) == "s3://b/sp/orders"
    config = {"state.savepoints.dir": "file:///sp"}
    assert deployment_savepoint_dir(spec(), config) == "file:///sp/orders"
    assert deployment_savepoint_dir(spec(), {}) is None


@responses.activate
def test_a_persons_savepoint_in_the_shared_directory_counts(tmp_path: Path) -> None:
    """Found by the random histories (seed 488269): a person stopped the job with a savepoint (in
    the cluster's default directory), the JobManager restarted and forgot it; the next run
    restored the deployment's older savepoint (3) instead of the person's (4)."""
    _, savepoints = cluster(tmp_path)
    older = snapshot(savepoints / "orders" / "savepoint-aaaaaa-000000000001", 3)
    persons = snapshot(savepoints / f"savepoint-{PREFIX[:6]}-00000000000b", 4)
    snapshot(savepoints / f"savepoint-{OTHER[:6]}-00000000000c", 90)  # another deployment's
    forgotten(J1)
    stored = record(savepoints=[upgrade_savepoint(older, 3)])
    chosen = newest_snapshot(FlinkHook(), spec(), stored, PREFIX, [J1], 2000.0)
    assert chosen.path is not None
    assert chosen.path.endswith(persons.removeprefix("file:"))
    assert chosen.what.endswith("(taken outside the reconcile) (checkpoint id 4)")


@responses.activate
def test_a_shared_directorys_savepoint_another_job_could_own_is_not_counted(tmp_path: Path) -> None:
    """Flink names a savepoint by 6 hex of the job id: when another deployment's job shares them,
    the savepoint could be its, so only the deployment's own directory and the record count."""
    checkpoints, savepoints = cluster(tmp_path)
    older = snapshot(savepoints / "orders" / "savepoint-aaaaaa-000000000001", 3)
    snapshot(savepoints / f"savepoint-{PREFIX[:6]}-00000000000b", 40)
    stranger = checkpoints / (PREFIX[:6] + "f" * 26)  # a job of another deployment
    stranger.mkdir(parents=True)
    forgotten(J1)
    stored = record(savepoints=[upgrade_savepoint(older, 3)])
    assert newest_snapshot(FlinkHook(), spec(), stored, PREFIX, [J1], 2000.0).path == older
    stranger.rmdir()
    sharing = deployment_prefix("orders")[:6] + "0" * 6  # a declared neighbour with the same 6 hex
    chosen = newest_snapshot(FlinkHook(), spec(), stored, PREFIX, [J1], 2000.0, neighbours=[sharing])
    assert chosen.path == older


# ------------------------------------------------------------------------------ the rules one by one
def entries(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


def test_one_spelling_per_location() -> None:
    assert _key("file:///cp/job/chk-5/") == "/cp/job/chk-5"
    assert _key("file:/cp/job/chk-5") == "/cp/job/chk-5"
    assert _key("/cp/job/chk-5/") == "/cp/job/chk-5"
    assert _key("//cp/job/chk-5") == "/cp/job/chk-5"
    assert _key("cp/job/chk-5") == "/cp/job/chk-5"
    assert _key("s3://bucket/cp/chk-5/") == "s3://bucket/cp/chk-5"


def test_the_checkpoint_directory_flink_1_names() -> None:
    assert checkpoint_dir({"state.checkpoints.dir": "file:///old"}) == "file:///old"
    both = {"execution.checkpointing.dir": "file:///new", "state.checkpoints.dir": "file:///old"}
    assert checkpoint_dir(both) == "file:///new"
    assert checkpoint_dir({}) is None


def test_descriptions_name_the_checkpoint_id_only_when_known() -> None:
    assert Candidate("/p", 1.0, "savepoint /p", False).describe() == "savepoint /p"
    assert Candidate("/p", 1.0, "savepoint /p", False, 7).describe() == "savepoint /p (checkpoint id 7)"
    chosen = Snapshot("/p", "savepoint /p", passed_over=["a", "b"])
    assert chosen.describe() == "state from savepoint /p; passed over: a; b"


def test_the_age_guard_is_inclusive_in_minutes_and_ignores_unknown_times() -> None:
    guarded = spec(max_checkpoint_age_minutes=10)
    chk = Candidate("/c", 1000.0, "checkpoint 5", True, 5)
    assert too_old(guarded, chk, now=1000.0 + 600) is None
    assert too_old(guarded, chk, now=1000.0 + 605) == (
        "the newest state is checkpoint 5, 10.1 min old, older than max_checkpoint_age_minutes=10: "
        "not restoring from it silently; restore it by hand, or raise the limit in the spec"
    )
    assert too_old(guarded, replace(chk, taken_at=1.0), now=1.0 + 3600) is not None
    assert too_old(guarded, replace(chk, taken_at=0.0), now=3600.0) is None  # nobody said when
    assert too_old(guarded, replace(chk, checkpoint=False), now=1000.0 + 3600) is None  # a savepoint
    assert too_old(spec(), chk, now=1000.0 + 3600) is None  # no guard


def test_a_snapshot_taken_at_the_fresh_start_belongs_to_the_new_lineage() -> None:
    at_start = Candidate("/a", 1500.0, "a", True, 3)
    before = Candidate("/b", 1499.0, "b", True, 300)
    assert newest_first([before, at_start], lineage_since=1500.0) == [at_start]


def gone(path: str, taken_at: float, checkpoint_id: int = UNKNOWN) -> Candidate:
    return Candidate(path, taken_at, f"checkpoint {path}", True, checkpoint_id, on_storage=False)


def there(path: str, taken_at: float, checkpoint_id: int) -> Candidate:
    return Candidate(path, taken_at, f"savepoint {path}", False, checkpoint_id, on_storage=True)


def test_a_later_snapshot_of_unknown_id_gone_from_storage_is_a_refusal() -> None:
    best = there("/sp/1", 100.0, 27)
    chosen = choose(spec(), [best, gone("/chk/a", 150.0), gone("/chk/b", 200.0)], None, 1000.0)
    assert chosen.path is None
    # the sentence names what it will not restore: the best one still there, /sp/1
    assert chosen.refusal == (
        "the newest state of the deployment, checkpoint /chk/b, is gone from storage (deleted on cancel?): "
        "not restoring older state instead of savepoint /sp/1 (checkpoint id 27) silently; restore a "
        "snapshot by hand, or remove the deployment's record to start it without state"
    )
    # one taken at the same moment, or when the best one's time is not known, is not later
    assert choose(spec(), [best, gone("/chk/a", 100.0)], None, 1000.0).path == "/sp/1"
    assert choose(spec(), [there("/sp/1", 0.0, 27), gone("/chk/a", 150.0)], None, 1000.0).path == "/sp/1"
    assert choose(spec(), [there("/sp/1", 1.0, 27), gone("/chk/a", 2.0)], None, 1000.0).refusal is not None
    # one whose id is known is ordered by it: older, passed over
    assert choose(spec(), [best, gone("/chk/a", 150.0, 20)], None, 1000.0).path == "/sp/1"


def test_the_newest_gone_with_nothing_older_says_so() -> None:
    chosen = choose(spec(), [gone("/chk/a", 150.0, 30)], None, 1000.0)
    assert chosen.refusal == (
        "the newest state of the deployment, checkpoint /chk/a (checkpoint id 30), is gone from storage "
        "(deleted on cancel?): not restoring older state silently; restore a snapshot by hand, or remove "
        "the deployment's record to start it without state"
    )


def test_older_snapshots_gone_from_storage_are_named_three_at_most() -> None:
    older_gone = [gone(f"/chk/{n}", 50.0 + n, n) for n in (5, 4, 3, 2)]
    chosen = choose(spec(), [there("/sp/1", 100.0, 27), there("/sp/0", 10.0, 1), *older_gone], None, 1000.0)
    assert chosen.path == "/sp/1"
    assert chosen.passed_over == [
        f"checkpoint /chk/{n} (checkpoint id {n}) (gone from storage)" for n in (5, 4, 3)
    ]


def test_a_checkpoint_id_is_read_from_metadata_or_from_the_file_itself(tmp_path: Path) -> None:
    path = snapshot(tmp_path / "sp", 0)
    assert read_checkpoint_id(path) == 0
    assert read_checkpoint_id(f"{path}/_metadata") == 0  # the file named, not its directory
    assert known_checkpoint_id(path) == 0
    assert known_checkpoint_id(f"file:{tmp_path / 'missing'}") is None
    negative = tmp_path / "negative"
    negative.mkdir()
    (negative / "_metadata").write_bytes(struct.pack(">IIq", METADATA_MAGIC, 3, -5))
    assert read_checkpoint_id(f"file:{negative}") == UNKNOWN


def test_what_cannot_be_checked_here_is_left_to_flink(tmp_path: Path) -> None:
    assert exists("nosuchscheme://bucket/sp/savepoint-1")
    assert exists(snapshot(tmp_path / "sp", 3))
    assert exists(f"{snapshot(tmp_path / 'sp2', 3)}/_metadata")
    assert not exists(f"file:{tmp_path / 'missing'}")


def test_retained_checkpoints_are_complete_ones_of_the_deployments_jobs(tmp_path: Path) -> None:
    snapshot(tmp_path / OTHER / "chk-9", 9)
    snapshot(tmp_path / J1 / "chk-7", 7, mtime=1234.0)
    (tmp_path / J1 / "chk-8").mkdir()  # not complete: no _metadata
    snapshot(tmp_path / J1 / "shared", 1)  # not a checkpoint
    # another deployment's job directory listed first is passed over, not the end of the listing
    found = list(retained_checkpoints([tmp_path / OTHER, tmp_path / J1], PREFIX))
    assert [replace(c, path="") for c in found] == [
        Candidate("", 1234.0, f"retained checkpoint chk-7 of job {J1}", True, 7, on_storage=True, job_id=J1)
    ]
    assert _key(found[0].path) == str(tmp_path / J1 / "chk-7")


def test_savepoints_on_storage_are_complete_ones_named_as_flink_names_them(tmp_path: Path) -> None:
    own = tmp_path / "orders"
    snapshot(own / "savepoint-aaaaaa-1", 12, mtime=1234.0)
    (own / "savepoint-aaaaaa-2").mkdir()  # not complete
    snapshot(own / "other", 13)
    found = list(stored_savepoints(str(own)))
    assert [(c.taken_at, c.checkpoint, c.checkpoint_id, c.on_storage, c.job_id) for c in found] == [
        (1234.0, False, 12, True, None)
    ]
    assert found[0].what == f"savepoint {found[0].path}"
    assert _key(found[0].path) == str(own / "savepoint-aaaaaa-1")
    snapshot(tmp_path / f"savepoint-{PREFIX[:6]}-1", 14, mtime=1300.0)
    (tmp_path / f"savepoint-{PREFIX[:6]}-2").mkdir()
    outside = list(stored_savepoints(str(tmp_path), PREFIX[:6], outside=True))
    assert [(c.taken_at, c.checkpoint, c.checkpoint_id, c.on_storage) for c in outside] == [
        (1300.0, False, 14, True)
    ]
    assert outside[0].what == f"savepoint {outside[0].path} (taken outside the reconcile)"


def test_what_the_record_knows() -> None:
    filed = SavepointEntry(path="file:/sp/1", taken_at=500.0, reason="upgrade", job_id=J1)
    stored = record(
        savepoints=[filed], started={"job_id": J2, "spec_hash": "2" * 64, "restore_from": "file:/cp/x/chk-5"}
    )
    assert list(_from_record(stored)) == [
        Candidate("file:/sp/1", 500.0, "savepoint file:/sp/1 (upgrade)", False, UNKNOWN, job_id=J1),
        Candidate(
            "file:/cp/x/chk-5",
            0.0,
            f"file:/cp/x/chk-5, which job {J2} was started from",
            True,
            started_from=True,
        ),
    ]
    from_savepoint = record(
        started={"job_id": J2, "spec_hash": "2" * 64, "restore_from": "file:/sp/savepoint-1"}
    )
    assert [c.checkpoint for c in _from_record(from_savepoint)] == [False]
    # A submission in flight (its job not recorded yet) names what it starts from too.
    submitting = {
        "kind": "submit",
        "start": {"job_id": J3, "spec_hash": "3" * 64, "restore_from": "file:/sp/s-3"},
    }
    in_flight = record(current_job_id=J2, started=from_savepoint.started, operation=submitting)
    assert [(c.path, c.what) for c in _from_record(in_flight)] == [
        ("file:/sp/savepoint-1", f"file:/sp/savepoint-1, which job {J2} was started from"),
        ("file:/sp/s-3", f"file:/sp/s-3, which job {J3} was started from"),
    ]
    with_id = record(savepoints=[filed.model_copy(update={"checkpoint_id": 27})])
    assert [c.checkpoint_id for c in _from_record(with_id)] == [27]


class FakeHook:
    """What the snapshot rules ask of Flink, answered from dicts."""

    def __init__(
        self, histories: dict[str, dict[str, Any]] | None = None, config: dict[str, str] | None = None
    ):
        self.histories, self.config = histories or {}, config or {}

    def checkpoint_history(self, job_id: str) -> models.JobCheckpoints | None:
        history = self.histories.get(job_id)
        return None if history is None else models.JobCheckpoints.model_validate(history)

    def cluster_config(self) -> dict[str, str]:
        return self.config


def test_what_flink_knows_of_ended_jobs() -> None:
    hook = FakeHook(
        {
            J2: {
                "latest": {
                    "completed": {"id": 8, "external_path": "file:/cp/chk-8", "trigger_timestamp": 2_000_000},
                    "savepoint": {"id": 9, "external_path": "file:/sp/s-9"},
                }
            }
        }
    )
    assert list(_from_flink(hook, [J1, J2])) == [  # type: ignore[arg-type]
        Candidate("file:/cp/chk-8", 2000.0, f"checkpoint 8 of job {J2}", True, 8, job_id=J2),
        Candidate("file:/sp/s-9", 0.0, f"savepoint 9 of job {J2}", False, 9, job_id=J2),
    ]


def test_gather_merges_one_location_and_reads_unknown_ids_from_storage(tmp_path: Path) -> None:
    """The record's savepoint without an id, also found on storage under another spelling: one
    candidate, its id read from its metadata, still started-from and on storage. No checkpoint
    directory is configured: none is listed."""
    sp = snapshot(tmp_path / "orders" / "savepoint-aaaaaa-1", 27, mtime=900.0)
    stored = record(
        savepoints=[SavepointEntry(path=sp, taken_at=500.0, reason="upgrade", job_id=J1)],
        started={"job_id": J2, "spec_hash": "2" * 64, "restore_from": sp},
    )
    hook = FakeHook(config={"state.savepoints.dir": f"file://{tmp_path}"})
    found = gather(hook, spec(), stored, PREFIX, neighbours=["f" * 12])  # type: ignore[arg-type]
    assert [(c.path, c.taken_at, c.checkpoint_id, c.started_from, c.on_storage) for c in found] == [
        (sp, 500.0, 27, True, True)
    ]


def test_an_outside_savepoint_counts_beside_the_deployments_own_jobs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoints, savepoints = tmp_path / "cp", tmp_path / "sp"
    snapshot(checkpoints / J1 / "chk-3", 3)
    persons = snapshot(savepoints / f"savepoint-{PREFIX[:6]}-1", 4)
    config = {
        "state.checkpoints.dir": f"file://{checkpoints}",
        "state.savepoints.dir": f"file://{savepoints}",
    }
    found = gather(FakeHook(config=config), spec(), record(), PREFIX)  # type: ignore[arg-type]
    assert sorted(c.checkpoint_id for c in found) == [3, 4]
    assert any(_key(c.path) == _key(persons) for c in found)
    stranger = PREFIX[:6] + "f" * 6
    found = gather(FakeHook(config=config), spec(), record(), PREFIX, neighbours=[stranger])  # type: ignore[arg-type]
    assert [c.checkpoint_id for c in found] == [3]
    assert caplog.messages[-1] == (
        f"Deployment orders: savepoints named savepoint-{PREFIX[:6]}-* in the shared directory may be another's "
        f"(job {stranger} shares the 6 hex): not counted"
    )


class CheckpointHook:
    def __init__(self, latest: dict[str, Any] | None, retained: bool = True, error: Exception | None = None):
        self.latest, self.retained, self.error = latest, retained, error

    def latest_checkpoint(self, job_id: str) -> models.CheckpointInfo | None:
        if self.error is not None:
            raise self.error
        return None if self.latest is None else models.CheckpointInfo.model_validate(self.latest)

    def checkpoint_config(self, job_id: str) -> models.CheckpointConfig:
        externalization = {"enabled": True, "delete_on_cancellation": not self.retained}
        return models.CheckpointConfig.model_validate({"externalization": externalization})


def test_surviving_checkpoint_is_proven_before_a_cancel() -> None:
    guarded = spec(max_checkpoint_age_minutes=10)

    def survivor(hook: CheckpointHook, now: float = 1600.0) -> str:
        return surviving_checkpoint(hook, guarded, J1, now, "upgrade")  # type: ignore[arg-type]

    at_limit = {"id": 5, "external_path": "file:/cp/chk-5", "trigger_timestamp": 1_000_000}
    assert survivor(CheckpointHook(at_limit)) == "file:/cp/chk-5"  # 600 s old: within the guard
    assert survivor(CheckpointHook({**at_limit, "trigger_timestamp": None})) == "file:/cp/chk-5"
    with pytest.raises(ReconcileError) as old:
        survivor(CheckpointHook({**at_limit, "trigger_timestamp": 1_000}), now=1000.0)
    assert str(old.value) == (
        "upgrade: the newest state is checkpoint 5, 16.6 min old, older than max_checkpoint_age_minutes=10: "
        "not restoring from it silently; restore it by hand, or raise the limit in the spec"
    )
    with pytest.raises(ReconcileError) as none:
        survivor(CheckpointHook({"id": 5, "external_path": None}))
    assert str(none.value) == (
        f"upgrade: job {J1} is not healthy (no savepoint possible) and has no completed checkpoint: "
        "not cancelling it without its state"
    )
    with pytest.raises(ReconcileError, match="has no completed checkpoint"):
        survivor(CheckpointHook(None))
    with pytest.raises(ReconcileError) as deleted:
        survivor(CheckpointHook(at_limit, retained=False))
    assert str(deleted.value).startswith(
        f"upgrade: job {J1} is not healthy (no savepoint possible) and Flink deletes its checkpoints when it is "
        "cancelled (execution.checkpointing.externalized-checkpoint-retention is not RETAIN_ON_CANCELLATION)"
    )
    error = FlinkApiError("GET /jobs/x/checkpoints", 500, ["boom"])
    with pytest.raises(ReconcileError) as unreadable:
        survivor(CheckpointHook(at_limit, error=error))
    assert (
        str(unreadable.value) == f"upgrade: cannot read job {J1}'s checkpoints ({error}): not cancelling it"
    )


def test_a_snapshot_the_record_names_outside_the_listed_directories_is_looked_at(tmp_path: Path) -> None:
    """A savepoint filed without its id, in a directory no listing covers: storage is asked whether
    it is there and what its id is; a path the record started from gets the time storage says."""
    elsewhere = snapshot(tmp_path / "elsewhere" / "sp-1", 27)
    started = snapshot(tmp_path / "sp" / "orders" / "savepoint-aaaaaa-2", 30, mtime=900.0)
    stored = record(
        savepoints=[SavepointEntry(path=elsewhere, taken_at=500.0, reason="upgrade", job_id=J1)],
        started={"job_id": J2, "spec_hash": "2" * 64, "restore_from": started},
    )
    hook = FakeHook(config={"state.savepoints.dir": f"file://{tmp_path / 'sp'}"})
    found = gather(hook, spec(), stored, PREFIX)  # type: ignore[arg-type]
    assert sorted((c.checkpoint_id, c.taken_at, c.on_storage, c.started_from) for c in found) == [
        (27, 500.0, True, False),
        (30, 900.0, True, True),
    ]


def test_what_cannot_be_listed_or_read_is_said(caplog: pytest.LogCaptureFixture) -> None:
    class Unreachable(FakeHook):
        def cluster_config(self) -> dict[str, str]:
            raise error

    error = FlinkApiError("GET /jobmanager/config", 503, ["overloaded"])
    assert gather(Unreachable(), spec(), record(), PREFIX) == []  # type: ignore[arg-type]
    assert caplog.messages == [
        f"Cannot read the cluster's configuration ({error}): its directories are not listed"
    ]
    caplog.clear()
    config = {"state.checkpoints.dir": "nosuchscheme://bucket/cp"}
    assert gather(FakeHook(config=config), spec(), record(), PREFIX) == []  # type: ignore[arg-type]
    # The reason is the filesystem library's, worded differently by each Airflow's (3.1: "No
    # filesystem registered for scheme nosuchscheme"; 3.3: "Unsupported filesystem: 'nosuchscheme'").
    (said,) = caplog.messages
    assert said.startswith("Cannot list nosuchscheme://bucket/cp: ")
    assert said.count("nosuchscheme") == 2


def test_an_id_flink_gave_is_kept_for_a_snapshot_storage_cannot_read_here() -> None:
    """A checkpoint on a storage this worker has no filesystem for: counted as present (Flink
    decides), and its id stays the one Flink gave, not overwritten by an unreadable metadata."""
    remote = "nosuchscheme://bucket/cp/chk-8"
    hook = FakeHook({J1: {"latest": {"completed": {"id": 8, "external_path": remote}}}})
    found = gather(hook, spec(), record(), PREFIX, ended_jobs=[J1])  # type: ignore[arg-type]
    assert [(c.path, c.checkpoint_id, c.on_storage) for c in found] == [(remote, 8, True)]
