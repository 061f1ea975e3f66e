"""The crash and race campaign's CI sample (the full campaign, every kind on both Flink versions:
``python -m faults.campaign``, figures in docs/reliability.md).

Each trial faults a real reconcile process (SIGKILL at a named step, or two runs started
together), runs the next reconcile, and checks Flink itself: one live job, started from the
newest snapshot the old job completed, the record agreeing with Flink. The sample spreads its
kinds over the Flink versions under test, so the suite stays within its time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faults.campaign import CI_SAMPLE, run_trial
from tests.integration.conftest import VERSIONS, Cluster

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("kind", CI_SAMPLE)
def test_fault_trial(flink: Cluster, database: str, tmp_path: Path, kind: str) -> None:
    position = CI_SAMPLE.index(kind)
    if VERSIONS[position % len(VERSIONS)] != flink.flink.version:
        pytest.skip(f"CI sample: {kind} runs on Flink {VERSIONS[position % len(VERSIONS)]} in this suite")
    verdict = run_trial(flink.flink, flink.jar, tmp_path, kind, position, database)  # a deployment name each
    assert verdict.ok, verdict.detail
