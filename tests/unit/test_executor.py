"""Executor paths that need no waiting: records kept honest when Flink says no."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import responses

from airflow_provider_flink import ids
from airflow_provider_flink.artifacts import sha256_of
from airflow_provider_flink.deployments.executor import Executor, ReconcileError, prepare_spec_artifact
from airflow_provider_flink.deployments.planner import (
    Action,
    ClearRestarts,
    Deploy,
    DeploymentPlan,
    Dispose,
    MarkStable,
    Recover,
    Rescale,
    Rollback,
    Savepoint,
    Suspend,
    Upgrade,
)
from airflow_provider_flink.deployments.records import (
    DeploymentRecord,
    SavepointEntry,
    Savepointing,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.deployments.stores import MemoryRecordStore
from airflow_provider_flink.hooks.flink import FlinkHook
from tests.unit.conftest import recorded, use_flink_connection

URL = "http://flink-exec.test:8081"
J = "a" * 32
T = "b" * 32


@pytest.fixture(autouse=True)
def conn(monkeypatch: pytest.MonkeyPatch) -> None:
    use_flink_connection(monkeypatch, "flink-exec.test")


def spec(jar: str = "/nope.jar", **fields: Any) -> DeploymentSpec:
    return DeploymentSpec.model_validate({"name": "orders", "artifact": {"jar": jar}, **fields})


def catch_up(record: DeploymentRecord) -> tuple[str, MemoryRecordStore]:
    """What catching the record up with Flink did (its log line) and the store it wrote to."""
    from airflow_provider_flink.deployments.observe import settle_pending

    store = MemoryRecordStore()
    _, detail = settle_pending(FlinkHook(), store, record)
    return detail, store


def apply(
    record: DeploymentRecord, *actions: Action, **spec_fields: Any
) -> tuple[list[Any], MemoryRecordStore]:
    store = MemoryRecordStore()
    outcomes = Executor(FlinkHook(), store).apply(DeploymentPlan(spec(**spec_fields), record, list(actions)))
    return outcomes, store


def pending_record() -> DeploymentRecord:
    return DeploymentRecord(
        name="orders",
        cluster="flink_default",
        status="running",
        current_job_id=J,
        operation=Savepointing(job_id=J, trigger_id=T, reason="periodic", started_at=100.0),
    )


@responses.activate
def test_a_pending_savepoint_that_completed_is_kept() -> None:
    responses.get(
        f"{URL}/jobs/{J}/savepoints/{T}",
        json={"status": {"id": "COMPLETED"}, "operation": {"location": "file:/sp/7"}},
    )
    record = pending_record()
    detail, store = catch_up(record)
    assert detail == f"savepoint {T} kept: file:/sp/7"
    saved = store.get("flink_default", "orders")
    assert saved is not None
    assert saved.savepointing is None
    assert [(s.path, s.reason) for s in saved.savepoints] == [("file:/sp/7", "periodic")]


@responses.activate
def test_a_pending_savepoint_flink_forgot_is_dropped() -> None:
    responses.get(f"{URL}/jobs/{J}/savepoints/{T}", status=404, json={"errors": ["no savepoint operation"]})
    responses.get(f"{URL}/jobs/{J}/checkpoints", status=404, json={"errors": ["Job not found"]})
    detail, store = catch_up(pending_record())
    assert detail == (
        f"Flink no longer knows savepoint {T}: dropped from the record (a restore still finds it on storage)"
    )
    saved = store.get("flink_default", "orders")
    assert saved is not None
    assert saved.savepointing is None
    assert saved.savepoints == []


@responses.activate
def test_a_pending_savepoint_still_running_stays_pending() -> None:
    responses.get(f"{URL}/jobs/{J}/savepoints/{T}", json={"status": {"id": "IN_PROGRESS"}})
    detail, store = catch_up(pending_record())
    assert detail == f"savepoint {T} is still in progress"
    assert store.get("flink_default", "orders") is None  # nothing changed, nothing written


@responses.activate
def test_a_savepoint_flink_cannot_dispose_stays_in_the_history(fake_flink: Any, tmp_path: Path) -> None:
    savepoint = tmp_path / "sp-1"
    savepoint.mkdir()
    (savepoint / "_metadata").write_bytes(b"x")
    path = f"file:{savepoint}"
    failed = {
        "status": {"id": "COMPLETED"},
        "operation": {
            "failure-cause": {"class": "x", "stack-trace": "java.io.IOException: permission denied"}
        },
    }
    fake_flink(lambda r: httpx.Response(200, json=failed))  # the disposal status, polled by the trigger
    responses.post("http://flink.test:8081/savepoint-disposal", json={"request-id": T})
    record = DeploymentRecord(
        name="orders",
        cluster="flink_default",
        savepoints=[SavepointEntry(path=path, taken_at=1, reason="periodic", job_id=J)],
    )
    (outcome,), store = apply(record, Dispose("orders", "retention", path=path))
    assert not outcome.ok
    assert (
        outcome.detail
        == f"Flink could not dispose {path}: java.io.IOException: permission denied; kept in the history"
    )
    assert store.get("flink_default", "orders") is None  # the history was not changed


@responses.activate
def test_a_savepoint_already_gone_is_dropped_without_asking_flink_again() -> None:
    """A run died after Flink disposed the savepoint and before it dropped it from the history:
    every later run asked Flink again, which fails a disposal of a missing path ("Could not
    dispose"), and the reconcile was red for good (the campaign's retention@dispose:requested)."""
    record = DeploymentRecord(
        name="orders",
        cluster="flink_default",
        savepoints=[SavepointEntry(path="file:/gone/sp-1", taken_at=1, reason="periodic", job_id=J)],
    )
    (outcome,), store = apply(record, Dispose("orders", "retention", path="file:/gone/sp-1"))
    assert outcome.ok
    assert outcome.detail == "already gone from storage: dropped from the history"
    saved = store.get("flink_default", "orders")
    assert saved is not None
    assert saved.savepoints == []
    assert len(responses.calls) == 0  # Flink was not asked


@responses.activate
def test_recover_without_any_state_refuses_to_start_fresh(tmp_path: Path) -> None:
    responses.get(f"{URL}/jobs/overview", json={"jobs": []})
    responses.get(f"{URL}/jobs/{J}/checkpoints", status=404, json={"errors": ["Job not found"]})
    jar = tmp_path / "j.jar"
    jar.write_bytes(b"PK")
    record = DeploymentRecord(name="orders", cluster="flink_default", status="running", current_job_id=J)
    action = Recover("orders", "gone", job_id=J, new_job_id="c" * 32, spec_hash="d" * 64)
    (outcome,), _ = apply(
        record, action, jar=str(jar), flink_config={"execution.checkpointing.dir": f"file://{tmp_path}/chk"}
    )
    assert not outcome.ok
    assert outcome.detail == (
        f"job {J} is gone and neither a retained checkpoint nor a savepoint of it is known: not starting it "
        "without its state; deploy it by hand (or remove its record to start fresh)"
    )


def test_artifact_must_exist_and_match_its_pin(tmp_path: Path) -> None:
    with pytest.raises(ReconcileError, match=r"artifact /nope\.jar does not exist on this worker"):
        prepare_spec_artifact(spec(), FlinkHook())
    from tests.unit.test_artifacts import make_jar

    jar = make_jar(tmp_path / "j.jar", classes=("x/Main.class",), manifest="Main-Class: x.Main\n")
    good = sha256_of(jar)
    assert (
        prepare_spec_artifact(spec(str(jar), artifact={"jar": str(jar), "sha256": good}), FlinkHook()).sha256
        == good
    )
    wrong = "0" * 64
    with pytest.raises(ReconcileError) as info:
        prepare_spec_artifact(
            DeploymentSpec.model_validate({"name": "o", "artifact": {"jar": str(jar), "sha256": wrong}}),
            FlinkHook(),
        )
    assert str(info.value) == f"artifact {jar}: SHA-256 is {good}, the pin expects {wrong}: not uploading it"


def test_reconcile_refuses_a_spec_over_the_cap_before_acting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Caps apply at planning time: an upgrade over the cap never stops the running job first."""
    from airflow_provider_flink.client import models
    from airflow_provider_flink.deployments import ClusterView, reconcile
    from airflow_provider_flink.deployments import reconciler as use_case
    from airflow_provider_flink.ids import new_job_id
    from tests.unit.test_artifacts import make_jar

    running = models.JobOverview.model_validate(
        {"jid": new_job_id("orders", "1" * 64), "state": "RUNNING", "tasks": {"running": 1, "total": 1}}
    )
    monkeypatch.setattr(use_case, "observe", lambda hook, cluster: ClusterView(cluster, (running,)))

    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_DEFAULT",
        json.dumps({"conn_type": "flink", "host": "127.0.0.1", "port": 9, "extra": {"max_parallelism": 2}}),
    )
    jar = make_jar(tmp_path / "j.jar", classes=("x/Main.class",))
    (tmp_path / "orders.yaml").write_text(
        f"name: orders\nartifact: {{jar: {jar}}}\nentry_class: x.Main\nparallelism: 4\n"
    )
    summary = reconcile(tmp_path, MemoryRecordStore())
    assert summary.errors == ["orders: parallelism 4 is over the cap of 2 set on connection flink_default"]
    assert summary.deployments[0].actions == []  # the running job is not touched


def test_a_run_verifies_a_shared_jar_once_and_the_executor_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two deployments naming one jar: fetched, verified and hashed once per run, not per use."""
    from airflow_provider_flink.deployments import ClusterView, reconcile
    from airflow_provider_flink.deployments import reconciler as use_case
    from airflow_provider_flink.triggers import WaitEvent
    from tests.unit.test_artifacts import make_jar

    jar = make_jar(tmp_path / "j.jar", classes=("x/Main.class",))
    for name in ("orders", "payments"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\nartifact: {{jar: {jar}}}\nentry_class: x.Main\n"
        )
    prepared: list[str] = []
    real = prepare_spec_artifact.__globals__["prepare_job"]

    def counting(hook: Any, definition: Any) -> Any:
        prepared.append(definition.artifact.jar)
        return real(hook, definition)

    submitted: list[str] = []

    def submit(self: Executor, spec: Any, *_: Any) -> tuple[WaitEvent, bool]:
        submitted.append(self._artifact(spec).sha256)  # what would be uploaded
        return WaitEvent(status="success", message="healthy"), False

    monkeypatch.setattr("airflow_provider_flink.deployments.reconciler.prepare_job", counting)
    monkeypatch.setattr("airflow_provider_flink.deployments.executor.prepare_job", counting)
    monkeypatch.setattr(use_case, "observe", lambda hook, cluster: ClusterView(cluster, ()))
    monkeypatch.setattr(Executor, "_submit", submit)
    summary = reconcile(tmp_path, MemoryRecordStore())
    assert summary.errors == []
    assert [d.kinds for d in summary.deployments] == [["deploy"], ["deploy"]]
    assert prepared == [str(jar)]  # once for both deployments and both submissions
    assert submitted == [sha256_of(jar), sha256_of(jar)]


def test_a_spec_naming_an_undefined_connection_is_reported_and_the_others_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_flink.deployments import ClusterView, reconcile
    from airflow_provider_flink.deployments import reconciler as use_case
    from tests.unit.test_artifacts import make_jar

    jar = make_jar(tmp_path / "j.jar", classes=("x/Main.class",))
    (tmp_path / "lost.yaml").write_text(f"name: lost\ncluster: flink_nowhere\nartifact: {{jar: {jar}}}\n")
    (tmp_path / "fine.yaml").write_text(f"name: fine\nartifact: {{jar: {jar}}}\nentry_class: x.Main\n")
    real_observe = use_case.observe
    monkeypatch.setattr(
        use_case,
        "observe",
        lambda hook, cluster: (
            real_observe(hook, cluster) if cluster == "flink_nowhere" else ClusterView(cluster, ())
        ),
    )
    summary = reconcile(tmp_path, MemoryRecordStore(), dry_run=True)
    assert summary.errors == [
        "cluster flink_nowhere could not be observed: no action taken (The conn_id `flink_nowhere` isn't defined)"
    ]
    assert [(d.deployment, d.kinds) for d in summary.deployments] == [("fine", ["deploy"]), ("lost", [])]
    assert summary.deployment("lost").skipped == (
        "cluster flink_nowhere could not be observed (The conn_id `flink_nowhere` isn't defined): no action taken"
    )


def test_a_rebuilt_record_is_stored_without_the_rebuilt_flag() -> None:
    """Stored with it, every later run warned again that the record had been unreadable."""
    store = MemoryRecordStore()
    rebuilt = DeploymentRecord(name="orders", cluster="flink_default", rebuilt=True)
    Executor(FlinkHook(), store).apply(DeploymentPlan(spec(), rebuilt, []))
    assert "rebuilt" not in store.raw["flink_deployment.flink_default.orders"]
    again = store.get("flink_default", "orders")
    assert again is not None
    assert again.rebuilt is False


def test_a_new_deployment_is_not_warned_of_as_a_lost_record(caplog: pytest.LogCaptureFixture) -> None:
    """A brand-new deployment warned "had no readable record: rebuilt from Flink"."""
    store = MemoryRecordStore()
    with caplog.at_level("INFO", logger="airflow_provider_flink.deployments.executor"):
        Executor(FlinkHook(), store).apply(
            DeploymentPlan(spec(), DeploymentRecord(name="orders", cluster="flink_default", rebuilt=True), [])
        )
        live = DeploymentRecord(
            name="billing", cluster="flink_default", rebuilt=True, current_job_id="a" * 32
        )
        Executor(FlinkHook(), store).apply(DeploymentPlan(spec(name="billing"), live, []))
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "Deployment orders: its first record"),
        ("WARNING", f"Deployment billing had no record: rebuilt from Flink, whose job {'a' * 32} runs"),
    ]


