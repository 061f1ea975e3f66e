"""Blackout windows and the checkpoint-age guard against the real local Flink (both versions)."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_provider_flink.client import calls
from airflow_provider_flink.client.models import JobState
from tests.integration.conftest import Cluster, wait_for
from tests.integration.test_reconcile import Deployments, _actions

pytestmark = pytest.mark.integration


@pytest.fixture
def deployments(airflow: Cluster, tmp_path: Path) -> Deployments:
    folder = tmp_path / "deployments"
    folder.mkdir()
    return Deployments(folder, airflow)


def _around_now(before: int = 5, after: int = 30) -> str:
    """A daily range in UTC that holds now ("HH:MM-HH:MM"; past midnight when now is near it)."""
    now = datetime.now(timezone.utc)
    return f"{(now - timedelta(minutes=before)):%H:%M}-{(now + timedelta(minutes=after)):%H:%M}"


def test_an_upgrade_in_a_blackout_window_waits_then_goes_through(deployments: Deployments) -> None:
    deployments.declare("windowed")
    deployments.run()
    old = deployments.the_job("windowed")
    before = deployments.counted(old, 30)
    window = _around_now()
    deployments.declare("windowed", parallelism=2, blackout_windows=[{"daily": window}])
    summary = deployments.run()
    assert summary.errors == []
    entry = summary.deployment("windowed")
    assert entry.actions == []
    # Until the window's end, on the day it falls (the next one when the range passes midnight).
    assert entry.skipped is not None
    assert entry.skipped.startswith(f"the upgrade waits: blackout window daily {window} (UTC) until 20")
    assert entry.skipped.endswith(f" {window.split('-')[1]} UTC")
    assert deployments.the_job("windowed") == old  # untouched: no savepoint, no restart
    assert {v.parallelism for v in deployments.flink.job(old).vertices} == {1}
    assert deployments.record("windowed").savepoints == []
    deployments.declare("windowed", parallelism=2)  # the window is gone (or over)
    assert _actions(deployments.run(), "windowed") == ["upgrade"]
    new = deployments.the_job("windowed")
    assert {v.parallelism for v in deployments.flink.job(new).vertices} == {2}
    assert deployments.restored_from(new).is_savepoint
    assert deployments.counted(new, 1) >= before


def test_a_restore_from_a_checkpoint_older_than_the_guard_is_refused_until_the_limit_allows_it(
    deployments: Deployments,
) -> None:
    """A job cancelled outside the provider: its newest state is a retained checkpoint. Older than
    the spec allows, it is not restored silently: the run refuses, says why, starts nothing."""
    limit = 0.05  # 3 s: the counter job checkpoints every 2 s, so only an ended job's is older
    deployments.declare("aged", max_checkpoint_age_minutes=limit)
    deployments.run()
    old = deployments.the_job("aged")
    deployments.counted(old, 30)
    checkpoint = wait_for(
        f"a completed checkpoint of {old}",
        lambda: deployments.flink.client.call(calls.job_checkpoints(old)).latest.completed,
    )
    deployments.flink.client.call(calls.cancel_job(old))
    deployments.flink.wait_state(old, JobState.CANCELED)
    time.sleep(limit * 60 + 1)
    summary = deployments.run()
    entry = summary.deployment("aged")
    # Refused before anything is planned (the observe step gathers the newest snapshot): no action.
    assert (entry.kinds, entry.done) == ([], [])
    # The id is the newest one Flink completed before the cancel (later than the one read above).
    assert re.fullmatch(
        rf"resume refused: the newest state is checkpoint (\d+) of job {old}, \d+\.\d min old, older "
        r"than max_checkpoint_age_minutes=0\.05: not restoring from it silently; restore it by hand, or "
        r"raise the limit in the spec",
        entry.refused or "",
    ), entry.refused
    assert deployments.live_jobs("aged") == []  # nothing started without its state
    deployments.declare("aged", max_checkpoint_age_minutes=60)
    assert _actions(deployments.run(), "aged") == ["resume"]
    resumed = deployments.the_job("aged")
    restored = deployments.restored_from(resumed)
    # The retained checkpoint, now within the limit (Flink marks any restore given as a savepoint
    # path "is_savepoint"; the path says what it is).
    assert f"/{old}/chk-" in restored.external_path
    assert int(restored.external_path.rsplit("chk-", 1)[1]) >= checkpoint.id


def test_a_last_state_upgrade_under_the_age_guard_takes_a_savepoint_of_the_running_job(
    deployments: Deployments,
) -> None:
    """The guard never falls back to no state: a job that runs gives a fresh savepoint instead."""
    deployments.declare("aged-upgrade", upgrade_mode="last-state", max_checkpoint_age_minutes=0.01)
    deployments.run()
    old = deployments.the_job("aged-upgrade")
    before = deployments.counted(old, 30)
    deployments.declare(
        "aged-upgrade", upgrade_mode="last-state", max_checkpoint_age_minutes=0.01, parallelism=2
    )
    summary = deployments.run()
    assert summary.errors == []
    new = deployments.the_job("aged-upgrade")
    restored = deployments.restored_from(new)
    assert restored.is_savepoint
    assert restored.external_path == deployments.record("aged-upgrade").savepoints[-1].path
    assert deployments.counted(new, 1) >= before
