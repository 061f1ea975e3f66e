"""One description of each Flink REST call, shared by the sync and the async transport.

A :class:`Call` says what to send (method, path, query, JSON body or a file to upload), how to
read the answer (``parse``) and whether it is safe to send again when its outcome is unknown
(``idempotent``). The transports only move bytes; nothing here is written twice.

Reads are idempotent. Writes are idempotent only when the caller made them so: a run with a
caller-chosen ``jobId`` (Flink refuses a second copy), a savepoint or stop with a caller-chosen
``triggerId``, a cancel (repeating it is harmless). A jar upload is not: a lost answer followed by
a retry would store the jar twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from airflow_provider_flink.client import models as m

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    params: dict[str, str] | None = None
    body: Any = None
    upload: Path | None = None
    upload_name: str | None = None
    idempotent: bool = True
    text: bool = False  # the answer is plain text (a log), given to parse as it is

    @property
    def description(self) -> str:
        return f"{self.method} {self.path}"


def _none(_: Any) -> None:
    return None


def _seg(value: str) -> str:
    """A path segment from user input, quoted so it cannot change the path."""
    return quote(value, safe="")


# ---------------------------------------------------------------------------- cluster
def overview() -> Call[m.ClusterOverview]:
    return Call("GET", "/overview", m.ClusterOverview.model_validate)


def jobmanager_config() -> Call[m.JobManagerConfig]:
    return Call("GET", "/jobmanager/config", m.JobManagerConfig.model_validate)


def jobmanager_stdout() -> Call[str]:
    """The JobManager's standard output (``<log dir>/jobmanager.out``): where a Python program's
    ``main`` prints, and its traceback when it fails (Flink's answer to the run carries none)."""
    return Call("GET", "/jobmanager/stdout", str, text=True)


def taskmanagers() -> Call[m.TaskManagers]:
    return Call("GET", "/taskmanagers", m.TaskManagers.model_validate)


# ---------------------------------------------------------------------------- jobs
def jobs_overview() -> Call[m.JobsOverview]:
    return Call("GET", "/jobs/overview", m.JobsOverview.model_validate)


def job(job_id: str) -> Call[m.JobDetail]:
    return Call("GET", f"/jobs/{_seg(job_id)}", m.JobDetail.model_validate)


def job_config(job_id: str) -> Call[m.JobConfig]:
    return Call("GET", f"/jobs/{_seg(job_id)}/config", m.JobConfig.model_validate)


def job_exceptions(job_id: str) -> Call[m.JobExceptions]:
    return Call("GET", f"/jobs/{_seg(job_id)}/exceptions", m.JobExceptions.model_validate)


def job_checkpoints(job_id: str) -> Call[m.JobCheckpoints]:
    return Call("GET", f"/jobs/{_seg(job_id)}/checkpoints", m.JobCheckpoints.model_validate)


def checkpoint_config(job_id: str) -> Call[m.CheckpointConfig]:
    return Call("GET", f"/jobs/{_seg(job_id)}/checkpoints/config", m.CheckpointConfig.model_validate)


def job_metrics(job_id: str, names: list[str]) -> Call[m.Metrics]:
    """Job-level metrics by name (numRestarts, lastCheckpointDuration, ...)."""
    return Call(
        "GET", f"/jobs/{_seg(job_id)}/metrics", m.Metrics.model_validate, params={"get": ",".join(names)}
    )


def vertex_metrics(job_id: str, vertex_id: str, names: list[str]) -> Call[m.AggregatedMetrics]:
    """Metrics of a vertex aggregated over its subtasks (min/max/avg/sum)."""
    return Call(
        "GET",
        f"/jobs/{_seg(job_id)}/vertices/{_seg(vertex_id)}/subtasks/metrics",
        m.AggregatedMetrics.model_validate,
        params={"get": ",".join(names)},
    )


def resource_requirements(job_id: str) -> Call[m.JobResourceRequirements]:
    """The job's parallelism bounds per vertex. Only the adaptive scheduler answers; any other
    scheduler throws ``UnsupportedOperationException`` and Flink answers HTTP 500."""
    return Call(
        "GET", f"/jobs/{_seg(job_id)}/resource-requirements", m.JobResourceRequirements.model_validate
    )


def set_resource_requirements(job_id: str, requirements: m.JobResourceRequirements) -> Call[None]:
    """Change the job's parallelism bounds in place (adaptive scheduler only); the scheduler then
    rescales the running job by itself. Idempotent: it sets values, so sending it twice sets the
    same bounds twice."""
    return Call("PUT", f"/jobs/{_seg(job_id)}/resource-requirements", _none, body=requirements.body())


def cancel_job(job_id: str) -> Call[None]:
    """Cancel without a savepoint. Flink answers 202 also for an already CANCELED job."""
    return Call("PATCH", f"/jobs/{_seg(job_id)}", _none, params={"mode": "cancel"})


# ---------------------------------------------------------------------------- jars
def upload_jar(path: Path, name: str | None = None) -> Call[m.JarUploaded]:
    """Upload a jar, streamed from disk; Flink stores it as ``<uuid>_<name>`` (name defaults to the file's)."""
    return Call(
        "POST", "/jars/upload", m.JarUploaded.model_validate, upload=path, upload_name=name, idempotent=False
    )


def list_jars() -> Call[m.JarList]:
    return Call("GET", "/jars", m.JarList.model_validate)


def delete_jar(jar_id: str) -> Call[None]:
    return Call("DELETE", f"/jars/{_seg(jar_id)}", _none)


def run_jar(
    jar_id: str, request: m.JarRunRequest, flink_version: str | None = None, repeatable: bool = True
) -> Call[m.JobSubmitted]:
    """Submit a job. Safe to repeat only with a ``job_id``: Flink then refuses a second copy.

    ``repeatable=False``: never sent again once it left, even with a job id. A Python program's
    run is not safe to repeat while the first may still run its ``main``: two ``PythonDriver``
    runs at once in one JobManager race on the process-wide context environment, and the loser's
    program ran its job in a local MiniCluster inside the JobManager, under a random id and
    without state (histories seed 5, Flink 1.20.5: a second copy Flink's REST does not list)."""
    return Call(
        "POST",
        f"/jars/{_seg(jar_id)}/run",
        m.JobSubmitted.model_validate,
        body=request.body(flink_version),
        idempotent=request.job_id is not None and repeatable,
    )


def run_application(
    jar_id: str, request: m.JarRunRequest, application_id: str, flink_version: str | None = None
) -> Call[m.ApplicationSubmitted]:
    """Start the jar's program as an application (Flink 2.3+, FLIP-549) under a caller-chosen
    ``application_id``. Flink answers 202 before the program's ``main`` runs: what became of it is
    read from :func:`application`. Safe to repeat: Flink refuses an application id it has seen,
    even of an ended application."""
    body = request.body(flink_version) | {"applicationId": application_id}
    return Call(
        "POST", f"/jars/{_seg(jar_id)}/run-application", m.ApplicationSubmitted.model_validate, body=body
    )


# ---------------------------------------------------------------------------- applications
def applications_overview() -> Call[m.ApplicationsOverview]:
    """``GET /applications/overview``: answered by a Flink with applications (2.3+), 404 before."""
    return Call("GET", "/applications/overview", m.ApplicationsOverview.model_validate)


def application(application_id: str) -> Call[m.ApplicationDetail]:
    """An application and its jobs. Flink 2.3.0 answers an unknown id with HTTP 500
    (``FlinkApplicationNotFoundException``), not 404."""
    return Call("GET", f"/applications/{_seg(application_id)}", m.ApplicationDetail.model_validate)


def cancel_application(application_id: str) -> Call[dict[str, object]]:
    """Cancel an application and every job of it (202). Flink 2.3.0 answers 404 "Application could
    not be found" for an unknown id and for an application that already ended."""
    return Call("POST", f"/applications/{_seg(application_id)}/cancel", dict)


def application_exceptions(application_id: str) -> Call[m.ApplicationExceptions]:
    return Call(
        "GET", f"/applications/{_seg(application_id)}/exceptions", m.ApplicationExceptions.model_validate
    )


# ---------------------------------------------------------------------------- savepoints
def trigger_savepoint(
    job_id: str,
    trigger_id: str,
    target_directory: str | None = None,
    format_type: m.SavepointFormat = "CANONICAL",
) -> Call[m.TriggerAccepted]:
    """Start a savepoint; poll :func:`savepoint_status` with the same ``trigger_id``."""
    body: dict[str, Any] = {"cancel-job": False, "formatType": format_type, "triggerId": trigger_id}
    if target_directory:
        body["target-directory"] = target_directory
    return Call("POST", f"/jobs/{_seg(job_id)}/savepoints", m.TriggerAccepted.model_validate, body=body)


def stop_job(
    job_id: str,
    trigger_id: str,
    *,
    drain: bool = False,
    target_directory: str | None = None,
    format_type: m.SavepointFormat = "CANONICAL",
) -> Call[m.TriggerAccepted]:
    """Stop with a savepoint; the job ends FINISHED. Poll :func:`savepoint_status`.

    The field names differ from the savepoint call (``targetDirectory`` here): Flink's spelling.
    """
    body: dict[str, Any] = {"drain": drain, "formatType": format_type, "triggerId": trigger_id}
    if target_directory:
        body["targetDirectory"] = target_directory
    return Call("POST", f"/jobs/{_seg(job_id)}/stop", m.TriggerAccepted.model_validate, body=body)


def savepoint_status(job_id: str, trigger_id: str) -> Call[m.AsyncOperationStatus]:
    return Call(
        "GET",
        f"/jobs/{_seg(job_id)}/savepoints/{_seg(trigger_id)}",
        m.AsyncOperationStatus.model_validate,
    )


def trigger_checkpoint(job_id: str, trigger_id: str) -> Call[m.TriggerAccepted]:
    """Take a checkpoint now (Flink 1.19+; the job's configured kind: full or incremental). Poll
    :func:`checkpoint_status` with the same ``trigger_id``; sent twice, Flink runs it once."""
    return Call(
        "POST",
        f"/jobs/{_seg(job_id)}/checkpoints",
        m.TriggerAccepted.model_validate,
        body={"checkpointType": "CONFIGURED", "triggerId": trigger_id},
    )


def checkpoint_status(job_id: str, trigger_id: str) -> Call[m.CheckpointTriggerStatus]:
    return Call(
        "GET",
        f"/jobs/{_seg(job_id)}/checkpoints/{_seg(trigger_id)}",
        m.CheckpointTriggerStatus.model_validate,
    )


def dispose_savepoint(path: str) -> Call[m.TriggerAccepted]:
    """Delete a savepoint through Flink (it knows the state backend's file layout)."""
    return Call(
        "POST", "/savepoint-disposal", m.TriggerAccepted.model_validate, body={"savepoint-path": path}
    )


def disposal_status(trigger_id: str) -> Call[m.AsyncOperationStatus]:
    return Call("GET", f"/savepoint-disposal/{_seg(trigger_id)}", m.AsyncOperationStatus.model_validate)