def test_a_refusal_a_person_must_resolve_is_an_error_of_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two live copies of a deployment: nothing is done, and the run says so as an error (the
    reconcile task goes red instead of green)."""
    from airflow_provider_flink.client import models
    from airflow_provider_flink.deployments import ClusterView, reconcile
    from airflow_provider_flink.deployments import reconciler as use_case
    from airflow_provider_flink.ids import new_job_id
    from tests.unit.test_artifacts import make_jar

    jar = make_jar(tmp_path / "j.jar", classes=("x/Main.class",))
    (tmp_path / "orders.yaml").write_text(f"name: orders\nartifact: {{jar: {jar}}}\nentry_class: x.Main\n")
    copies = tuple(
        models.JobOverview.model_validate(
            {"jid": new_job_id("orders", "1" * 64, lambda n=n: n), "state": "RUNNING"}
        )
        for n in ("00000001", "00000002")
    )
    monkeypatch.setattr(use_case, "observe", lambda hook, cluster: ClusterView(cluster, copies))
    summary = reconcile(tmp_path, MemoryRecordStore())
    (error,) = summary.errors
    assert error.startswith("orders: 2 live jobs belong to this deployment (")
    assert error.endswith("): refusing to act; cancel the extra ones")
    assert summary.deployments[0].actions == []


def test_a_rollback_records_the_failed_spec_before_acting() -> None:
    """Written first, so a crash in the middle of the rollback still keeps the spec from returning."""
    upgrade = {
        "kind": "upgrade",
        "from_hash": None,
        "start": {"job_id": J, "spec_hash": "9" * 64},
        "started_at": 1.0,
    }
    record = DeploymentRecord.model_validate(
        {"name": "orders", "cluster": "flink_default", "current_job_id": J, "operation": upgrade}
    )
    action = Rollback(
        "orders",
        "the upgraded job is not healthy after 130 s (RESTARTING)",
        job_id=J,
        new_job_id="c" * 32,
        spec_hash=None,
    )
    (outcome,), store = apply(record, action)
    assert (
        outcome.detail
        == "no earlier healthy spec is recorded, so nothing to roll back to; the deployment needs a fix"
    )
    saved = store.get("flink_default", "orders")
    assert saved is not None
    assert saved.failed_spec is not None
    assert (saved.failed_spec.spec_hash, saved.failed_spec.reason) == (
        "9" * 64,
        "the upgraded job is not healthy after 130 s (RESTARTING)",
    )


@responses.activate
def test_a_forgotten_trigger_is_kept_from_the_jobs_checkpoint_history() -> None:
    """Flink keeps a trigger's status 5 minutes; the job's history still proves the savepoint."""
    responses.get(f"{URL}/jobs/{J}/savepoints/{T}", status=404, json={"errors": ["no savepoint operation"]})
    taken = {"id": 9, "is_savepoint": True, "external_path": "file:/sp/9", "trigger_timestamp": 100_500}
    responses.get(f"{URL}/jobs/{J}/checkpoints", json={"latest": {"savepoint": taken}})
    detail, store = catch_up(pending_record())
    assert detail == f"savepoint {T} kept from job {J}'s history: file:/sp/9"
    saved = store.get("flink_default", "orders")
    assert saved is not None
    assert [(s.path, s.reason) for s in saved.savepoints] == [("file:/sp/9", "periodic")]


@responses.activate
def test_a_record_behind_flink_is_brought_up_to_date_before_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed while it waited for a stop-with-savepoint left the savepoint pending; the next
    run files it before planning, so the job resumes from it, not from an older state (I7)."""
    from airflow_provider_flink.client import models
    from airflow_provider_flink.deployments import ClusterView, reconcile
    from airflow_provider_flink.deployments import reconciler as use_case
    from airflow_provider_flink.ids import new_job_id
    from tests.unit.test_artifacts import make_jar

    jar = make_jar(tmp_path / "j.jar", classes=("x/Main.class",))
    (tmp_path / "orders.yaml").write_text(f"name: orders\nartifact: {{jar: {jar}}}\nentry_class: x.Main\n")
    old = new_job_id("orders", "1" * 64)
    older, newest = (_snapshot_on_storage(tmp_path / name, n) for name, n in (("older", 3), ("newest", 7)))
    store = MemoryRecordStore()
    store.put(
        DeploymentRecord(
            name="orders",
            cluster="flink_default",
            status="running",
            current_job_id=old,
            savepoints=[SavepointEntry(path=older, taken_at=50.0, reason="periodic", job_id=old)],
            operation=Savepointing(job_id=old, trigger_id=T, reason="upgrade", started_at=100.0),
        )
    )
    finished = models.JobOverview.model_validate({"jid": old, "state": "FINISHED", "start-time": 1})
    monkeypatch.setattr(use_case, "observe", lambda hook, cluster: ClusterView(cluster, (finished,)))
    responses.get(
        f"{URL}/jobs/{old}/savepoints/{T}",
        json={"status": {"id": "COMPLETED"}, "operation": {"location": newest}},
    )
    responses.get(f"{URL}/jobs/{old}/checkpoints", json={"latest": {}})
    dry = reconcile(tmp_path, store, dry_run=True)
    assert dry.deployment("orders").kinds == ["resume"]
    assert (
        dry.deployment("orders")
        .actions[0]
        .endswith(
            f"[{newest}]: an earlier run's upgrade stopped job {old} with a savepoint and ended before it "
            "started the new job: start it now"
        )
    )
    stale = store.get("flink_default", "orders")
    assert stale is not None
    assert stale.savepointing is not None  # a dry run writes nothing
    (action,) = plan_of(tmp_path, store, monkeypatch)
    assert (action.kind, action.path) == ("resume", newest)
    caught_up = store.get("flink_default", "orders")
    assert caught_up is not None
    assert caught_up.savepointing is None
    assert [(s.path, s.checkpoint_id) for s in caught_up.savepoints] == [(older, None), (newest, 7)]


