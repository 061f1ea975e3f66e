"""Deploy a Python (PyFlink) program as a Flink job: :class:`FlinkPythonJobOperator`.

A Python job is Flink's ``PythonDriver`` running the program's files, which the provider verifies
and stages where the cluster reads them (:mod:`airflow_provider_flink.artifacts.python_program`),
so everything the deploy operator does applies unchanged: the job id recorded before the
submission (I1, I4), adoption on a retry, the deployment key, capacity checks, the wait, the job
link, ``on_kill``, the savepoint to start from. What this operator adds is where the program comes
from, and how a failing ``main`` reads (its Python traceback; nothing left running).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from airflow_provider_flink.artifacts import (
    ArtifactError,
    JobDefinition,
    PythonArchive,
    PythonFile,
    PythonProgram,
    python_definition,
)
from airflow_provider_flink.artifacts.python_program import CARRIER_NAME, PYTHON_DRIVER
from airflow_provider_flink.deployments.spec import PythonArchiveRef, PythonFileRef
from airflow_provider_flink.exceptions import AirflowFailException
from airflow_provider_flink.locations import beside, has_scheme
from airflow_provider_flink.operators.job import FlinkDeployJobOperator, _empty

# Arguments of the deploy operator that name or verify a jar: a Python job's jar is the carrier.
_JAR_ARGUMENTS = ("jar", "entry_class", "jar_sha256", "jar_signature")

FileArgument = str | Mapping[str, Any] | PythonFile


class FlinkPythonJobOperator(FlinkDeployJobOperator):
    """Deploy a PyFlink program and wait until its job runs (or, bounded, finishes).

    :param python_file: the entry ``.py`` file (templated): a path on the worker (relative: beside
        the DAG file), an http(s) URL or an ObjectStoragePath URI. It runs as the module named by
        its stem, so ``if __name__ == "__main__":`` holds.
    :param module: instead of ``python_file``: the module to run (``orders.main``), from one of
        ``python_files`` (a ``.py`` file or a ``.zip`` of its package).
    :param python_files: more ``.py``, ``.zip``, ``.whl`` or ``.egg`` files on the program's
        ``PYTHONPATH``: each a location, or ``{"path": ..., "sha256": ..., "signature": ...}``.
    :param python_archives: ``.zip`` files unpacked beside the job's Python processes (a
        virtualenv, data files): each a location, or a mapping with ``path`` and ``target`` (the
        folder's name) and optionally ``sha256`` and ``signature``.
    :param python_file_sha256: pinned SHA-256 of ``python_file``.
    :param python_file_signature: path or URI of a detached signature of ``python_file``.
    :param staging_dir: where the verified files are staged for the cluster; default: the Flink
        connection's extra ``python_staging_dir`` (a folder its JobManager and TaskManagers read:
        a shared path, ``s3://``, ``hdfs://`` ...).

    Every file goes through the gate a jar goes through (the connection's caps, its
    ``require_verified_artifacts``, the pins, the signatures with ``public_keys`` /
    ``public_keys_conn_id``, downloads with ``artifact_conn_id``) before anything is staged or
    submitted. The cluster needs Python with ``apache-flink`` of its own version
    (``python.client.executable`` for the JobManager, ``python.executable`` for the TaskManagers:
    in its configuration or in ``flink_config``); see docs/python.md.

    A ``main`` that raises fails the task without retries, with its Python traceback (read from
    the JobManager's output, since Flink's answer carries only a Java stack), and a job it had
    started before it raised is cancelled. Everything else is :class:`FlinkDeployJobOperator`'s:
    ``args`` (the program's ``sys.argv[1:]``), ``parallelism``, ``flink_config``, ``savepoint_path``,
    ``allow_non_restored_state``, ``claim_mode``, ``job_id``, ``deployment_key``,
    ``wait_for_completion``, ``wait_until_running``, ``kill_action``, ``capacity_check``. Returns
    the job id.
    """

    template_fields: Sequence[str] = (
        "python_file",
        "module",
        "python_files",
        "python_file_sha256",
        "args",
        "parallelism",
        "flink_config",
        "savepoint_path",
        "allow_non_restored_state",
        "job_id",
        "deployment_key",
        "staging_dir",
    )
    template_fields_renderers = {"flink_config": "json"}

    def __init__(
        self,
        *,
        python_file: str | None = None,
        module: str | None = None,
        python_files: Sequence[FileArgument] | None = None,
        python_archives: Sequence[str | Mapping[str, Any] | PythonArchive] | None = None,
        python_file_sha256: str | None = None,
        python_file_signature: str | None = None,
        staging_dir: str | None = None,
        **kwargs: Any,
    ) -> None:
        taken = [name for name in _JAR_ARGUMENTS if name in kwargs]
        if taken:
            raise ValueError(
                f"FlinkPythonJobOperator takes no {', '.join(taken)}: it runs the Python program through Flink's "
                "PythonDriver. Give python_file= (or module= with python_files=), or use FlinkDeployJobOperator "
                "for a jar"
            )
        if (python_file is None) == (module is None):
            raise ValueError(
                "FlinkPythonJobOperator needs exactly one of python_file= (the entry .py file) and module= (a "
                f"module in python_files); got {'both' if python_file is not None else 'neither'}"
            )
        super().__init__(jar=CARRIER_NAME, entry_class=PYTHON_DRIVER, **kwargs)
        self.python_file = python_file
        self.module = module
        self.python_files = list(python_files or [])
        self.python_archives = list(python_archives or [])
        self.python_file_sha256 = python_file_sha256
        self.python_file_signature = python_file_signature
        self.staging_dir = staging_dir

    # ------------------------------------------------------------------ the program
    def _here(self, location: str) -> str:
        """A relative location is beside the DAG file (never the worker's working directory)."""
        if has_scheme(location) or Path(location).expanduser().is_absolute():
            return location
        if not self.has_dag():  # type: ignore[no-untyped-call]
            raise AirflowFailException(
                f"Python file {location!r} is a relative path and the task has no DAG file to read it beside: "
                "give an absolute path or a URI"
            )
        return beside(str(Path(self.dag.fileloc).parent), location)

    def _ref(self, value: Mapping[str, Any], model: type[PythonFileRef], what: str) -> PythonFileRef:
        """A mapping checked by the spec's own model of it (the same fields, pins and errors)."""
        try:
            return model.model_validate(dict(value))
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or '(mapping)'}: {e['msg']}" for e in err.errors()
            )
            raise AirflowFailException(f"{what} {dict(value)!r}: {problems}") from None

    def _file(self, value: FileArgument, what: str = "python_files") -> PythonFile:
        if isinstance(value, str):
            value = PythonFile(value)
        elif not isinstance(value, PythonFile):
            value = self._ref(value, PythonFileRef, what).file()
        signature = self._here(value.signature) if value.signature else None
        return PythonFile(self._here(value.location), value.sha256, signature, value.read_sha256)

    def _archive(self, value: str | Mapping[str, Any] | PythonArchive) -> PythonArchive:
        if isinstance(value, PythonArchive):
            return PythonArchive(self._file(value.file, "python_archives"), value.target)
        if isinstance(value, str):
            return PythonArchive(self._file(value, "python_archives"))
        ref = self._ref(value, PythonArchiveRef, "python_archives")
        assert isinstance(ref, PythonArchiveRef)
        return PythonArchive(self._file(ref.file(), "python_archives"), ref.target)

    def _program(self) -> PythonProgram:
        """The (rendered) program; a bad shape fails before anything is read or called."""
        entry = None
        if self.python_file is not None:
            if _empty(self.python_file):
                raise AirflowFailException(
                    f"python_file rendered empty ({self.python_file!r}): give the entry .py file"
                )
            signature = self.python_file_signature
            entry = PythonFile(
                self._here(str(self.python_file).strip()),
                self.python_file_sha256 or None,
                self._here(str(signature)) if signature else None,
            )
        try:
            return PythonProgram(
                entry=entry,
                module=str(self.module).strip() if self.module is not None else None,
                files=tuple(self._file(f, "python_files") for f in self.python_files),
                archives=tuple(self._archive(a) for a in self.python_archives),
            )
        except ArtifactError as err:
            raise AirflowFailException(str(err)) from None

    def _definition(self) -> JobDefinition:
        base = super()._definition()
        program = self._program()
        self.log.info(
            "Python job: module %s, %d file(s), %d archive(s)",
            program.module_name,
            len(program.files) + (program.entry is not None),
            len(program.archives),
        )
        return python_definition(
            program,
            args=base.args,
            parallelism=base.artifact.parallelism,
            flink_config=base.flink_config,
            allow_non_restored_state=base.allow_non_restored_state,
            staging_dir=str(self.staging_dir) if not _empty(self.staging_dir) else None,
            public_keys=base.artifact.public_keys,
            public_keys_conn_id=base.artifact.public_keys_conn_id,
            headers_conn_id=base.artifact.headers_conn_id,
        )
