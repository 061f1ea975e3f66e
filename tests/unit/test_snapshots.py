"""Which snapshot a restore uses: the highest checkpoint id on storage since the last fresh start (I7).

Each test is one of the ways the record alone got it wrong: a job that ended before its first
checkpoint, a savepoint no run lived to file, a snapshot deleted on cancel, a stateless restart.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
import responses

from airflow_provider_flink.deployments.records import DeploymentRecord, SavepointEntry
from airflow_provider_flink.deployments.snapshots import (
    METADATA_MAGIC,
    UNKNOWN,
    deployment_savepoint_dir,
    newest_snapshot,
    read_checkpoint_id,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec
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
    stored = record(savepoints=[upgrade_savepoint(older)], intended_job_id=J2, intended_savepoint=chk)
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