def _snapshot_on_storage(directory: Path, checkpoint_id: int) -> str:
    import struct

    from airflow_provider_flink.deployments.snapshots import METADATA_MAGIC

    directory.mkdir(parents=True)
    (directory / "_metadata").write_bytes(struct.pack(">IIq", METADATA_MAGIC, 3, checkpoint_id))
    return f"file:{directory}"


def plan_of(folder: Path, store: MemoryRecordStore, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The plan a run would apply, with the record brought up to date as a real run does."""
    from airflow_provider_flink.deployments import reconciler as use_case

    planned: list[Any] = []
    monkeypatch.setattr(
        Executor, "apply", lambda self, plan, artifact=None: planned.extend(plan.actions) or []
    )
    use_case.reconcile(folder, store)
    return planned


@responses.activate
def test_last_state_never_cancels_a_job_whose_checkpoints_die_with_it() -> None:
    """Flink's default retention deletes a job's checkpoints when it is cancelled: a last-state
    upgrade of a job that cannot take a savepoint refuses, and the job is left running."""
    from airflow_provider_flink.ids import transition_id

    failing = {
        "jid": J,
        "name": "orders",
        "state": "RUNNING",
        "vertices": [{"id": "v", "name": "src", "status": "INITIALIZING"}],
    }
    responses.get(f"{URL}/jobs/{J}", json=failing)
    latest = {"latest": {"completed": {"id": 37, "external_path": "file:/chk/37", "trigger_timestamp": 1}}}
    responses.get(f"{URL}/jobs/{J}/checkpoints", json=latest)
    responses.get(
        f"{URL}/jobs/{J}/checkpoints/config",
        json={"externalization": {"enabled": True, "delete_on_cancellation": True}},
    )
    record = DeploymentRecord(name="orders", cluster="flink_default", status="running", current_job_id=J)
    action = Upgrade(
        "orders",
        "the declared spec changed",
        job_id=J,
        new_job_id=transition_id("orders", "2" * 64, J),
        spec_hash="2" * 64,
        mode="last-state",
    )
    (outcome,), store = apply(record, action, upgrade_mode="last-state")
    assert not outcome.ok
    assert outcome.detail == (
        f"last-state upgrade: job {J} is not healthy (no savepoint possible) and Flink deletes its checkpoints "
        "when it is cancelled (execution.checkpointing.externalized-checkpoint-retention is not "
        "RETAIN_ON_CANCELLATION): not cancelling it; let the job recover, or retain its checkpoints"
    )
    assert not [
        c for c in responses.calls if c.request.method != "GET"
    ]  # nothing cancelled, nothing written to Flink
    assert store.get("flink_default", "orders") is None  # no intent recorded either


def test_a_run_that_meets_another_actor_yields_without_acting() -> None:
    """I8: the record changed under this run (another reconcile wrote it): this run stops acting on
    the deployment, says so, and it is not an error of the run."""
    from airflow_provider_flink.deployments.report import DeploymentReport

    store = MemoryRecordStore()
    mine = DeploymentRecord(name="orders", cluster="flink_default", status="running", current_job_id=J)
    store.put(mine.model_copy(update={"revision": 4}))  # the other actor's write
    action = Savepoint("orders", "periodic savepoint", job_id=J)
    (outcome,) = Executor(FlinkHook(), store).apply(DeploymentPlan(spec(), mine, [action]))
    assert outcome.yielded
    assert outcome.detail == (
        "another reconcile changed the record of orders while this run acted on it (revision 4 in the memory store, this run "
        "had 0): this run stops acting on it and leaves it to the other"
    )
    assert DeploymentReport(deployment="orders", cluster="flink_default", done=[outcome]).errors == []
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert (stored.revision, stored.savepointing) == (4, None)


def test_a_short_run_submits_records_and_returns_without_waiting_for_health(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Short runs: the job is recorded (intent, then the submission) and the run moves on; the next
    run marks it stable. A wait for health would fail this test."""
    from tests.unit.test_artifacts import make_jar

    jar = make_jar(tmp_path / "j.jar", classes=("x/Main.class",))
    sent: list[str] = []
    monkeypatch.setattr(FlinkHook, "upload_jar", lambda self, *a: "jar-1")
    monkeypatch.setattr(
        FlinkHook, "submit_job", lambda self, jar_id, request, *_, **__: sent.append(jar_id) or False
    )

    def no_wait(*_: Any) -> Any:
        raise AssertionError("a short run waited for health")

    monkeypatch.setattr(Executor, "_wait_healthy", no_wait)
    store = MemoryRecordStore()
    record = DeploymentRecord(name="orders", cluster="flink_default")
    action = Deploy("orders", "first deployment", new_job_id="c" * 32, spec_hash="d" * 64)
    executor = Executor(FlinkHook(), store, clock=lambda: 500.0, wait_for_health=False, run="dag/run/t/1")
    (outcome,) = executor.apply(DeploymentPlan(spec(jar=str(jar), entry_class="x.Main"), record, [action]))
    assert (outcome.ok, outcome.detail) == (True, f"job {'c' * 32} submitted; the next run judges its health")
    assert sent == ["jar-1"]
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert (stored.current_job_id, stored.applied_hash, stored.last_stable_hash) == ("c" * 32, "d" * 64, None)
    assert [(h.at, h.kind, h.ok, h.detail, h.job_id, h.run) for h in stored.history] == [
        (500.0, "deploy", True, outcome.detail, "c" * 32, "dag/run/t/1")
    ]


def test_a_failed_action_is_added_to_the_stored_history_without_the_runs_unsaved_changes(
    tmp_path: Path,
) -> None:
    """A recovery refused (no state to restore from): the stored record gets the failure in its
    history, written over what is stored (the run's copy may hold changes the failure left unsaved)."""
    store = MemoryRecordStore()
    record = DeploymentRecord(name="orders", cluster="flink_default", status="running", current_job_id=J)
    store.put(record)
    jar = tmp_path / "j.jar"
    jar.write_bytes(b"PK")
    spec_ = spec(jar=str(jar), flink_config={"execution.checkpointing.dir": f"file://{tmp_path}/chk"})
    action = Recover("orders", "gone", job_id=J, new_job_id="c" * 32, spec_hash="d" * 64)
    with responses.RequestsMock() as mocked:
        mocked.get(f"{URL}/jobs/overview", json={"jobs": []})
        mocked.get(f"{URL}/jobs/{J}/checkpoints", status=404, json={"errors": ["Job not found"]})
        (outcome,) = Executor(FlinkHook(), store, clock=lambda: 9.0).apply(
            DeploymentPlan(spec_, record, [action])
        )
    assert not outcome.ok
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert [(h.kind, h.ok, h.detail) for h in stored.history] == [("recover", False, outcome.detail)]
    assert stored.revision == 1


def test_marking_the_applied_spec_stable_keeps_the_spec_the_job_runs_not_the_declared_one() -> None:
    running = spec(parallelism=1)
    record = DeploymentRecord(
        name="orders",
        cluster="flink_default",
        status="running",
        current_job_id=J,
        applied_hash="1" * 64,
        applied_spec={"spec_hash": "1" * 64, "spec": running.model_dump(mode="json")},
    )
    action = MarkStable("orders", "healthy", job_id=J, spec_hash="1" * 64, mode="applied")
    (outcome,), store = apply(record, action, parallelism=2)  # the file already says 2
    assert (outcome.ok, outcome.detail) == (True, "the running job's spec recorded as the last stable one")
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert (stored.last_stable_hash, stored.last_stable_spec) == ("1" * 64, running.model_dump(mode="json"))


def _rescale_setup(monkeypatch: pytest.MonkeyPatch, possible: bool, healthy: bool) -> tuple[list[int], Any]:
    from airflow_provider_flink.hooks.rescale import RescaleSupport
    from airflow_provider_flink.triggers import WaitEvent

    asked: list[int] = []
    monkeypatch.setattr(
        FlinkHook,
        "supports_rescale",
        lambda self, job_id, p=None: RescaleSupport(
            job_id, possible, "" if possible else "the cluster does not run the adaptive scheduler", p, 1
        ),
    )
    monkeypatch.setattr(FlinkHook, "rescale_job", lambda self, job_id, p: asked.append(p))
    event = WaitEvent(
        status="success" if healthy else "timeout", message="at parallelism 2" if healthy else "not at 2"
    )
    monkeypatch.setattr("airflow_provider_flink.deployments.executor.run_inline", lambda trigger: event)
    monkeypatch.setattr(Executor, "_prune_uploads", lambda self: None)
    return asked, event


def _rescale_action() -> Action:
    return Rescale(
        "orders",
        "only the parallelism changed",
        job_id=J,
        new_job_id="c" * 32,
        spec_hash="2" * 64,
        mode="savepoint",
    )


def test_a_rescale_in_place_records_the_spec_the_same_job_now_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    asked, _ = _rescale_setup(monkeypatch, possible=True, healthy=True)
    record = DeploymentRecord(
        name="orders", cluster="flink_default", status="running", current_job_id=J, applied_hash="1" * 64
    )
    (outcome,), store = apply(record, _rescale_action(), parallelism=2)
    assert (outcome.ok, outcome.detail) == (
        True,
        "rescaled in place from parallelism 1 to 2: at parallelism 2",
    )
    assert asked == [2]
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert (stored.current_job_id, stored.applied_hash, stored.last_stable_hash, stored.rescaling) == (
        J,
        "2" * 64,
        "2" * 64,
        None,
    )
    assert stored.rescaled is not None
    assert (stored.rescaled.job_id, stored.rescaled.spec_hash) == (J, "2" * 64)


def test_a_rescale_the_cluster_cannot_do_in_place_is_a_savepoint_upgrade_saying_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked, _ = _rescale_setup(monkeypatch, possible=False, healthy=True)
    monkeypatch.setattr(
        Executor, "_upgrade", lambda self, spec, action: "upgraded (savepoint) from file:/sp/1"
    )
    record = DeploymentRecord(name="orders", cluster="flink_default", status="running", current_job_id=J)
    (outcome,), _ = apply(record, _rescale_action(), parallelism=2)
    assert outcome.detail == (
        "not in place (the cluster does not run the adaptive scheduler): upgraded (savepoint) from file:/sp/1"
    )
    assert asked == []  # nothing asked of Flink in place


def test_a_rescale_not_running_in_time_asks_for_the_old_parallelism_and_records_the_spec_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked, _ = _rescale_setup(monkeypatch, possible=True, healthy=False)
    record = DeploymentRecord(name="orders", cluster="flink_default", status="running", current_job_id=J)
    (outcome,), store = apply(record, _rescale_action(), parallelism=2)
    assert not outcome.ok
    assert outcome.detail == "rescale to parallelism 2 failed (not at 2); asked Flink for parallelism 1 again"
    assert asked == [2, 1]
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert stored.failed_spec is not None
    assert (stored.failed_spec.spec_hash, stored.rescaling, stored.rescaled) == ("2" * 64, None, None)


def test_on_flink_1x_the_rescale_takes_a_checkpoint_first_under_an_id_every_actor_derives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """1.x rescales at once from the latest checkpoint and re-processes everything since: a fresh
    one first (benchmarks/rescale.py: 2.03 s stall without, 0.35 s with)."""
    from airflow_provider_flink.hooks.rescale import RescaleSupport

    _rescale_setup(monkeypatch, possible=True, healthy=True)
    order: list[str] = []
    monkeypatch.setattr(
        FlinkHook,
        "supports_rescale",
        lambda self, job_id, p=None: RescaleSupport(job_id, True, "", p, 1, checkpoint_first=True),
    )
    monkeypatch.setattr(FlinkHook, "trigger_checkpoint", lambda self, job_id, trigger: order.append(trigger))
    monkeypatch.setattr(FlinkHook, "rescale_job", lambda self, job_id, p: order.append(f"rescale {p}"))
    record = DeploymentRecord(name="orders", cluster="flink_default", status="running", current_job_id=J)
    (outcome,), _ = apply(record, _rescale_action(), parallelism=2)
    assert outcome.ok
    assert order == [ids.derived_id("checkpoint", J, "2" * 64), "rescale 2"]


@responses.activate
def test_a_resume_planned_on_a_stale_view_yields_to_the_job_another_run_started() -> None:
    """Found by the random histories (seed 901775): a person cancelled the job; two runs 0.35 s
    apart; the second observed the cluster before the first's new job ran but read the record
    after it was recorded, planned a recovery of it, and started a second live job."""
    from airflow_provider_flink.ids import deployment_prefix

    started = deployment_prefix("orders") + "e" * 20
    responses.get(f"{URL}/jobs/overview", json={"jobs": [{"jid": started, "name": "o", "state": "RUNNING"}]})
    record = DeploymentRecord(
        name="orders", cluster="flink_default", status="running", current_job_id=started
    )
    action = Recover("orders", "gone", job_id=started, new_job_id="c" * 32, spec_hash="d" * 64)
    (outcome,), _ = apply(record, action)
    assert outcome.yielded
    assert outcome.detail == (
        f"job {started} of the deployment runs now (started after this run looked): this run leaves it to "
        "the next look"
    )
    assert [c.request.method for c in responses.calls] == ["GET"]  # nothing submitted


def test_every_action_kind_has_one_class_and_one_handler() -> None:
    from typing import get_args

    from airflow_provider_flink.deployments.executor import HANDLERS
    from airflow_provider_flink.deployments.planner import ACTION_TYPES, ActionKind

    assert set(HANDLERS) == set(ACTION_TYPES)
    assert sorted(t.kind for t in HANDLERS) == sorted(get_args(ActionKind))
    # A kind is its class: a typo is a NameError where it is made, and fields are checked there too.
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'path'"):
        Dispose("orders", "retention")  # type: ignore[call-arg]


def test_a_record_written_before_the_specs_were_stored_once_reads_as_the_new_shape() -> None:
    """Records in users' Variables from earlier versions: applied and stable hash and spec in two
    fields each. They read as one ``applied`` and one ``stable``; a stale applied spec (a job
    adopted since, its hash no longer the applied hash) keeps only the hash."""
    running = spec(parallelism=2).model_dump(mode="json")
    old = {
        "name": "orders",
        "cluster": "flink_default",
        "applied_hash": "1" * 64,
        "applied_spec": {"spec_hash": "1" * 64, "spec": running},
        "last_stable_hash": "0" * 64,
        "last_stable_spec": running,
    }
    record = DeploymentRecord.model_validate_json(json.dumps(old))
    assert record.applied is not None
    assert (record.applied.spec_hash, record.applied_spec) == ("1" * 64, record.applied)
    assert (record.last_stable_hash, record.last_stable_spec) == ("0" * 64, running)
    adopted = DeploymentRecord.model_validate({**old, "applied_hash": "2" * 64})
    assert (adopted.applied_hash, adopted.applied_spec) == ("2" * 64, None)
    stored = json.loads(record.model_dump_json())
    assert {"applied", "stable"} <= stored.keys()
    assert not {"applied_hash", "applied_spec", "last_stable_hash", "last_stable_spec"} & stored.keys()


@responses.activate
def test_a_stop_of_a_job_a_person_already_stopped_yields_to_the_next_run(fake_flink: Any) -> None:
    """Between the run's look and its stop a person stopped the job with a savepoint: Flink's stop
    fails; the task went red though the next run resumes from that person's savepoint."""
    refused = {
        "status": {"id": "COMPLETED"},
        "operation": {"failure-cause": {"class": "x", "stack-trace": f"x: Job {J} is not in state RUNNING"}},
    }
    fake_flink(lambda r: httpx.Response(200, json=refused))
    # the trigger id is not known to Flink yet (asked before the stop), then the stop is accepted
    flink = "http://flink.test:8081"  # the fake Flink's connection
    responses.get(
        re.compile(rf"{flink}/jobs/{J}/savepoints/.*"), status=404, json={"errors": ["no operation"]}
    )
    responses.post(f"{flink}/jobs/{J}/stop", json={"request-id": "t"})
    responses.get(f"{flink}/jobs/{J}", json={"jid": J, "state": "FINISHED", "vertices": []})
    record = DeploymentRecord(name="orders", cluster="flink_default", current_job_id=J, status="running")
    (outcome,), store = apply(
        record, Suspend("orders", "declared suspended", job_id=J), savepoint_dir="file:/sp"
    )
    assert (outcome.ok, outcome.yielded) == (False, True)
    assert outcome.detail.startswith(f"job {J} ended FINISHED outside this run before its stop (")
    assert outcome.detail.endswith("the next run starts from its newest snapshot")
    saved = store.get("flink_default", "orders")
    assert saved is not None
    assert saved.operation is None  # the stop's trigger is over, not in flight


class _StoreThatFailsAt(MemoryRecordStore):
    """Writes go through until the ``at``-th, which raises what the store gives: a failure, or a
    lost race (another actor's revision written just before)."""

    def __init__(self, at: int, error: Exception) -> None:
        super().__init__()
        self.at, self.error, self.writes = at, error, 0

    def write(self, record: DeploymentRecord, lease: Any = None) -> DeploymentRecord:
        self.writes += 1
        if self.writes == self.at:
            raise self.error
        return super().write(record, lease)


@pytest.mark.parametrize("lost", [False, True])
def test_an_action_done_whose_history_write_fails_is_red_and_one_that_lost_the_race_is_not(
    lost: bool,
) -> None:
    """The action's own write went through (the stable spec); the history entry after it did not."""
    from airflow_provider_flink.exceptions import RecordConflictError, RecordStoreError

    error = (
        RecordConflictError("this run's lease on orders was taken over by other")
        if lost
        else RecordStoreError("the SQL store s (postgresql) could not write the record of orders: gone")
    )
    store = _StoreThatFailsAt(2, error)
    running = spec()
    record = DeploymentRecord(
        name="orders", cluster="flink_default", status="running", current_job_id=J,
        applied={"spec_hash": "1" * 64, "spec": running.model_dump(mode="json")},
    )  # fmt: skip
    action = MarkStable("orders", "healthy", job_id=J, spec_hash="1" * 64, mode="applied")
    (outcome,) = Executor(FlinkHook(), store).apply(DeploymentPlan(running, record, [action]))
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert stored.last_stable_hash == "1" * 64  # what it did stands
    assert stored.history == []
    if lost:
        assert (outcome.ok, outcome.yielded) == (True, False)
    else:
        assert (outcome.ok, outcome.yielded) == (False, False)
        assert outcome.detail == (
            "done on Flink (the running job's spec recorded as the last stable one), then the SQL store s "
            "(postgresql) could not write the record of orders: gone; it would have recorded revision 2, "
            f"job {J}, spec 111111111111"
        )


def test_clearing_the_restart_limit_forgets_the_counted_restarts_and_says_how_many() -> None:
    record = DeploymentRecord(
        name="orders", cluster="flink_default", status="running", current_job_id=J, restarts=[1.0, 2.0, 3.0]
    )
    (outcome,), store = apply(record, ClearRestarts("orders", "asked"))
    assert (outcome.ok, outcome.detail) == (True, "restart limit cleared: 3 restarts forgotten")
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert stored.restarts == []
    assert [(e.kind, e.ok, e.detail) for e in stored.history] == [
        ("clear-restarts", True, "restart limit cleared: 3 restarts forgotten")
    ]


def test_an_approved_action_done_marks_its_approval_used() -> None:
    from airflow_provider_flink.deployments.planner import Hold as HoldAction
    from airflow_provider_flink.deployments.records import Approval

    asked = Approval(
        key="k1", kind="hold", action="hold orders: asked", risks=["r"], asked_at=1.0, decision="approved"
    )
    record = DeploymentRecord(
        name="orders", cluster="flink_default", status="running", current_job_id=J, approvals=[asked]
    )
    action = HoldAction("orders", "asked")
    store = MemoryRecordStore()
    plan = DeploymentPlan(spec(), record, [action], approved={action.describe(): "k1"})
    (outcome,) = Executor(FlinkHook(), store).apply(plan)
    assert outcome.ok
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert [a.decision for a in stored.approvals] == ["used"]


def test_finishing_an_earlier_rescale_keeps_its_own_target_when_the_file_changed_since(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An earlier run asked for parallelism 2 (spec "2"...) and died; the file now says 3. The
    rescale is finished at 2 and the record says the job runs the applied spec at 2, not the
    file's fields (the file's change is the next run's upgrade)."""
    from airflow_provider_flink.deployments.records import Rescaling

    asked, _ = _rescale_setup(monkeypatch, possible=True, healthy=True)
    applied = spec(parallelism=1).model_dump(mode="json")
    flight = Rescaling(job_id=J, from_parallelism=1, to_parallelism=2, to_hash="2" * 64, started_at=1e12)
    record = DeploymentRecord(
        name="orders", cluster="flink_default", status="running", current_job_id=J,
        applied={"spec_hash": "1" * 64, "spec": applied}, operation=flight,
    )  # fmt: skip
    (outcome,), store = apply(record, _rescale_action(), parallelism=3, args=["--new"])
    assert (outcome.ok, asked) == (True, [2])
    stored = store.get("flink_default", "orders")
    assert stored is not None
    assert stored.applied is not None
    assert stored.applied.spec == {**applied, "parallelism": 2}


@pytest.mark.parametrize("stable", [True, False])
@responses.activate
def test_a_refused_submission_ends_its_intent_and_a_never_stable_spec_is_rolled_back(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, stable: bool
) -> None:
    """Histories seed 32: Flink refused the submission (it answered; no job exists). The intent is
    over and the spec failed, so no later run submits it again; a spec that never ran healthy is
    rolled back to the last stable one in the same run (as a failed upgrade is)."""
    from airflow_provider_flink.artifacts import PreparedArtifact
    from airflow_provider_flink.client import FlinkApiError
    from airflow_provider_flink.deployments import executor as module
    from airflow_provider_flink.deployments.planner import Resubmit
    from airflow_provider_flink.deployments.records import Start, Submitting

    h1, h2 = "1" * 64, "2" * 64
    refused_id = ids.new_job_id("orders", h2)
    jar = tmp_path / "j.jar"
    jar.write_bytes(b"jar")
    monkeypatch.setattr(module, "prepare_job", lambda hook, definition: PreparedArtifact(jar, "f" * 64, "x"))

    def refuse(*_: Any) -> Any:
        raise FlinkApiError("POST /jars/x/run", 400, ["org.apache...: Python process exits with code: 1"])

    monkeypatch.setattr(module, "submit_prepared", refuse)
    responses.get(f"{URL}/jobs/{refused_id}", status=404, json={"errors": ["Job not found"]})
    rolled: list[tuple[str, str | None]] = []
    monkeypatch.setattr(
        Executor,
        "_rollback_to_stable",
        lambda self, spec, bad, failed, why, job_id=None: rolled.append((bad, failed)) or "rolled back",
    )
    stored = DeploymentRecord(
        name="orders",
        cluster="flink_default",
        status="running",
        operation=Submitting(start=Start(job_id=refused_id, spec_hash=h2)),
        last_stable_hash=h1 if stable else None,
        last_stable_spec=spec().model_dump() if stable else None,
    )
    outcomes, store = apply(stored, Resubmit("orders", "finish it", new_job_id=refused_id, spec_hash=h2))
    (outcome,) = outcomes
    assert not outcome.ok
    assert outcome.detail.startswith(
        "Flink answered HTTP 400 to POST /jars/x/run: org.apache...: Python process exits with code: 1."
    )
    written = store.get("flink_default", "orders")
    assert written is not None
    assert written.operation is None  # the intent is over: no run finishes it again
    assert written.failed_spec is not None
    assert written.failed_spec.spec_hash == h2
    assert rolled == ([(refused_id, h2)] if stable else [])
    assert outcome.detail.endswith("; rolled back") is stable


@pytest.mark.parametrize("job_state", ["CANCELED", "RUNNING"])
@responses.activate
def test_a_failed_application_whose_job_flink_cancelled_is_a_refusal_and_one_whose_job_runs_is_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, job_state: str
) -> None:
    """run-application (Flink 2.3): a main that raised after starting its job fails the application,
    and Flink cancels the job with it. That job's id being known is no reason to look again (the
    next run would submit the same failing program forever); a job of the id that runs is."""
    from airflow_provider_flink.artifacts import PreparedArtifact
    from airflow_provider_flink.client.errors import FlinkApplicationFailedError
    from airflow_provider_flink.deployments import executor as module
    from airflow_provider_flink.deployments.planner import Resubmit
    from airflow_provider_flink.deployments.records import Start, Submitting

    h2 = "2" * 64
    job_id = ids.new_job_id("orders", h2)
    jar = tmp_path / "j.jar"
    jar.write_bytes(b"jar")
    monkeypatch.setattr(module, "prepare_job", lambda hook, definition: PreparedArtifact(jar, "f" * 64, "x"))

    def fail(*_: Any) -> Any:
        raise FlinkApplicationFailedError(
            "POST /jars/x/run-application",
            job_id,
            "FAILED",
            ["java.lang.IllegalStateException: late"],
            started_no_job=False,
            job_shown=True,
        )

    monkeypatch.setattr(module, "submit_prepared", fail)
    responses.get(
        f"{URL}/jobs/{job_id}",
        json=recorded("flink-2.3.0-running-job.json") | {"jid": job_id, "state": job_state},
    )
    stored = DeploymentRecord(
        name="orders",
        cluster="flink_default",
        status="running",
        operation=Submitting(start=Start(job_id=job_id, spec_hash=h2)),
    )
    (outcome,), store = apply(stored, Resubmit("orders", "finish it", new_job_id=job_id, spec_hash=h2))
    assert not outcome.ok
    assert outcome.detail.startswith(
        f"Flink's application {job_id} of POST /jars/x/run-application ended FAILED"
    )
    written = store.get("flink_default", "orders")
    assert written is not None
    if job_state == "CANCELED":  # refused: the intent is over, the spec failed
        assert written.operation is None
        assert written.failed_spec is not None
    else:  # its job runs: the next run looks again
        assert written.operation == stored.operation
        assert written.failed_spec is None


@responses.activate
def test_an_upgrade_whose_application_has_not_started_its_job_stays_in_flight(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """run-application (Flink 2.3): the new application's main has not started the job within the
    wait. Unknown, not failed (I3): a rollback now would start the old spec while the new job may
    still start (two jobs). The upgrade stays in flight; nothing is rolled back or marked failed."""
    from airflow_provider_flink.artifacts import PreparedArtifact
    from airflow_provider_flink.deployments import executor as module
    from airflow_provider_flink.hooks.applications import FlinkApplicationPendingError
    from airflow_provider_flink.ids import transition_id

    new = transition_id("orders", "2" * 64, J)
    jar = tmp_path / "j.jar"
    jar.write_bytes(b"jar")
    monkeypatch.setattr(module, "prepare_job", lambda hook, definition: PreparedArtifact(jar, "f" * 64, "x"))
    monkeypatch.setattr(Executor, "_take_savepoint", lambda self, *a, **k: "file:/sp/1")
    responses.get(f"{URL}/jobs/{J}", json=recorded("flink-2.3.0-running-job.json") | {"jid": J})

    def pending(*_: Any) -> Any:
        raise FlinkApplicationPendingError("POST /jars/x/run-application", new, new, 300.0, seen=True)

    monkeypatch.setattr(module, "submit_prepared", pending)
    rolled: list[str] = []
    monkeypatch.setattr(
        Executor, "_rollback_to_stable", lambda self, *a, **k: rolled.append("x") or "rolled back"
    )
    record = DeploymentRecord(name="orders", cluster="flink_default", status="running", current_job_id=J)
    action = Upgrade(
        "orders", "the declared spec changed", job_id=J, new_job_id=new, spec_hash="2" * 64, mode="savepoint"
    )
    (outcome,), store = apply(record, action)
    assert not outcome.ok
    assert outcome.detail == (
        f"the new job {new} may or may not run (Flink's application {new} runs, but its main has not started job "
        f"{new} within 300 s: left as it is (not a failure); a retry adopts it by its id. Look at the JobManager's "
        "log for what the program is doing); the upgrade stays in flight: the next run adopts the job or submits "
        "it again with the same id"
    )
    assert rolled == []
    written = store.get("flink_default", "orders")
    assert written is not None
    assert written.failed_spec is None
    assert written.upgrading is not None


def test_a_run_started_by_events_also_takes_in_a_deployment_whose_job_failed_though_no_event_named_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow (3.3 here) can leave an event without a run of its own (apache/airflow#56050): the
    soak's soak-a FAILED 3 s after another deployment's event and was restarted 3.5 minutes later,
    the run queued meanwhile having passed it over. A run started by events takes in the cluster's
    other deployments whose job left RUNNING, from the same look; a healthy one stays out."""
    from airflow_provider_flink.client import models
    from airflow_provider_flink.deployments import ClusterView, reconcile
    from airflow_provider_flink.deployments import reconciler as use_case
    from airflow_provider_flink.ids import new_job_id
    from tests.unit.test_artifacts import make_jar

    jar = make_jar(tmp_path / "j.jar", classes=("x/Main.class",))
    for name in ("orders", "billing", "clicks"):
        (tmp_path / f"{name}.yaml").write_text(
            f"name: {name}\nartifact: {{jar: {jar}}}\nentry_class: x.Main\n"
        )
    jobs = tuple(
        models.JobOverview.model_validate(
            {"jid": new_job_id(name, "1" * 64, lambda: "00000001"), "state": state, "start-time": n}
        )
        for n, (name, state) in enumerate(
            (("orders", "RUNNING"), ("billing", "FAILED"), ("clicks", "RUNNING"))
        )
    )
    monkeypatch.setattr(use_case, "observe", lambda hook, cluster: ClusterView(cluster, jobs))
    scoped = reconcile(tmp_path, MemoryRecordStore(), names=["orders"], dry_run=True)
    assert [entry.deployment for entry in scoped.deployments] == ["orders", "billing"]
    billing = scoped.deployments[1]
    assert billing.actions, billing
    every = reconcile(tmp_path, MemoryRecordStore(), dry_run=True)  # not started by events: as before
    assert sorted(entry.deployment for entry in every.deployments) == ["billing", "clicks", "orders"]
