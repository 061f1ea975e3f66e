"""Records in SQL tables through an Airflow connection: PostgreSQL (for teams: a database or a
schema on the server that holds Airflow's metadata DB), SQLite (one machine), MySQL.

Every rule of :mod:`~airflow_provider_flink.deployments.stores.base` is one statement here:

* a write is ``UPDATE ... WHERE revision = <read> AND <lease holds>`` (an ``INSERT`` of the first
  revision), so compare-and-set is the database's, not a read before a write;
* a lease is a row per deployment whose token only grows (released leases keep it), and "holds"
  is judged on the database's clock, never a worker's;
* the records of a cluster are read in one query.

The provider creates its tables at first use and migrates them (``flink_provider_store`` holds
the version); a database at a newer version than this provider knows is refused, not written.
"""

from __future__ import annotations

import logging
import os
import threading
import zlib
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Double,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    create_engine,
    exists,
    inspect,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement

from airflow_provider_flink.deployments.records import DeploymentRecord, parse_record
from airflow_provider_flink.deployments.samples import Sample
from airflow_provider_flink.deployments.stores.base import Lease, busy, fence, refusal, stale
from airflow_provider_flink.exceptions import RecordConflictError, RecordStoreError

log = logging.getLogger(__name__)

T = TypeVar("T")

DRIVERS = {
    "postgresql": "pip install 'airflow-provider-flink[postgres]' (or apache-airflow[postgres])",
    "mysql": "pip install pymysql (or mysqlclient)",
}

# Read the records of a cluster by name when a run asks for at most this many; past it, every
# record of the cluster in one scan (no statement with thousands of parameters).
NAMES_IN_QUERY = 500


@dataclass(frozen=True)
class Tables:
    version: Table
    records: Table
    leases: Table
    samples: Table


def tables(schema: str | None) -> Tables:
    metadata = MetaData(schema=schema)
    return Tables(
        Table(
            "flink_provider_store",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=False),
            Column("version", Integer, nullable=False),
        ),
        Table(
            "flink_deployment_records",
            metadata,
            Column("cluster", String(250), primary_key=True),
            Column("name", String(250), primary_key=True),
            Column("revision", BigInteger, nullable=False),
            Column("body", Text, nullable=False),
            Column("updated_at", Double, nullable=False),
        ),
        Table(
            "flink_deployment_leases",
            metadata,
            Column("cluster", String(250), primary_key=True),
            Column("name", String(250), primary_key=True),
            Column("token", BigInteger, nullable=False),
            Column("holder", String(500), nullable=False),
            # Double precision: MySQL's FLOAT is single precision, steps of 128 s at today's epoch
            # seconds, which would end leases early or late by up to a minute.
            Column("expires_at", Double, nullable=False),
        ),
        Table(
            # What a deployment's job did, one row per deployment per sample (deployments/samples.py).
            "flink_deployment_samples",
            metadata,
            Column("cluster", String(250), primary_key=True),
            Column("name", String(250), primary_key=True),
            Column("at", Double, primary_key=True),  # MySQL's FLOAT is single precision
            Column("body", Text, nullable=False),
            Index("flink_deployment_samples_at", "at"),  # retention deletes by age alone
        ),
    )


def _version_1(conn: Connection, t: Tables) -> None:
    t.records.create(conn, checkfirst=True)
    t.leases.create(conn, checkfirst=True)


def widened_clocks(dialect: Any, t: Tables) -> list[str]:
    """On MySQL, the statements that make version 1's time columns double precision (they were
    created as FLOAT, single precision there); nothing on PostgreSQL (FLOAT is float8) or SQLite."""
    if dialect.name not in ("mysql", "mariadb"):
        return []
    table = dialect.identifier_preparer.format_table
    return [
        f"ALTER TABLE {table(t.records)} MODIFY updated_at DOUBLE NOT NULL",
        f"ALTER TABLE {table(t.leases)} MODIFY expires_at DOUBLE NOT NULL",
    ]


