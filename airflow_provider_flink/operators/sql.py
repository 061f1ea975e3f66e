"""Run Flink SQL statements as a job: :class:`FlinkSqlJobOperator`.

A SQL job is the provider's SQL runner jar with the statements as its argument
(:mod:`airflow_provider_flink.artifacts.sql`), so everything the deploy operator does applies
unchanged: the job id recorded before the submission (I1, I4), adoption on a retry, the
deployment key, capacity checks, the wait (deferred or in the worker), the job link, ``on_kill``.
What this operator adds is where the statements come from and how a refused statement reads.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow_provider_flink.artifacts import JobDefinition
from airflow_provider_flink.artifacts.sql import (
    RUNNER_CLASS,
    RUNNER_JAR,
    RUNNER_JAR_SHA256,
    SqlError,
    checked_sql,
    read_sql,
    runner_args,
    runner_error,
)
from airflow_provider_flink.client import FlinkApiError
from airflow_provider_flink.exceptions import AirflowFailException
from airflow_provider_flink.operators.job import FlinkDeployJobOperator, _empty

# Arguments of the deploy operator that name or verify a jar: a SQL job's jar is the runner.
_JAR_ARGUMENTS = (
    "jar",
    "entry_class",
    "args",
    "jar_sha256",
    "jar_signature",
    "public_keys",
    "public_keys_conn_id",
    "artifact_conn_id",
)


class FlinkSqlJobOperator(FlinkDeployJobOperator):
    """Run Flink SQL statements (CREATE TABLE ..., INSERT INTO ... SELECT ...) as one Flink job.

    :param sql: the statements, separated by ``;`` (templated). A value ending in ``.sql`` is a
        template file, found like any Airflow template (the DAG's folder, ``template_searchpath``)
        and rendered with Jinja.
    :param sql_file: instead of ``sql``: an absolute path on the worker or an ``ObjectStoragePath``
        URI (s3://, gs://, file:// ...) of a UTF-8 SQL file, read when the task runs (templated path;
        the file's content is not rendered).

    Every statement is checked by Flink's parser and validator before any job starts; all INSERTs
    run together as one job. A statement Flink refuses fails the task (no retry: it will not fix
    itself) with Flink's message, the statement's number and its line and column in the whole SQL,
    and nothing is left running. The job's shape comes from the same arguments as
    :class:`FlinkDeployJobOperator`: ``parallelism``, ``flink_config`` (``pipeline.name`` names the
    job; ``execution.runtime-mode: batch`` with ``wait_for_completion=True`` for a bounded query),
    ``savepoint_path``, ``allow_non_restored_state``, ``claim_mode``, ``job_id``,
    ``deployment_key``, ``wait_for_completion``, ``wait_until_running``, ``kill_action``,
    ``capacity_check``. Returns the job id.

    Restoring a savepoint into a changed query: Flink SQL gives its operators generated ids, so
    state maps only when the new query plans to the same operators (a parallelism or configuration
    change keeps them; a changed query usually does not, and Flink then refuses the restore unless
    ``allow_non_restored_state=True``, which drops the state it cannot map). See docs/sql.md.
    """

    template_fields: Sequence[str] = (
        "sql",
        "sql_file",
        "parallelism",
        "flink_config",
        "savepoint_path",
        "allow_non_restored_state",
        "job_id",
        "deployment_key",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "flink_config": "json"}

    def __init__(self, *, sql: str | None = None, sql_file: str | None = None, **kwargs: Any) -> None:
        taken = [name for name in _JAR_ARGUMENTS if name in kwargs]
        if taken:
            raise ValueError(
                f"FlinkSqlJobOperator takes no {', '.join(taken)}: it runs the provider's own SQL runner jar. "
                "Give the statements in sql= (or sql_file=), or use FlinkDeployJobOperator for a jar of your own"
            )
        if (sql is None) == (sql_file is None):
            raise ValueError(
                "FlinkSqlJobOperator needs exactly one of sql= (the statements, or a .sql template file) "
                f"and sql_file= (a SQL file's absolute path or URI, read when the task runs); got "
                f"{'both' if sql is not None else 'neither'}"
            )
        # The runner is pinned to the digest the provider shipped it with (I6).
        super().__init__(
            jar=str(RUNNER_JAR), entry_class=RUNNER_CLASS, jar_sha256=RUNNER_JAR_SHA256, **kwargs
        )
        self.sql = sql
        self.sql_file = sql_file

    def _statements(self) -> str:
        """The rendered statements; a blank, unreadable or oversized SQL fails before any call."""
        try:
            if self.sql_file is not None:
                location = "" if _empty(self.sql_file) else str(self.sql_file).strip()
                if not location:
                    raise SqlError(
                        f"sql_file rendered empty ({self.sql_file!r}): give the SQL file's path or URI"
                    )
                if "://" not in location and not Path(location).expanduser().is_absolute():
                    raise SqlError(
                        f"sql_file {location!r} is a relative path, which depends on the worker's directory: "
                        "give an absolute path or a URI, or put the file beside the DAG and pass sql='<name>.sql'"
                    )
                return read_sql(location)
            return checked_sql(str(self.sql), "sql")
        except SqlError as err:
            raise AirflowFailException(str(err)) from None

    def _definition(self) -> JobDefinition:
        sql = self._statements()
        self.log.info(
            "SQL job: %d line(s), SHA-256 %s, run by %s",
            sql.count("\n") + 1,
            hashlib.sha256(sql.encode()).hexdigest()[:12],
            RUNNER_JAR.name,
        )
        return dataclasses.replace(super()._definition(), args=runner_args(sql))

    def _lineage_sql(self) -> str | None:
        return self._statements()

    def execute(self, context: Any) -> Any:
        try:
            return super().execute(context)
        except FlinkApiError as err:
            refused = runner_error(err.full_text)
            if refused is None:
                raise
            # The runner checks every statement before it submits anything: no job exists.
            raise AirflowFailException(
                f"Flink refused the SQL, and no job was started: {refused}{'' if refused.endswith('.') else '.'} "
                "Fix the statement and run the task again"
            ) from None
