"""What Flink itself does with Python programs run over REST, for the provider's design: two jobs
in one program.

On the shared local cluster (``LocalFlink(python=True)``), a program is submitted as any uploaded
jar (a jar holding only a manifest) with Flink's ``PythonDriver`` as entry class, through the
project's REST client, on each version:

* two ``execute_async`` in one program: with a chosen job id only the first job runs under it
  (2.3 refuses the second, the program fails: 400; 1.20 answers 200 and silently never submits
  the second); without one, both run (what Flink 2.3's applications change: issue 22);

The provider's own Python jobs are tested in test_python_jobs.py.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

import pytest

from airflow_provider_flink.client import FlinkApiError, calls, models
from airflow_provider_flink.ids import new_id
from harness.flink_cluster import PYTHON_DRIVER
from harness.pyflink_env import PYTHON_JOBS, driver_jar
from tests.integration.conftest import Cluster, wait_for

pytestmark = pytest.mark.integration

JOBS = PYTHON_JOBS  # harness/python
COUNTER = str(JOBS / "counter_job.py")
RATE = 50  # records per second of the Python counter job
EXITS = "Python process exits with code: 1"


@pytest.fixture(scope="module")
def driver_jar_id(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The tiny jar uploaded to the shared cluster once per version; deleted afterwards."""
    jar = driver_jar(tmp_path_factory.mktemp("pyjar") / "pyflink-driver.jar")
    jar_id = cluster.client.call(calls.upload_jar(jar)).jar_id
    yield jar_id
    cluster.client.call(calls.delete_jar(jar_id))


@pytest.fixture
def py(flink: Cluster, driver_jar_id: str) -> Cluster:
    """The shared cluster with the tiny jar as its jar (every job a test leaves is cancelled)."""
    return Cluster(flink.flink, flink.client, flink.jar, driver_jar_id)


def submit(
    py: Cluster,
    args: list[str],
    *,
    job_id: str | None = None,
    savepoint_path: str | None = None,
    flink_configuration: dict[str, str] | None = None,
) -> models.JobSubmitted:
    """Run a Python program (PythonDriver) from the tiny jar through the project's REST client."""
    request = models.JarRunRequest(
        entry_class=PYTHON_DRIVER,
        program_args=args,
        job_id=job_id,
        savepoint_path=savepoint_path,
        flink_configuration=flink_configuration,
    )
    return py.client.call(calls.run_jar(py.jar_id, request, py.version))


def refused(py: Cluster, args: list[str], job_id: str) -> FlinkApiError:
    """The FlinkApiError of a run that Flink answers with an error."""
    with pytest.raises(FlinkApiError) as caught:
        submit(py, args, job_id=job_id)
    return caught.value


def stdout(py: Cluster) -> str:
    """``GET /jobmanager/stdout``: the JobManager process's stdout, where the Python programs print."""
    with urllib.request.urlopen(f"{py.flink.rest_url}/jobmanager/stdout", timeout=10) as resp:  # noqa: S310 - our own URL
        return str(resp.read().decode())


def test_two_jobs_in_one_python_program(py: Cluster) -> None:
    # With a chosen job id both execute_async calls get that id.
    job_id = new_id()
    args = ["-py", str(JOBS / "two_jobs.py"), "--names", "py-a1,py-b1"]
    if py.version.startswith("1."):
        # 1.20: 200, and the second call returns the first job's client (same id): the second job
        # is silently never submitted.
        assert submit(py, args, job_id=job_id).jobid == job_id
        assert f"submitted py-b1 as {job_id}" in stdout(py)
    else:
        # 2.3: the second submission is refused (DuplicateApplicationSubmissionException), the
        # program fails: 400, while the first job runs under the id.
        error = refused(py, args, job_id=job_id)
        assert error.status == 400
        assert "DuplicateApplicationSubmissionException" in stdout(py)
    assert py.wait_state(job_id, models.JobState.RUNNING, timeout=30).name == "py-a1"
    assert "py-b1" not in {j.name for j in py.client.call(calls.jobs_overview()).jobs}
    py.cancel_all()

    # Without one: 200 naming the first job; both run.
    first = submit(py, ["-py", str(JOBS / "two_jobs.py"), "--names", "py-a2,py-b2"]).jobid

    def both() -> dict[str, str] | None:
        jobs = {
            j.name: j.jid
            for j in py.client.call(calls.jobs_overview()).jobs
            if j.state == models.JobState.RUNNING
        }
        return jobs if {"py-a2", "py-b2"} <= set(jobs) else None

    running = wait_for("both jobs of the program running", both, 30)
    assert running["py-a2"] == first
    assert running["py-b2"] != first
