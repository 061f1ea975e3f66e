"""Python (PyFlink) jobs: what a program is made of and how Flink's REST API runs it.

Flink's REST API runs jars. A Python program runs as a jar run whose entry class is Flink's
``PythonDriver``: Flink then adds its own ``flink-python`` jar, and the driver starts the cluster's
Python (``python.client.executable``) inside the JobManager to run the program's ``main``, which
builds the job (its Python functions later run in the TaskManagers' ``python.executable``).

* **The jar** is a carrier only: an empty jar (a manifest) the provider makes itself, always the
  same bytes (:data:`CARRIER_SHA256`), uploaded once per cluster like any jar.
* **The program's files** (the entry ``.py``, extra ``.py``/``.zip``/``.whl``/``.egg`` files,
  archives) reach the JobManager through ``python.files`` / ``python.archives``: the provider
  fetches and verifies them like a jar (pins, signatures, the cluster's caps), then stages each one
  under its SHA-256 in a folder the cluster reads (``python_staging_dir``: a shared path, s3://,
  hdfs:// ...; artifacts/staging). A staged name never changes meaning, so a job restarted from a
  record runs the bytes it ran before.
* **The entry file runs as a module** (``-pym <stem>``): ``PythonDriver`` runs a ``-py`` path as
  given, which only a file on the JobManager's own disk would satisfy, while ``python.files`` may be
  on any file system Flink reads (it copies remote ones to a temporary folder and puts them on the
  ``PYTHONPATH``). ``if __name__ == "__main__":`` still holds for a module run so. The files go in
  the job's configuration (``python.files``, ``python.archives``), which reaches the JobManager's
  Python and the TaskManagers' Python workers; ``-pyfs`` would reach the JobManager only.

Nothing here talks to Flink or to storage: this module says what a Python job is made of.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from airflow_provider_flink.exceptions import ArtifactError

PYTHON_DRIVER = "org.apache.flink.client.python.PythonDriver"
# The carrier jar's bytes are made here (no binary in the package) and pinned: what is uploaded is
# always exactly these bytes (I6). tests/unit/test_python_program.py checks the pin.
CARRIER_NAME = "flink-python-program.jar"
CARRIER_SHA256 = "4f950317d88b68705e34cdc0c676ffe14f18631ca13883e327a44665ddc7d8ef"
FILE_SUFFIXES = (".py", ".zip", ".whl", ".egg")
_MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TARGET = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")
# Flink splits python.files and python.archives on commas: a location with one cannot be passed.
_LIST_SEPARATOR = ","


def carrier_bytes() -> bytes:
    """The carrier jar: a manifest naming ``PythonDriver`` and a note, with fixed times and modes,
    so the same bytes (and digest) on every machine and Python version."""
    buffer = io.BytesIO()
    entries = {
        "META-INF/MANIFEST.MF": f"Manifest-Version: 1.0\r\nMain-Class: {PYTHON_DRIVER}\r\n"
        "Created-By: airflow-provider-flink\r\n\r\n",
        "README.txt": "A carrier for a Python (PyFlink) program run through Flink's REST API by "
        "airflow-provider-flink: the program's files are passed as python.files.\n",
    }
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as jar:
        for name, text in entries.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o644 << 16
            jar.writestr(info, text.encode())
    return buffer.getvalue()


def carrier_jar(cache_dir: Path) -> Path:
    """The carrier jar as a file in ``cache_dir`` (written once, atomically)."""
    path = cache_dir / f"{CARRIER_SHA256}.jar"
    if not path.is_file():
        cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_bytes(carrier_bytes())
        partial.replace(path)
    return path


@dataclass(frozen=True)
class PythonFile:
    """One file of a program, where it is kept and how to verify it (as a jar is verified)."""

    location: str
    sha256: str | None = None
    signature: str | None = None
    # The content the file had when its deployment's spec was read (not a pin: set by the
    # provider): its copy staged under this digest is what a rollback runs.
    read_sha256: str | None = None

    @property
    def name(self) -> str:
        """The file's name: what it is staged (and imported, or unpacked) as."""
        return PurePosixPath(self.location.split("?", 1)[0].rstrip("/")).name


