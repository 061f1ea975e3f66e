"""Upload a prepared job and run it: the one submission of operators and reconcile alike.

A jar job is the hook's ``upload_jar`` + ``submit_job`` (a duplicate id adopted, a lost answer
settled by the id: I1, I3). A Python job adds what Flink's answer does not say: its ``main`` runs
inside the JobManager before Flink answers, and when it raises, Flink answers HTTP 400 "Python
process exits with code: 1" with a Java stack only. So the provider

* finds the program's job by its chosen id: a ``main`` that raised after it had started the job
  (``execute_async``) leaves it running behind the 400; it is cancelled, never left behind;
* reads the Python traceback from the JobManager's output (``GET /jobmanager/stdout``), the last
  one that runs through one of the program's files, and puts it in the error.
"""

from __future__ import annotations

import logging
import time

from airflow_provider_flink.artifacts.prepare import PreparedArtifact
from airflow_provider_flink.artifacts.python_program import StagedProgram, python_failure
from airflow_provider_flink.client import FlinkApiError, models
from airflow_provider_flink.client.errors import FlinkError
from airflow_provider_flink.exceptions import FlinkRefusedError
from airflow_provider_flink.hooks.flink import FlinkHook

log = logging.getLogger(__name__)

# Flink's words when the program's Python process failed (PythonDriver), in 1.20 and 2.x.
PYTHON_EXIT = "Python process exits with code"
LEFTOVER_WAIT_SECONDS = 30.0


class PythonProgramError(FlinkRefusedError):
    """A Python program's ``main`` failed on the cluster (with its traceback where Flink kept one);
    nothing of it is left running. Running it again fails the same way: no retry."""


def submit_prepared(
    hook: FlinkHook, prepared: PreparedArtifact, request: models.JarRunRequest, display_name: str
) -> tuple[str, bool]:
    """Upload (once per digest) and run; returns the jar id and whether Flink already had the job
    (adopted). A Python program whose ``main`` failed raises :class:`PythonProgramError`."""
    jar_id = hook.upload_jar(prepared.path, prepared.sha256, display_name)
    try:
        return jar_id, hook.submit_job(jar_id, request)
    except FlinkApiError as err:
        if prepared.program is None or PYTHON_EXIT not in err.full_text:
            raise
        raise python_program_error(hook, prepared.program, request.job_id) from None


def python_program_error(hook: FlinkHook, program: StagedProgram, job_id: str | None) -> PythonProgramError:
    """The error of a ``main`` that failed: its traceback, and what became of a job it started."""
    left = _cancel_leftover(hook, job_id) if job_id else None
    names = tuple(f.name for f in program.files)
    try:
        traceback = python_failure(hook.jobmanager_stdout(), names)
    except FlinkError as err:
        log.warning("Could not read the JobManager's output for the Python traceback: %s", err)
        traceback = None
    where = (
        f":\n{traceback}"
        if traceback
        else ": Flink's answer carries no Python traceback and the JobManager's output (GET /jobmanager/stdout) "
        "shows none for this program; look in the JobManager's log"
    )
    return PythonProgramError(
        f"The Python program {program.program.module_name}'s main failed on Flink{left or ''}{where}"
    )


def _cancel_leftover(hook: FlinkHook, job_id: str) -> str | None:
    """Cancel the job a failed ``main`` had started (it runs behind the 400); say what was done."""
    try:
        job = hook.find_job(job_id)
        if job is None or job.state.is_globally_terminal:
            return " (no job of it was left running)"
        log.warning("The Python program's main failed after starting job %s: cancelling it", job_id)
        hook.cancel_job(job_id)
        deadline = time.monotonic() + LEFTOVER_WAIT_SECONDS
        while time.monotonic() < deadline:
            ended = hook.find_job(job_id)
            if ended is None or ended.state.is_globally_terminal:
                return f" after it had started job {job_id}, which was cancelled"
            time.sleep(0.5)
        return f" after it had started job {job_id}: cancel requested, not yet ended after {LEFTOVER_WAIT_SECONDS:.0f} s"
    except FlinkError as err:
        return f" (whether it left job {job_id} running is not known: {err}; check the cluster)"