def _version_2(conn: Connection, t: Tables) -> None:
    t.samples.create(conn, checkfirst=True)
    for statement in widened_clocks(conn.dialect, t):
        conn.execute(text(statement))


# Version N of the tables is what MIGRATIONS[:N] made; a new version appends a step, never edits one.
MIGRATIONS: tuple[Callable[[Connection, Tables], None], ...] = (_version_1, _version_2)
SCHEMA_VERSION = len(MIGRATIONS)


def db_now(dialect: str) -> ColumnElement[float]:
    """The database's clock in epoch seconds: leases are judged on one clock for every worker."""
    if dialect == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())", Float)
    if dialect == "sqlite":
        return literal_column("((julianday('now') - 2440587.5) * 86400.0)", Float)
    if dialect in ("mysql", "mariadb"):
        return literal_column("UNIX_TIMESTAMP(NOW(6))", Float)
    raise RecordStoreError(
        f"the record store does not know the clock of {dialect}: use PostgreSQL, SQLite or MySQL"
    )


def _cause(err: BaseException) -> str:
    """The database's own words, first line: never the URL (its password) nor the parameters."""
    orig = getattr(err, "orig", None) or err
    line = str(orig).strip().splitlines()[0] if str(orig).strip() else ""
    return f"{type(orig).__name__}: {line}" if line else type(orig).__name__


_engines: dict[str, Engine] = {}
# The records a remembering store read last, by (store, cluster): name -> record (its revision in it).
_remembered: dict[tuple[str, str], dict[str, DeploymentRecord]] = {}
_migrated: set[str] = set()
_engines_lock = threading.Lock()


def _forget_engines_in_child() -> None:
    # A forked process (the campaign's zygote, a LocalExecutor worker) must not use its parent's
    # pooled connections: their sockets are shared with the parent.
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()


os.register_at_fork(after_in_child=_forget_engines_in_child)


