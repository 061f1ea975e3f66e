"""The campaign's named steps: nothing happens unless the environment names the step."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from airflow_provider_flink import crashpoints


def test_a_step_nobody_named_runs_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(crashpoints.ENV, "submit:requested")
    monkeypatch.setenv(crashpoints.PAUSE_ENV, "stop:requested@/nonexistent")
    crashpoints.reach("submit:recorded")  # neither named: returns at once


def test_a_paused_step_waits_for_the_gate_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(crashpoints.ENV, raising=False)
    monkeypatch.setenv(crashpoints.PAUSE_ENV, f"stop:recorded@{tmp_path}")
    done = threading.Event()
    worker = threading.Thread(target=lambda: (crashpoints.reach("stop:recorded"), done.set()))
    worker.start()
    deadline = time.monotonic() + 5
    while not (tmp_path / "paused").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert (tmp_path / "paused").exists()
    assert not done.wait(0.2)  # held at the step
    (tmp_path / "resume").touch()
    assert done.wait(5)
    worker.join()
    (tmp_path / "resume").unlink()
    crashpoints.reach("stop:recorded")  # the second time runs through


def test_several_steps_pause_each_at_its_own_gate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "resume").touch()
    (second / "resume").touch()
    monkeypatch.setattr(crashpoints, "_paused", set())
    monkeypatch.setenv(crashpoints.PAUSE_ENV, f"deploy-task:requested@{first},savepoint:requested@{second}")
    crashpoints.reach("savepoint:requested")
    assert (second / "paused").exists()
    assert not (first / "paused").exists()
    crashpoints.reach("deploy-task:requested")
    assert (first / "paused").exists()
