"""The local Flink harness stops what it started when a start fails part-way (no JVM needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import flink_cluster
from harness.flink_cluster import HarnessError, LocalFlink


def test_a_taskmanager_that_cannot_be_launched_does_not_leave_the_jobmanager_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen: a TaskManager whose memory settings Flink refused (BashJavaUtils) left its JobManager
    running for 40 minutes after the failed start."""
    launched: list[str] = []
    stopped: list[list[str]] = []

    def launch(self: LocalFlink, role: str) -> int:
        if role == "taskmanager":
            raise HarnessError("BashJavaUtils GET_TM_RESOURCE_PARAMS failed")
        launched.append(role)
        self.pids[role] = 4242
        return 4242

    monkeypatch.setattr(flink_cluster, "java_tool", lambda name: "java")
    monkeypatch.setattr(flink_cluster, "install_flink", lambda version: tmp_path)
    monkeypatch.setattr(LocalFlink, "write_config", lambda self: None)
    monkeypatch.setattr(LocalFlink, "_launch", launch)
    monkeypatch.setattr(LocalFlink, "stop", lambda self, grace=30.0: stopped.append(sorted(self.pids)))
    with pytest.raises(HarnessError, match="BashJavaUtils"):
        LocalFlink(workdir=tmp_path).start()
    assert launched == ["jobmanager"]
    assert stopped == [["jobmanager"]]  # stopped, with the JobManager it had launched
