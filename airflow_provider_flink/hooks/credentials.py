"""Secrets and key material as connections hold them: masking, the basic-auth header, PEM values.

Used by the connection mapping (REST auth, TLS files) and by the artifacts layer (download
headers, signing keys), so both mask, encode and read the same way.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def mask_value(secret: Any) -> None:
    """Register a secret with Airflow's masker, so no log line or rendered field shows it."""
    if not secret:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(secret)


def basic_auth_header(login: str, password: str | None) -> str:
    """``Basic <base64(login:password)>``. The caller masks it: it is as secret as the password."""
    return "Basic " + base64.b64encode(f"{login}:{password or ''}".encode()).decode()


@dataclass(frozen=True)
class PemValue:
    """A PEM value as given: the text itself, or the path of a file on the worker holding it."""

    text: str | None = None
    path: Path | None = None

    def read(self) -> str:
        return self.text if self.text is not None else Path(str(self.path)).read_text()


def pem_or_path(value: str, what: str) -> PemValue:
    """PEM text (it has a ``-----BEGIN`` line) or an existing file; else a ValueError naming ``what``.
    The value itself is not echoed: a PEM pasted without its first line is still a secret."""
    text = str(value).strip()
    if "-----BEGIN" in text:
        return PemValue(text=text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(f"{what} is neither PEM text nor an existing file path")
    return PemValue(path=path)
