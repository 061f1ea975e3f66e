"""Rescale in place against a real Flink, on every version in FLINK_VERSIONS.

The suite's session cluster keeps Flink's default scheduler: the other integration tests (slot
shortage looping RESTARTING, restarts after a lost task manager, the fault campaign) are about
that scheduler, and the adaptive one behaves differently in exactly those places (it runs a job
with fewer slots instead of restarting it). So the fallback test runs on the session cluster,
and only the rescales get a small cluster of their own with the adaptive scheduler: one per
version, for this module only (about 10 s to start, 4 s to stop), with the scheduler's 30 s
cooldown between rescales cut to 1 s (``QUICK_RESCALE``) so that 1 -> 2 -> 1 takes seconds.
"""

from __future__ import annotations

import asyncio
import functools
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.client import ClientSettings, FlinkClient, calls, models
from airflow_provider_flink.client.resilience import reset_breakers
from airflow_provider_flink.exceptions import AirflowFailException, TaskDeferred
from airflow_provider_flink.hooks import FlinkHook
from airflow_provider_flink.ids import new_id
from airflow_provider_flink.operators import FlinkRescaleJobOperator
from airflow_provider_flink.triggers import FlinkCheckpointTrigger, run_inline
from airflow_provider_flink.triggers.conditions import is_healthy
from harness.flink_cluster import QUICK_RESCALE, LocalFlink
from harness.job_jars import COUNTER_JOB, build_jar
from harness.task_context import task_context
from tests.integration.conftest import VERSIONS, Cluster, connection_json, wait_for

pytestmark = pytest.mark.integration
RATE = 50  # records per second of the CounterJob
OPERATOR_VERSION = next((v for v in VERSIONS if v.startswith("1.")), VERSIONS[0])


@pytest.fixture(scope="module")
def adaptive_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Cluster]]:
    """The module's adaptive clusters, one per Flink version, each started when a test first needs
    it and stopped at the module's end (also on failure)."""
    started: dict[str, Cluster] = {}
    try:
        yield started
    finally:
        for found in started.values():
            found.client.close()
            found.flink.stop()


