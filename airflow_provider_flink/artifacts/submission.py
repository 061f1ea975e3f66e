"""Upload a prepared job and run it: the one submission of operators and reconcile alike.

A jar job is the hook's ``upload_jar`` + ``submit_job`` (a duplicate id adopted, a lost answer
settled by the id: I1, I3), through ``run-application`` where the cluster has applications (Flink
2.3+) and ``/jars/{id}/run`` elsewhere. A Python job adds what Flink's answer does not say: its ``main`` runs
inside the JobManager before Flink answers, and when it raises, Flink answers HTTP 400 "Python
process exits with code: 1" with a Java stack only. So the provider

* reads the Python traceback from the JobManager's output (``GET /jobmanager/stdout``), the last
  one that runs through one of the program's files, and puts it in the error;
* adopts the job when that traceback is Flink refusing a second copy of it (a retry of a
  submission whose answer was lost runs the program again: the 400 does not say "duplicate");
* finds the program's job by its chosen id: a ``main`` that raised after it had started the job
  (``execute_async``) leaves it running behind the 400; it is cancelled, never left behind. A job
  of the id that the output cannot tie to this run is never cancelled on a guess.
"""

from __future__ import annotations

import logging
import time

from airflow_provider_flink.artifacts.prepare import PreparedArtifact
from airflow_provider_flink.artifacts.python_program import PythonFailure, StagedProgram, python_failure
from airflow_provider_flink.client import FlinkApiError, models
from airflow_provider_flink.client.errors import FlinkError
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.exceptions import FlinkOperatorError, FlinkRefusedError
from airflow_provider_flink.hooks.flink import FlinkHook, SubmitRoute
from airflow_provider_flink.triggers import FlinkJobTrigger, run_inline

log = logging.getLogger(__name__)

# Flink's words when the program's Python process failed (PythonDriver), in 1.20 and 2.x.
PYTHON_EXIT = "Python process exits with code"
NO_JOB = "No jobs included in application"
LEFTOVER_WAIT_SECONDS = 30.0


class PythonProgramError(FlinkRefusedError):
    """A Python program's ``main`` failed on the cluster (with its traceback where Flink kept one);
    nothing of it is left running. Running it again fails the same way: no retry."""


class PythonOutcomeUnknownError(FlinkOperatorError):
    """A Python program's run was answered with a failure while a job of its id runs, and the
    JobManager's output cannot tell whether that job is this run's (its main failed after starting
    it) or an earlier try's: the job is left alone (never cancelled on a guess); a retry adopts it."""


def submit_prepared(
    hook: FlinkHook, prepared: PreparedArtifact, request: models.JarRunRequest, display_name: str
) -> tuple[str, bool]:
    """Upload (once per digest) and run; returns the jar id and whether Flink already had the job
    (adopted). A Python program whose ``main`` failed raises :class:`PythonProgramError`."""
    jar_id = hook.upload_jar(prepared.path, prepared.sha256, display_name)
    # Where the JobManager's output ends now: a failure of this run is looked for after it, never
    # an earlier run's traceback of a file of the same name (the output outlives restarts).
    seen = _output_length(hook) if prepared.program is not None else None
    try:
        # A Python program goes through /jars/{id}/run on every Flink: its answer comes after the
        # program's main has finished, so a main that fails after starting its job is reported with
        # its traceback. Through run-application (2.3) the job shows RUNNING for ~0.6 s before the
        # failing application cancels it (measured): a deploy would look healthy, then cancelled.
        # Nor is its run sent again after its answer was lost (settled by the job id instead): a
        # second run beside the first can run the job in a MiniCluster inside the JobManager.
        python = prepared.program is not None
        route: SubmitRoute = "jar" if python else "auto"
        return jar_id, hook.submit_job(jar_id, request, route, repeatable=not python)
    except FlinkApiError as err:
        if prepared.program is None:
            raise
        program, job_id = prepared.program, request.job_id
        if NO_JOB in err.full_text:
            raise PythonProgramError(
                f'The Python program {program.program.module_name}\'s main ran and started no job (Flink: "{NO_JOB}"): '
                "it must build a job and call env.execute(...) (or execute_async) once"
            ) from None
        if PYTHON_EXIT not in err.full_text:
            raise
        failure = _python_output(hook, program, seen)
        if job_id and failure is not None and failure.duplicate:
            # A retry of a submission whose answer was lost: the program ran again and Flink refused
            # its second copy inside it (the marker is in the program's output, not in the 400).
            log.info("Flink already has job %s (the program's second run was refused): adopting it", job_id)
            return jar_id, True
        raise python_program_error(hook, program, job_id, failure) from None