@dataclass(frozen=True)
class PythonArchive:
    """An archive unpacked beside the program's Python processes (``python.archives``), in a folder
    named ``target`` (default: the archive's name), e.g. a virtualenv or data files."""

    file: PythonFile
    target: str | None = None


@dataclass(frozen=True, kw_only=True)
class PythonProgram:
    """A PyFlink program: an entry ``.py`` file (run as a module named by its stem) or a module
    in one of ``files``, the extra files on its ``PYTHONPATH``, and archives."""

    entry: PythonFile | None = None
    module: str | None = None
    files: tuple[PythonFile, ...] = ()
    archives: tuple[PythonArchive, ...] = ()

    def __post_init__(self) -> None:
        problem = self.problem()
        if problem:
            raise ArtifactError(problem)

    def problem(self) -> str | None:
        """What is wrong with the program's shape (None: nothing); said before anything is read."""
        if (self.entry is None) == (self.module is None):
            return (
                "a Python job needs exactly one of file (its entry .py file) and module (a module in files)"
            )
        if self.entry is not None:
            name = self.entry.name
            if not name.endswith(".py"):
                return f"the entry file {self.entry.location} is not a .py file"
            if not _MODULE.fullmatch(name[:-3]) or "." in name[:-3]:
                return (
                    f"the entry file's name {name} is not a Python module name (it runs as -pym {name[:-3]}): "
                    "rename it with letters, digits and _ only"
                )
        if self.module is not None and not _MODULE.fullmatch(self.module):
            return f"module {self.module!r} is not a Python module name (e.g. orders.main)"
        if self.module is not None and not self.files:
            return f"module {self.module} must be in one of files (a .py file or a .zip of its package)"
        names = [f.name for f in self.all_files()]
        for file in self.files:
            if not file.name.endswith(FILE_SUFFIXES):
                return (
                    f"file {file.location} is not one of {', '.join(FILE_SUFFIXES)} (a package folder goes "
                    "as a .zip of it)"
                )
        for archive in self.archives:
            if not archive.file.name.endswith(".zip"):
                return f"archive {archive.file.location} is not a .zip file"
            if archive.target is not None and not _TARGET.fullmatch(archive.target):
                return f"archive target {archive.target!r} must be a folder name (letters, digits, . _ -)"
        for where in self.all_files():
            for pin in (where.sha256, where.read_sha256):
                if pin is not None and not _SHA256.fullmatch(pin):
                    return f"the sha256 of {where.location} must be 64 lowercase hex digits (a SHA-256), got {pin!r}"
            if _LIST_SEPARATOR in where.location or "#" in where.name:
                return f"{where.location}: Flink cannot take a file whose name holds ',' or '#': rename it"
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            return (
                f"two files are named {dupes[0]}: on one PYTHONPATH only the first would be seen; rename one"
            )
        return None

    @property
    def module_name(self) -> str:
        """The module the driver runs (``-pym``)."""
        if self.module is not None:
            return self.module
        assert self.entry is not None  # __post_init__
        return self.entry.name[:-3]

    def all_files(self) -> tuple[PythonFile, ...]:
        """Every file to fetch, verify and stage: the entry first, then files, then archives."""
        entry = (self.entry,) if self.entry is not None else ()
        return entry + self.files + tuple(a.file for a in self.archives)


@dataclass(frozen=True)
class StagedFile:
    """One verified file at its staged location (what Flink reads)."""

    name: str
    sha256: str
    location: str
    verified_by: str


