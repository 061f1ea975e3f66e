"""Desired against actual, field by field (``deployments.drift``): the fields named, both hashes,
and why nothing is done about a difference, as the planner judges it."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.artifacts.sql import RUNNER_JAR_SHA256
from airflow_provider_flink.client.models import JobOverview
from airflow_provider_flink.deployments.drift import declared_digest, judge
from airflow_provider_flink.deployments.fields import JOB_FIELDS, SHOWN_CHARS, FieldChange, field_changes
from airflow_provider_flink.deployments.planner import ClusterView
from airflow_provider_flink.deployments.records import (
    AppliedSpec,
    DeploymentRecord,
    FailedSpec,
    Hold,
    Rescaled,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec, spec_hash
from airflow_provider_flink.ids import transition_id

NOW = 1_800_000_000.0
DIGEST = "d" * 64


def spec(**fields: Any) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": "orders", "artifact": {"jar": "s3://jobs/orders.jar", "sha256": DIGEST}, "entry_class": "a.B",
         **fields}
    )  # fmt: skip


def running(applied: DeploymentSpec, healthy: bool = True) -> tuple[DeploymentRecord, ClusterView]:
    """A record whose job runs ``applied`` (stable), and the cluster showing that job."""
    digest = applied.artifact.sha256 or DIGEST
    hashed = spec_hash(applied, digest)
    job_id = transition_id(applied.name, hashed, None)
    applied_spec = AppliedSpec(spec_hash=hashed, spec=applied.model_dump(mode="json"))
    record = DeploymentRecord(
        name=applied.name, cluster=applied.cluster, status="running", current_job_id=job_id,
        applied=applied_spec, stable=applied_spec,
    )  # fmt: skip
    tasks = {"running": 2, "total": 2} if healthy else {"running": 0, "total": 2}
    job = JobOverview.model_validate(
        {
            "jid": job_id,
            "name": applied.name,
            "state": "RUNNING",
            "start-time": (NOW - 600) * 1000,
            "tasks": tasks,
        }
    )
    return record, ClusterView(applied.cluster, (job,))


def test_the_issues_drift_case_names_the_field_and_why_it_waits() -> None:
    """Declared parallelism 1 while the job runs at 2, the reconcile DAG paused."""
    record, view = running(spec(parallelism=2))
    found = judge(spec(parallelism=1), record, view, NOW, reconcile_paused=True)
    assert [c.text for c in found.changes] == ["parallelism: 2 -> 1 (declared)"]
    assert found.in_sync is False
    assert found.declared_hash == spec_hash(spec(parallelism=1), DIGEST)[:12]
    assert found.running_hash == spec_hash(spec(parallelism=2), DIGEST)[:12]
    assert (
        found.why_not_applied == "reconcile paused: the flink_reconcile DAG is paused, so no run applies it"
    )
    # What a run would do once unpaused: the planner's own step (only the parallelism changed).
    assert len(found.next_step) == 1
    assert found.next_step[0].startswith("rescale orders job ")
    assert "only the parallelism changed (2 -> 1)" in found.next_step[0]


def test_an_unpaused_reconcile_says_what_its_next_run_does_and_nothing_waits() -> None:
    record, view = running(spec(args=["--topic", "a"]))
    found = judge(spec(args=["--topic", "b"]), record, view, NOW)
    assert [c.text for c in found.changes] == ["args: ['--topic', 'a'] -> ['--topic', 'b'] (declared)"]
    assert found.why_not_applied is None
    assert [s.split(":")[0].split(" job ")[0] for s in found.next_step] == ["upgrade orders"]
    assert found.next_step[0].endswith("(savepoint): the declared spec changed")


def test_in_sync_names_nothing_and_plans_nothing() -> None:
    record, view = running(spec())
    found = judge(spec(), record, view, NOW, reconcile_paused=True)
    assert (found.changes, found.in_sync, found.next_step, found.why_not_applied) == ([], True, [], None)
    # A policy is not a job field: a changed one is applied without a new job, so no drift.
    found = judge(spec(savepoint_policy={"keep_last": 9}), record, view, NOW, reconcile_paused=True)
    assert (found.changes, found.in_sync, found.why_not_applied) == ([], True, None)


def test_a_blackout_window_and_a_failed_spec_are_the_planners_words() -> None:
    record, view = running(spec(parallelism=2))
    window = [{"daily": "00:00-23:59", "timezone": "UTC"}]
    found = judge(spec(parallelism=3, blackout_windows=window, upgrade_mode="stateless"), record, view, NOW)
    assert found.next_step == []
    assert found.why_not_applied is not None
    assert found.why_not_applied.startswith("the upgrade waits: ")
    declared = spec(parallelism=3)
    failed = record.model_copy(
        update={
            "failed_spec": FailedSpec(
                spec_hash=spec_hash(declared, DIGEST), reason="boom", failed_at=NOW - 60
            )
        }
    )
    found = judge(declared, failed, view, NOW)
    assert found.why_not_applied == (
        "the declared spec failed 60 s ago and was rolled back (boom); it is not applied again until the spec "
        "changes or a retry is asked (retry_failed='orders')"
    )


def test_a_held_deployment_says_the_declared_spec_runs_when_resumed() -> None:
    record, _ = running(spec(parallelism=2))
    held = record.model_copy(update={"hold": Hold(at=NOW), "status": "suspended"})
    found = judge(spec(parallelism=1), held, ClusterView("flink_default", ()), NOW)
    assert found.why_not_applied == "held suspended by a person: the declared spec runs when it is resumed"
    assert found.next_step == []


def test_an_unknown_digest_is_said_never_guessed() -> None:
    remote = {"jar": "s3://jobs/orders.jar"}  # not pinned, not a file here
    record, view = running(spec())
    same_fields = spec(artifact=remote)
    # The applied spec was pinned: the artifact's sha256 differs, a field the page can name.
    found = judge(same_fields, record, view, NOW)
    assert found.declared_hash is None
    assert found.declared_hash_note is not None
    assert "not pinned (artifact.sha256)" in found.declared_hash_note
    assert [c.field for c in found.changes] == ["artifact.sha256"]
    assert found.in_sync is False
    # Nothing the page can compare differs: not known, not "in sync".
    record, view = running(spec(artifact=remote))
    found = judge(spec(artifact=remote), record, view, NOW)
    assert (found.declared_hash, found.changes, found.in_sync, found.next_step) == (None, [], None, [])


def test_the_declared_digest_where_it_is_known_without_fetching(tmp_path: Path) -> None:
    assert declared_digest(spec()) == (DIGEST, None)
    sql = DeploymentSpec.model_validate({"name": "clicks", "sql": {"statements": "SELECT 1;"}})
    assert declared_digest(sql) == (RUNNER_JAR_SHA256, None)
    jar = tmp_path / "orders.jar"
    jar.write_bytes(b"one")
    local = spec(artifact={"jar": str(jar)})
    assert declared_digest(local) == (hashlib.sha256(b"one").hexdigest(), None)
    jar.write_bytes(b"two!")  # another size: read again
    os.utime(jar, ns=(1, 1))
    assert declared_digest(local) == (hashlib.sha256(b"two!").hexdigest(), None)
    missing = spec(artifact={"jar": str(tmp_path / "gone.jar")})
    assert declared_digest(missing)[0] is None


def test_mappings_are_compared_key_by_key_and_long_values_are_cut() -> None:
    before = spec(flink_config={"a": "1", "b": "2"}).model_dump(mode="json")
    after = spec(flink_config={"b": "3", "c": "4"}, args=["x" * 100])
    texts = [c.text for c in field_changes(after, before)]
    assert texts[1:] == [  # in the order of JOB_FIELDS
        "flink_config.a: 1 -> (none) (declared)",
        "flink_config.b: 2 -> 3 (declared)",
        "flink_config.c: (none) -> 4 (declared)",
    ]
    assert texts[0].startswith("args: [] -> ['xxx")
    assert texts[0].endswith("… (declared)")
    assert len(texts[0]) == len("args: [] -> ") + SHOWN_CHARS + len(" (declared)")
    assert field_changes(after, None) == []  # the applied fields are not known: none named


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("artifact", {"jar": "s3://jobs/other.jar", "sha256": DIGEST}),
        ("entry_class", "a.C"),
        ("args", ["--x"]),
        ("parallelism", 7),
        ("flink_config", {"k": "v"}),
    ],
)
def test_every_job_field_is_in_the_spec_hash(name: str, value: Any) -> None:
    """The fields named as drift are the ones a job is made of: each changes the hash (the
    artifact through its digest: another jar at another place is another digest)."""
    assert name in JOB_FIELDS
    changed = spec(**{name: value})
    digest = "e" * 64 if name == "artifact" else DIGEST
    assert spec_hash(changed, digest) != spec_hash(spec(), DIGEST)
    assert [c.field.split(".")[0] for c in field_changes(changed, spec().model_dump(mode="json"))] == [name]


def test_an_upgrade_a_person_must_approve_says_so_on_the_page() -> None:
    record, view = running(spec(parallelism=2))
    declared = spec(parallelism=1, upgrade_mode="stateless")
    found = judge(declared, record, view, NOW, cluster_requires=frozenset({"stateless-upgrade"}))
    assert found.next_step == ["ask-approval orders: upgrade needs a person's approval"]
    assert found.why_not_applied is not None
    assert found.why_not_applied.startswith("waiting for a person's approval (0 s ago): upgrade orders job ")
    # Without the connection's requirement (nor the spec's), the upgrade is the next step.
    assert judge(declared, record, view, NOW).next_step[0].startswith("upgrade orders job ")


def test_a_new_deployment_has_every_field_to_apply_and_its_first_deploy_next() -> None:
    found = judge(spec(parallelism=2), None, ClusterView("flink_default", ()), NOW)
    assert found.running_hash is None
    assert found.in_sync is False
    assert found.declared_hash == spec_hash(spec(parallelism=2), DIGEST)[:12]
    assert found.changes == []  # nothing applied yet to differ from
    assert [s.split(" -> ")[0] for s in found.next_step] == ["deploy orders"]
    assert found.why_not_applied is None


def test_an_unobserved_cluster_compares_with_the_record_and_does_nothing() -> None:
    record, _ = running(spec(parallelism=2))
    unseen = ClusterView("flink_default", None, "connection refused")
    found = judge(spec(parallelism=2), record, unseen, NOW)
    assert found.running_hash is None  # no job seen: the record's applied spec is compared
    assert found.in_sync is True
    assert found.next_step == []
    same = judge(spec(parallelism=3), record, unseen, NOW)
    assert same.in_sync is False
    assert (
        same.why_not_applied
        == "cluster flink_default could not be observed (connection refused): no action taken"
    )


def test_a_digest_given_is_the_one_hashed() -> None:
    record, view = running(spec())
    other = "e" * 64
    found = judge(spec(), record, view, NOW, digest=(other, None))
    assert found.declared_hash == spec_hash(spec(), other)[:12]
    assert found.in_sync is False  # the jar's content changed, the fields did not
    assert found.changes == []
    unknown = judge(spec(), record, view, NOW, digest=(None, "not known here: test"))
    assert (unknown.declared_hash, unknown.declared_hash_note, unknown.in_sync) == (
        None,
        "not known here: test",
        None,
    )


def test_a_job_rescaled_in_place_runs_the_spec_the_record_says_not_its_ids() -> None:
    record, view = running(spec(parallelism=2))
    [job] = view.jobs or ()
    now_at = spec(parallelism=3)
    hashed = spec_hash(now_at, DIGEST)
    rescaled = record.model_copy(
        update={
            "rescaled": Rescaled(job_id=job.jid, spec_hash=hashed),
            "applied": AppliedSpec(spec_hash=hashed, spec=now_at.model_dump(mode="json")),
            "stable": AppliedSpec(spec_hash=hashed, spec=now_at.model_dump(mode="json")),
        }
    )
    found = judge(now_at, rescaled, view, NOW)
    assert found.running_hash == hashed[:12] != job.jid[12:24]
    assert (found.in_sync, found.changes, found.next_step, found.why_not_applied) == (True, [], [], None)
    # The same job without the record's word: its id's spec, which is not the declared one.
    stale = judge(now_at, None, view, NOW)
    assert stale.running_hash == job.jid[12:24]
    assert stale.in_sync is False


def test_a_declared_suspended_deployment_says_so_and_a_pause_alone_is_not_a_reason() -> None:
    record, _ = running(spec(parallelism=2))
    stopped = record.model_copy(update={"status": "suspended"})
    nothing = ClusterView("flink_default", ())
    found = judge(spec(parallelism=1, state="suspended"), stopped, nothing, NOW)
    assert (found.in_sync, found.next_step) == (False, [])
    assert found.why_not_applied == "declared suspended: the declared spec runs when it is resumed"
    # The reconcile paused changes nothing of that: no run would apply it anyway.
    paused = judge(spec(parallelism=1, state="suspended"), stopped, nothing, NOW, reconcile_paused=True)
    assert (
        paused.why_not_applied == "reconcile paused: the flink_reconcile DAG is paused, so no run applies it"
    )
    # In sync and nothing to do: a pause is not worth a word.
    live, view = running(spec())
    assert judge(spec(), live, view, NOW, reconcile_paused=True).why_not_applied is None
    # Not in sync but nobody held it, nothing planned: nothing to say (no record: the first deploy).
    assert judge(spec(), None, ClusterView("flink_default", None, "down"), NOW).why_not_applied == (
        "cluster flink_default could not be observed (down): no action taken"
    )


def test_a_mapping_added_or_dropped_is_named_key_by_key_and_a_value_of_the_limit_is_not_cut() -> None:
    applied = spec().model_dump(mode="json")
    applied["flink_config"] = None  # an applied spec without the mapping
    changes = field_changes(spec(flink_config={"a": "1", "b": "2"}), applied)
    assert [c.text for c in changes] == [
        "flink_config.a: (none) -> 1 (declared)",
        "flink_config.b: (none) -> 2 (declared)",
    ]
    dropped = field_changes(spec(), {**spec().model_dump(mode="json"), "flink_config": {"a": "1"}})
    assert [c.text for c in dropped] == ["flink_config.a: 1 -> (none) (declared)"]
    # A value of exactly SHOWN_CHARS characters is shown whole; one more is cut to SHOWN_CHARS.
    whole = "x" * SHOWN_CHARS
    assert FieldChange("args", None, whole).text == f"args: (none) -> {whole} (declared)"
    cut = FieldChange("args", None, whole + "y").text
    assert cut == f"args: (none) -> {'x' * (SHOWN_CHARS - 1)}… (declared)"
