"""The crash campaign's CI sample: every kind once per Flink version (the full campaign:
``python -m faults.campaign``, figures in docs/reliability.md).

Each trial kills a real reconcile process at a named step (SIGKILL), runs the next reconcile,
and checks Flink itself: one live job, started from the newest snapshot the old job completed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.campaign import KINDS, run_trial
from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", list(KINDS))
def test_crash_trial(flink: Cluster, tmp_path: Path, kind: str) -> None:
    verdict = run_trial(flink.flink, flink.jar, tmp_path, kind, seed=list(KINDS).index(kind))  # a name each
    assert verdict.ok, verdict.detail
