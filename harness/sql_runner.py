"""Build the provider's SQL runner jar from its Java source (javac + jar, no Maven).

The source lives in the package (``airflow_provider_flink/artifacts/sql/java``) and the built jar
ships in it (``flink-sql-runner.jar``), so users need no JDK. It is compiled with
``--release 11`` against the OLDEST supported Flink line (1.20.5: ``flink-dist`` and
``flink-table-api-java-uber``): the APIs it uses have the same signatures in 2.x, so one jar runs
on both (the integration tests run it on both). The manifest records the digest of the sources
(``Sources-SHA256``); entries carry a fixed time stamp, so the same sources and JDK give the same
jar. Building into the package also writes the jar's SHA-256 into the package's pin
(``RUNNER_JAR_SHA256``).

    scripts/build-sql-runner                       # rebuild the shipped jar and its pin
    python -m harness.sql_runner --out /tmp/x.jar  # build elsewhere, leave the package alone
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from airflow_provider_flink.artifacts import sha256_of, sql
from harness.flink_cluster import install_flink, java_tool

BUILD_AGAINST = "1.20.5"
# Any fixed instant: entries' time stamps must not depend on when the jar was built.
FIXED_DATE = "2026-01-01T00:00:00Z"
PIN_LINE = re.compile(r'^RUNNER_JAR_SHA256 = "[0-9a-f]{64}"$', re.MULTILINE)


def classpath(version: str = BUILD_AGAINST) -> str:
    lib = install_flink(version) / "lib"
    return os.pathsep.join(
        str(lib / name) for name in (f"flink-dist-{version}.jar", f"flink-table-api-java-uber-{version}.jar")
    )


def javac_major(javac: str) -> int:
    """The major version of ``javac`` (17 from "javac 17.0.15"): its class files may differ from another's."""
    text = subprocess.run([javac, "-version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"javac (\d+)", text)
    if not match:
        raise SystemExit(f"cannot read the version of {javac}: {text!r}")
    return int(match.group(1))


def build(out: Path = sql.RUNNER_JAR, version: str = BUILD_AGAINST) -> Path:
    """Compile the runner against Flink ``version`` into the jar ``out``; return it."""
    sources = sorted(sql.RUNNER_SOURCES.rglob("*.java"))
    javac = java_tool("javac")
    jar_tool = str(Path(javac).with_name("jar"))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        classes = Path(work) / "classes"
        subprocess.run(
            [javac, "-nowarn", "--release", "11", "-encoding", "UTF-8", "-cp", classpath(version),
             "-d", str(classes), *map(str, sources)],
            check=True,
        )  # fmt: skip
        manifest = Path(work) / "MANIFEST.MF"
        # Created-By names this builder instead of the JDK's patch release, so the same sources
        # and javac major version give the same bytes.
        manifest.write_text(
            f"Main-Class: {sql.RUNNER_CLASS}\n"
            f"{sql.MANIFEST_SOURCES_KEY}: {sql.sources_sha256()}\n"
            f"Built-Against-Flink: {version}\n"
            f"Build-Jdk-Spec: {javac_major(javac)}\n"
            "Created-By: airflow-provider-flink harness.sql_runner\n"
        )
        partial = out.with_suffix(".partial")
        subprocess.run(
            [jar_tool, "--create", "--file", str(partial), "--manifest", str(manifest),
             f"--date={FIXED_DATE}", "-C", str(classes), "."],
            check=True,
        )  # fmt: skip
        os.replace(partial, out)
    return out


def write_pin(jar: Path = sql.RUNNER_JAR) -> str:
    """Write the jar's SHA-256 into the package's pin; return it."""
    digest = sha256_of(jar)
    module = Path(sql.__file__)
    text = module.read_text()
    if not PIN_LINE.search(text):
        raise SystemExit(f"{module}: no line 'RUNNER_JAR_SHA256 = \"<64 hex>\"' to update")
    module.write_text(PIN_LINE.sub(f'RUNNER_JAR_SHA256 = "{digest}"', text, count=1))
    return digest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--out", type=Path, help="where to write the jar (default: the package's, with its pin)"
    )
    parser.add_argument("--flink-version", default=BUILD_AGAINST, help="the Flink to compile against")
    args = parser.parse_args(argv)
    jar = build(args.out or sql.RUNNER_JAR, args.flink_version)
    if args.out is None:
        print(f"{jar}\nSHA-256 {write_pin(jar)} (pinned in {sql.__file__})")
    else:
        print(jar)
    return 0


if __name__ == "__main__":
    sys.exit(main())
