"""The README's demo command works: ./scripts/demo against its own local Flink, stopped afterwards."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.flink_cluster import STATE_FILE, LocalFlink

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_scripts_demo_runs_the_lifecycle_and_says_where_to_look(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(DEMO_RUN_DIR=str(tmp_path), FLINK_VERSION="2.3.0")
    try:
        done = subprocess.run(
            [str(ROOT / "scripts" / "demo")],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            check=False,
        )
        out = done.stdout
        assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
        assert "DAG flink_job_lifecycle: success" in out
        for step in (
            "cluster_healthy",
            "deploy",
            "savepoint",
            "stop_with_savepoint",
            "redeploy_from_savepoint",
        ):
            assert f"  {step} " in out
        assert "the upgraded job started from file:" in out
        assert "Flink web UI:   http://127.0.0.1:" in out
        assert "    plan: deploy demo-counter -> " in out
        assert "(savepoint): the declared spec changed" in out
        assert ": state kept" in out
        assert (
            f"Stop Flink:     .venv/bin/python -m harness.flink_cluster stop --dir {tmp_path / 'demo-flink'}"
            in out
        )
    finally:
        if (tmp_path / "demo-flink" / STATE_FILE).exists():
            LocalFlink.load(tmp_path / "demo-flink").stop()
