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


def staged_copy(staging_dir: str, digest: str, name: str) -> str | None:
    """The location of a file already staged under ``digest``, read back and matching it; None
    when there is none (or it does not match)."""
    location = staged_location(staging_dir, digest, name)
    local = _local(staging_dir)
    try:
        if local is not None:
            target = local / digest / name
            return location if target.is_file() and sha256_of(target) == digest else None
        from airflow.sdk import ObjectStoragePath

        remote = ObjectStoragePath(location)
        if remote.exists() and hashlib.sha256(remote.read_bytes()).hexdigest() == digest:
            return location
    except (OSError, ValueError):
        return None
    return None


def stage(path: Path, digest: str, name: str, staging_dir: str) -> str:
    """Stage the verified file ``path`` (SHA-256 ``digest``) as ``name``; return its location."""
    location = staged_location(staging_dir, digest, name)
    local = _local(staging_dir)
    try:
        if local is not None:
            _stage_local(path, digest, local / digest / name)
        else:
            _stage_remote(path, digest, location)
    except OSError as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ArtifactError(f"cannot stage {name} in {staging_dir}: {first}") from None
    return location


def _stage_local(path: Path, digest: str, target: Path) -> None:
    if target.is_file() and sha256_of(target) == digest:
        return
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
    _check(sha256_of(target), digest, str(target))


def _stage_remote(path: Path, digest: str, location: str) -> None:
    from airflow.sdk import ObjectStoragePath

    target = ObjectStoragePath(location)
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(path.read_bytes())  # an object store's put is whole or nothing
    _check(hashlib.sha256(target.read_bytes()).hexdigest(), digest, location)


def _check(actual: str, expected: str, where: str) -> None:
    if actual != expected:
        raise ArtifactError(
            f"the staged copy at {where} does not match what was verified (SHA-256 {actual[:12]}, expected "
            f"{expected[:12]}): is another process writing there? Not running it"
        )
