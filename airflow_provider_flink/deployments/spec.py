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
blackout_windows: [{daily: "08:30-10:00", timezone: Europe/Berlin}]   # no savepoint or upgrade then
```

A SQL deployment gives ``sql: {statements: "..."}`` or ``sql: {file: clicks.sql}`` (beside the
spec file, an absolute path or an ObjectStoragePath URI) instead of artifact, entry class and args:
its job is the provider's SQL runner jar with the statements (docs/sql.md).

:func:`spec_hash` digests what the running job is made of (artifact digest, entry class, args,
SQL statements, parallelism, Flink configuration): a change there needs a new job; anything else (policies,
desired state, upgrade mode) is applied without restarting the job.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from airflow_provider_flink.artifacts import (
    ArtifactError,
    ArtifactRequest,
    JobDefinition,
    PythonArchive,
    PythonFile,
    PythonProgram,
    python_definition,
)
from airflow_provider_flink.artifacts.fetch import local_sha256
from airflow_provider_flink.artifacts.sql import RUNNER_JAR, SqlError, read_sql, sql_definition
from airflow_provider_flink.deployments.windows import BlackoutWindow
from airflow_provider_flink.locations import beside

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,62}$"
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
RETENTION_KEY = "execution.checkpointing.externalized-checkpoint-retention"
# A deployment file is a few kB; one of megabytes is a mistake (a generated file, a data dump)
# that would be parsed and sent to Flink, whose 400 names neither file nor field.
MAX_SPEC_BYTES = 1024 * 1024
# Program arguments travel in the run request's JSON and in the job's config: a job that needs
# more input reads it from a file.
MAX_ARGS = 1000
MAX_ARGS_CHARS = 256 * 1024
# libyaml's loader when PyYAML was built with it (the wheels are): the same safe subset of YAML,
# parsed in C. The pure-Python one took most of a run over 10,000 deployment files.
YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


@cache
def _runner_artifact() -> Artifact:
    """A SQL deployment's artifact: the provider's SQL runner jar (artifacts/sql); made once (every
    spec's validation compares its artifact with it)."""
    return Artifact(jar=str(RUNNER_JAR))


class SqlSource(_Strict):
    """The statements of a SQL deployment: inline, or a file read at every reconcile run."""

    statements: str | None = Field(None, description="The SQL statements, each ended by ';'.")
    file: str | None = Field(
        None,
        description="A UTF-8 SQL file: a path relative to the spec file's folder, an absolute path on the "
        "workers or an ObjectStoragePath URI. Read at every reconcile run; its content is in the spec hash.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> SqlSource:
        if (self.statements is None) == (self.file is None):
            raise ValueError("give exactly one of statements (the SQL itself) and file (a SQL file)")
        if self.statements is not None and not self.statements.strip():
            raise ValueError("statements is empty: give the SQL statements to run")
        return self

    def text(self) -> str:
        """The statements; a file is read by :func:`load_specs`, which puts its content here."""
        if self.statements is None:
            raise SqlError(f"sql.file {self.file} was not read: load the spec with load_specs()")
        return self.statements


_SHA256 = r"^[0-9a-f]{64}$"


class PythonFileRef(_Strict):
    """One more file of a Python job, with how to verify it."""

    path: str = Field(description="A .py, .zip, .whl or .egg file: beside the spec file, absolute, or a URI.")
    sha256: str | None = Field(None, pattern=_SHA256, description="Pinned SHA-256 of the file.")
    signature: str | None = Field(None, description="Path or URI of a detached signature of the file.")
    read_sha256: str | None = Field(
        None,
        pattern=_SHA256,
        description="Set by the provider, not a pin: the file's content when the spec was read (a rollback "
        "runs its copy staged under this digest).",
    )

    def file(self) -> PythonFile:
        return PythonFile(self.path, self.sha256, self.signature, self.read_sha256)


class PythonArchiveRef(PythonFileRef):
    """A .zip unpacked beside the job's Python processes (a virtualenv, data files)."""

    target: str | None = Field(None, description="The folder it is unpacked into (default: its file name).")


def _ref(value: Any) -> Any:
    return {"path": value} if isinstance(value, str) else value


class PythonSource(_Strict):
    """A Python (PyFlink) job's program (docs/python.md): an entry file or a module in its files."""

    file: str | None = Field(
        None,
        description="The entry .py file (runs as the module named by its stem): beside the spec file, "
        "absolute, or a URI.",
    )
    sha256: str | None = Field(None, pattern=_SHA256, description="Pinned SHA-256 of the entry file.")
    signature: str | None = Field(None, description="Path or URI of a detached signature of the entry file.")
    read_sha256: str | None = Field(
        None,
        pattern=_SHA256,
        description="Set by the provider, not a pin: the entry file's content when the spec was read.",
    )
    module: str | None = Field(None, description="Instead of file: the module to run, from one of files.")
    files: list[PythonFileRef] = Field(
        default_factory=list, description="More .py, .zip (a package), .whl or .egg files on the PYTHONPATH."
    )
    archives: list[PythonArchiveRef] = Field(
        default_factory=list, description=".zip files unpacked for the job."
    )
    public_keys_conn_id: str | None = Field(
        None, description="Airflow connection with the PEM public keys allowed to sign the files."
    )
    public_keys: list[str] = Field(
        default_factory=list, description="PEM public keys allowed to sign the files."
    )
    headers_conn_id: str | None = Field(None, description="Airflow connection for http(s) downloads.")
    staging_dir: str | None = Field(
        None,
        description="Where the verified files are staged for the cluster (default: the connection's "
        "python_staging_dir).",
    )

    @field_validator("files", "archives", mode="before")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        return [_ref(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _shape(self) -> PythonSource:
        self.program()  # the shape's own rule, said once (artifacts.python_program)
        return self

    def program(self) -> PythonProgram:
        try:
            return PythonProgram(
                entry=PythonFile(self.file, self.sha256, self.signature, self.read_sha256)
                if self.file is not None
                else None,
                module=self.module,
                files=tuple(f.file() for f in self.files),
                archives=tuple(PythonArchive(a.file(), a.target) for a in self.archives),
            )
        except ArtifactError as err:
            raise ValueError(str(err)) from None


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


Risk = Literal["stateless-upgrade", "drop-state", "old-checkpoint", "dispose", "suspend"]
RISKS: tuple[str, ...] = get_args(Risk)


class ApprovalPolicy(_Strict):
    """Actions that lose or risk state wait for a person's approval (docs/approvals.md)."""

    required_for: list[Risk] = Field(
        default_factory=list,
        description="stateless-upgrade (the state is dropped), drop-state (an upgrade that may leave state "
        "behind: allow_non_restored_state), old-checkpoint (a last-state upgrade from a checkpoint older than "
        "checkpoint_older_than_minutes), dispose (a savepoint disposed by the retention), suspend.",
    )
    checkpoint_older_than_minutes: float = Field(
        60, gt=0, description="old-checkpoint: a last-state upgrade from a checkpoint older than this."
    )


class DeploymentSpec(_Strict):
    """One declared Flink deployment."""

    name: str = Field(pattern=NAME_PATTERN, description="Unique name: lowercase letters, digits, . _ -")
    cluster: str = Field(
        "flink_default", min_length=1, description="Airflow connection id of the Flink cluster."
    )
    sql: SqlSource | None = Field(
        None, description="A SQL job's statements, instead of artifact, entry_class and args (docs/sql.md)."
    )
    python: PythonSource | None = Field(
        None,
        description="A Python (PyFlink) job's program, instead of artifact and entry_class (docs/python.md).",
    )
    # Validated after sql and python (field order) and also when absent: it is required unless one
    # of them is given.
    artifact: Artifact = Field(
        default_factory=_runner_artifact,
        validate_default=True,
        description="The job jar. Required unless sql or python is given (their jar is the provider's).",
    )
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
    approval: ApprovalPolicy = Field(
        default_factory=ApprovalPolicy,
        description="Actions that wait for a person's approval (a cluster's connection may require more).",
    )
    blackout_windows: list[BlackoutWindow] = Field(
        default_factory=list,
        description="Times without periodic savepoints or upgrades (a peak hour): they wait, and the run says "
        "until when. Restarts, recoveries and rollbacks are not held back.",
    )

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [{"required": ["artifact"]}, {"required": ["sql"]}, {"required": ["python"]}]
        }
    )

    @field_validator("artifact")
    @classmethod
    def _jar_or_sql(cls, artifact: Artifact, info: ValidationInfo) -> Artifact:
        if "sql" not in info.data or "python" not in info.data:
            return artifact  # sql or python itself was invalid: reported there, once
        runner = artifact == _runner_artifact()
        sql, python = info.data["sql"] is not None, info.data["python"] is not None
        if sql and python:
            raise ValueError("give one of sql (a SQL job) and python (a Python job), not both")
        if not sql and not python and runner:
            raise ValueError(
                "a deployment needs artifact (its jar), sql (its statements) or python (its program)"
            )
        if sql and not runner:
            raise ValueError("a SQL deployment runs the provider's SQL runner jar: remove artifact")
        if python and not runner:
            raise ValueError("a Python deployment's program is python: remove artifact")
        return artifact

    @field_validator("entry_class")
    @classmethod
    def _no_entry_class_for_sql(cls, entry_class: str | None, info: ValidationInfo) -> str | None:
        if entry_class and info.data.get("sql") is not None:
            raise ValueError("a SQL deployment runs the provider's SQL runner: remove entry_class")
        if entry_class and info.data.get("python") is not None:
            raise ValueError("a Python deployment runs python.file or python.module: remove entry_class")
        return entry_class

    @field_validator("args")
    @classmethod
    def _no_args_for_sql(cls, args: list[str], info: ValidationInfo) -> list[str]:
        if args and info.data.get("sql") is not None:
            raise ValueError("a SQL deployment's only argument is its SQL: remove args")
        size = sum(len(arg) for arg in args)
        if len(args) > MAX_ARGS or size > MAX_ARGS_CHARS:
            raise ValueError(
                f"{len(args)} arguments of {size} characters, over the limit of {MAX_ARGS} arguments and "
                f"{MAX_ARGS_CHARS} characters: let the job read large input from a file"
            )
        return args

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.sql is not None or self.python is not None:
            # A record keeps the dump; read back on another worker (a rollback), a SQL deployment's
            # artifact must be that installation's runner, not this one's path.
            data.pop("artifact", None)
        return data

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
        # I7: the provider's jobs keep their checkpoints when cancelled (Flink's default deletes
        # them), so a cancel never takes the state a restore needs; a spec may still say otherwise.
        config = {RETENTION_KEY: "RETAIN_ON_CANCELLATION", **self.flink_config}
        if self.sql is not None:
            return sql_definition(
                self.sql.text(),
                parallelism=self.parallelism,
                flink_config=config,
                allow_non_restored_state=self.allow_non_restored_state,
            )
        if self.python is not None:
            source_py = self.python
            return python_definition(
                source_py.program(),
                args=tuple(self.args),
                parallelism=self.parallelism,
                flink_config=config,
                allow_non_restored_state=self.allow_non_restored_state,
                staging_dir=source_py.staging_dir,
                public_keys=tuple(source_py.public_keys),
                public_keys_conn_id=source_py.public_keys_conn_id,
                headers_conn_id=source_py.headers_conn_id,
            )
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
            flink_config=config,
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
    if spec.sql is not None:
        # The statements are the job (the runner's digest is the artifact). Only SQL deployments
        # carry the key, so the hashes of jar deployments stay what they were.
        material["sql"] = spec.sql.text()
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
        elif item["type"] == "value_error":
            message = message.removeprefix("Value error, ")
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

    def open(self, mode: str) -> Any: ...

    def __truediv__(self, key: str) -> Any: ...


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
    if len(text) > MAX_SPEC_BYTES:
        return None, [_oversize(name)]
    try:
        data = json.loads(text) if suffix == ".json" else yaml.load(text, Loader=YAML_LOADER)  # noqa: S506
    except (ValueError, yaml.YAMLError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        return None, [SpecProblem(name, "(file)", f"cannot be read as {suffix[1:].upper()}: {first}")]
    if not isinstance(data, dict):
        return None, [SpecProblem(name, "(file)", "must hold one deployment (a mapping of fields)")]
    try:
        return DeploymentSpec.model_validate(data), []
    except ValidationError as err:
        return None, _problems(name, err)


def _oversize(name: str) -> SpecProblem:
    return SpecProblem(
        name,
        "(file)",
        f"is larger than {MAX_SPEC_BYTES} bytes, the limit of a deployment file: a deployment needs a few kB "
        "(put large inputs in a file the job reads)",
    )


# A long-lived process (the api-server's Flink page, the triggerer's watchers) reads the same files
# again and again: a local file whose size, times and inode are unchanged is not parsed again.
_parsed: dict[str, tuple[tuple[int, int, int, int], tuple[DeploymentSpec | None, list[SpecProblem]]]] = {}


def parse_spec(path: SpecPath) -> tuple[DeploymentSpec | None, list[SpecProblem]]:
    """Read one file (at most :data:`MAX_SPEC_BYTES` of it); a bad file gives its problems, never an
    exception."""
    if isinstance(path, Path):
        try:
            st = path.stat()
        except OSError:
            return _parse_spec(path)
        stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
        seen = _parsed.get(str(path))
        if seen is not None and seen[0] == stamp:
            return seen[1][0], list(seen[1][1])
        parsed = _parse_spec(path)
        _parsed[str(path)] = (stamp, parsed)
        return parsed[0], list(parsed[1])
    return _parse_spec(path)


def _parse_spec(path: SpecPath) -> tuple[DeploymentSpec | None, list[SpecProblem]]:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            return None, [_oversize(path.name)]
        text = data.decode("utf-8")
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        return None, [
            SpecProblem(path.name, "(file)", f"cannot be read as {path.suffix[1:].upper()}: {first}")
        ]
    return parse_spec_text(path.name, text)


def sql_file_location(folder: SpecPath, location: str) -> str:
    """Where a spec's ``sql.file`` is: as given when absolute or a URI, else beside the spec file."""
    return beside(str(folder), location)


def _with_artifact_beside(folder: SpecPath, spec: DeploymentSpec, pin: bool = True) -> DeploymentSpec:
    """A jar or signature named by a relative path is the one beside the spec file, never one in
    the worker's working directory (which nobody chose). The spec hash holds the jar's digest, not
    its path, so where the folder sits on a worker does not change it."""
    source = spec.artifact
    if spec.sql is not None:
        return spec
    if spec.python is not None:
        return _with_python_beside(folder, spec, spec.python, pin)
    update = {"jar": beside(str(folder), source.jar)}
    if source.signature:
        update["signature"] = beside(str(folder), source.signature)
    if all(getattr(source, field) == value for field, value in update.items()):
        return spec  # absolute already: nothing to copy (thousands of files per load)
    return spec.model_copy(update={"artifact": source.model_copy(update=update)})


def _with_python_beside(
    folder: SpecPath, spec: DeploymentSpec, python: PythonSource, pin: bool = True
) -> DeploymentSpec:
    """A Python deployment's files (and signatures) named by relative paths are those beside the
    spec file, as a jar's are. With ``pin``, each file on this machine gets ``read_sha256``, its
    content as read now (not a pin: the cluster's policy still asks for the user's pins): the
    record keeps the spec with those digests, so a rollback runs the files that ran (their copies
    staged under those digests), not what the files hold by then; and a change of a file's content
    shows as a change of the spec ("python.read_sha256: 9f2c… -> 41ab…")."""
    base = str(folder)

    def moved(ref: PythonFileRef) -> PythonFileRef:
        update: dict[str, Any] = {"path": beside(base, ref.path)}
        if ref.signature:
            update["signature"] = beside(base, ref.signature)
        if pin:
            update["read_sha256"] = local_sha256(update["path"])
        return ref.model_copy(update=update)

    update: dict[str, Any] = {
        "files": [moved(f) for f in python.files],
        "archives": [moved(a) for a in python.archives],
    }
    if python.file is not None:
        update["file"] = beside(base, python.file)
        if pin:
            update["read_sha256"] = local_sha256(update["file"])
    if python.signature:
        update["signature"] = beside(base, python.signature)
    changed = python.model_copy(update=update)
    return spec if changed == python else spec.model_copy(update={"python": changed})


def _with_sql_file(
    folder: SpecPath, name: str, spec: DeploymentSpec
) -> tuple[DeploymentSpec | None, list[SpecProblem]]:
    """A SQL deployment whose statements are in a file, with the file's content as its statements:
    read once per load, so the spec hash and the submitted job see the same text, and a record's
    copy of the spec keeps the statements that ran (a rollback runs those, not the file's new ones)."""
    if spec.sql is None or spec.sql.file is None:
        return spec, []
    try:
        text = read_sql(sql_file_location(folder, spec.sql.file))
    except SqlError as err:
        return None, [SpecProblem(name, "sql.file", str(err))]
    return spec.model_copy(update={"sql": SqlSource(statements=text)}), []


def load_specs(
    folder: SpecPath, *, read_sql_files: bool = True
) -> tuple[list[DeploymentSpec], list[SpecProblem]]:
    """Every deployment file in ``folder`` (sorted); problems are collected, good files still load.
    A SQL deployment's file is read too (a missing one is a problem of its spec), and a Python
    deployment's files on this machine are pinned to their content, unless ``read_sql_files`` is
    False (a caller that needs only names and clusters)."""
    if not folder.is_dir():
        return [], [SpecProblem(str(folder), "(folder)", "does not exist or is not a folder")]
    problems: list[SpecProblem] = []
    declared: dict[str, list[tuple[str, DeploymentSpec]]] = {}
    files = [p for p in folder.iterdir() if is_spec_file(p.name) and p.is_file()]
    for path in sorted(files, key=lambda p: str(p.name)):
        spec, found = parse_spec(path)
        if spec is not None and read_sql_files:
            spec, found = _with_sql_file(folder, path.name, spec)
        problems += found
        if spec is not None:
            declared.setdefault(spec.name, []).append(
                (path.name, _with_artifact_beside(folder, spec, read_sql_files))
            )
    specs: list[DeploymentSpec] = []
    for name, files_of in declared.items():
        if len(files_of) == 1:
            specs.append(files_of[0][1])
            continue
        # Which file wins must not depend on file names (a rename would switch the job): none does,
        # and the deployment's running job is left as it is until one declaration remains.
        names = ", ".join(file for file, _ in files_of)
        problems.append(
            SpecProblem(
                names,
                "name",
                f"{name!r} is declared in {len(files_of)} files: none of them is applied and its running "
                "job is left as it is until one declaration remains (rename or remove the others)",
            )
        )
    return specs, problems


def json_schema() -> dict[str, Any]:
    """The published JSON Schema of a deployment file (docs/deployment.schema.json)."""
    return DeploymentSpec.model_json_schema()
