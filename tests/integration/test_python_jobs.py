"""Python (PyFlink) jobs through the provider against the real local Flink, on every version.

The cluster runs Python jobs (``LocalFlink(python=True)``: a Python with ``apache-flink`` of its
version for the JobManager and the TaskManager). The jobs are ``harness/python``'s: the Python
counter (keyed state, read as Flink's vertex metric like the Java counter), a package run as a
module, a ``main`` that raises, and one that raises after it started its job. What is checked:

* the operator verifies and stages the files, submits the driver with them, the job runs under
  its recorded id and counts; a savepoint of it completes;
* a deployment spec with ``python:`` (a module in a zipped package, its Python map running in the
  TaskManager) is deployed by the reconcile, then upgraded with its state: the new job restores
  the savepoint and its count goes on;
* a ``main`` that raises fails the task with its Python traceback, and nothing runs; one that
  raises after starting its job: the job is cancelled, the error says so.
"""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml

from airflow_provider_flink.artifacts.submission import PythonProgramError
from airflow_provider_flink.client import calls
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.deployments import reconcile
from airflow_provider_flink.deployments.stores import MemoryRecordStore
from airflow_provider_flink.ids import deployment_prefix
from airflow_provider_flink.operators import FlinkPythonJobOperator, FlinkSavepointOperator
from airflow_provider_flink.triggers.conditions import is_healthy
from harness.pyflink_env import PYTHON_JOBS
from harness.task_context import task_context
from tests.integration.conftest import Cluster, connection_json, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def staged(flink: Cluster, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``flink_default`` with a staging folder on the cluster's disk (the harness's "shared" path)."""
    stage = flink.flink.workdir / "python-staging"
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_DEFAULT", connection_json(flink.flink.rest_url, python_staging_dir=str(stage))
    )
    return stage


def every_job(flink: Cluster) -> dict[str, JobState]:
    return {j.jid: j.state for j in flink.client.call(calls.jobs_overview()).jobs}


def counted(flink: Cluster, job_id: str, at_least: float) -> float:
    """The Python counter's gauge (it moves at each checkpoint, every 2 s) once it reaches ``at_least``."""
    return float(
        wait_for(
            f"counter of {job_id} >= {at_least}",
            lambda: (c := flink.counter(job_id)) >= at_least and c,
            60,
        )
    )


def test_the_operator_stages_the_program_runs_it_and_takes_a_savepoint(flink: Cluster, staged: Path) -> None:
    entry = PYTHON_JOBS / "counter_job.py"
    op = FlinkPythonJobOperator(
        task_id="py_counter",
        python_file=str(entry),
        python_file_sha256=hashlib.sha256(entry.read_bytes()).hexdigest(),
        args=["--rate", "50", "--name", "py-counter-op"],
        deferrable=False,
    )
    job_id = op.execute(task_context())
    job = flink.job(job_id)
    assert is_healthy(job)
    assert job.name == "py-counter-op"  # the program's own arguments reached its main
    digest = hashlib.sha256(entry.read_bytes()).hexdigest()
    assert (staged / digest / "counter_job.py").read_bytes() == entry.read_bytes()
    assert counted(flink, job_id, 1) >= 1  # the Python KeyedProcessFunction counts in the TaskManager
    location = FlinkSavepointOperator(task_id="sp", job_id=job_id, deferrable=False).execute(task_context())
    assert (Path(location.removeprefix("file:")) / "_metadata").is_file()
    assert every_job(flink)[job_id] == JobState.RUNNING


def test_a_failing_main_gives_its_traceback_and_leaves_nothing(flink: Cluster, staged: Path) -> None:
    before = every_job(flink)
    op = FlinkPythonJobOperator(
        task_id="py_failing", python_file=str(PYTHON_JOBS / "failing_main.py"), deferrable=False
    )
    with pytest.raises(PythonProgramError) as info:
        op.execute(task_context())
    message = str(info.value)
    assert message.startswith(
        "The Python program failing_main's main failed on Flink (no job of it was left running):\n"
        "Traceback (most recent call last):\n"
    )
    assert 'failing_main.py", line ' in message
    assert message.endswith("ValueError: py main failing on purpose")
    assert every_job(flink) == before  # nothing was started


def test_a_main_failing_after_it_started_its_job_leaves_no_job_running(flink: Cluster, staged: Path) -> None:
    op = FlinkPythonJobOperator(
        task_id="py_failing_after", python_file=str(PYTHON_JOBS / "failing_after_submit.py"), deferrable=False
    )
    with pytest.raises(PythonProgramError) as info:
        op.execute(task_context())
    message = str(info.value)
    job_id = message.split("after it had started job ", 1)[1].split(",", 1)[0]
    assert message.startswith(
        f"The Python program failing_after_submit's main failed on Flink after it had started job {job_id}, "
        "which was cancelled:\nTraceback (most recent call last):\n"
    )
    assert message.endswith("RuntimeError: py main failing on purpose after submitting its job")
    assert every_job(flink)[job_id] == JobState.CANCELED
    assert flink.running_job_ids() == set()


def _package(folder: Path) -> Path:
    """harness/python/pyjobs as a zip: a package goes to Flink as a .zip on the PYTHONPATH."""
    archive = folder / "pyjobs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for source in sorted((PYTHON_JOBS / "pyjobs").glob("*.py")):
            zf.write(source, f"pyjobs/{source.name}")
    return archive


def test_a_python_deployment_is_reconciled_and_upgraded_with_its_state(
    flink: Cluster, staged: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "deployments"
    folder.mkdir()
    shutil.copy(PYTHON_JOBS / "counter_job.py", folder / "counter_job.py")
    _package(folder)
    store = MemoryRecordStore()

    def declare(tag: str) -> None:
        spec = {
            "name": "py-orders",
            # The entry file beside the spec; the zipped package beside it too, imported by the
            # counting function in the TaskManager's Python (--with-package).
            "python": {"file": "counter_job.py", "files": ["pyjobs.zip"]},
            "args": ["--rate", "50", "--tag", tag, "--name", f"py-orders-{tag}", "--with-package"],
            "health_timeout_seconds": 90,
        }
        (folder / "py-orders.yaml").write_text(yaml.safe_dump(spec))

    def live() -> str:
        prefix = deployment_prefix("py-orders")
        (job,) = [
            j
            for j, state in every_job(flink).items()
            if j.startswith(prefix) and not state.is_globally_terminal
        ]
        return job

    declare("v1")
    first = reconcile(folder, store)
    assert first.errors == []
    assert first.deployment("py-orders").kinds == ["deploy"]
    v1 = live()
    assert flink.job(v1).name == "py-orders-v1"
    before = counted(flink, v1, 30)

    declare("v2")  # a new version of the program: upgraded with a savepoint, its count goes on
    second = reconcile(folder, store)
    assert second.errors == []
    assert second.deployment("py-orders").kinds == ["upgrade"]
    v2 = live()
    assert v2 != v1
    assert every_job(flink)[v1] == JobState.FINISHED  # stopped with a savepoint
    assert flink.job(v2).name == "py-orders-v2"
    restored = wait_for(
        f"restore info of {v2}", lambda: flink.client.call(calls.job_checkpoints(v2)).latest.restored, 60
    )
    assert restored.is_savepoint
    assert counted(flink, v2, before + 1) > before  # the keyed count went on from the savepoint

    third = reconcile(folder, store)  # the same spec: nothing to do
    assert third.deployment("py-orders").kinds == []
    assert live() == v2