@dataclass(frozen=True)
class StagedProgram:
    """A program whose files are verified and staged: its run arguments and its digest."""

    program: PythonProgram
    files: tuple[StagedFile, ...]  # in the order of program.all_files()

    @property
    def digest(self) -> str:
        """What the program is made of: its module, each file's name and content digest, and each
        archive's target; not where they are staged (moving the staging folder changes no job)."""
        archives = len(self.program.archives)
        plain = self.files[: len(self.files) - archives]
        material = {
            "module": self.program.module_name,
            "files": [[f.name, f.sha256] for f in plain],
            "archives": [
                [f.name, f.sha256, a.target]
                for f, a in zip(self.files[len(plain) :], self.program.archives, strict=True)
            ],
        }
        return hashlib.sha256(json.dumps(material, separators=(",", ":")).encode()).hexdigest()

    def driver_args(self, args: tuple[str, ...] | list[str]) -> tuple[str, ...]:
        """``PythonDriver``'s program arguments: the module, then the program's own arguments
        (``sys.argv[1:]`` in its ``main``)."""
        return ("-pym", self.program.module_name, *args)

    def flink_config(self, config: Mapping[str, str]) -> dict[str, str]:
        """The job's configuration with the staged files and archives added to ``python.files``
        and ``python.archives`` (after any the job's configuration names). Flink gives the
        configuration's files to the JobManager's Python and to the TaskManagers' Python workers
        alike; the driver's own ``-pyfs`` reaches the JobManager only (measured on 1.20.5 and
        2.3.0: a module of it is then missing in the TaskManager)."""
        archives = len(self.program.archives)
        plain = self.files[: len(self.files) - archives]
        out = dict(config)
        ours = {
            "python.files": [f.location for f in plain],
            "python.archives": [
                f"{f.location}#{a.target}" if a.target else f.location
                for f, a in zip(self.files[len(plain) :], self.program.archives, strict=True)
            ],
        }
        for key, locations in ours.items():
            if locations:
                present = out.get(key, "").strip()
                out[key] = _LIST_SEPARATOR.join(([present] if present else []) + locations)
        return out

    @property
    def verified_by(self) -> str:
        return "; ".join(f"{f.name}: {f.verified_by}" for f in self.files)


def module_in(module: str, files: dict[str, Path]) -> bool:
    """Whether ``module`` is in one of the program's files (by name, to its local copy): a ``.py``
    file named by it, or a zip (``.zip``, ``.whl``, ``.egg``) holding ``a/b.py`` or ``a/b/__init__.py``."""
    parts = module.split(".")
    wanted = {"/".join(parts) + ".py", "/".join(parts) + "/__init__.py"}
    for name, path in files.items():
        if name.endswith(".py"):
            if len(parts) == 1 and name[:-3] == module:
                return True
            continue
        try:
            with zipfile.ZipFile(path) as archive:
                if wanted & set(archive.namelist()):
                    return True
        except (OSError, zipfile.BadZipFile):
            continue
    return False


def unstaged(program: PythonProgram) -> StagedProgram:
    """The program at its own locations, unverified: only to check the shape of a run request
    before anything is fetched. Never submitted."""
    return StagedProgram(
        program, tuple(StagedFile(f.name, "0" * 64, f.location, "nothing") for f in program.all_files())
    )


# Flink refusing a second job or application of an id (1.20: jobs; 2.x: applications).
DUPLICATE_MARKERS = ("DuplicateJobSubmissionException", "DuplicateApplicationSubmissionException")


@dataclass(frozen=True)
class PythonFailure:
    """A failed ``main`` as the JobManager's output shows it."""

    traceback: str  # the Python traceback, to its exception's line
    duplicate: bool  # what failed was Flink refusing a second copy of the job (an earlier try's runs)


def python_failure(
    stdout: str, program_files: tuple[str, ...], module: str | None = None
) -> PythonFailure | None:
    """The last Python traceback in the JobManager's output that runs through one of the program's
    files (a module run from ``python.files`` names a copy of it under a temporary folder, by its
    file name); None when there is none (the output is not served, or was rotated). Everything the
    traceback's Java exception prints up to the next traceback tells whether Flink refused a
    second copy of the job."""
    if module is not None:
        # Python itself refusing the module to run (runpy: no traceback, one line).
        lost = f"Error while finding module specification for '{module}'"
        for line in reversed(stdout.splitlines()):
            if line.startswith(lost):
                return PythonFailure(line.strip(), False)
    blocks = stdout.split("Traceback (most recent call last):")
    for block in reversed(blocks[1:]):
        lines = block.splitlines()
        frames = [line for line in lines if line.startswith('  File "')]
        if any(
            line.rstrip().split('"')[1].endswith(tuple(f"/{n}" for n in program_files)) for line in frames
        ):
            # A traceback ends at its first line that is not indented (the exception's own line).
            end = next((i for i, line in enumerate(lines[1:], 1) if line and not line.startswith(" ")), None)
            kept = lines[: end + 1] if end is not None else lines
            text = "Traceback (most recent call last):" + "\n".join(kept).rstrip()
            return PythonFailure(text, any(marker in block for marker in DUPLICATE_MARKERS))
    return None
