"""Artifacts: resolve a job jar from where it is kept and verify it, before any upload (I6).

:func:`prepare_for_cluster` is the one gate the operators and the reconcile use: the cluster's
caps, then fetch (local, http(s), any ObjectStoragePath URI) into the digest-keyed cache, the
SHA-256 pin, the detached signature, the entry class in the jar, under the cluster's policy.
:class:`JobDefinition` is what a job is made of (the jar and how to run it), built once by the
deploy operator or a deployment spec. Nothing here changes a cluster: an artifact that fails any
check never reaches one.
"""

from airflow_provider_flink.artifacts.definition import JobDefinition, prepare_job, python_definition
from airflow_provider_flink.artifacts.fetch import sha256_of
from airflow_provider_flink.artifacts.prepare import (
    ArtifactRequest,
    ArtifactSource,
    PreparedArtifact,
    headers_from_connection,
    prepare,
    prepare_for_cluster,
    public_keys_from_connection,
)
from airflow_provider_flink.artifacts.python_program import PythonArchive, PythonFile, PythonProgram
from airflow_provider_flink.exceptions import ArtifactError

__all__ = [
    "ArtifactError",
    "ArtifactRequest",
    "ArtifactSource",
    "JobDefinition",
    "PreparedArtifact",
    "PythonArchive",
    "PythonFile",
    "PythonProgram",
    "headers_from_connection",
    "prepare",
    "prepare_for_cluster",
    "prepare_job",
    "public_keys_from_connection",
    "python_definition",
    "sha256_of",
]
