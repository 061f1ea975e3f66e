"""Rescale in place without a cluster: the REST calls and models (on answers recorded from Flink
1.20.5 and 2.3.0), the rules of hooks/rescale.py, the hook verbs, the judge and the wait, and
FlinkRescaleJobOperator against a faked Flink."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import responses

from airflow_provider_flink.client import FlinkApiError, calls, models
from airflow_provider_flink.exceptions import (
    AirflowFailException,
    FlinkOperatorError,
    RescaleNotPossibleError,
)
from airflow_provider_flink.hooks import FlinkHook
from airflow_provider_flink.hooks.rescale import (
    cluster_scheduler,
    job_scheduler,
    judge_rescale,
    refusal_from_flink,
)
from airflow_provider_flink.operators import FlinkRescaleJobOperator
from airflow_provider_flink.triggers import FlinkCheckpointTrigger, FlinkJobTrigger
from airflow_provider_flink.triggers.conditions import judge_checkpoint, judge_job, runs_at_parallelism
from harness.task_context import task_context
from tests.unit.conftest import recorded, use_flink_connection

URL = "http://flink.test:8081"  # where use_flink_connection / fake_flink point flink_default
VERSIONS = ("2.3.0", "1.20.5")
SOURCE, COUNT = (
    "46114d370e18a7da1e4362472aa88fba",
    "b71731f1c0df9c3076c4a455334d0ad6",
)  # CounterJob's vertices
NOT_ADAPTIVE_CLUSTER = (
    "the cluster does not run the adaptive scheduler (jobmanager.scheduler not set: Flink's default); "
    "Flink changes a running job's parallelism only under jobmanager.scheduler: adaptive"
)
NOT_ADAPTIVE_JOB = (
    "the job runs under Flink's Default scheduler, not the adaptive one; "
    "Flink changes a running job's parallelism only under jobmanager.scheduler: adaptive"
)


@pytest.fixture(autouse=True)
def flink_conn(monkeypatch: pytest.MonkeyPatch) -> None:
    use_flink_connection(monkeypatch, "flink.test")


def job(version: str, scheduler: str = "adaptive", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = recorded(f"flink-{version}-{scheduler}-scheduler-job.json")
    body.update(changes)
    return body


def job_model(version: str = "2.3.0", scheduler: str = "adaptive", **changes: Any) -> models.JobDetail:
    return models.JobDetail.model_validate(job(version, scheduler, **changes))


def at(body: dict[str, Any], parallelism: int, status: str = "RUNNING") -> dict[str, Any]:
    vertices = [{**v, "parallelism": parallelism, "status": status} for v in body["vertices"]]
    return {**body, "vertices": vertices}


CHECKPOINTS = recorded("flink-2.3.0-checkpoints.json")
CHECKPOINT = models.JobCheckpoints.model_validate(CHECKPOINTS).latest.completed  # id 13
NOW = 1795675757796 + 4_000  # 4 s after that checkpoint was triggered


def requirements(
    lower: int = 1, upper: int = 1, **per_vertex: tuple[int, int]
) -> models.JobResourceRequirements:
    bounds = {SOURCE: (lower, upper), COUNT: (lower, upper)}
    bounds.update({COUNT if name == "count" else SOURCE: b for name, b in per_vertex.items()})
    return models.JobResourceRequirements.of(bounds)


# ------------------------------------------------------------------ client: calls and models
@pytest.mark.parametrize("version", VERSIONS)
def test_recorded_resource_requirements_read_the_same_on_both_versions(version: str) -> None:
    answer = models.JobResourceRequirements.model_validate(
        recorded(f"flink-{version}-resource-requirements.json")
    )
    assert answer.bounds() == {SOURCE: (1, 1), COUNT: (1, 1)}  # Flink's default: lower 1, upper = parallelism
    assert answer == requirements(1, 1)


@pytest.mark.parametrize("version", VERSIONS)
def test_job_detail_reads_scheduler_job_type_and_max_parallelism(version: str) -> None:
    detail = job_model(version)
    assert detail.job_type == "STREAMING"
    assert detail.scheduler_type == ("Adaptive" if version == "2.3.0" else None)  # 1.20 does not say
    assert [(v.parallelism, v.max_parallelism) for v in detail.vertices] == [(1, 128), (1, 128)]
    assert job_model(version, "default").scheduler_type == ("Default" if version == "2.3.0" else None)


def test_resource_requirement_calls() -> None:
    read = calls.resource_requirements("a/b")
    assert (read.method, read.path, read.body, read.idempotent) == (
        "GET",
        "/jobs/a%2Fb/resource-requirements",
        None,
        True,
    )
    put = calls.set_resource_requirements("j", requirements(1, 2))
    assert (put.method, put.path, put.idempotent) == ("PUT", "/jobs/j/resource-requirements", True)
    assert put.body == {
        SOURCE: {"parallelism": {"lowerBound": 1, "upperBound": 2}},
        COUNT: {"parallelism": {"lowerBound": 1, "upperBound": 2}},
    }
    assert put.parse({}) is None  # Flink answers 200 {}


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ({}, "resource requirements must name at least one job vertex"),
        ({"v": (0, 2)}, "parallelism bounds of vertex v must be at least 1, got 0..2"),
        ({"v": (3, 2)}, "lower bound 3 of vertex v is above its upper bound 2"),
    ],
)
def test_bad_requirements_are_refused_before_sending(
    bounds: dict[str, tuple[int, int]], message: str
) -> None:
    with pytest.raises(ValueError, match=r".") as info:
        models.JobResourceRequirements.of(bounds)
    assert str(info.value) == message


# ------------------------------------------------------------------ rules
@pytest.mark.parametrize(
    ("config", "reason"),
    [
        ({"jobmanager.scheduler": "adaptive"}, None),
        ({"jobmanager.scheduler": "Adaptive"}, None),  # Flink reads the enum case-insensitively
        ({}, NOT_ADAPTIVE_CLUSTER),
        (
            {"jobmanager.scheduler": "default"},
            "the cluster does not run the adaptive scheduler (jobmanager.scheduler: default); "
            "Flink changes a running job's parallelism only under jobmanager.scheduler: adaptive",
        ),
        (
            {"jobmanager.scheduler": "adaptive", "scheduler-mode": "REACTIVE"},
            "the cluster runs the adaptive scheduler in reactive mode (scheduler-mode: reactive), where "
            "the task managers decide every job's parallelism",
        ),
    ],
)
def test_cluster_scheduler(config: dict[str, str], reason: str | None) -> None:
    assert cluster_scheduler(config) == reason


def test_job_scheduler_named_by_flink_2_3() -> None:
    assert job_scheduler(job_model("2.3.0")) is None
    assert job_scheduler(job_model("2.3.0", "default")) == NOT_ADAPTIVE_JOB


@pytest.mark.parametrize("version", VERSIONS)
def test_flinks_refusal_of_a_default_scheduler_is_a_reason_other_errors_are_not(version: str) -> None:
    body = recorded(f"flink-{version}-default-scheduler-resource-requirements-500.json")
    err = FlinkApiError("GET /jobs/x/resource-requirements", 500, body["errors"])
    assert refusal_from_flink(err) == (
        "Flink refuses to change its parallelism in place: java.lang.UnsupportedOperationException: "
        "The DefaultScheduler does not support changing the parallelism without a job restart. This "
        "feature is currently only expected to work with the AdaptiveScheduler."
    )
    unknown_job = FlinkApiError("x", 500, ["org.apache.flink.runtime.messages.FlinkJobNotFoundException: no"])
    assert refusal_from_flink(unknown_job) is None
    assert refusal_from_flink(FlinkApiError("x", 400, body["errors"])) is None


def test_a_rescale_keeps_the_lower_bound_and_sets_the_upper() -> None:
    support = judge_rescale(job_model(), "j", None, requirements(1, 1), 2, CHECKPOINT, NOW)
    assert (support.possible, support.current, support.target) == (True, 1, 2)
    assert support.reason == (
        "the job can be rescaled in place from parallelism 1 to 2; it restarts from checkpoint 13 (4 s old)"
    )
    assert support.requirements == requirements(1, 2)
    down = judge_rescale(job_model(), "j", None, requirements(2, 4), 1, CHECKPOINT, NOW)
    assert down.requirements == requirements(1, 1)  # the lower bound never above the target
    kept = judge_rescale(job_model(), "j", None, requirements(2, 4), 3, CHECKPOINT, NOW)
    assert kept.requirements == requirements(2, 3)  # a floor someone set stays


def test_a_flink_that_rescales_at_once_needs_no_checkpoint_yet_its_caller_takes_one() -> None:
    support = judge_rescale(
        job_model("1.20.5"), "j", None, requirements(), 2, None, NOW, checkpoint_first=True
    )
    assert (support.possible, support.checkpoint_first) == (True, True)
    assert support.reason == (
        "the job can be rescaled in place from parallelism 1 to 2; it restarts from a checkpoint taken right before"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_a_checkpoint_asked_through_rest(version: str) -> None:
    post = calls.trigger_checkpoint("j", "t")
    assert (post.method, post.path, post.body, post.idempotent) == (
        "POST",
        "/jobs/j/checkpoints",
        {"checkpointType": "CONFIGURED", "triggerId": "t"},
        True,
    )
    read = calls.checkpoint_status("j", "t")
    assert (read.method, read.path) == ("GET", "/jobs/j/checkpoints/t")
    done = models.CheckpointTriggerStatus.model_validate(
        recorded(f"flink-{version}-checkpoint-trigger-status.json")
    )
    verdict = judge_checkpoint("j", done)
    assert verdict is not None
    assert (verdict.ok, verdict.state, verdict.message) == (
        True,
        "CHECKPOINTED",
        f"Checkpoint {done.checkpoint_id} of job j completed",
    )
    assert (
        judge_checkpoint(
            "j", models.CheckpointTriggerStatus.model_validate({"status": {"id": "IN_PROGRESS"}})
        )
        is None
    )
    failed = models.CheckpointTriggerStatus.model_validate(
        {
            "status": {"id": "COMPLETED"},
            "operation": {"failureCause": {"class": "E", "stack-trace": "E: declined"}},
        }
    )
    verdict = judge_checkpoint("j", failed)
    assert verdict is not None
    assert (verdict.ok, verdict.message) == (False, "Checkpoint of job j failed: E: declined")
    trigger = FlinkCheckpointTrigger("flink_default", "j", "t", 123.0)
    path, kwargs = trigger.serialize()
    assert (path, kwargs) == (
        "airflow_provider_flink.triggers.flink.FlinkCheckpointTrigger",
        {
            "flink_conn_id": "flink_default",
            "deadline": 123.0,
            "poll_interval": 0.5,
            "job_id": "j",
            "request_id": "t",
        },
    )


def test_bounds_already_asked_are_not_sent_again_even_while_the_job_restarts() -> None:
    support = judge_rescale(job_model(state="CREATED"), "j", None, requirements(1, 2), 2)
    assert (support.possible, support.requirements) == (True, None)
    assert support.reason == "parallelism 2 is already asked of the job"


@pytest.mark.parametrize(
    ("detail", "checkpoint", "reason"),
    [
        (job_model(state="RESTARTING"), CHECKPOINT, "the job is RESTARTING, not RUNNING"),
        (
            job_model(),
            None,
            "the job has no completed checkpoint (none yet, or checkpointing is off), and Flink restarts "
            "a rescaled job from its latest checkpoint: it would lose its state",
        ),
    ],
)
def test_refusals_that_may_pass_later(
    detail: models.JobDetail, checkpoint: models.CheckpointInfo | None, reason: str
) -> None:
    support = judge_rescale(detail, "j", None, requirements(), 2, checkpoint, NOW)
    assert (support.possible, support.reason, support.transient) == (False, reason, True)


@pytest.mark.parametrize(
    ("detail", "refusal", "current", "target", "reason"),
    [
        (None, None, None, 2, "Flink does not know the job"),
        (job_model(), None, requirements(), 0, "parallelism must be at least 1, got 0"),
        (
            job_model(**{"job-type": "BATCH"}),
            None,
            None,
            2,
            "it is a BATCH job; Flink rescales only streaming jobs in place",
        ),
        (job_model("2.3.0", "default"), NOT_ADAPTIVE_JOB, None, 2, NOT_ADAPTIVE_JOB),
        (
            job_model(),
            None,
            requirements(count=(1, 4)),
            2,
            "the job's vertices have different parallelisms (Source: ticks=1, count -> sink: Writer=4): "
            "the job sets some operators' parallelism itself, which a rescale in place would overwrite "
            "and a redeploy keeps",
        ),
        (
            job_model(),
            None,
            requirements(),
            129,
            "parallelism 129 is above the max parallelism of Source: ticks (max parallelism 128), "
            "count -> sink: Writer (max parallelism 128); keyed state is split into that many key "
            "groups, so no rescale, in place or by savepoint, can go above it",
        ),
    ],
)
def test_refusals_say_why(
    detail: models.JobDetail | None,
    refusal: str | None,
    current: models.JobResourceRequirements | None,
    target: int,
    reason: str,
) -> None:
    support = judge_rescale(detail, "j", refusal, current, target, CHECKPOINT, NOW)
    assert (support.possible, support.reason, support.requirements, support.transient) == (
        False,
        reason,
        None,
        False,
    )


# ------------------------------------------------------------------ judge and wait
def test_runs_at_parallelism_needs_health_and_every_vertex_at_it() -> None:
    body = job("2.3.0")
    assert runs_at_parallelism(models.JobDetail.model_validate(at(body, 2)), 2)
    assert not runs_at_parallelism(models.JobDetail.model_validate(at(body, 1)), 2)  # before the rescale
    assert not runs_at_parallelism(models.JobDetail.model_validate(at(body, 2, "DEPLOYING")), 2)
    half = {**body, "vertices": [{**body["vertices"][0], "parallelism": 2}, body["vertices"][1]]}
    assert not runs_at_parallelism(models.JobDetail.model_validate(half), 2)
    verdict = judge_job(models.JobDetail.model_validate(at(body, 2)), "running", parallelism=2)
    assert verdict is not None
    assert verdict.ok
    assert verdict.message == f"Job {body['jid']} is RUNNING at parallelism 2 with all 2 vertices RUNNING"
    assert judge_job(models.JobDetail.model_validate(at(body, 1)), "running", parallelism=2) is None
    ended = judge_job(
        models.JobDetail.model_validate({**at(body, 1), "state": "FAILED"}), "running", parallelism=2
    )
    assert ended is not None
    assert ended.message == (
        f"Job {body['jid']} ended FAILED while waiting for it to be RUNNING at parallelism 2 with all "
        "vertices RUNNING"
    )


def test_the_wait_for_a_parallelism_serializes_and_ends_when_flink_shows_it(fake_flink: Any) -> None:
    body = job("1.20.5")
    trigger = FlinkJobTrigger(
        "flink_default", body["jid"], time.time() + 30, poll_interval=0.01, parallelism=2
    )
    _, kwargs = trigger.serialize()
    assert kwargs["parallelism"] == 2
    json.dumps(kwargs)  # plain values only
    # What 1.20.5 showed after the PUT: RUNNING at 1, CREATED at 1, RUNNING at 2.
    answers = iter([at(body, 1), {**at(body, 1, "CREATED"), "state": "CREATED"}, at(body, 2)])
    seen = fake_flink(lambda r: httpx.Response(200, json=next(answers)))
    event = asyncio.run(trigger.wait_for_event())
    assert (event.status, event.job_id) == ("success", body["jid"])
    assert event.message == f"Job {body['jid']} is RUNNING at parallelism 2 with all 2 vertices RUNNING"
    assert len(seen) == 3


def test_a_wait_for_a_parallelism_that_never_comes_says_what_it_saw(fake_flink: Any) -> None:
    body = job("2.3.0")
    fake_flink(lambda r: httpx.Response(200, json=at(body, 2)))
    event = asyncio.run(
        FlinkJobTrigger(
            "flink_default", body["jid"], time.time() + 0.2, poll_interval=0.05, parallelism=8
        ).wait_for_event()
    )
    assert event.status == "timeout"
    assert event.message == (
        f"Timed out waiting for job {body['jid']} to be RUNNING at parallelism 8 with all vertices "
        "RUNNING; last seen: RUNNING at parallelism 2"
    )


# ------------------------------------------------------------------ hook verbs
@responses.activate
def test_flink_2_3_names_the_scheduler_so_the_cluster_config_is_not_read() -> None:
    body = job("2.3.0")
    responses.get(f"{URL}/jobs/{body['jid']}", json=body)
    responses.get(
        f"{URL}/jobs/{body['jid']}/resource-requirements",
        json=recorded("flink-2.3.0-resource-requirements.json"),
    )
    responses.get(f"{URL}/jobs/{body['jid']}/checkpoints", json=CHECKPOINTS)
    responses.get(f"{URL}/overview", json={"flink-version": "2.3.0"})
    support = FlinkHook().supports_rescale(body["jid"], 2)
    assert support.possible
    assert support.requirements == requirements(1, 2)
    assert not support.checkpoint_first  # Flink 2.x waits for its next checkpoint itself
    assert [c.request.path_url for c in responses.calls] == [
        f"/jobs/{body['jid']}",
        f"/jobs/{body['jid']}/resource-requirements",
        f"/jobs/{body['jid']}/checkpoints",
        "/overview",
    ]


@pytest.mark.parametrize("version", VERSIONS)
@responses.activate
def test_a_default_scheduler_is_told_without_a_request_flink_answers_with_500(version: str) -> None:
    body = job(version, "default")
    responses.get(f"{URL}/jobs/{body['jid']}", json=body)
    responses.get(f"{URL}/jobmanager/config", json=[{"key": "rest.port", "value": "8081"}])
    support = FlinkHook().supports_rescale(body["jid"], 2)
    assert (support.possible, support.reason) == (
        False,
        NOT_ADAPTIVE_JOB if version == "2.3.0" else NOT_ADAPTIVE_CLUSTER,
    )
    paths = [c.request.path_url for c in responses.calls]
    assert paths == ([f"/jobs/{body['jid']}"] + ([] if version == "2.3.0" else ["/jobmanager/config"]))


@responses.activate
def test_flinks_own_refusal_to_a_put_is_a_rescale_error() -> None:
    body = job("1.20.5")
    responses.get(f"{URL}/jobs/{body['jid']}", json=body)
    responses.get(f"{URL}/jobmanager/config", json=[{"key": "jobmanager.scheduler", "value": "adaptive"}])
    responses.get(
        f"{URL}/jobs/{body['jid']}/resource-requirements",
        json=recorded("flink-1.20.5-resource-requirements.json"),
    )
    responses.get(f"{URL}/jobs/{body['jid']}/checkpoints", json=CHECKPOINTS)
    refused = recorded("flink-1.20.5-default-scheduler-resource-requirements-500.json")
    responses.put(f"{URL}/jobs/{body['jid']}/resource-requirements", status=500, json=refused)
    with pytest.raises(RescaleNotPossibleError) as info:
        FlinkHook().rescale_job(body["jid"], 2)
    assert str(info.value).startswith("Flink refuses to change its parallelism in place: java.lang.")
    assert [c.request.method for c in responses.calls].count("PUT") == 1  # a 500 to a write is not retried


# ------------------------------------------------------------------ operator
def _adaptive_flink(
    body: dict[str, Any], current: dict[str, Any], version: str, checkpoints: Any = CHECKPOINTS
) -> None:
    """A Flink with the adaptive scheduler, for the hook's (sync) calls."""
    responses.get(f"{URL}/jobs/{body['jid']}", json=body)
    responses.get(f"{URL}/overview", json={"flink-version": version})
    responses.get(f"{URL}/jobmanager/config", json=[{"key": "jobmanager.scheduler", "value": "adaptive"}])
    responses.get(f"{URL}/jobs/{body['jid']}/resource-requirements", json=current)
    responses.get(f"{URL}/jobs/{body['jid']}/checkpoints", json=checkpoints)
    responses.put(f"{URL}/jobs/{body['jid']}/resource-requirements", json={})
    responses.post(f"{URL}/jobs/{body['jid']}/checkpoints", status=202, json={"request-id": "x"})