def python_program_error(
    hook: FlinkHook, program: StagedProgram, job_id: str | None, failure: PythonFailure | None
) -> FlinkOperatorError:
    """The error of a ``main`` that failed: its traceback, and what became of a job it started."""
    traceback = failure.traceback if failure is not None else None
    left = ""
    if job_id:
        try:
            job = hook.find_job(job_id)
        except FlinkError as err:
            job, left = (
                None,
                f" (whether it left job {job_id} running is not known: {err}; check the cluster)",
            )
        if job is not None and not job.state.is_globally_terminal:
            if traceback is None:
                return PythonOutcomeUnknownError(
                    f"The Python program {program.program.module_name}'s run failed on Flink while job {job_id} "
                    "of its id runs, and the JobManager's output shows no traceback of this program: whether "
                    "the job is this run's or an earlier try's is not known, so it is left running (a retry "
                    "adopts it); look in the JobManager's log"
                )
            left = _cancel_leftover(hook, job_id)
        elif not left:
            left = " (no job of it was left running)"
    where = (
        f":\n{traceback}"
        if traceback
        else ": Flink's answer carries no Python traceback and the JobManager's output (GET /jobmanager/stdout) "
        "shows none for this program; look in the JobManager's log"
    )
    return PythonProgramError(
        f"The Python program {program.program.module_name}'s main failed on Flink{left}{where}"
    )


def _output_length(hook: FlinkHook) -> int | None:
    try:
        return len(hook.jobmanager_stdout())
    except FlinkError:
        return None  # not served (a console-logging JobManager): nothing to read later either


def _python_output(hook: FlinkHook, program: StagedProgram, seen: int | None) -> PythonFailure | None:
    """The program's last traceback in the JobManager's output since ``seen`` characters (None:
    not served, or none there). An output shorter than before was rotated: all of it is new."""
    if seen is None:
        return None
    try:
        stdout = hook.jobmanager_stdout()
    except FlinkError as err:
        log.warning("Could not read the JobManager's output for the Python traceback: %s", err)
        return None
    new = stdout[seen:] if len(stdout) >= seen else stdout
    return python_failure(new, tuple(f.name for f in program.files), program.program.module_name)


def _cancel_leftover(hook: FlinkHook, job_id: str) -> str:
    """Cancel the job a failed ``main`` had started (it runs behind the 400), waiting through the
    same job trigger every wait uses; say what was done."""
    log.warning("The Python program's main failed after starting job %s: cancelling it", job_id)
    try:
        hook.cancel_job(job_id)
    except FlinkError as err:
        return f" after it had started job {job_id}, whose cancel failed: {err}; check the cluster"
    trigger = FlinkJobTrigger(
        hook.flink_conn_id,
        job_id,
        time.time() + LEFTOVER_WAIT_SECONDS,
        target="states",
        states=[JobState.CANCELED.value, JobState.FINISHED.value, JobState.FAILED.value],
        poll_interval=0.5,
    )
    event = run_inline(trigger)
    if event.ok:
        return f" after it had started job {job_id}, which was cancelled"
    return f" after it had started job {job_id}: cancel requested, not ended: {event.message}"
