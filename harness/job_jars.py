"""Build the test job jars from the Java sources in ``harness/java`` (javac + jar, no Maven).

One jar holds all test jobs; each job is chosen by its entry class. The jar is built per Flink
version (compiled against that version's ``flink-dist``) and cached by a digest of the sources,
so a rebuild happens only when a source changes.

    python -m harness.job_jars --version 2.3.0      # prints the jar path
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness.flink_cluster import CACHE_ROOT, DEFAULT_VERSION, cache_lock, install_flink, java_tool

SOURCES = Path(__file__).parent / "java"
PACKAGE = "flinkprovider.testjobs"
COUNTER_JOB = f"{PACKAGE}.CounterJob"
BATCH_JOB = f"{PACKAGE}.BatchJob"
FAILING_JOB = f"{PACKAGE}.FailingJob"
COUNTER_METRIC = "count.counter"
FAILING_MESSAGE = "failing on purpose after "


def read_counter(client: Any, job_id: str) -> float:
    """The CounterJob's keyed counter (max over subtasks) through REST metrics; 0 before the first record.

    Reads the Python twin (``harness/python/counter_job.py``) alike: its Python gauge is the same
    metric of the same vertex ("count -> sink: Writer"), updated when the Python operator finishes
    a bundle (at the latest at each checkpoint), so it lags the records by up to a checkpoint interval.
    """
    from airflow_provider_flink.client import calls

    job = client.call(calls.job(job_id))
    vertex = next(v for v in job.vertices if v.name.startswith("count"))
    found = client.call(calls.vertex_metrics(job_id, vertex.id, [COUNTER_METRIC])).by_id().get(COUNTER_METRIC)
    return float(found.max or 0.0) if found else 0.0


def _sources() -> list[Path]:
    return sorted(SOURCES.rglob("*.java"))


def _digest() -> str:
    h = hashlib.sha256()
    for src in _sources():
        h.update(src.relative_to(SOURCES).as_posix().encode())
        h.update(src.read_bytes())
    return h.hexdigest()[:16]


def build_jar(version: str = DEFAULT_VERSION, out_dir: Path | None = None) -> Path:
    """Compile the test jobs against Flink ``version``; return the jar (cached by source digest)."""
    home = install_flink(version)
    out_dir = out_dir or CACHE_ROOT / "jars" / version
    jar = out_dir / f"flink-provider-testjobs-{_digest()}.jar"
    if jar.exists():
        return jar
    with cache_lock(jar):
        if jar.exists():
            return jar
        return _compile(home, version, jar)


def _compile(home: Path, version: str, jar: Path) -> Path:
    javac = java_tool("javac")
    jar_tool = str(Path(javac).with_name("jar"))
    with tempfile.TemporaryDirectory() as classes:
        subprocess.run(
            [
                javac,
                "-nowarn",
                "--release",
                "11",
                "-cp",
                str(home / "lib" / f"flink-dist-{version}.jar"),
                "-d",
                classes,
                *map(str, _sources()),
            ],
            check=True,
        )
        partial = jar.with_suffix(".partial")
        subprocess.run([jar_tool, "--create", "--file", str(partial), "-C", classes, "."], check=True)
        os.replace(partial, jar)
    return jar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", default=os.environ.get("FLINK_VERSION", DEFAULT_VERSION))
    args = parser.parse_args(argv)
    print(build_jar(args.version))
    return 0


if __name__ == "__main__":
    sys.exit(main())
