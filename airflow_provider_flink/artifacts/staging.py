"""Put a verified file where a Flink cluster reads it: ``<staging folder>/<sha256>/<name>``.

A Python job's files must be readable by the JobManager that runs its ``main`` (artifacts/
python_program). The staging folder is a path the cluster's machines share, or any URI both
Airflow's ``ObjectStoragePath`` and Flink's file systems read (``s3://``, ``gs://``, ``hdfs://``,
``file://``). Each file lives under its own digest, so a staged name never changes meaning: it is
written once, a file already there is read back and kept only when its digest matches (a partial
or altered copy is written again), and every copy is read back and checked before it is used (I6).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from airflow_provider_flink.artifacts.fetch import sha256_of
from airflow_provider_flink.exceptions import ArtifactError
from airflow_provider_flink.locations import has_scheme

STAGING_DIR_KEY = "python_staging_dir"


def staged_location(staging_dir: str, digest: str, name: str) -> str:
    """Where a file with this digest and name is staged (the form Flink is given)."""
    return f"{staging_dir.rstrip('/')}/{digest}/{name}"


def _local(staging_dir: str) -> Path | None:
    """The local folder of a plain path or a ``file://`` URI; None for any other URI."""
    if not has_scheme(staging_dir):
        return Path(staging_dir).expanduser()
    parts = urlsplit(staging_dir)
    return Path(parts.path) if parts.scheme == "file" else None


def check_staging_dir(staging_dir: str, what: str = STAGING_DIR_KEY) -> str:
    """The folder, refused with a clear error when Flink could not be given it; ``what`` names
    where it was set (the connection's extra, or the task's or spec's ``staging_dir``)."""
    where = staging_dir.strip()
    if not where:
        raise ArtifactError(f"{what} is empty: give a folder the Flink cluster reads")
    if "," in where or "#" in where:
        raise ArtifactError(
            f"{what} {where} holds ',' or '#', which Flink's python.files cannot take: choose another folder"
        )
    local = _local(where)
    if local is not None and not local.is_absolute():
        raise ArtifactError(
            f"{what} {where} is a relative path: give an absolute path the cluster's machines share, "
            "or a URI (s3://, hdfs:// ...)"
        )
    return where


def _digest_at(staging_dir: str, digest: str, name: str) -> str | None:
    """The SHA-256 of what is staged under ``digest`` as ``name`` now; None when nothing is."""
    local = _local(staging_dir)
    if local is not None:
        target = local / digest / name
        return sha256_of(target) if target.is_file() else None
    from airflow.sdk import ObjectStoragePath

    remote = ObjectStoragePath(staged_location(staging_dir, digest, name))
    return hashlib.sha256(remote.read_bytes()).hexdigest() if remote.exists() else None


def staged_copy(staging_dir: str, digest: str, name: str) -> str | None:
    """The location of a file already staged under ``digest``, read back and matching it; None
    when there is none (or it does not match)."""
    try:
        found = _digest_at(staging_dir, digest, name)
    except (OSError, ValueError):
        return None
    return staged_location(staging_dir, digest, name) if found == digest else None


def stage(path: Path, digest: str, name: str, staging_dir: str) -> str:
    """Stage the verified file ``path`` (SHA-256 ``digest``) as ``name``; return its location. A
    copy already there and matching is kept; one that does not match is written again."""
    location = staged_location(staging_dir, digest, name)
    if staged_copy(staging_dir, digest, name) is not None:
        return location
    local = _local(staging_dir)
    try:
        if local is not None:
            _write_local(path, local / digest / name)
        else:
            from airflow.sdk import ObjectStoragePath

            target = ObjectStoragePath(location)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())  # an object store's put is whole or nothing
        written = _digest_at(staging_dir, digest, name)
    except OSError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ArtifactError(f"cannot stage {name} in {staging_dir}: {first}") from None
    if written != digest:
        raise ArtifactError(
            f"the staged copy at {location} does not match what was verified (SHA-256 {str(written)[:12]}, "
            f"expected {digest[:12]}): is another process writing there? Not running it"
        )
    return location


def _write_local(path: Path, target: Path) -> None:
    """``path``'s bytes at ``target``, whole or not at all (a partial file renamed into place)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, partial = tempfile.mkstemp(prefix=".partial-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            while block := src.read(1024 * 1024):
                out.write(block)
        os.chmod(partial, 0o644)  # read by the cluster's own user
        os.replace(partial, target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
