"""A ``multipart/form-data`` body that streams a file from disk.

Flink's ``/jars/upload`` wants the jar as the multipart field ``jarfile``. requests builds
multipart bodies in memory; jars can be hundreds of MB, so this body is a file-like object with a
known length that reads the jar in chunks as the transport sends it (requests streams file-like
bodies; the async transport iterates :meth:`MultipartFile.aiter`).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

CHUNK = 256 * 1024


class MultipartFile:
    """The whole body: preamble, the file's bytes, epilogue. Single use."""

    def __init__(
        self,
        path: Path,
        field: str = "jarfile",
        content_type: str = "application/x-java-archive",
        filename: str | None = None,
    ):
        self.path = path
        self.boundary = secrets.token_hex(16)
        name = (filename or path.name).replace('"', "_").replace("\r", "_").replace("\n", "_")
        self._head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._size = path.stat().st_size
        self._parts: Iterator[bytes] | None = None
        self._buffer = b""

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
            "Content-Length": str(len(self)),
        }

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def chunks(self) -> Iterator[bytes]:
        yield self._head
        with self.path.open("rb") as fh:
            while block := fh.read(CHUNK):
                yield block
        yield self._tail

    async def aiter(self) -> AsyncIterator[bytes]:
        # Disk reads of a local jar are fast; not worth a thread hop per chunk.
        for block in self.chunks():
            yield block

    def read(self, size: int = -1) -> bytes:
        """File-like read for requests/http.client, which send the body block by block."""
        if self._parts is None:
            self._parts = self.chunks()
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._parts)
            except StopIteration:
                break
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
