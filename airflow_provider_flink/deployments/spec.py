"""The declared deployment: what a team writes in a YAML or JSON file, one deployment per file.

```yaml
name: orders
cluster: flink_prod               # Airflow connection id
artifact: {jar: /opt/jobs/orders-1.4.2.jar, sha256: 9f2c...}
entry_class: com.example.OrdersJob
args: [--topic, orders]
parallelism: 4
flink_config: {pipeline.max-parallelism: 128}
state: running                    # or suspended
upgrade_mode: savepoint           # stateless | savepoint | last-state
savepoint_policy: {interval_minutes: 60, keep_last: 5, max_age_days: 7}
restart_policy: {max_restarts: 3, window_minutes: 60}
```

:func:`spec_hash` digests what the running job is made of (artifact digest, entry class, args,
parallelism, Flink configuration): a change there needs a new job; anything else (policies,
desired state, upgrade mode) is applied without restarting the job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from airflow_provider_flink.artifacts import ArtifactRequest, JobDefinition

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
RETENTION_KEY = "execution.checkpointing.externalized-checkpoint-retention"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Artifact(_Strict):
    jar: str = Field(
        description="The job jar: a path on the workers, an http(s) URL or an ObjectStoragePath URI."
    )
    sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="Pinned SHA-256 of the jar.")
    signature: str | None = Field(None, description="Path or URI of a detached signature of the jar.")
    public_keys_conn_id: str | None = Field(
        None, description="Airflow connection with the PEM public keys allowed to sign (extra public_keys)."
    )
    public_keys: list[str] = Field(
        default_factory=list,
        description="PEM public keys (text or file paths on the workers) allowed to sign.",
    )
    headers_conn_id: str | None = Field(
        None, description="Airflow connection for http(s) downloads: extra headers and/or login/password."
    )


class SavepointPolicy(_Strict):
    interval_minutes: float | None = Field(None, gt=0, description="Take a savepoint this often (periodic).")
    keep_last: int = Field(5, ge=1, description="Savepoints kept; older ones are disposed through Flink.")
    max_age_days: float | None = Field(
        None, gt=0, description="Dispose savepoints older than this (the newest is always kept)."
    )


class RestartPolicy(_Strict):
    enabled: bool = Field(True, description="Restart a FAILED job from its latest state.")
    max_restarts: int = Field(3, ge=0, description="At most this many restarts within the window.")
    window_minutes: float = Field(60, gt=0)


class DeploymentSpec(_Strict):
    """One declared Flink deployment."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique name: lowercase letters, digits, . _ -")
    cluster: str = Field(
        "flink_default", min_length=1, description="Airflow connection id of the Flink cluster."
    )
    artifact: Artifact
    entry_class: str | None = None
    args: list[str] = Field(default_factory=list)
    parallelism: int = Field(1, ge=1)
    flink_config: dict[str, str] = Field(default_factory=dict)
    state: Literal["running", "suspended"] = "running"
    upgrade_mode: Literal["stateless", "savepoint", "last-state"] = "savepoint"
    initial_savepoint: str | None = None
    allow_non_restored_state: bool = False
    savepoint_dir: str | None = Field(None, description="Target directory of this deployment's savepoints.")
    savepoint_policy: SavepointPolicy = Field(default_factory=SavepointPolicy)
    restart_policy: RestartPolicy = Field(default_factory=RestartPolicy)
    health_timeout_seconds: float = Field(
        120, gt=0, description="An upgraded job not healthy within this time is rolled back."
    )
    bounded: bool = Field(
        False,
        description="The job ends by itself (a batch job, or bounded sources): FINISHED is its goal, not a "
        "reason to start it again. It runs once per spec; a changed spec runs the new one once.",
    )
    max_checkpoint_age_minutes: float | None = Field(
        None,
        gt=0,
        description="A restore (restart, recovery, last-state upgrade) never uses a checkpoint older than "
        "this: it refuses and says so.",
    )

    @field_validator("flink_config", mode="before")
    @classmethod
    def _stringify(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()}
        return value

    @field_validator("args", mode="before")
    @classmethod
    def _args_as_strings(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value

    def definition(self) -> JobDefinition:
        """What the deployment's job is made of: the jar to verify and how to run it."""
        source = self.artifact
        return JobDefinition(
            artifact=ArtifactRequest(
                jar=source.jar,
                entry_class=self.entry_class,
                parallelism=self.parallelism,
                sha256=source.sha256,
                signature=source.signature,
                public_keys=tuple(source.public_keys),
                public_keys_conn_id=source.public_keys_conn_id,
                headers_conn_id=source.headers_conn_id,
            ),
            args=tuple(self.args),
            # I7: the provider's jobs keep their checkpoints when cancelled (Flink's default deletes
            # them), so a cancel never takes the state a restore needs; a spec may still say otherwise.
            flink_config={RETENTION_KEY: "RETAIN_ON_CANCELLATION", **self.flink_config},
            allow_non_restored_state=self.allow_non_restored_state,
        )


def spec_hash(spec: DeploymentSpec, artifact_digest: str) -> str:
    """Canonical digest of what the running job is made of; equal hashes need no restart."""
    material = {
        "artifact": artifact_digest,
        "entry_class": spec.entry_class,
        "args": spec.args,
        "parallelism": spec.parallelism,
        "flink_config": dict(sorted(spec.flink_config.items())),
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True)
class SpecProblem:
    """One problem in one file: which file, which field, what is wrong."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


def _problems(file: str, err: ValidationError) -> list[SpecProblem]:
    out = []
    for item in err.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(file)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown field (misspelled?)"
        out.append(SpecProblem(file, where, message))
    return out


class SpecPath(Protocol):
    """A local ``Path`` or an ``ObjectStoragePath`` (s3://, gs://, file:// ...): what a deployments
    folder and its files need to offer."""

    @property
    def name(self) -> str: ...

    @property
    def suffix(self) -> str: ...

    def iterdir(self) -> Iterator[Any]: ...

    def is_dir(self) -> bool: ...

    def is_file(self) -> bool: ...

    def read_text(self) -> str: ...


def spec_folder(location: str) -> SpecPath:
    """The folder at ``location``: a local path, or any URI ``ObjectStoragePath`` understands."""
    if "://" in location:
        from airflow.sdk import ObjectStoragePath

        folder: SpecPath = ObjectStoragePath(location)
        return folder
    return Path(location)


def is_spec_file(name: str) -> bool:
    """A deployment file by its name: ``.yaml``, ``.yml`` or ``.json``, not hidden. Editors' swap,
    lock and backup files (``.x.yaml.swp``, ``.#x.yaml``, ``x.yaml~``, ``#x.yaml#``) are not."""
    return name.endswith(SPEC_SUFFIXES) and not name.startswith((".", "#"))


def parse_spec_text(name: str, text: str) -> tuple[DeploymentSpec | None, list[SpecProblem]]:
    """One file's content; a bad file gives its problems, never an exception."""
    suffix = name[name.rfind(".") :]
    try:
        data = json.loads(text) if suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        return None, [SpecProblem(name, "(file)", f"cannot be read as {suffix[1:].upper()}: {first}")]
    if not isinstance(data, dict):
        return None, [SpecProblem(name, "(file)", "must hold one deployment (a mapping of fields)")]
    try:
        return DeploymentSpec.model_validate(data), []
    except ValidationError as err:
        return None, _problems(name, err)


def parse_spec(path: SpecPath) -> tuple[DeploymentSpec | None, list[SpecProblem]]:
    """Read one file; a bad file gives its problems, never an exception."""
    try:
        text = path.read_text()
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        return None, [
            SpecProblem(path.name, "(file)", f"cannot be read as {path.suffix[1:].upper()}: {first}")
        ]
    return parse_spec_text(path.name, text)


def load_specs(folder: SpecPath) -> tuple[list[DeploymentSpec], list[SpecProblem]]:
    """Every deployment file in ``folder`` (sorted); problems are collected, good files still load."""
    if not folder.is_dir():
        return [], [SpecProblem(str(folder), "(folder)", "does not exist or is not a folder")]
    specs: list[DeploymentSpec] = []
    problems: list[SpecProblem] = []
    seen: dict[str, str] = {}
    files = [p for p in folder.iterdir() if is_spec_file(p.name) and p.is_file()]
    for path in sorted(files, key=lambda p: str(p.name)):
        spec, found = parse_spec(path)
        problems += found
        if spec is None:
            continue
        if spec.name in seen:
            problems.append(
                SpecProblem(path.name, "name", f"{spec.name!r} is already declared in {seen[spec.name]}")
            )
            continue
        seen[spec.name] = path.name
        specs.append(spec)
    return specs, problems


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of a deployment file (docs/deployment.schema.json)."""
    return DeploymentSpec.model_json_schema()