@pytest.fixture
def adaptive(
    cluster: Cluster, adaptive_clusters: dict[str, Cluster], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """An adaptive cluster of the session cluster's Flink version, with every job a test left
    running cancelled afterwards. Keyed by the session cluster's version (not a parameter of its
    own), so pytest orders these tests with the version's other tests and each adaptive cluster
    starts once, not once per test that changes the version."""
    version = cluster.version
    if version not in adaptive_clusters:
        jar = build_jar(version)
        flink = LocalFlink(
            version=version,
            workdir=tmp_path_factory.mktemp(f"flink-{version}-adaptive"),
            adaptive_scheduler=True,
            extra_config=dict(QUICK_RESCALE),
        )
        flink.start()
        client = FlinkClient(ClientSettings(flink.rest_url))
        adaptive_clusters[version] = Cluster(flink, client, jar, client.call(calls.upload_jar(jar)).jar_id)
    found = adaptive_clusters[version]
    yield found
    found.cancel_all()


def use(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """``flink_default`` pointing at this cluster."""
    reset_breakers()
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", connection_json(cluster.flink.rest_url))


def counting_job(cluster: Cluster, at_least: float = 1) -> str:
    """A healthy CounterJob at parallelism 1 whose counter has reached ``at_least``."""
    job_id = cluster.run(COUNTER_JOB, args=["--rate", str(RATE)], parallelism=1)
    cluster.wait_all_running(job_id)
    wait_for(f"counter of {job_id} >= {at_least}", lambda: cluster.counter(job_id) >= at_least or None, 30)
    return job_id


def continues_counting(cluster: Cluster, job_id: str, before: float, asked_at: float) -> float:
    """Wait for the keyed count to go on from ``before`` (its value when the rescale was asked, at
    ``asked_at``) to a value that neither a stale metric from before the rescale (at most ``before``
    plus a second of records) nor a job counting from 1 since ``asked_at`` (at most RATE records a
    second) can show. Needs the job to have counted for longer than a restart loses (the
    checkpoint interval plus the restart) before ``asked_at``."""

    def probe() -> float | None:
        count = cluster.counter(job_id)
        from_one = RATE * (time.time() - asked_at)
        return count if count > max(before + 2 * RATE, from_one + RATE) else None

    return wait_for(f"the count of {job_id} to go on from {before:.0f}", probe, 30)


def restored_times(cluster: Cluster, job_id: str, times: int) -> models.JobCheckpoints | None:
    history = cluster.client.call(calls.job_checkpoints(job_id))
    assert history.counts.restored <= times, f"restored {history.counts.restored} times, expected {times}"
    return history if history.counts.restored == times else None


def run_task(op: FlinkRescaleJobOperator) -> Any:
    """Execute the task as a worker would; a deferral is run to its event here, as the triggerer
    would run it, and handed back to the task."""
    context = task_context()
    try:
        return op.execute(context)
    except TaskDeferred as deferred:
        event = asyncio.run(deferred.trigger.wait_for_event())
        return op.execute_complete(context, event.payload())


def snapshot(cluster: Cluster, job_id: str) -> dict[str, Any]:
    """What a refused rescale must leave exactly as it was."""
    job = cluster.job(job_id)
    return {
        "jobs": cluster.running_job_ids(),
        "state": job.state,
        "start": job.start_time,
        "parallelism": [v.parallelism for v in job.vertices],
        "restored": cluster.client.call(calls.job_checkpoints(job_id)).counts.restored,
        "failures": len(cluster.client.call(calls.job_exceptions(job_id)).exception_history.entries),
    }


def test_rescale_in_place_1_2_1_keeps_the_job_and_its_count(
    adaptive: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    if adaptive.version != OPERATOR_VERSION:
        # The suite's time: the reconcile's 1 -> 2 -> 1 below runs on every version and ends in
        # the same hook verb and wait. The operator's own parts run on one version: a 1.x where
        # there is one, as there it also takes a checkpoint before the rescale (on 2.x it does
        # not: Flink waits for its next checkpoint itself).
        pytest.skip(f"the operator's 1 -> 2 -> 1 runs on Flink {OPERATOR_VERSION} in this suite")
    use(adaptive, monkeypatch)
    job_id = counting_job(adaptive, at_least=6 * RATE)  # longer than a restart loses: see continues_counting
    for step, (parallelism, deferrable) in enumerate([(2, False), (1, True)], start=1):
        op = FlinkRescaleJobOperator(
            task_id=f"rescale_{parallelism}",
            job_id=job_id,
            parallelism=str(parallelism),  # as a template renders it
            deferrable=deferrable,
            poll_interval=0.5,
            wait_timeout=120,
        )
        before, asked_at = adaptive.counter(job_id), time.time()
        assert run_task(op) == job_id
        job = adaptive.job(job_id)
        assert is_healthy(job)
        assert [v.parallelism for v in job.vertices] == [parallelism] * len(job.vertices)
        assert adaptive.running_job_ids() == {job_id}  # the same job, no second one
        # Flink restarted the tasks from a checkpoint, and the keyed count goes on from where it was.
        # (Its checkpoint statistics lag the job's state by a REST cache refresh: polled.)
        history = wait_for(
            f"restore number {step} in the checkpoint statistics",
            functools.partial(restored_times, adaptive, job_id, step),
            10,
        )
        assert history.latest.restored is not None
        assert not history.latest.restored.is_savepoint
        continues_counting(adaptive, job_id, before, asked_at)
        assert FlinkHook().supports_rescale(job_id).current == parallelism


def test_rescale_over_the_max_parallelism_is_refused_and_changes_nothing(
    adaptive: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(adaptive, monkeypatch)
    job_id = counting_job(adaptive)
    requirements = adaptive.client.call(calls.resource_requirements(job_id))
    # The answer the unit tests read from tests/unit/recorded is still what this Flink says.
    recorded = (
        Path(__file__).parents[1]
        / "unit"
        / "recorded"
        / f"flink-{adaptive.version}-resource-requirements.json"
    )
    assert requirements == models.JobResourceRequirements.model_validate(json.loads(recorded.read_text()))
    before = snapshot(adaptive, job_id)
    op = FlinkRescaleJobOperator(task_id="rescale", job_id=job_id, parallelism=129, deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == (
        f"Cannot rescale job {job_id} to parallelism 129 in place: parallelism 129 is above the max "
        "parallelism of Source: ticks (max parallelism 128), count -> sink: Writer (max parallelism "
        "128); keyed state is split into that many key groups, so no rescale, in place or by "
        "savepoint, can go above it. Nothing was changed. Change its parallelism with a savepoint "
        "upgrade instead: FlinkStopJobOperator, then FlinkDeployJobOperator with parallelism=129 and "
        "savepoint_path set to the stop's output (or declare the parallelism in the job's deployment "
        "spec and let the reconcile apply it)."
    )
    assert adaptive.client.call(calls.resource_requirements(job_id)) == requirements
    assert snapshot(adaptive, job_id) == before


def test_the_checkpoint_taken_before_a_rescale(adaptive: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checkpoint FlinkRescaleJobOperator takes before a rescale on Flink 1.x, asked through REST
    and waited for by its trigger, on both versions (on 2.x the operator leaves it to Flink)."""
    use(adaptive, monkeypatch)
    job_id = counting_job(adaptive)
    hook = FlinkHook()
    assert hook.supports_rescale(job_id, 2).checkpoint_first == adaptive.version.startswith("1.")
    trigger_id = new_id()
    hook.trigger_checkpoint(job_id, trigger_id)
    hook.trigger_checkpoint(job_id, trigger_id)  # sent twice: one checkpoint
    event = run_inline(FlinkCheckpointTrigger("flink_default", job_id, trigger_id, time.time() + 30, 0.1))
    assert (event.status, event.state, event.trigger_id) == ("success", "CHECKPOINTED", trigger_id)
    taken = re.fullmatch(rf"Checkpoint (\d+) of job {job_id} completed", event.message)
    assert taken is not None, event.message
    number = int(taken.group(1))

    def listed() -> bool | None:  # the statistics lag by a REST cache refresh; a periodic one may follow
        latest = hook.latest_checkpoint(job_id)
        return (latest is not None and latest.id >= number) or None

    wait_for(f"checkpoint {number} in the statistics", listed, 10)


def test_without_the_adaptive_scheduler_the_rescale_fails_saying_why_and_changes_nothing(
    flink: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(flink, monkeypatch)
    job_id = counting_job(flink)
    before = snapshot(flink, job_id)
    support = FlinkHook().supports_rescale(job_id, 2)
    reason = (
        # Flink 2.3 names the job's scheduler; 1.20 only shows the cluster's configuration.
        "the job runs under Flink's Default scheduler, not the adaptive one"
        if flink.version.startswith("2.")
        else "the cluster does not run the adaptive scheduler (jobmanager.scheduler not set: Flink's default)"
    ) + "; Flink changes a running job's parallelism only under jobmanager.scheduler: adaptive"
    assert (support.possible, support.reason) == (False, reason)
    op = FlinkRescaleJobOperator(task_id="rescale", job_id=job_id, parallelism=2, deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == (
        f"Cannot rescale job {job_id} to parallelism 2 in place: {reason}. Nothing was changed. Change its "
        "parallelism with a savepoint upgrade instead: FlinkStopJobOperator, then FlinkDeployJobOperator "
        "with parallelism=2 and savepoint_path set to the stop's output (or declare the parallelism in the "
        "job's deployment spec and let the reconcile apply it)."
    )
    assert snapshot(flink, job_id) == before


def test_the_reconcile_rescales_a_parallelism_change_in_place_1_2_1(
    adaptive: Cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A declared deployment whose file changes only its parallelism: the same job runs at the new
    parallelism (no savepoint, no new job), the record names the spec it runs, nothing is left to do;
    and back to 1."""
    import yaml

    from airflow_provider_flink.deployments import MemoryRecordStore, reconcile

    use(adaptive, monkeypatch)
    folder, store = tmp_path / "deployments", MemoryRecordStore()
    folder.mkdir()

    def declare(parallelism: int) -> None:
        spec = {"name": "scaled", "artifact": {"jar": str(adaptive.jar)}, "entry_class": COUNTER_JOB,
                "args": ["--rate", str(RATE)], "parallelism": parallelism}  # fmt: skip
        (folder / "scaled.yaml").write_text(yaml.safe_dump(spec))

    declare(1)
    assert reconcile(folder, store).errors == []
    [job_id] = adaptive.running_job_ids()
    wait_for("a counted while", lambda: adaptive.counter(job_id) >= 6 * RATE or None, 30)
    for parallelism in (2, 1):
        declare(parallelism)
        before, asked_at = adaptive.counter(job_id), time.time()
        report = reconcile(folder, store)
        assert report.errors == []
        [done] = report.deployment("scaled").done
        assert done.kind == "rescale"
        assert done.detail.startswith(
            f"rescaled in place from parallelism {3 - parallelism} to {parallelism}: "
        ), done.detail
        assert adaptive.running_job_ids() == {job_id}  # the same job throughout
        assert {v.parallelism for v in adaptive.job(job_id).vertices} == {parallelism}
        record = store.get("flink_default", "scaled")
        assert record is not None
        assert record.rescaled is not None
        assert (record.rescaled.job_id, record.savepoints) == (job_id, [])  # no savepoint taken
        continues_counting(adaptive, job_id, before, asked_at)
        assert reconcile(folder, store).deployment("scaled").actions == []  # nothing left to do
