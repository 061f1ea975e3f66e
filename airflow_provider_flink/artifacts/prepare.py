"""Fetch and verify a jar under a cluster's caps and policy: the gate before any upload (I6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_flink.artifacts.fetch import DEFAULT_CACHE, DEFAULT_MAX_BYTES, fetch
from airflow_provider_flink.artifacts.python_program import (
    CARRIER_SHA256,
    PYTHON_DRIVER,
    PythonProgram,
    StagedFile,
    StagedProgram,
    carrier_jar,
    module_in,
)
from airflow_provider_flink.artifacts.staging import STAGING_DIR_KEY, check_staging_dir, stage, staged_copy
from airflow_provider_flink.artifacts.verify import (
    check_jar,
    check_python_file,
    verify_sha256,
    verify_signature,
)
from airflow_provider_flink.exceptions import ArtifactError
from airflow_provider_flink.hooks.credentials import basic_auth_header, mask_value
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.hooks.limits import ClusterLimits
from airflow_provider_flink.locations import normalised


@dataclass(frozen=True)
class ArtifactSource:
    uri: str
    sha256: str | None = None
    signature: str | None = None
    public_keys: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict, hash=False, repr=False)


@dataclass(frozen=True)
class PreparedArtifact:
    """A verified jar, ready to upload; for a Python job the carrier jar and the staged program."""

    path: Path
    sha256: str
    verified_by: str  # "sha256", "signature <key fingerprint>", both, or "nothing"
    program: StagedProgram | None = None

    @property
    def digest(self) -> str:
        """What the job is made of, for the spec hash: the jar's digest, or the Python program's
        (the carrier jar is always the same bytes)."""
        return self.program.digest if self.program is not None else self.sha256


def headers_from_connection(conn: Any, mask: Any = None) -> dict[str, str]:
    """HTTP headers for downloading jars: extra ``headers`` (a mapping), plus basic auth from
    login/password. Values are registered with the secret masker when ``mask`` is given."""
    headers = {str(k): str(v) for k, v in (conn.extra_dejson.get("headers") or {}).items()}
    if conn.login:
        headers["Authorization"] = basic_auth_header(conn.login, conn.password)
    if mask is not None:
        for value in headers.values():
            mask(value)
    return headers


def public_keys_from_connection(conn: Any) -> tuple[str, ...]:
    """PEM public keys from an Airflow connection: extra ``public_keys`` (a list or one PEM text),
    else the password field (several PEM blocks may follow each other)."""
    extra = conn.extra_dejson.get("public_keys")
    raw = extra if extra else conn.password or ""
    texts = raw if isinstance(raw, list) else [raw]
    keys: list[str] = []
    for text in texts:
        blocks = str(text).split("-----END PUBLIC KEY-----")
        keys += [
            b.strip() + "\n-----END PUBLIC KEY-----\n" for b in blocks if "-----BEGIN PUBLIC KEY-----" in b
        ]
    return tuple(keys)


def require_verified(uri: str, sha256: str | None, signature: str | None) -> None:
    """A cluster that requires verified artifacts takes one only with a pin or a signature."""
    if not (sha256 or signature):
        raise ArtifactError(
            f"artifact {uri}: this cluster requires verified artifacts: pin its sha256 or give a signature"
        )


def prepare(
    source: ArtifactSource,
    entry_class: str | None,
    *,
    require_verification: bool = False,
    cache_dir: Path = DEFAULT_CACHE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    python_file: bool = False,
) -> PreparedArtifact:
    """Fetch and verify one artifact: a jar (holding ``entry_class``), or with ``python_file`` a
    file of a Python program (artifacts.python_program)."""
    if require_verification:
        require_verified(source.uri, source.sha256, source.signature)
    path, digest = fetch(
        source.uri,
        cache_dir=cache_dir,
        max_bytes=max_bytes,
        headers=source.headers,
        expected_sha256=source.sha256,
    )
    checks = []
    if source.sha256:
        verify_sha256(source.uri, digest, source.sha256)
        checks.append("sha256")
    if source.signature:
        signature_path, _ = fetch(
            source.signature, cache_dir=cache_dir, max_bytes=64 * 1024, headers=source.headers
        )
        fingerprint = verify_signature(
            source.uri, path, digest, signature_path.read_bytes(), list(source.public_keys)
        )
        checks.append(f"signature by key {fingerprint}")
    if python_file:
        check_python_file(source.uri, path)
    else:
        check_jar(source.uri, path, entry_class)
    return PreparedArtifact(path, digest, " and ".join(checks) or "nothing")


@dataclass(frozen=True, kw_only=True)
class ArtifactRequest:
    """The jar a job asks for and how to verify it, with the job's shape for the cluster's caps."""

    jar: str
    entry_class: str | None = None
    parallelism: int | None = None
    sha256: str | None = None
    signature: str | None = None
    public_keys: tuple[str, ...] = ()
    public_keys_conn_id: str | None = None
    headers_conn_id: str | None = None


def _keys_and_headers(hook: FlinkHook, request: ArtifactRequest) -> tuple[tuple[str, ...], dict[str, str]]:
    keys = request.public_keys
    if request.public_keys_conn_id:
        keys += public_keys_from_connection(hook.get_connection(request.public_keys_conn_id))
    headers: dict[str, str] = {}
    if request.headers_conn_id:
        headers = headers_from_connection(hook.get_connection(request.headers_conn_id), mask_value)
    return keys, headers


def prepare_for_cluster(hook: FlinkHook, request: ArtifactRequest) -> PreparedArtifact:
    """Everything checked before a jar may go to the hook's cluster, for operators and reconcile alike:
    the connection's caps (:class:`~airflow_provider_flink.exceptions.LimitError`), then fetching and
    verification under its policy (``require_verified_artifacts``, ``max_artifact_bytes``)."""
    # I6: the jar is checked and read at one location, in its normal form (locations).
    try:
        jar = normalised(request.jar)
        signature = normalised(request.signature, "signature") if request.signature else None
    except ValueError as err:
        raise ArtifactError(str(err)) from None
    limits = ClusterLimits.from_connection(hook.connection)
    limits.check(hook.flink_conn_id, request.jar, request.entry_class, request.parallelism)
    keys, headers = _keys_and_headers(hook, request)
    source = ArtifactSource(jar, request.sha256, signature, keys, headers)
    return prepare(
        source,
        request.entry_class,
        require_verification=limits.require_verified_artifacts,
        max_bytes=limits.max_artifact_bytes or DEFAULT_MAX_BYTES,
    )


def prepare_python_program(
    hook: FlinkHook, program: PythonProgram, request: ArtifactRequest, staging_dir: str | None = None
) -> PreparedArtifact:
    """A Python job through the same gate as a jar (I6): the connection's caps on every file (its
    sources) and on the entry class (``PythonDriver``), then each file fetched and verified under
    the cluster's policy, and only when all passed, staged where the cluster reads them
    (``staging_dir``, else the connection's ``python_staging_dir``). The carrier jar is the
    provider's own pinned bytes."""
    try:
        locations = [normalised(f.location, "Python file") for f in program.all_files()]
        signatures = [
            normalised(f.signature, "signature") if f.signature else None for f in program.all_files()
        ]
    except ValueError as err:
        raise ArtifactError(str(err)) from None
    limits = ClusterLimits.from_connection(hook.connection)
    for location in locations:
        limits.check(hook.flink_conn_id, location, PYTHON_DRIVER, request.parallelism, "Python file")
    where = staging_dir or hook.connection.extra_dejson.get(STAGING_DIR_KEY)
    if not where:
        raise ArtifactError(
            f"a Python job's files must be staged where the cluster reads them, and connection {hook.flink_conn_id} "
            f"has no {STAGING_DIR_KEY}: set that extra to a folder its JobManager and TaskManagers read "
            "(a shared path, s3://..., hdfs://...), or give the job a staging_dir"
        )
    where = check_staging_dir(str(where), "staging_dir" if staging_dir else STAGING_DIR_KEY)
    keys, headers = _keys_and_headers(hook, request)
    # A pinned file already staged under its pin is those very bytes (read back and compared):
    # used as it is, its source not read again. A rollback so runs the files that ran, whatever
    # the files beside the spec hold by now (their pins are in the record's copy of the spec).
    ready: list[StagedFile | PreparedArtifact] = []
    for file, location, signature in zip(program.all_files(), locations, signatures, strict=True):
        if limits.require_verified_artifacts:  # before the staged copy too: a read digest is no pin
            require_verified(location, file.sha256, file.signature)
        known = file.sha256 or file.read_sha256
        already = staged_copy(where, known, file.name) if known and not file.signature else None
        if already is not None and known is not None:
            how = "sha256" if file.sha256 else "its content when the spec was read"
            ready.append(StagedFile(file.name, known, already, f"{how} (its copy staged under that digest)"))
            continue
        source = ArtifactSource(location, file.sha256, signature, keys, headers)
        ready.append(
            prepare(
                source,
                None,
                require_verification=limits.require_verified_artifacts,
                max_bytes=limits.max_artifact_bytes or DEFAULT_MAX_BYTES,
                python_file=True,
            )
        )
    if program.module is not None:
        local = {
            file.name: done.path
            for file, done in zip(program.files, ready, strict=False)
            if isinstance(done, PreparedArtifact)
        }
        if len(local) == len(program.files) and not module_in(program.module, local):
            raise ArtifactError(
                f"module {program.module} is in none of the files ({', '.join(local)}): give the .py file named by "
                "it, or a .zip of its package (a/b.py or a/b/__init__.py inside)"
            )
    # Staged only when every file passed: one that fails stages nothing of the program.
    staged = tuple(
        done
        if isinstance(done, StagedFile)
        else StagedFile(
            file.name, done.sha256, stage(done.path, done.sha256, file.name, where), done.verified_by
        )
        for file, done in zip(program.all_files(), ready, strict=True)
    )
    carrier = prepare(ArtifactSource(str(carrier_jar(DEFAULT_CACHE)), CARRIER_SHA256), None)
    program_staged = StagedProgram(program, staged)
    return PreparedArtifact(carrier.path, carrier.sha256, program_staged.verified_by, program_staged)
