"""Declared deployments reconciled against the real local Flink: every transition, with state."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from airflow_provider_flink.client import FlinkClient, calls
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.deployments import ReconcileReport, reconcile
from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.stores import MemoryRecordStore
from airflow_provider_flink.ids import deployment_prefix
from airflow_provider_flink.triggers.conditions import is_healthy
from harness.job_jars import COUNTER_JOB, FAILING_JOB
from tests.integration.conftest import Cluster, connection_json, wait_for

pytestmark = pytest.mark.integration


class Deployments:
    """A folder of spec files and a record store, reconciled against one cluster."""

    def __init__(self, folder: Path, flink: Cluster) -> None:
        self.folder = folder
        self.flink = flink
        self.store = MemoryRecordStore()

    def declare(self, name: str, **fields: Any) -> None:
        spec = {
            "name": name,
            "artifact": {"jar": str(self.flink.jar)},
            "entry_class": COUNTER_JOB,
            "args": ["--rate", "50"],
            "health_timeout_seconds": 60,
            **fields,
        }
        (self.folder / f"{name}.yaml").write_text(yaml.safe_dump(spec))

    def run(self, **kwargs: Any) -> ReconcileReport:
        return reconcile(self.folder, self.store, **kwargs)

    def record(self, name: str) -> DeploymentRecord:
        record = self.store.get("flink_default", name)
        assert record is not None
        return record

    def live_jobs(self, name: str) -> list[str]:
        prefix = deployment_prefix(name)
        return [
            j.jid
            for j in self.flink.client.call(calls.jobs_overview()).jobs
            if j.jid.startswith(prefix) and not j.state.is_globally_terminal
        ]

    def the_job(self, name: str) -> str:
        (job,) = self.live_jobs(name)
        return job

    def counted(self, job_id: str, at_least: float) -> float:
        return wait_for(
            f"counter of {job_id} >= {at_least}", lambda: (c := self.flink.counter(job_id)) >= at_least and c
        )

    def restored_from(self, job_id: str) -> Any:
        return wait_for(
            f"restore info of {job_id}",
            lambda: self.flink.client.call(calls.job_checkpoints(job_id)).latest.restored,
        )


@pytest.fixture
def deployments(airflow: Cluster, tmp_path: Path) -> Deployments:
    folder = tmp_path / "deployments"
    folder.mkdir()
    return Deployments(folder, airflow)


def _actions(summary: ReconcileReport, name: str) -> list[str]:
    return summary.deployment(name).kinds


def test_first_deploy_then_nothing_to_do_with_one_rest_call(deployments: Deployments, mocker: Any) -> None:
    deployments.declare("orders")
    first = deployments.run()
    assert first.errors == []
    assert _actions(first, "orders") == ["deploy"]
    job = deployments.the_job("orders")
    assert is_healthy(deployments.flink.job(job))
    sent = mocker.spy(FlinkClient, "_send")
    second = deployments.run()
    assert _actions(second, "orders") == []
    assert [c.args[1].description for c in sent.call_args_list] == ["GET /jobs/overview"]
    assert deployments.live_jobs("orders") == [job]
    record = deployments.record("orders")
    assert record.current_job_id == job
    assert record.last_stable_hash == record.applied_hash
    # The Flink UI leads back to the deployment: its name and spec hash in the job's configuration.
    answer = requests.get(f"{deployments.flink.flink.rest_url}/jobs/{job}/config", timeout=10)
    config = answer.json()["execution-config"]["user-config"]
    assert config["airflow.deployment"] == "orders"
    assert config["airflow.spec-hash"] == (record.applied_hash or "")[:12]


def test_upgrade_keeps_state(deployments: Deployments) -> None:
    deployments.declare("upgrade-me", parallelism=1)
    deployments.run()
    old = deployments.the_job("upgrade-me")
    before = deployments.counted(old, 60)
    deployments.declare("upgrade-me", parallelism=2)
    summary = deployments.run()
    assert summary.errors == []
    assert _actions(summary, "upgrade-me") == ["upgrade"]
    new = deployments.the_job("upgrade-me")
    assert new != old
    assert deployments.flink.job(old).state is JobState.FINISHED  # stopped with a savepoint
    assert {v.parallelism for v in deployments.flink.job(new).vertices} == {2}
    record = deployments.record("upgrade-me")
    upgrade_savepoint = record.savepoints[-1]
    assert upgrade_savepoint.reason == "upgrade"
    restored = deployments.restored_from(new)
    assert restored.is_savepoint
    assert restored.external_path == upgrade_savepoint.path
    assert deployments.counted(new, 1) >= before  # the counter went on
    # Upscaled past the source's splits, the new job runs with a source subtask FINISHED: healthy
    # all the same, by the one judgement every wait and the planner share (a periodic savepoint
    # that is due gets planned; judged unhealthy, this job was once rolled back).
    wait_for(
        f"a FINISHED source subtask in {new}",
        lambda: (
            next(
                j for j in deployments.flink.client.call(calls.jobs_overview()).jobs if j.jid == new
            ).tasks.get("finished", 0)
            >= 1
        ),
        timeout=30,
    )
    deployments.declare("upgrade-me", parallelism=2, savepoint_policy={"interval_minutes": 0.001})
    assert _actions(deployments.run(), "upgrade-me") == ["savepoint"]


def test_failed_savepoint_leaves_the_old_job_untouched(deployments: Deployments) -> None:
    deployments.declare("no-savepoint-dir")
    deployments.run()
    old = deployments.the_job("no-savepoint-dir")
    applied = deployments.record("no-savepoint-dir").applied_hash
    deployments.declare(
        "no-savepoint-dir", args=["--rate", "40"], savepoint_dir="file:///proc/flink-cannot-write-here"
    )
    summary = deployments.run()
    assert len(summary.errors) == 1
    assert "Failed to create savepoint directory at file:/proc/flink-cannot-write-here" in summary.errors[0]
    assert f"job {old} was left as it is" in summary.errors[0]
    assert deployments.live_jobs("no-savepoint-dir") == [old]
    assert deployments.flink.job(old).state is JobState.RUNNING
    record = deployments.record("no-savepoint-dir")
    assert record.applied_hash == applied
    assert record.operation is None


def test_upgrade_whose_job_cannot_start_is_rolled_back(deployments: Deployments) -> None:
    deployments.declare("rollback-me")
    deployments.run()
    old = deployments.the_job("rollback-me")
    before = deployments.counted(old, 40)
    stable = deployments.record("rollback-me").last_stable_hash
    deployments.declare(
        # fails as its operator opens: never RUNNING, so no health check can take it for healthy
        "rollback-me",
        entry_class=FAILING_JOB,
        args=["--fail-in-open"],
        allow_non_restored_state=True,
    )
    summary = deployments.run()
    assert len(summary.errors) == 1
    assert "upgrade failed" in summary.errors[0]
    assert "rolled back to the last stable spec from file:" in summary.errors[0]
    now = deployments.the_job("rollback-me")
    assert now[12:24] == str(stable)[:12]  # runs the stable spec again
    restored = deployments.restored_from(now)
    assert restored.external_path == deployments.record("rollback-me").savepoints[-1].path
    assert deployments.counted(now, 1) >= before
    # The failed spec is remembered and not applied again on the next run (once: a savepoint, a
    # failing job and a rollback on every run), until the spec changes or a retry is asked.
    failed = deployments.record("rollback-me").failed_spec
    assert failed is not None
    assert "upgrade failed" not in failed.reason  # the cause itself, not the run's summary
    again = deployments.run()
    assert again.errors == []
    assert _actions(again, "rollback-me") == []
    assert str(again.deployment("rollback-me").skipped).startswith("the declared spec failed ")
    assert deployments.live_jobs("rollback-me") == [now]  # untouched


def test_failed_job_is_restarted_from_its_checkpoint(deployments: Deployments) -> None:
    deployments.declare("crashy", args=["--rate", "50", "--fail-after-seconds", "8"])
    deployments.run()
    failed = deployments.the_job("crashy")
    deployments.flink.wait_state(failed, JobState.FAILED, timeout=60)
    latest = deployments.flink.client.call(calls.job_checkpoints(failed)).latest.completed
    assert latest is not None
    summary = deployments.run()
    assert _actions(summary, "crashy") == ["restart"]
    restarted = deployments.the_job("crashy")
    restored = deployments.restored_from(restarted)
    assert restored.external_path == latest.external_path  # the failed job's own checkpoint
    assert f"/{failed}/chk-" in str(restored.external_path)
    assert len(deployments.record("crashy").restarts) == 1


def test_suspend_and_resume_keep_state(deployments: Deployments) -> None:
    deployments.declare("pausable")
    deployments.run()
    job = deployments.the_job("pausable")
    before = deployments.counted(job, 40)
    deployments.declare("pausable", state="suspended")
    assert _actions(deployments.run(), "pausable") == ["suspend"]
    assert deployments.live_jobs("pausable") == []
    assert deployments.flink.job(job).state is JobState.FINISHED
    assert deployments.record("pausable").status == "suspended"
    assert _actions(deployments.run(), "pausable") == []  # stays suspended
    deployments.declare("pausable", state="running")
    assert _actions(deployments.run(), "pausable") == ["resume"]
    resumed = deployments.the_job("pausable")
    assert (
        deployments.restored_from(resumed).external_path == deployments.record("pausable").savepoints[-1].path
    )
    assert deployments.counted(resumed, 1) >= before


def test_retention_disposes_old_savepoints_through_flink(deployments: Deployments) -> None:
    deployments.declare("kept", savepoint_policy={"interval_minutes": 0.0001, "keep_last": 2})
    deployments.run()
    taken: set[str] = set()
    disposed: list[str] = []
    # A savepoint every 6 ms: a run that follows the last one within 6 ms takes none, so the runs
    # go on until retention had a third one to dispose.
    for _ in range(10):
        summary = deployments.run()
        assert summary.errors == []
        taken |= {s.path for s in deployments.record("kept").savepoints}
        disposed += [line for d in summary.deployments for line in d.actions if line.startswith("dispose")]
        if disposed:
            break
    record = deployments.record("kept")
    assert len(record.savepoints) <= 3
    assert disposed, summary
    gone = disposed[0].split("[", 1)[1].split("]", 1)[0]
    assert gone in taken
    assert gone not in {s.path for s in record.savepoints}
    assert not Path(gone.removeprefix("file:")).exists()
    assert all(Path(p.removeprefix("file:")).exists() for p in taken - {gone})


def test_bad_file_is_reported_and_others_still_reconcile(deployments: Deployments) -> None:
    deployments.declare("good")
    (deployments.folder / "bad.yaml").write_text(
        "name: bad\nartifact: {jar: x}\nparallelism: 0\ncolour: red\n"
    )
    summary = deployments.run()
    assert summary.invalid == [
        "bad.yaml: parallelism: Input should be greater than or equal to 1",
        "bad.yaml: colour: unknown field (misspelled?)",
    ]
    assert _actions(summary, "good") == ["deploy"]
    assert len(deployments.live_jobs("good")) == 1


def test_unobservable_cluster_gets_no_action(
    deployments: Deployments, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DOWN", connection_json("http://127.0.0.1:9", request_timeout=2))
    deployments.declare("elsewhere", cluster="flink_down")
    summary = deployments.run()
    entry = summary.deployments[0]
    assert entry.actions == []
    assert str(entry.skipped).startswith(
        "cluster flink_down could not be observed (Flink at http://127.0.0.1:9 did not answer"
    )
    assert summary.errors[0].startswith("cluster flink_down could not be observed: no action taken")


def test_job_lost_in_a_jobmanager_restart_is_recovered_from_its_retained_checkpoint(
    deployments: Deployments,
) -> None:
    flink = deployments.flink
    deployments.declare("survivor")
    deployments.run()
    job = deployments.the_job("survivor")
    mark = deployments.counted(job, 150)
    marked_at = int(time.time() * 1000)

    def checkpoint_after_mark() -> Any:
        latest = flink.client.call(calls.job_checkpoints(job)).latest.completed
        return latest if latest and (latest.trigger_timestamp or 0) > marked_at else None

    # A checkpoint triggered after the mark holds a count of at least ``mark``.
    checkpoint = wait_for("a checkpoint after the mark", checkpoint_after_mark)
    flink.flink.kill_jobmanager()
    try:
        flink.flink.start_jobmanager()
    finally:
        flink.jar_id = flink.client.call(calls.upload_jar(flink.jar)).jar_id  # uploads do not survive
    assert deployments.live_jobs("survivor") == []  # Flink forgot the job
    summary = deployments.run()
    assert summary.errors == []
    assert _actions(summary, "survivor") == ["recover"]
    recovered = deployments.the_job("survivor")
    restored = deployments.restored_from(recovered)
    assert restored.external_path is not None
    assert f"/{job}/chk-" in restored.external_path
    assert int(restored.external_path.rsplit("chk-", 1)[1]) >= checkpoint.id
    assert deployments.counted(recovered, 1) >= mark  # a fresh start would still be far below


@pytest.mark.parametrize("mode", ["stateless", "last-state"])
def test_other_upgrade_modes(deployments: Deployments, mode: str) -> None:
    name = f"mode-{mode}"
    deployments.declare(name, upgrade_mode=mode)
    deployments.run()
    old = deployments.the_job(name)
    before = deployments.counted(old, 300)  # ~6 s of counting: a fresh start reads far less at first
    deployments.declare(name, upgrade_mode=mode, parallelism=2)
    summary = deployments.run()
    assert summary.errors == []
    new = deployments.the_job(name)
    if mode == "stateless":
        assert deployments.flink.wait_state(old, JobState.CANCELED).state is JobState.CANCELED
        deployments.flink.wait_all_running(new)
        assert deployments.flink.client.call(calls.job_checkpoints(new)).latest.restored is None
        assert deployments.counted(new, 1) < before  # started from nothing, as declared
    else:  # a healthy job under last-state is upgraded through a savepoint
        assert deployments.flink.job(old).state is JobState.FINISHED
        assert deployments.restored_from(new).external_path == deployments.record(name).savepoints[-1].path
        assert deployments.counted(new, 1) >= before


def test_older_uploads_are_deleted_keeping_the_previous_one(deployments: Deployments, tmp_path: Path) -> None:
    import shutil
    import zipfile

    jars = []
    for version in (1, 2, 3):
        jar = tmp_path / f"counter-v{version}.jar"
        shutil.copy(deployments.flink.jar, jar)
        with zipfile.ZipFile(jar, "a") as archive:
            archive.writestr("VERSION", str(version))  # new content, new digest
        jars.append(jar)
    ids = []
    for jar in jars:
        deployments.declare("versioned", artifact={"jar": str(jar)})
        summary = deployments.run()
        assert summary.errors == []
        ids.append(deployments.record("versioned").uploads[-1])
    on_cluster = {f.id for f in deployments.flink.client.call(calls.list_jars()).files}
    assert ids[0] not in on_cluster  # the oldest upload was deleted
    assert {ids[1], ids[2]} <= on_cluster  # the current one and the previous (rollback) one stay
    assert deployments.record("versioned").uploads == [ids[1], ids[2]]
