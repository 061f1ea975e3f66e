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

    def run_request(
        self,
        job_id: str,
        savepoint_path: str | None = None,
        claim_mode: models.ClaimMode | None = None,
        origin: Mapping[str, str] | None = None,
    ) -> models.JarRunRequest:
        """The submission with a caller-chosen job id (I1); raises ValueError on a bad field.

        ``origin``: what started the job (``airflow.*`` keys: the DAG run and task, or the
        deployment and spec hash). It goes into the job's global job parameters, which the Flink UI
        shows on the job's Configuration tab (User Configuration) and ``GET /jobs/{id}/config``
        returns, so a job leads back to the Airflow run that started it. Appended to the user's own
        ``pipeline.global-job-parameters``; a program that sets its own parameters replaces them."""
        config = dict(self.flink_config)
        if origin:
            entries = ",".join(_map_entry(key, value) for key, value in origin.items())
            present = config.get(GLOBAL_JOB_PARAMETERS)
            config[GLOBAL_JOB_PARAMETERS] = f"{present},{entries}" if present else entries
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
