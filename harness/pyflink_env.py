"""A Python environment per Flink version for the local cluster's Python processes (PyFlink jobs).

A PyFlink job submitted over REST runs its ``main`` in a Python started by the JobManager
(``python.client.executable``) and its Python functions in Pythons started by the TaskManager
(``python.executable``). Both need ``apache-flink`` of the cluster's version *with* its
dependencies (apache-beam, numpy, pandas, pyarrow, ...), which the cluster's own install
(``apache-flink --no-deps``) does not have. This module makes one virtualenv per version, once
(2.3.0: about 1 min and 850 MB; 1.20.5: about 20 s and 720 MB), and reuses it. It is built in a
``.partial`` directory, marked complete last and then renamed into place, so an install that was
killed never looks complete. Standard library only: no provider import.

    python -m harness.pyflink_env --version 2.3.0     # prints the venv's python
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from harness.flink_cluster import CACHE_ROOT, DEFAULT_VERSION, cache_lock

ENV_ROOT = CACHE_ROOT / "pyflink-env"
MARKER = "installed.txt"
# The PyFlink test jobs (run them with ``-py <file>``; ``pyjobs`` is a package shipped with one in
# ``python.files``).
PYTHON_JOBS = Path(__file__).parent / "python"


def env_dir(version: str) -> Path:
    return ENV_ROOT / version


def env_python(version: str) -> Path:
    """The venv's python for ``version`` (whether it is installed or not)."""
    return env_dir(version) / "bin" / "python"


def is_installed(version: str) -> bool:
    return (env_dir(version) / MARKER).exists() and env_python(version).exists()


def install_pyflink_env(version: str) -> Path:
    """Install ``apache-flink==version`` with its dependencies into a venv once; return its python.
    Installs running at once (``scripts/test`` starts them early, in the background, and a test
    session's cluster may ask before they end) take turns on a lock: the second finds it done."""
    if is_installed(version):
        return env_python(version)
    with cache_lock(env_dir(version)):
        if is_installed(version):
            return env_python(version)
        return _install(version)


def _install(version: str) -> Path:
    target = env_dir(version)
    tmp = target.with_name(f"{version}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    began = time.monotonic()
    print(f"installing apache-flink=={version} and its dependencies into {target} ...", file=sys.stderr)
    uv = shutil.which("uv")
    # The venv's python is a symlink to the base interpreter and finds its site-packages relative
    # to itself (pyvenv.cfg), so the venv keeps working after the rename below; only console
    # scripts (pip, ...) would keep the .partial path in their shebang, and nothing here runs them.
    venv_cmd = [sys.executable, "-m", "venv", *(["--without-pip"] if uv else []), str(tmp)]
    subprocess.run(venv_cmd, check=True)
    python = tmp / "bin" / "python"
    package = f"apache-flink=={version}"
    if uv:
        cmd = [uv, "pip", "install", "--quiet", "--python", str(python), package]
    else:
        cmd = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", package]
    subprocess.run(cmd, check=True)
    check = [str(python), "-c", "import pyflink.version as v; print(v.__version__)"]
    found = subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip()
    if found != version:
        raise RuntimeError(f"{tmp} has PyFlink {found!r}, not {version}")
    (tmp / MARKER).write_text(f"apache-flink=={version} installed in {time.monotonic() - began:.1f} s\n")
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    return env_python(version)


def driver_jar(path: Path | None = None) -> Path:
    """A jar to run Python programs from (entry class ``PythonDriver``): a manifest and nothing else.

    Flink adds ``pyflink/opt/flink-python-*.jar`` to a Python program itself; any uploaded jar will do.
    """
    path = path or CACHE_ROOT / "jars" / "pyflink-driver.jar"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with zipfile.ZipFile(partial, "w") as jar:
            jar.writestr(
                "META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nCreated-By: airflow-provider-flink\n"
            )
        os.replace(partial, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.pyflink_env", description=__doc__)
    parser.add_argument("--version", default=os.environ.get("FLINK_VERSION", DEFAULT_VERSION))
    args = parser.parse_args(argv)
    print(install_pyflink_env(args.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
