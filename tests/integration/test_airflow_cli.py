"""Connections stored the way users store them (``airflow connections add``: the metadata DB, no
``AIRFLOW_CONN_*`` variable), under ``airflow dags test`` and ``airflow tasks test``.

Both commands run the task under an in-process supervisor that answers only the sync connection
lookup. The wait a task runs in-line used the async one: ``The conn_id 'flink_default' isn't
defined`` at the first wait, even with ``deferrable=False``, while the job it had just submitted
ran on to FINISHED.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_flink.client import calls
from airflow_provider_flink.client.models import JobState
from harness.job_jars import COUNTER_JOB
from tests.integration.conftest import Cluster, airflow_cli

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("command", "deferrable"),
    [("tasks", False), ("dags", False), ("dags", True)],
    ids=["tasks-test", "dags-test", "dags-test-deferred"],
)
def test_a_connection_in_the_metadata_db_serves_cli_runs(
    airflow: Cluster, db_connection: dict[str, str], command: str, deferrable: bool
) -> None:
    before = {j.jid for j in airflow.client.call(calls.jobs_overview()).jobs}
    env = {**db_connection, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": str(deferrable)}
    args = (
        ["tasks", "test", "flink_batch_job", "run_batch"]
        if command == "tasks"
        else ["dags", "test", "flink_batch_job"]
    )
    done = airflow_cli(*args, env=env)
    output = done.stdout + done.stderr
    assert "isn't defined" not in output, output[-3000:]
    new = [j for j in airflow.client.call(calls.jobs_overview()).jobs if j.jid not in before]
    assert [j.state for j in new] == [JobState.FINISHED], output[-3000:]
    assert "new_state=success" in output, output[-3000:]  # the task succeeded, not only the job


SCRIPT = """
import json, sys
from pathlib import Path
from airflow_provider_flink.deployments import MemoryRecordStore, reconcile
from airflow_provider_flink.hooks import FlinkHook

folder = Path(sys.argv[1])
report = reconcile(folder, MemoryRecordStore(), dry_run=True)
print(json.dumps({
    "test": FlinkHook().test_connection(),
    "missing": FlinkHook("flink_nowhere").test_connection(),
    "actions": [entry.actions for entry in report.deployments],
    "problems": report.problems,
}))
"""


def test_a_script_finds_a_connection_in_the_metadata_db(
    airflow: Cluster, db_connection: dict[str, str], tmp_path: Path
) -> None:
    """docs/deployments.md's "Outside a DAG" and docs/connection.md's ``test_connection()``, as a
    script runs them: no task around it, the connection added with ``airflow connections add``."""
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "scripted.yaml").write_text(
        f"name: scripted\nartifact: {{jar: {airflow.jar}}}\nentry_class: {COUNTER_JOB}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder)],
        env=db_connection, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    ok, message = answer["test"]
    assert ok, message
    assert message.startswith(f"Connected to Flink {airflow.version}: ")
    assert answer["missing"] == [
        False,
        "Connection flink_nowhere is not defined: add it (airflow connections add flink_nowhere "
        "--conn-type flink --conn-host <jobmanager> --conn-port 8081)",
    ]
    assert answer["problems"] == []
    [actions] = answer["actions"]  # planned against the real cluster (a dry run: nothing started)
    assert len(actions) == 1, actions
    assert actions[0].startswith("deploy scripted"), actions
