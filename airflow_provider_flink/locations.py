"""Where a jar (or its signature) is, in one normal form, before any cap, policy or read (I6).

A cap is a comparison of strings, so it holds only when the string compared is where the bytes are:
``/opt/jobs/../../tmp/evil.jar`` starts with ``/opt/jobs/`` and is not under it. Every location is
therefore brought to one form first, and that form is both checked and read:

* a local path: absolute (a relative one is read beside the file that named it, never in the
  worker's working directory, which nobody chose), ``~`` expanded, ``.`` and ``..`` removed and
  symlinks resolved (a link inside an allowed folder that points outside it is outside it);
* ``file://``: the same, keeping the scheme;
* any other URI (``http(s)://``, ``s3://`` ...): its path without ``.`` and ``..`` segments
  (RFC 3986's remove_dot_segments; servers and object stores would resolve them after the check).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


def has_scheme(location: str) -> bool:
    """A URI (``s3://...``, ``http://...``), not a local path (a Windows drive letter is a path)."""
    scheme = urlsplit(location).scheme
    return bool(scheme) and not (len(scheme) == 1 and os.name == "nt")


def without_dot_segments(path: str) -> str:
    """A URI path with ``.`` and ``..`` resolved; ``..`` never climbs above the root."""
    out: list[str] = []
    segments = path.split("/")
    for segment in segments:
        if segment == "..":
            if len(out) > 1 or (out and out[0]):
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")  # "a/b/.." names the folder a/
    return "/".join(out) if out != [""] else "/"


def beside(base: str, location: str) -> str:
    """A location as a file in folder ``base`` names it: kept when absolute or a URI, else joined
    to the folder (a local folder made absolute; a URI folder joined with ``/``)."""
    if has_scheme(location) or Path(location).expanduser().is_absolute():
        return location
    if has_scheme(base):
        return base.rstrip("/") + "/" + location
    return os.path.join(os.path.abspath(base), location)


def normalised(location: str, what: str = "jar") -> str:
    """``location`` in the one form that is checked and read (see the module's docs).

    Raises ValueError (the caller's layer gives it its kind) for a relative local path: the worker's working directory is no
    place anyone chose (a deployment file's relative paths are made absolute beside the file)."""
    if has_scheme(location):
        parts = urlsplit(location)
        if parts.scheme == "file":
            return "file://" + os.path.realpath(parts.path or "/")
        return urlunsplit(parts._replace(path=without_dot_segments(parts.path)))
    path = Path(location).expanduser()
    if not path.is_absolute():
        raise ValueError(
            f"{what} {location} is a relative path: give an absolute path on the workers or a URI "
            "(in a deployment file, a relative path is read beside the file)"
        )
    return os.path.realpath(path)


def normalised_rule(rule: str) -> str:
    """An allowed-source rule in the form of the locations it is compared with; a rule ending in
    ``/`` (a folder) keeps it, so ``/opt/jobs/`` never allows ``/opt/jobs-other/``."""
    if has_scheme(rule) or Path(rule).expanduser().is_absolute():
        folder = rule.endswith("/")
        form = normalised(rule, "allowed source")
        return form + "/" if folder and not form.endswith("/") else form
    return rule
