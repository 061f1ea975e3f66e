"""Flink 2.3 applications against the real local Flink, on every version.

The route is told by the cluster: on 2.3.0 the deploy operator submits through
``POST /jars/{id}/run-application`` (an application of the job's own id, named by the program's
entry class), on 1.20.5 through ``/jars/{id}/run``. On both:

* a job deployed by the operator runs under its recorded id;
* a ``main`` that fails gives Flink's cause (on 2.3.0 from the application's exceptions, as the 202
  answer carries none) and leaves nothing running;
* a submission whose answer is lost (the fault proxy forwards it, Flink acts, the answer is
  dropped) is adopted by its id: one job, no second copy.
"""

from __future__ import annotations

import re

import pytest

from airflow_provider_flink.client import FlinkApiError, calls
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.ids import application_id, new_id
from airflow_provider_flink.operators import FlinkDeployJobOperator
from airflow_provider_flink.triggers.conditions import is_healthy
from harness.fault_proxy import FaultProxy
from harness.job_jars import COUNTER_JOB
from harness.task_context import task_context
from tests.integration.conftest import Cluster, connection_json

pytestmark = pytest.mark.integration

RUN = r"/jars/[^/]+/run(?:-application)?"


def has_applications(flink: Cluster) -> bool:
    return not flink.version.startswith("1.")


@pytest.fixture
def conn(flink: Cluster, monkeypatch: pytest.MonkeyPatch) -> Cluster:
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_DEFAULT", connection_json(flink.flink.rest_url))
    return flink


def _deploy(flink: Cluster, task_id: str, *args: str, job_id: str | None = None) -> FlinkDeployJobOperator:
    return FlinkDeployJobOperator(
        task_id=task_id,
        jar=str(flink.jar),
        entry_class=COUNTER_JOB,
        args=list(args),
        job_id=job_id,
        wait_until_running=True,
        deferrable=False,
    )


def test_the_cluster_says_which_route_a_submission_takes_and_the_job_runs(conn: Cluster) -> None:
    assert FlinkHook().has_applications() is has_applications(conn)
    job_id = _deploy(conn, "apps_route", "--name", "apps-route").execute(task_context())
    assert is_healthy(conn.job(job_id))
    if has_applications(conn):
        # an application of the job's own id, named by the program (run would name it
        # "SingleJobApplication(<job name>)"), whose one job is this job
        app = conn.client.call(calls.application(job_id))
        assert app.name == COUNTER_JOB
        assert [job.jid for job in app.jobs] == [job_id]


def test_a_failing_main_gives_flinks_cause_and_leaves_nothing(conn: Cluster) -> None:
    """The same error type on both routes (Flink refused the program: a FlinkApiError, HTTP 400 or
    the application's end), with Flink's own cause."""
    before = conn.running_job_ids()
    with pytest.raises(FlinkApiError) as info:
        _deploy(conn, "apps_failing", "--rate", "fast").execute(task_context())
    cause = re.escape('java.lang.NumberFormatException: For input string: "fast".')
    if has_applications(conn):
        expected = (
            rf"Flink's application [0-9a-f]{{32}} of POST /jars/[^ ]+/run-application ended FAILED: {cause}"
        )
    else:
        expected = rf"Flink answered HTTP 400 to POST /jars/[^ ]+/run: {cause}"
    assert re.fullmatch(expected, str(info.value)), str(info.value)
    assert conn.running_job_ids() == before


def test_a_lost_answer_to_a_submission_is_adopted_by_its_id(flink: Cluster, proxy: FaultProxy) -> None:
    proxy.lose("POST", RUN)
    job_id = _deploy(flink, "apps_lost", "--name", "apps-lost").execute(task_context())
    assert any(event.startswith("lost the answer to POST /jars/") for event in proxy.events)
    posts = [path for method, path in proxy.requests if method == "POST" and "/run" in path]
    route = "run-application" if has_applications(flink) else "run"
    assert all(path.endswith(f"/{route}") for path in posts)
    assert is_healthy(flink.job(job_id))
    # one job of the deployment's name: the retry (or the settling read) did not start a second
    named = [j for j in flink.client.call(calls.jobs_overview()).jobs if j.name == "apps-lost"]
    assert [(j.jid, j.state.is_globally_terminal) for j in named] == [(job_id, False)]


def test_a_job_id_whose_main_failed_runs_the_fixed_program(conn: Cluster) -> None:
    """A main that failed before starting its job leaves the job id unused: deploying the fixed
    program under the same job id runs it (on 2.3.0 as the next application of that job id, since
    Flink never accepts an application id twice), as a /run retry does on 1.20.5."""
    job_id = new_id()
    with pytest.raises(FlinkApiError):
        _deploy(conn, "apps_fix_1", "--rate", "fast", job_id=job_id).execute(task_context())
    assert (
        _deploy(conn, "apps_fix_2", "--name", "apps-fixed", job_id=job_id).execute(task_context()) == job_id
    )
    assert is_healthy(conn.job(job_id))
    if has_applications(conn):
        assert conn.client.call(calls.application(job_id)).status.value == "FAILED"  # the first one's
        second = conn.client.call(calls.application(application_id(job_id, 1)))
        assert [job.jid for job in second.jobs] == [job_id]