class SqlRecordStore:
    """``url``: SQLAlchemy's URL of the database; ``schema``: the schema that holds the tables
    (PostgreSQL), created if missing; ``name``: what messages call the store (a connection id)."""

    def __init__(
        self, url: URL | str, schema: str | None = None, name: str | None = None, remember: bool = False
    ) -> None:
        """``remember``: keep the records read, by revision, for the next read in this process (a
        long-lived reader: the api-server's Flink page); a record whose revision did not change is
        not fetched or parsed again."""
        self.url = url if isinstance(url, URL) else _parse_url(url)
        self.remember = remember
        self.schema = schema
        self.dialect = self.url.get_backend_name()
        self.t = tables(schema)
        self.name = name or self.dialect
        self.now = db_now(self.dialect)
        self._key = f"{self.url.render_as_string(hide_password=False)}#{schema}"

    @property
    def describe(self) -> str:
        return f"SQL store {self.name} ({self.dialect})"

    # ------------------------------------------------------------------ engine and tables
    @property
    def engine(self) -> Engine:
        with _engines_lock:
            engine = _engines.get(self._key)
            if engine is None:
                options: dict[str, Any] = {"pool_pre_ping": True}
                if self.dialect == "sqlite":
                    # Writers wait for each other's transactions instead of failing at once.
                    options["connect_args"] = {"timeout": 30}
                try:
                    engine = _engines[self._key] = create_engine(self.url, **options)
                except ImportError as err:  # the dialect's driver is not installed here
                    raise RecordStoreError(
                        f"the {self.describe} needs the {self.url.get_driver_name()} driver, which is not "
                        f"installed here ({err}): {DRIVERS.get(self.dialect, 'install it')}"
                    ) from None
            return engine

    def _ensure_tables(self) -> None:
        if self._key in _migrated:
            return
        with self.engine.begin() as conn:  # the usual case: one look, no lock
            current = self._version(conn)
        if current == SCHEMA_VERSION:
            _migrated.add(self._key)
            return
        try:
            with self.engine.begin() as conn:
                self._migrate(conn)
        except IntegrityError:
            # Another process created them between our look and our create: look again.
            with self.engine.begin() as conn:
                self._migrate(conn)
        _migrated.add(self._key)

    def _migrate(self, conn: Connection) -> None:
        if self.dialect == "postgresql":
            # One migrating process at a time (the lock ends with the transaction).
            conn.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": zlib.crc32(b"flink_provider_store")}
            )
            if self.schema:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
        self.t.version.create(conn, checkfirst=True)
        found = conn.execute(select(self.t.version.c.version).where(self.t.version.c.id == 1)).scalar()
        current = int(found or 0)
        if current > SCHEMA_VERSION:
            raise RecordStoreError(
                f"the {self.describe} holds tables of version {current}, newer than this provider knows "
                f"({SCHEMA_VERSION}): upgrade airflow-provider-flink on this machine, or point "
                "[flink] record_store_conn_id at another database"
            )
        for step in MIGRATIONS[current:]:
            step(conn, self.t)
        if found is None:
            conn.execute(self.t.version.insert().values(id=1, version=SCHEMA_VERSION))
        elif current < SCHEMA_VERSION:
            conn.execute(
                update(self.t.version).where(self.t.version.c.id == 1).values(version=SCHEMA_VERSION)
            )
        if current < SCHEMA_VERSION:
            log.info("%s: tables at version %d (were %d)", self.describe, SCHEMA_VERSION, current)

    def schema_version(self) -> int:
        """The version of the tables in the database (0: none yet); creates nothing."""
        return self._run("read its version", self._version, ensure=False)

    def _version(self, conn: Connection) -> int:
        if not inspect(conn).has_table(self.t.version.name, schema=self.schema):
            return 0
        found = conn.execute(select(self.t.version.c.version).where(self.t.version.c.id == 1)).scalar()
        return int(found or 0)

    def _run(
        self, what: str, work: Callable[[Connection], T], ensure: bool = True, race: str | None = None
    ) -> T:
        """``work`` in one transaction; a database error becomes one :class:`RecordStoreError`,
        a duplicate key (two first rows of one deployment at once) the lost race ``race``."""
        try:
            if ensure:
                self._ensure_tables()
            with self.engine.begin() as conn:
                return work(conn)
        except (RecordConflictError, RecordStoreError):
            raise
        except IntegrityError as err:
            if race is None:
                raise RecordStoreError(f"the {self.describe} could not {what}: {_cause(err)}") from None
            raise RecordConflictError(race) from None
        except SQLAlchemyError as err:
            hint = ""
            if self.dialect == "sqlite" and "unable to open database file" in str(err):
                hint = f" (file {self.url.database}: does its folder exist, and may this user write there?)"
            raise RecordStoreError(f"the {self.describe} could not {what}: {_cause(err)}{hint}") from None

    # ------------------------------------------------------------------ reads
    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        return self.get_many(cluster, [name]).get(name)

    def get_many(self, cluster: str, names: Collection[str] | None = None) -> dict[str, DeploymentRecord]:
        r = self.t.records
        wanted = None if names is None else set(names)
        known = _remembered.setdefault((self._key, cluster), {}) if self.remember else {}

        def narrowed(query: Any) -> Any:
            query = query.where(r.c.cluster == cluster)
            if wanted is not None and len(wanted) <= NAMES_IN_QUERY:
                query = query.where(r.c.name.in_(sorted(wanted)))
            return query

        def read(conn: Connection) -> list[Any]:
            if not known:  # one query: every body
                return list(conn.execute(narrowed(select(r.c.name, r.c.revision, r.c.body))).all())
            # The revisions first; the bodies of only those that changed since the last read.
            revisions = conn.execute(narrowed(select(r.c.name, r.c.revision))).all()
            changed = [n for n, rev in revisions if n not in known or known[n].revision != rev]
            bodies: dict[str, Any] = {}
            for start in range(0, len(changed), NAMES_IN_QUERY):
                part = changed[start : start + NAMES_IN_QUERY]
                query = select(r.c.name, r.c.body).where(r.c.cluster == cluster, r.c.name.in_(part))
                bodies.update(conn.execute(query).all())
            return [(n, rev, bodies.get(n)) for n, rev in revisions]

        rows = self._run(f"read the records of cluster {cluster}", read)
        found: dict[str, DeploymentRecord] = {}
        for name, revision, body in rows:
            if wanted is not None and name not in wanted:
                continue
            seen = known.get(name)
            record = (
                seen
                if seen is not None and seen.revision == revision and body is None
                else _with_revision(parse_record(body, cluster, name), revision)
            )
            if record is not None:
                found[name] = record
        if self.remember:
            if wanted is None:
                known.clear()
            known.update(found)
        return found

    # ------------------------------------------------------------------ samples
    def add_samples(self, cluster: str, samples: dict[str, Sample]) -> None:
        """One row per deployment (by name); written by the job watcher alone, no lease. A row
        already there at the same instant is kept (a sample is never rewritten)."""
        if not samples:
            return
        s = self.t.samples
        rows = [
            {"cluster": cluster, "name": name, "at": sample.at, "body": sample.to_json()}
            for name, sample in sorted(samples.items())
        ]

        def add(conn: Connection) -> None:
            taken = set(
                conn.execute(
                    select(s.c.name).where(
                        s.c.cluster == cluster, s.c.at.in_(sorted({row["at"] for row in rows}))
                    )
                ).scalars()
            )
            fresh = [row for row in rows if row["name"] not in taken]
            if fresh:
                conn.execute(s.insert(), fresh)

        self._run(f"keep the samples of cluster {cluster}", add)

    def samples(self, cluster: str, name: str, since: float) -> list[Sample]:
        """The samples of one deployment taken after ``since`` (epoch seconds), oldest first."""
        s = self.t.samples
        query = (
            select(s.c.body).where(s.c.cluster == cluster, s.c.name == name, s.c.at > since).order_by(s.c.at)
        )
        bodies = self._run(f"read the samples of {name}", lambda c: list(c.execute(query).scalars()))
        return [Sample.model_validate_json(body) for body in bodies]

    def prune_samples(self, before: float, cluster: str | None = None) -> int:
        """Delete the samples (of ``cluster``; None: of every cluster) taken before ``before``;
        how many were deleted. Each cluster's sampler deletes its own: no two delete the same rows."""
        s = self.t.samples
        query = s.delete().where(s.c.at < before)
        if cluster is not None:
            query = query.where(s.c.cluster == cluster)
        return self._run("delete old samples", lambda c: int(c.execute(query).rowcount or 0))

    def all_records(self) -> Iterator[DeploymentRecord]:
        r = self.t.records
        rows = self._run(
            "read its records",
            lambda c: c.execute(select(r.c.cluster, r.c.name, r.c.revision, r.c.body)).all(),
        )
        for cluster, name, revision, body in rows:
            record = _with_revision(parse_record(body, cluster, name), revision)
            if record is not None:
                yield record

    # ------------------------------------------------------------------ writes
    def _holds(self, record: DeploymentRecord, lease: Lease | None) -> ColumnElement[bool]:
        """The lease condition of a write: ``lease`` is the deployment's newest and has not run
        out; without a lease (a store used by hand), no lease of anyone runs."""
        le = self.t.leases
        same = and_(le.c.cluster == record.cluster, le.c.name == record.name)
        if lease is None or not lease.fenced:
            return ~exists(select(le.c.token).where(same, le.c.expires_at > self.now))
        return exists(select(le.c.token).where(same, le.c.token == lease.token, le.c.expires_at > self.now))

    def write(self, record: DeploymentRecord, lease: Lease | None = None) -> DeploymentRecord:
        written = record.model_copy(update={"revision": record.revision + 1, "rebuilt": False})
        body = written.model_dump_json()
        r = self.t.records

        def cas(conn: Connection) -> DeploymentRecord:
            # The lease row locked (shared) for the rest of the transaction: a take-over waits
            # until this write is committed or refused. Why: under READ COMMITTED the condition
            # below reads a snapshot, and a take-over committed just after it would let this write
            # land after the lease changed hands. (SQLite runs one writing statement at a time.)
            le = self.t.leases
            conn.execute(
                select(le.c.token)
                .where(le.c.cluster == record.cluster, le.c.name == record.name)
                .with_for_update(read=True)
            ).all()
            holds = self._holds(record, lease)
            if record.revision == 0:
                first = select(
                    literal(record.cluster, String),
                    literal(record.name, String),
                    literal(1, BigInteger),
                    literal(body, Text),
                    self.now,
                ).where(
                    holds,
                    ~exists(
                        select(r.c.revision).where(r.c.cluster == record.cluster, r.c.name == record.name)
                    ),
                )
                done = conn.execute(
                    r.insert().from_select(["cluster", "name", "revision", "body", "updated_at"], first)
                ).rowcount
            else:
                done = conn.execute(
                    update(r)
                    .where(
                        r.c.cluster == record.cluster,
                        r.c.name == record.name,
                        r.c.revision == record.revision,
                        holds,
                    )
                    .values(revision=written.revision, body=body, updated_at=self.now)
                ).rowcount
            if done == 1:
                return written
            return self._refused(conn, record, lease, written)

        race = (
            f"another reconcile wrote the first record of {record.name} at the same moment: "
            "this run stops acting on it and leaves it to the other"
        )
        return self._run(f"write the record of {record.name}", cas, race=race)

    def _refused(
        self, conn: Connection, record: DeploymentRecord, lease: Lease | None, written: DeploymentRecord
    ) -> DeploymentRecord:
        """Why a write did not happen, raised as a lost race; or, for a record rebuilt from Flink
        over a stored one nobody can read, the write made after all."""
        r, le = self.t.records, self.t.leases
        row = conn.execute(
            select(r.c.revision, r.c.body).where(r.c.cluster == record.cluster, r.c.name == record.name)
        ).first()
        newest = conn.execute(
            select(le.c.token, le.c.holder, le.c.expires_at, self.now).where(
                le.c.cluster == record.cluster, le.c.name == record.name
            )
        ).first()
        now = float(newest[3]) if newest is not None else 0.0
        mine = (
            Lease(record.cluster, record.name, newest[1], int(newest[0]), float(newest[2]))
            if newest
            else None
        )
        why = fence(record.name, lease, mine, now)
        if why is not None:
            raise RecordConflictError(why)
        stored_revision = int(row[0]) if row is not None else 0
        if (
            row is not None
            and record.revision == 0
            and parse_record(row[1], record.cluster, record.name) is None
        ):
            # Unreadable: the record rebuilt from Flink replaces it (as a missing one would be written).
            rebuilt = written.model_copy(update={"revision": stored_revision + 1, "rebuilt": False})
            done = conn.execute(
                update(r)
                .where(
                    r.c.cluster == record.cluster, r.c.name == record.name, r.c.revision == stored_revision
                )
                .values(revision=rebuilt.revision, body=rebuilt.model_dump_json(), updated_at=self.now)
            ).rowcount
            if done == 1:
                return rebuilt
        stored = record.model_copy(update={"revision": stored_revision})
        raise stale(record, stored if row is not None else None, self.describe) or RecordConflictError(
            f"the record of {record.name} changed while this run wrote it: this run stops acting on it"
        )

    def put(self, record: DeploymentRecord) -> None:
        r = self.t.records
        body = record.model_dump_json()

        def upsert(conn: Connection) -> None:
            key = and_(r.c.cluster == record.cluster, r.c.name == record.name)
            done = conn.execute(
                update(r).where(key).values(revision=record.revision, body=body, updated_at=self.now)
            ).rowcount
            if done == 0:
                conn.execute(
                    r.insert().from_select(
                        ["cluster", "name", "revision", "body", "updated_at"],
                        select(
                            literal(record.cluster, String),
                            literal(record.name, String),
                            literal(record.revision, BigInteger),
                            literal(body, Text),
                            self.now,
                        ),
                    )
                )

        self._run(f"write the record of {record.name}", upsert)

    # ------------------------------------------------------------------ leases
    def take_lease(self, cluster: str, name: str, holder: str, seconds: float) -> Lease:
        le = self.t.leases
        key = and_(le.c.cluster == cluster, le.c.name == name)

        def take(conn: Connection) -> Lease:
            # Over a lease that ran out (or the holder's own): the token grows, so every write
            # under an older lease of this deployment is refused from now on.
            taken = conn.execute(
                update(le)
                .where(key, or_(le.c.expires_at <= self.now, le.c.holder == holder))
                .values(token=le.c.token + 1, holder=holder, expires_at=self.now + seconds)
            ).rowcount
            if taken == 0:
                first = select(
                    literal(cluster, String),
                    literal(name, String),
                    literal(1, BigInteger),
                    literal(holder, String),
                    self.now + seconds,
                ).where(~exists(select(le.c.token).where(key)))
                taken = conn.execute(
                    le.insert().from_select(["cluster", "name", "token", "holder", "expires_at"], first)
                ).rowcount
            row = conn.execute(select(le.c.token, le.c.holder, le.c.expires_at, self.now).where(key)).one()
            if taken == 0 or row[1] != holder:
                raise RecordConflictError(busy(name, row[1], float(row[2]) - float(row[3])))
            return Lease(cluster, name, holder, int(row[0]), float(row[2]))

        race = f"{name} was leased by another run at the same moment: this run leaves it to that one"
        return self._run(f"take the lease of {name}", take, race=race)

    def renew_lease(self, lease: Lease, seconds: float) -> Lease:
        le = self.t.leases
        key = and_(le.c.cluster == lease.cluster, le.c.name == lease.name)

        def renew(conn: Connection) -> Lease:
            done = conn.execute(
                update(le)
                .where(key, le.c.token == lease.token, le.c.expires_at > self.now)
                .values(expires_at=self.now + seconds)
            ).rowcount
            row = conn.execute(select(le.c.token, le.c.holder, le.c.expires_at, self.now).where(key)).first()
            if done == 0 or row is None:
                newest = Lease(lease.cluster, lease.name, row[1], int(row[0]), float(row[2])) if row else None
                raise RecordConflictError(
                    refusal(lease, newest, float(row[3]) if row else 0.0)
                    or f"this run's lease on {lease.name} is gone"
                )
            return Lease(lease.cluster, lease.name, lease.holder, lease.token, float(row[2]))

        return self._run(f"renew the lease of {lease.name}", renew)

    def release_lease(self, lease: Lease) -> None:
        le = self.t.leases
        self._run(
            f"release the lease of {lease.name}",
            lambda conn: conn.execute(
                update(le)
                .where(le.c.cluster == lease.cluster, le.c.name == lease.name, le.c.token == lease.token)
                .values(expires_at=0.0)  # the token stays: the next lease gets a greater one
            ),
        )


def _with_revision(record: DeploymentRecord | None, revision: int) -> DeploymentRecord | None:
    """The stored revision is the column's (what compare-and-set compares), whatever the body says."""
    if record is None or record.revision == revision:
        return record
    return record.model_copy(update={"revision": int(revision)})


def _parse_url(raw: str) -> URL:
    from sqlalchemy.engine import make_url

    try:
        return make_url(raw)
    except Exception:
        raise RecordStoreError("the record store's URL is not a database URL (dialect://...)") from None
