"""What a job is made of: its jar (and how to verify it) and how to run it.

The deploy operator builds one from its arguments, a deployment spec from its file; from it come
the one :class:`ArtifactRequest` the artifact gate checks and the one ``JarRunRequest`` the hook
submits, so neither is assembled in two places.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_flink.artifacts.prepare import ArtifactRequest
from airflow_provider_flink.client import models


@dataclass(frozen=True, kw_only=True)
class JobDefinition:
    artifact: ArtifactRequest
    args: tuple[str, ...] = ()
    flink_config: dict[str, Any] = field(default_factory=dict, hash=False)
    allow_non_restored_state: bool = False

    def run_request(
        self,
        job_id: str,
        savepoint_path: str | None = None,
        claim_mode: models.ClaimMode | None = None,
        origin: Mapping[str, str] | None = None,
    ) -> models.JarRunRequest:
        """The submission with a caller-chosen job id (I1); raises ValueError on a bad field.

        ``origin``: what started the job (``airflow.*`` keys: the DAG run and task, or the
        deployment and spec hash), added to the job's Flink configuration so that the Flink UI
        (the job's Configuration tab) leads back to it. It wins over a user key of the same name."""
        config = {**self.flink_config, **(origin or {})}
        return models.JarRunRequest(
            entry_class=self.artifact.entry_class,
            program_args=list(self.args) or None,
            parallelism=self.artifact.parallelism,
            job_id=job_id,
            savepoint_path=savepoint_path or None,
            allow_non_restored_state=self.allow_non_restored_state or None,
            claim_mode=claim_mode,
            flink_configuration=config or None,
        )
