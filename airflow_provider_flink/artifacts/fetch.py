"""Bring a job jar from where a team keeps it into a local cache keyed by its SHA-256.

Sources: a local path (used in place), ``http(s)://`` (streamed with requests, optional headers),
and any other URI Airflow's ``ObjectStoragePath`` understands (``s3://``, ``gs://``, ``file://`` ...,
through the installed providers).

Downloads stream into a private temporary file in the cache directory while the digest is
computed; a download larger than ``max_bytes`` is aborted; only a complete download is renamed
(atomically) to ``<sha256>.jar``. A partial download is never used.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import requests

from airflow_provider_flink.exceptions import ArtifactError

CHUNK = 1024 * 1024
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
DEFAULT_CACHE = Path(
    os.environ.get("FLINK_PROVIDER_ARTIFACT_CACHE", Path(tempfile.gettempdir()) / "flink-artifacts")
)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (jars can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def local_sha256(location: str) -> str | None:
    """The SHA-256 of a file on this machine, read again only when it changes (its size, time or
    inode); None for a URI or what is not a file here. For the many reads of the same files by
    long-lived processes (the Flink page, the watchers) and the reconcile's loads."""
    if urlsplit(location).scheme:
        return None
    path = Path(location).expanduser()
    try:
        found = path.stat()
    except OSError:
        return None
    if not path.is_file():
        return None
    return _file_digest(str(path), found.st_size, found.st_mtime_ns, found.st_ino)


@functools.lru_cache(maxsize=4096)
def _file_digest(path: str, size: int, mtime_ns: int, inode: int) -> str:
    return sha256_of(Path(path))


def _redact(uri: str) -> str:
    """The URI without credentials or query string (tokens hide there): safe for messages."""
    parts = urlsplit(uri)
    if not parts.scheme or parts.scheme == "file":
        return uri
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def fetch(
    uri: str,
    *,
    cache_dir: Path = DEFAULT_CACHE,
    max_bytes: int = DEFAULT_MAX_BYTES,
    headers: dict[str, str] | None = None,
    expected_sha256: str | None = None,
    timeout: float = 60.0,
) -> tuple[Path, str]:
    """The artifact as a local file and its SHA-256 hex digest."""
    scheme = urlsplit(uri).scheme
    if not scheme or (len(scheme) == 1 and os.name == "nt"):
        path = Path(uri).expanduser()
        if not path.is_file():
            raise ArtifactError(f"artifact {uri} does not exist on this worker (or is not a file)")
        if path.stat().st_size > max_bytes:
            raise ArtifactError(
                f"artifact {uri} is {path.stat().st_size} bytes, over the limit of {max_bytes}"
            )
        return path, sha256_of(path)
    if expected_sha256:
        cached = cache_dir / f"{expected_sha256}.jar"
        if cached.is_file():
            return cached, expected_sha256
    if scheme in ("http", "https"):
        chunks = _http_chunks(uri, headers or {}, timeout)
    else:
        chunks = _object_storage_chunks(uri)
    return _store(uri, chunks, cache_dir, max_bytes)


def _http_chunks(uri: str, headers: dict[str, str], timeout: float) -> Iterator[bytes]:
    try:
        with requests.get(uri, headers=headers, stream=True, timeout=timeout) as resp:
            if resp.status_code >= 400:
                raise ArtifactError(f"artifact {_redact(uri)}: the server answered HTTP {resp.status_code}")
            yield from resp.iter_content(CHUNK)
    except requests.RequestException as err:
        raise ArtifactError(
            f"artifact {_redact(uri)} could not be downloaded: {type(err).__name__}"
        ) from None


def _object_storage_chunks(uri: str) -> Iterator[bytes]:
    from airflow.sdk import ObjectStoragePath

    try:
        with ObjectStoragePath(uri).open("rb") as fh:  # type: ignore[no-untyped-call]
            while block := fh.read(CHUNK):
                yield block
    except FileNotFoundError:
        raise ArtifactError(f"artifact {_redact(uri)} does not exist") from None
    except (OSError, ValueError, ImportError) as err:
        raise ArtifactError(
            f"artifact {_redact(uri)} could not be read: {str(err).splitlines()[0]}"
        ) from None


def _store(uri: str, chunks: Iterator[bytes], cache_dir: Path, max_bytes: int) -> tuple[Path, str]:
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, partial = tempfile.mkstemp(prefix=".partial-", suffix=".jar", dir=cache_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for block in chunks:
                size += len(block)
                if size > max_bytes:
                    raise ArtifactError(
                        f"artifact {_redact(uri)} is larger than the limit of {max_bytes} bytes"
                    )
                digest.update(block)
                out.write(block)
        final = cache_dir / f"{digest.hexdigest()}.jar"
        os.replace(partial, final)  # complete downloads only, atomically
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return final, digest.hexdigest()
