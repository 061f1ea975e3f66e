"""The Flink page's static files, as the api-server serves them at ``/flink/static/<name>``: the
page's bundle (``static/flink-page.js``, built from ``ui/frontend`` by ``scripts/build-ui``), which
the Airflow UI loads as a ``react_apps`` plugin (ui/plugin.py), and its navigation icons.

Static code, no data: served without authentication, as the Airflow UI serves its own assets.
Each answer carries a strong ETag (the file's SHA-256) and ``Cache-Control: no-cache``: a browser
asks again on every page load and gets ``304 Not Modified`` until the provider is upgraded.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from fastapi import HTTPException
from fastapi.responses import Response

STATIC = Path(__file__).resolve().parent / "static"
BUNDLE = "flink-page.js"
# Only these names: nothing else of the package's folders is ever served.
FILES = {
    BUNDLE: "application/javascript",
    "flink-icon.svg": "image/svg+xml",
    "flink-icon-dark.svg": "image/svg+xml",
}


@lru_cache(maxsize=8)
def _read(name: str, mtime_ns: int, size: int) -> tuple[bytes, str]:
    """The file and its ETag, read again only when the file changes (a rebuild in a checkout)."""
    body = (STATIC / name).read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def static_file(name: str, if_none_match: str | None = None) -> Response:
    media_type = FILES.get(name)
    path = STATIC / name
    if media_type is None or not path.is_file():
        missing = name == BUNDLE and media_type is not None
        raise HTTPException(
            404,
            "the Flink page's bundle is not built: run ./scripts/build-ui" if missing else "not found",
        )
    stat = path.stat()
    body, etag = _read(name, stat.st_mtime_ns, stat.st_size)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