def _waits(body: dict[str, Any], checkpoint: dict[str, Any], *jobs: dict[str, Any]) -> Any:
    """The waits' (async) answers: the checkpoint's status, and the job as it is seen in turn."""
    seen = iter(jobs)

    def handler(request: httpx.Request) -> httpx.Response:
        if "/checkpoints/" in request.url.path:
            return httpx.Response(200, json=checkpoint)
        return httpx.Response(200, json=next(seen))

    return handler


def _sent(*methods: str) -> list[str]:
    """The hook's requests that were not reads, in order."""
    return [
        f"{c.request.method} {c.request.path_url}" for c in responses.calls if c.request.method in methods
    ]


@pytest.mark.parametrize("version", VERSIONS)
@responses.activate
def test_operator_rescales_in_place_and_waits_for_the_new_parallelism(
    version: str, fake_flink: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    body = job(version)
    _adaptive_flink(body, recorded(f"flink-{version}-resource-requirements.json"), version)
    status = recorded(f"flink-{version}-checkpoint-trigger-status.json")
    fake_flink(_waits(body, status, at(body, 1), at(body, 2)))
    op = FlinkRescaleJobOperator(
        task_id="r",
        job_id=body["jid"],
        parallelism="2",
        deferrable=False,
        poll_interval=0.01,
        wait_timeout=10,
    )
    assert op.execute(task_context()) == body["jid"]
    # Flink's cooldown is said, not passed in silence
    assert (
        "applies it after its cooldown (30 s after the job's start or its last rescale"
        in capsys.readouterr().out
    )
    put = f"PUT /jobs/{body['jid']}/resource-requirements"
    # Flink 1.x rescales at once from the latest checkpoint: the task takes one right before.
    checkpoint = [f"POST /jobs/{body['jid']}/checkpoints"] if version.startswith("1.") else []
    assert _sent("POST", "PUT") == [*checkpoint, put]
    (request,) = [c.request for c in responses.calls if c.request.method == "PUT"]
    assert json.loads(request.body or b"") == requirements(1, 2).body()


@responses.activate
def test_a_checkpoint_that_fails_before_a_rescale_on_1_20_leaves_the_rescale_safe(fake_flink: Any) -> None:
    body = job("1.20.5")
    _adaptive_flink(body, requirements().body(), "1.20.5")
    failed = {
        "status": {"id": "COMPLETED"},
        "operation": {"failureCause": {"class": "x", "stack-trace": "x: declined"}},
    }
    fake_flink(_waits(body, failed, at(body, 2)))
    op = FlinkRescaleJobOperator(
        task_id="r", job_id=body["jid"], parallelism=2, deferrable=False, poll_interval=0.01, wait_timeout=10
    )
    assert op.execute(task_context()) == body["jid"]  # from the latest periodic checkpoint (id 13)
    assert _sent("POST", "PUT") == [
        f"POST /jobs/{body['jid']}/checkpoints",
        f"PUT /jobs/{body['jid']}/resource-requirements",
    ]


@pytest.mark.parametrize("version", VERSIONS)
@responses.activate
def test_operator_on_a_job_without_a_checkpoint_fails_for_a_retry_and_changes_nothing(
    version: str, fake_flink: Any
) -> None:
    body = job(version)
    none = {"counts": {}, "latest": {}}
    _adaptive_flink(body, requirements().body(), version, checkpoints=none)
    # 1.20: the checkpoint the task takes first fails (checkpointing is off), and the rescale is refused.
    failed = {
        "status": {"id": "COMPLETED"},
        "operation": {"failureCause": {"class": "x", "stack-trace": "x: off"}},
    }
    fake_flink(_waits(body, failed))
    op = FlinkRescaleJobOperator(
        task_id="r", job_id=body["jid"], parallelism=2, deferrable=False, poll_interval=0.01, wait_timeout=10
    )
    with pytest.raises(FlinkOperatorError) as info:  # not AirflowFailException: a retry may pass
        op.execute(task_context())
    assert not isinstance(info.value, AirflowFailException)
    assert str(info.value).startswith(
        f"Cannot rescale job {body['jid']} to parallelism 2 in place: the job has no completed checkpoint "
        "(none yet, or checkpointing is off), and Flink restarts a rescaled job from its latest "
        "checkpoint: it would lose its state. Nothing was changed."
    )
    assert _sent("PUT") == []


@responses.activate
def test_operator_retry_does_not_ask_again(fake_flink: Any) -> None:
    body = job("1.20.5", state="CREATED")  # mid-rescale, as 1.20.5 shows it
    _adaptive_flink(body, requirements(1, 2).body(), "1.20.5")
    fake_flink(_waits(body, {}, at({**body, "state": "RUNNING"}, 2)))
    op = FlinkRescaleJobOperator(
        task_id="r", job_id=body["jid"], parallelism=2, deferrable=False, poll_interval=0.01, wait_timeout=10
    )
    assert op.execute(task_context()) == body["jid"]
    assert _sent("POST", "PUT") == []  # neither a checkpoint nor the bounds again


@pytest.mark.parametrize("version", VERSIONS)
@responses.activate
def test_operator_on_a_default_scheduler_fails_saying_why_and_changes_nothing(version: str) -> None:
    body = job(version, "default")
    responses.get(f"{URL}/jobs/{body['jid']}", json=body)
    responses.get(f"{URL}/jobmanager/config", json=[])
    op = FlinkRescaleJobOperator(task_id="r", job_id=body["jid"], parallelism=2, deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    reason = NOT_ADAPTIVE_JOB if version == "2.3.0" else NOT_ADAPTIVE_CLUSTER
    assert str(info.value) == (
        f"Cannot rescale job {body['jid']} to parallelism 2 in place: {reason}. Nothing was changed. "
        "Change its parallelism with a savepoint upgrade instead: FlinkStopJobOperator, then "
        "FlinkDeployJobOperator with parallelism=2 and savepoint_path set to the stop's output (or "
        "declare the parallelism in the job's deployment spec and let the reconcile apply it)."
    )
    assert {c.request.method for c in responses.calls} == {"GET"}


@pytest.mark.parametrize(
    ("parallelism", "message"),
    [
        ("two", "parallelism must be a whole number, got 'two'"),
        ("0", "parallelism must be at least 1, got 0"),
        (None, "parallelism must be a whole number, got None"),
    ],
)
@responses.activate
def test_operator_bad_parallelism_fails_before_any_call(parallelism: Any, message: str) -> None:
    op = FlinkRescaleJobOperator(task_id="r", job_id="j", parallelism=parallelism, deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == message
    assert len(responses.calls) == 0


@responses.activate
def test_operator_holds_a_rescale_to_the_connections_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    use_flink_connection(monkeypatch, "flink.test", max_parallelism=4)
    op = FlinkRescaleJobOperator(task_id="r", job_id="j", parallelism=8, deferrable=False)
    with pytest.raises(AirflowFailException) as info:
        op.execute(task_context())
    assert str(info.value) == (
        "Cannot rescale job j: parallelism 8 is over the cap of 4 set on connection flink_default. "
        "Nothing was changed."
    )
    assert len(responses.calls) == 0


def test_operator_templates_job_id_and_parallelism() -> None:
    assert tuple(FlinkRescaleJobOperator.template_fields) == ("job_id", "parallelism")


@responses.activate
def test_the_example_in_docs_rescale_md_works(fake_flink: Any) -> None:
    """The page's DAG as written: the rescale task takes the deploy's job id and the rendered
    parallelism, and (with them rendered) rescales a job on a faked Flink 2.3.0."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "rescale.md").read_text()
    source = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(source, "docs/rescale.md", "exec"), namespace)  # noqa: S102 - the page's own code, as written
    dag = namespace["dag"]
    rescale = dag.get_task("rescale")
    assert isinstance(rescale, FlinkRescaleJobOperator)
    assert rescale.upstream_task_ids == {"deploy"}
    assert rescale.render_template(rescale.parallelism, {"params": dag.params}) == "2"
    body = job("2.3.0")
    _adaptive_flink(body, recorded("flink-2.3.0-resource-requirements.json"), "2.3.0")
    fake_flink(_waits(body, {}, at(body, 2)))
    rescale.job_id, rescale.parallelism = body["jid"], "2"  # as rendered from the deploy's XCom
    rescale.deferrable, rescale.poll_interval = False, 0.01
    assert rescale.execute(task_context()) == body["jid"]
    assert _sent("PUT") == [f"PUT /jobs/{body['jid']}/resource-requirements"]
