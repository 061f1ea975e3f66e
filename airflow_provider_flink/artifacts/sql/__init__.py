"""SQL jobs: a script of Flink SQL statements run by the provider's own SQL runner jar.

Flink's REST API runs jars, not SQL, and the SQL Gateway is a separate server many clusters do
not run. So the provider ships a small runner (``flink-sql-runner.jar``, Java source in
``java/``, built by ``scripts/build-sql-runner`` with ``javac`` against Flink 1.20, the oldest
supported line, so the same jar runs on 1.20 and 2.x): a SQL job is that jar, submitted like any
other, with the script as its one program argument. Nobody needs a JDK on the Airflow workers.

The runner checks every statement (Flink's own parser and validator) before any job starts and
runs all INSERTs as one job; a bad statement fails the submission with Flink's message and the
line and column in the whole script (:func:`runner_error` reads it from Flink's answer).

Nothing here talks to Flink: this module says what a SQL job is made of.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_provider_flink.artifacts.definition import JobDefinition
from airflow_provider_flink.artifacts.prepare import ArtifactRequest
from airflow_provider_flink.exceptions import ArtifactError

HERE = Path(__file__).parent
RUNNER_JAR = HERE / "flink-sql-runner.jar"
RUNNER_SOURCES = HERE / "java"
RUNNER_CLASS = "flinkprovider.sql.SqlRunner"
STATEMENTS_ARG = "--statements-base64"
# The shipped jar's digest, written by scripts/build-sql-runner. Pinned on every submission, so a
# jar that was replaced or damaged after installing is never uploaded (I6), and a cluster that
# requires verified artifacts accepts the runner. tests/unit/test_sql.py checks it.
RUNNER_JAR_SHA256 = "05e93a84a62dcc4353641a9b87044f74bf791af82b930bf764505e1a1f9b75e2"
# The jar's manifest records the digest of the sources it was built from (sources_sha256()).
MANIFEST_SOURCES_KEY = "Sources-SHA256"
# A script larger than this is almost surely the wrong file (it travels as a program argument).
MAX_SQL_BYTES = 1024 * 1024

_RUNNER_FAILURE = re.compile(r"flinkprovider\.sql\.SqlScriptException: ([^\r\n]*)")


class SqlError(ArtifactError):
    """The SQL cannot run: empty, unreadable, too large, or refused by the runner (with Flink's
    message, the statement and its line and column). Nothing was left running."""


def sources_sha256(root: Path = RUNNER_SOURCES) -> str:
    """Digest of the runner's Java sources (relative paths and bytes, in sorted order): what the
    jar's manifest records, so a test can tell that the shipped jar was built from them."""
    digest = hashlib.sha256()
    for source in sorted(root.rglob("*.java")):
        digest.update(source.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(source.read_bytes())
    return digest.hexdigest()


def checked_sql(sql: str, where: str) -> str:
    """The script, refused with a clear error when it is blank or too large."""
    if not sql.strip():
        raise SqlError(
            f"{where} is empty: give the SQL statements to run (CREATE TABLE ...; INSERT INTO ...;)"
        )
    size = len(sql.encode("utf-8"))
    if size > MAX_SQL_BYTES:
        raise SqlError(
            f"{where} is {size} bytes, over the limit of {MAX_SQL_BYTES}: is it the right file? A SQL job's "
            "statements travel to Flink as a program argument"
        )
    return sql


def read_sql(location: str) -> str:
    """A SQL file's text: a path on this worker or any ``ObjectStoragePath`` URI (s3://, gs://,
    file:// ...). Any failure is a :class:`SqlError` naming the file."""
    try:
        if "://" in location:
            from airflow.sdk import ObjectStoragePath

            data = ObjectStoragePath(location).read_bytes()
        else:
            data = Path(location).expanduser().read_bytes()
    except FileNotFoundError:
        raise SqlError(f"SQL file {location} does not exist (on this worker)") from None
    except (OSError, ValueError, ImportError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise SqlError(f"SQL file {location} cannot be read: {first}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SqlError(
            f"SQL file {location} is not UTF-8 text (byte {err.start}): save it as UTF-8"
        ) from None
    return checked_sql(text, f"SQL file {location}")


def runner_args(sql: str) -> tuple[str, ...]:
    """The runner's program arguments: the script as base64 of its UTF-8 text, one argument that
    no quoting of program arguments (spaces, quotes, newlines, semicolons) can change."""
    return (STATEMENTS_ARG, base64.b64encode(sql.encode("utf-8")).decode("ascii"))


def script_of(args: tuple[str, ...] | list[str]) -> str | None:
    """The script a runner's program arguments carry (for logs and tests); None for other args."""
    if len(args) != 2 or args[0] != STATEMENTS_ARG:
        return None
    return base64.b64decode(args[1]).decode("utf-8")


def sql_definition(
    sql: str,
    *,
    parallelism: int | None = None,
    flink_config: Mapping[str, Any] | None = None,
    allow_non_restored_state: bool = False,
) -> JobDefinition:
    """A SQL job: the shipped runner jar, pinned to its digest, with the script as its argument."""
    return JobDefinition(
        artifact=ArtifactRequest(
            jar=str(RUNNER_JAR),
            entry_class=RUNNER_CLASS,
            parallelism=parallelism,
            sha256=RUNNER_JAR_SHA256,
        ),
        args=runner_args(checked_sql(sql, "the SQL")),
        flink_config=dict(flink_config or {}),
        allow_non_restored_state=allow_non_restored_state,
    )


def runner_error(flink_answer: str) -> str | None:
    """The runner's one-line account of why the script did not run ("statement 2 (line 4,
    column 1): SQL parse failed. Encountered ..."), from Flink's answer to the run request (a
    Java stack trace); None when the runner did not refuse the script (another failure)."""
    found = _RUNNER_FAILURE.findall(flink_answer)
    return found[-1].strip() if found else None
