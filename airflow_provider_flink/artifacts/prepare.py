"""Fetch and verify a jar under a cluster's caps and policy: the gate before any upload (I6)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_flink.artifacts.fetch import DEFAULT_CACHE, DEFAULT_MAX_BYTES, fetch
from airflow_provider_flink.artifacts.verify import check_jar, verify_sha256, verify_signature
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
    path: Path
    sha256: str
    verified_by: str  # "sha256", "signature <key fingerprint>", both, or "nothing"


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


def prepare(
    source: ArtifactSource,
    entry_class: str | None,
    *,
    require_verification: bool = False,
    cache_dir: Path = DEFAULT_CACHE,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> PreparedArtifact:
    if require_verification and not (source.sha256 or source.signature):
        raise ArtifactError(
            f"artifact {source.uri}: this cluster requires verified artifacts: pin its sha256 or give a signature"
        )
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
    keys = request.public_keys
    if request.public_keys_conn_id:
        keys += public_keys_from_connection(hook.get_connection(request.public_keys_conn_id))
    headers: dict[str, str] = {}
    if request.headers_conn_id:
        headers = headers_from_connection(hook.get_connection(request.headers_conn_id), mask_value)
    source = ArtifactSource(jar, request.sha256, signature, keys, headers)
    return prepare(
        source,
        request.entry_class,
        require_verification=limits.require_verified_artifacts,
        max_bytes=limits.max_artifact_bytes or DEFAULT_MAX_BYTES,
    )
