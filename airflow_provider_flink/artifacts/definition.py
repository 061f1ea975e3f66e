"""What a job is made of: its jar (and how to verify it) and how to run it.

The deploy operator builds one from its arguments, a deployment spec from its file; from it come
the one :class:`ArtifactRequest` the artifact gate checks and the one ``JarRunRequest`` the hook
submits, so neither is assembled in two places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_flink.artifacts.prepare import (
    ArtifactRequest,
    PreparedArtifact,
    prepare_for_cluster,
    prepare_python_program,
)
from airflow_provider_flink.artifacts.python_program import (
    CARRIER_NAME,
    CARRIER_SHA256,
    PYTHON_DRIVER,
    PythonProgram,
    StagedProgram,
)
from airflow_provider_flink.client import models
from airflow_provider_flink.hooks.flink import FlinkHook

GLOBAL_JOB_PARAMETERS = "pipeline.global-job-parameters"


def _map_entry(key: str, value: str) -> str:
    """One ``key:value`` entry of a Flink map option, quoted so that ``:`` and ``,`` in a value (a
    run id's time stamp) stay in it: the entry in double quotes, key and value in single quotes,
    quotes inside doubled (Flink's StructuredOptionsSplitter)."""
    inner = "'{}':'{}'".format(key.replace("'", "''"), value.replace("'", "''"))
    return '"' + inner.replace('"', '""') + '"'


@dataclass(frozen=True, kw_only=True)
class JobDefinition:
    artifact: ArtifactRequest
    args: tuple[str, ...] = ()
    flink_config: dict[str, Any] = field(default_factory=dict, hash=False)
    allow_non_restored_state: bool = False
    # A Python job: the artifact is the carrier jar, the program's files are staged (python_program).
    python: PythonProgram | None = None
    staging_dir: str | None = None

    def run_request(
        self,
        job_id: str | None,
        savepoint_path: str | None = None,
        claim_mode: models.ClaimMode | None = None,
        origin: Mapping[str, str] | None = None,
        staged: StagedProgram | None = None,
    ) -> models.JarRunRequest:
        """The submission with a caller-chosen job id (I1; None: a program of several jobs, whose
        application id is chosen instead); raises ValueError on a bad field.

        ``origin``: what started the job (``airflow.*`` keys: the DAG run and task, or the
        deployment and spec hash). It goes into the job's global job parameters, which the Flink UI
        shows on the job's Configuration tab (User Configuration) and ``GET /jobs/{id}/config``
        returns, so a job leads back to the Airflow run that started it. Appended to the user's own
        ``pipeline.global-job-parameters``; a program that sets its own parameters replaces them.

        ``staged``: a Python job's program, verified and staged (its driver arguments)."""
        args: tuple[str, ...] = self.args
        config = dict(self.flink_config)
        if self.python is not None:
            if staged is None or staged.program != self.python:
                raise ValueError("a Python job's files are staged before its run request is made")
            args = staged.driver_args(self.args)
            config = staged.flink_config(config)
        if origin:
            entries = ",".join(_map_entry(key, value) for key, value in origin.items())
            present = config.get(GLOBAL_JOB_PARAMETERS)
            config[GLOBAL_JOB_PARAMETERS] = f"{present},{entries}" if present else entries
        return models.JarRunRequest(
            entry_class=self.artifact.entry_class,
            program_args=list(args) or None,
            parallelism=self.artifact.parallelism,
            job_id=job_id,
            savepoint_path=savepoint_path or None,
            allow_non_restored_state=self.allow_non_restored_state or None,
            claim_mode=claim_mode,
            flink_configuration=config or None,
        )


def python_definition(
    program: PythonProgram,
    *,
    args: tuple[str, ...] = (),
    parallelism: int | None = None,
    flink_config: Mapping[str, Any] | None = None,
    allow_non_restored_state: bool = False,
    staging_dir: str | None = None,
    public_keys: tuple[str, ...] = (),
    public_keys_conn_id: str | None = None,
    headers_conn_id: str | None = None,
) -> JobDefinition:
    """A Python job: the carrier jar run by ``PythonDriver``, the program's files verified with
    these keys and headers and staged in ``staging_dir`` (else the connection's)."""
    return JobDefinition(
        artifact=ArtifactRequest(
            jar=CARRIER_NAME,
            entry_class=PYTHON_DRIVER,
            parallelism=parallelism,
            sha256=CARRIER_SHA256,
            public_keys=public_keys,
            public_keys_conn_id=public_keys_conn_id,
            headers_conn_id=headers_conn_id,
        ),
        args=args,
        flink_config=dict(flink_config or {}),
        allow_non_restored_state=allow_non_restored_state,
        python=program,
        staging_dir=staging_dir,
    )


def prepare_job(hook: FlinkHook, definition: JobDefinition) -> PreparedArtifact:
    """Everything checked (and, for a Python job, staged) before the job may go to the hook's
    cluster: the one gate of operators and reconcile alike (I6)."""
    if definition.python is None:
        return prepare_for_cluster(hook, definition.artifact)
    return prepare_python_program(hook, definition.python, definition.artifact, definition.staging_dir)
