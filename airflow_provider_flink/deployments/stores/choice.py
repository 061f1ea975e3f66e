"""Which record store an installation uses: ``[flink] record_store_conn_id``
(``AIRFLOW__FLINK__RECORD_STORE_CONN_ID``) names a connection to a database (postgres, sqlite or
mysql) for the SQL store; unset, records are Airflow Variables."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.engine import URL

from airflow_provider_flink.deployments.samples import RETENTION_HOURS, SAMPLE_SECONDS
from airflow_provider_flink.deployments.stores.base import LEASE_SECONDS, RecordStore
from airflow_provider_flink.deployments.stores.sql import SqlRecordStore
from airflow_provider_flink.deployments.stores.variables import MetadataVariableStore, VariableRecordStore
from airflow_provider_flink.exceptions import AirflowNotFoundException, RecordStoreError
from airflow_provider_flink.triggers.waiting import airflow_conf

SECTION, OPTION = "flink", "record_store_conn_id"
LEASE_OPTION = "record_lease_seconds"
SAMPLE_OPTION, RETENTION_OPTION = "sample_interval_seconds", "sample_retention_hours"


def store_conn_id() -> str | None:
    value = str(airflow_conf().get(SECTION, OPTION, fallback="") or "").strip()
    return value or None


def lease_seconds() -> float:
    return _number(LEASE_OPTION, LEASE_SECONDS, 5.0, "a number of seconds >= 5")


def _number(option: str, default: float, least: float, what: str, zero: bool = False) -> float:
    raw = airflow_conf().get(SECTION, option, fallback=None)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not math.isfinite(value) or (value < least and not (zero and value == 0)):
        raise RecordStoreError(f"[flink] {option} must be {what}, got {raw!r}")
    return value


def sample_seconds() -> float:
    """``[flink] sample_interval_seconds``: how often the job watcher samples each deployment's job
    for the Flink page's charts (0: never)."""
    return _number(
        SAMPLE_OPTION, SAMPLE_SECONDS, 1.0, "a number of seconds >= 1, or 0 to take no samples", zero=True
    )


def retention_hours() -> float:
    """``[flink] sample_retention_hours``: how long samples are kept."""
    return _number(RETENTION_OPTION, RETENTION_HOURS, 1.0, "a number of hours >= 1")


def configured_store(server: bool = False) -> RecordStore:
    """The installation's store; ``server``: for the api-server or the command line (Variables
    read from the metadata DB directly) rather than a task."""
    conn_id = store_conn_id()
    if conn_id is None:
        return MetadataVariableStore() if server else VariableRecordStore()
    # The api-server reads the same records on every page view: it remembers them by revision.
    return sql_store(conn_id, remember=server)


def sql_store(
    conn_id: str, named_by: str = f"[{SECTION}] {OPTION}", remember: bool = False
) -> SqlRecordStore:
    """The SQL store of connection ``conn_id`` (``named_by``: where the id came from, for the
    message when it is not defined); the connection's extra ``table_schema`` names the PostgreSQL
    schema of the tables (created if missing)."""
    from airflow_provider_flink.hooks.flink import FlinkHook

    try:
        conn = FlinkHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise _not_defined(conn_id, named_by) from None
    return _sql_store_of(conn_id, conn, remember)


def _not_defined(conn_id: str, named_by: str) -> RecordStoreError:
    otherwise = (
        f" or unset [flink] {OPTION} to keep records in Variables"
        if named_by.startswith("[")
        else " (or name Airflow Variables: variables)"
    )
    return RecordStoreError(
        f"{named_by} names connection {conn_id!r}, which is not defined: add it "
        f"(airflow connections add {conn_id} --conn-uri postgresql://user:pass@host:5432/db){otherwise}"
    )


def _sql_store_of(conn_id: str, conn: Any, remember: bool = False) -> SqlRecordStore:
    schema = (conn.extra_dejson or {}).get("table_schema") or None
    return SqlRecordStore(database_url(conn_id, conn), schema=schema, name=conn_id, remember=remember)


async def asample_store() -> SqlRecordStore | None:
    """The store of the job watcher's samples: the SQL store (None: records in Variables, which
    keep no samples). Its connection is looked up on the event loop, as Airflow's triggers look
    connections up (``aget_connection``), not through the sync lookup from a thread."""
    conn_id = store_conn_id()
    if conn_id is None:
        return None
    from airflow_provider_flink.hooks.flink import FlinkHook

    try:
        conn = await FlinkHook.aget_connection(conn_id)
    except AirflowNotFoundException:
        raise _not_defined(conn_id, f"[{SECTION}] {OPTION}") from None
    return _sql_store_of(conn_id, conn)


def database_url(conn_id: str, conn: Any) -> URL:
    """SQLAlchemy's URL for an Airflow connection of type postgres, sqlite or mysql."""
    kind = (conn.conn_type or "").lower()
    if kind in ("postgres", "postgresql"):
        return URL.create(
            "postgresql+psycopg2",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        )
    if kind == "sqlite":
        path = conn.host or conn.schema or ""
        if not path.startswith("/"):
            raise RecordStoreError(
                f"connection {conn_id}: a SQLite record store needs the absolute path of its file as host, "
                f"got {path!r}"
            )
        return URL.create("sqlite", database=path)
    if kind in ("mysql", "mariadb"):
        return URL.create(
            "mysql+pymysql" if _has("pymysql") else "mysql+mysqldb",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        )
    raise RecordStoreError(
        f"connection {conn_id} is of type {conn.conn_type!r}: the record store takes a postgres, sqlite "
        "or mysql connection (add it with --conn-uri postgresql://…, sqlite:////absolute/path.db or "
        "mysql://…: the command line turns a --conn-type it has no provider for into generic)"
    )


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None
