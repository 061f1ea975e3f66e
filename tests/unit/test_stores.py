"""Every record store keeps the same rules (compare-and-set, bulk reads, fenced leases), checked
here on the memory store and the SQL store on SQLite files; tests/integration/test_record_stores.py
runs the same contract on PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.samples import Sample
from airflow_provider_flink.deployments.stores import (
    MemoryRecordStore,
    RecordStore,
    RunRecords,
    SqlRecordStore,
    UnfencedStore,
    VariableRecordStore,
    holder_of,
    sample_store,
    sql,
)
from airflow_provider_flink.deployments.stores.sql import SCHEMA_VERSION
from airflow_provider_flink.exceptions import DeploymentBusyError, RecordConflictError, RecordStoreError


def record(name: str = "orders", cluster: str = "c", **fields: Any) -> DeploymentRecord:
    return DeploymentRecord.model_validate({"name": name, "cluster": cluster, **fields})


class Clock:
    """A store's clock the test moves (the memory store); the SQL store's is the database's."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RecordStore:
    if request.param == "memory":
        return MemoryRecordStore()
    return SqlRecordStore(f"sqlite:///{tmp_path / 'records.db'}", name="flink_records")


def test_a_first_write_and_each_next_one_bump_the_revision(store: RecordStore) -> None:
    first = store.write(record(status="running"))
    assert first.revision == 1
    second = store.write(first.model_copy(update={"current_job_id": "a" * 32}))
    assert second.revision == 2
    assert store.get("c", "orders") == second


def test_a_write_from_an_older_revision_is_a_lost_race_and_changes_nothing(store: RecordStore) -> None:
    first = store.write(record())
    theirs = store.write(first.model_copy(update={"status": "running"}))
    with pytest.raises(RecordConflictError) as lost:
        store.write(first.model_copy(update={"status": "suspended"}))
    assert isinstance(lost.value, DeploymentBusyError)  # the executor's "yielded", not a failure
    assert f"(revision 2 in the {store.describe}, this run had 1)" in str(lost.value)
    assert store.get("c", "orders") == theirs


def test_two_first_writes_one_wins(store: RecordStore) -> None:
    store.write(record(status="running"))
    with pytest.raises(RecordConflictError):
        store.write(record(status="suspended"))
    stored = store.get("c", "orders")
    assert stored is not None
    assert stored.status == "running"


def test_the_records_of_a_cluster_are_read_at_once(store: RecordStore) -> None:
    for name in ("a", "b", "c"):
        store.write(record(name))
    store.write(record("a", cluster="other"))
    assert sorted(store.get_many("c")) == ["a", "b", "c"]
    assert sorted(store.get_many("c", ["a", "c", "missing"])) == ["a", "c"]
    assert store.get_many("c", []) == {}
    assert sorted(r.cluster + "/" + r.name for r in store.all_records()) == ["c/a", "c/b", "c/c", "other/a"]


def test_a_lease_is_one_holders_until_it_is_released(store: RecordStore) -> None:
    mine = store.take_lease("c", "orders", "dag/run1/reconcile", 30)
    assert mine.fenced
    assert mine.token == 1
    with pytest.raises(
        RecordConflictError,
        match=r"^orders is being acted on by dag/run1/reconcile \(its lease runs 3\d s more\)",
    ):
        store.take_lease("c", "orders", "dag/run2/reconcile", 30)
    written = store.write(record(), mine)
    store.release_lease(mine)
    theirs = store.take_lease("c", "orders", "dag/run2/reconcile", 30)
    assert theirs.token == 2  # released leases keep their token: the next one is greater
    with pytest.raises(
        RecordConflictError, match=r"^this run's lease on orders was taken over by dag/run2/reconcile"
    ):
        store.write(written, mine)
    assert store.write(written, theirs).revision == 2


def test_a_tasks_next_try_takes_over_its_lease(store: RecordStore) -> None:
    first_try = store.take_lease("c", "orders", holder_of("dag/run1/reconcile/1"), 30)
    second_try = store.take_lease("c", "orders", holder_of("dag/run1/reconcile/2"), 30)
    assert second_try.token == first_try.token + 1
    with pytest.raises(RecordConflictError, match="was taken over by dag/run1/reconcile"):
        store.write(record(), first_try)


def test_a_write_without_a_lease_is_refused_while_another_holds_one(store: RecordStore) -> None:
    store.take_lease("c", "orders", "dag/run1/reconcile", 30)
    with pytest.raises(
        RecordConflictError, match=r"^orders is leased to dag/run1/reconcile: a write without"
    ):
        store.write(record())
    assert store.get("c", "orders") is None


def test_a_renewal_keeps_a_lease_and_a_lost_one_is_said(store: RecordStore) -> None:
    mine = store.take_lease("c", "orders", "dag/run1/reconcile", 30)
    renewed = store.renew_lease(mine, 60)
    assert renewed.token == mine.token
    assert renewed.expires_at > mine.expires_at + 20
    store.release_lease(renewed)
    store.take_lease("c", "orders", "dag/run2/reconcile", 30)
    with pytest.raises(RecordConflictError, match="taken over by dag/run2/reconcile"):
        store.renew_lease(renewed, 60)


def test_a_lease_that_ran_out_cannot_write_even_if_nobody_took_it() -> None:
    clock = Clock()
    store = MemoryRecordStore(clock)
    mine = store.take_lease("c", "orders", "dag/run1/reconcile", 30)
    clock.now += 31
    with pytest.raises(RecordConflictError, match=r"^this run's lease on orders ran out 1 s ago"):
        store.write(record(), mine)
    with pytest.raises(RecordConflictError, match="ran out"):
        store.renew_lease(mine, 30)
    theirs = store.take_lease("c", "orders", "dag/run2/reconcile", 30)  # free for the next run
    assert store.write(record(), theirs).revision == 1


def test_a_sql_lease_runs_out_on_the_databases_clock(tmp_path: Path) -> None:
    store = SqlRecordStore(f"sqlite:///{tmp_path / 'records.db'}")
    mine = store.take_lease("c", "orders", "dag/run1/reconcile", 1)
    assert abs(mine.expires_at - (time.time() + 1)) < 2  # SQLite's clock, in epoch seconds
    time.sleep(1.3)
    with pytest.raises(RecordConflictError, match="ran out"):
        store.write(record(), mine)
    assert store.get("c", "orders") is None
    assert store.take_lease("c", "orders", "dag/run2/reconcile", 30).token == 2


def test_an_unreadable_record_is_replaced_by_the_one_rebuilt_from_flink(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "records.db"
    store = SqlRecordStore(f"sqlite:///{path}")
    store.write(record(status="running"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE flink_deployment_records SET body = '{broken'")
    caplog.set_level(logging.WARNING)
    assert store.get("c", "orders") is None
    assert "Record of deployment orders on c is unreadable" in caplog.text
    rebuilt = store.write(record(status="running", rebuilt=True))
    assert rebuilt.revision == 2
    assert not rebuilt.rebuilt
    assert store.get("c", "orders") == rebuilt


def test_the_sql_store_creates_its_tables_at_version_and_refuses_a_newer_one(tmp_path: Path) -> None:
    path = tmp_path / "records.db"
    store = SqlRecordStore(f"sqlite:///{path}", name="flink_records")
    assert store.schema_version() == 0  # nothing created by a look
    store.get_many("c")
    assert store.schema_version() == SCHEMA_VERSION
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        db.execute("UPDATE flink_provider_store SET version = 99")
    assert tables == {
        "flink_provider_store",
        "flink_deployment_records",
        "flink_deployment_leases",
        "flink_deployment_samples",
    }
    sql._migrated.clear()  # another process, after a newer provider migrated the tables
    with pytest.raises(RecordStoreError) as refused:
        store.write(record())
    assert str(refused.value) == (
        "the SQL store flink_records (sqlite) holds tables of version 99, newer than this provider knows "
        f"({SCHEMA_VERSION}): upgrade airflow-provider-flink on this machine, or point "
        "[flink] record_store_conn_id at another database"
    )


def test_a_store_that_cannot_be_reached_is_a_store_error_not_a_lost_race(tmp_path: Path) -> None:
    store = SqlRecordStore(f"sqlite:///{tmp_path / 'missing' / 'records.db'}", name="flink_records")
    with pytest.raises(RecordStoreError) as failed:
        store.write(record())
    assert not isinstance(failed.value, DeploymentBusyError)
    assert str(failed.value) == (
        "the SQL store flink_records (sqlite) could not write the record of orders: "
        f"OperationalError: unable to open database file (file {tmp_path}/missing/records.db: does its "
        "folder exist, and may this user write there?)"
    )


def test_a_runs_records_renew_its_lease_while_it_acts_and_release_it_at_the_end() -> None:
    store = MemoryRecordStore()
    records = RunRecords(store, "dag/run1/reconcile", lease_seconds=0.6)
    first = records.write(record())
    token = store.leases[("c", "orders")].token
    time.sleep(1.0)  # past the lease's length: renewed every 0.2 s
    assert records.write(first).revision == 2
    assert store.leases[("c", "orders")].token == token
    records.close()
    assert store.leases[("c", "orders")].expires_at == 0.0  # released: the next run need not wait
    assert store.take_lease("c", "orders", "dag/run2/reconcile", 30).token == token + 1


def test_a_run_whose_lease_was_taken_over_cannot_write_again() -> None:
    clock = Clock()
    store = MemoryRecordStore(clock)
    records = RunRecords(store, "dag/run1/reconcile", lease_seconds=30)
    mine = records.write(record())
    clock.now += 31  # the run was frozen: no renewal reached the store
    other = RunRecords(store, "dag/run2/reconcile", lease_seconds=30)
    theirs = other.write(mine)
    with pytest.raises(RecordConflictError, match="taken over by dag/run2/reconcile"):
        records.write(mine)
    assert store.get("c", "orders") == theirs
    records.close()
    other.close()


def test_the_holder_of_a_run_is_its_task_without_the_try() -> None:
    assert holder_of("flink_reconcile/manual__1/reconcile/3") == "flink_reconcile/manual__1/reconcile"
    outside = holder_of(None)
    assert outside != holder_of(None)  # a script's runs never take over each other's leases
    assert outside.count(":") == 2


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[SqlRecordStore, SqlRecordStore]]:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    return SqlRecordStore(url), SqlRecordStore(url)


def test_racing_writers_on_one_database_never_both_win(
    sqlite_pair: tuple[SqlRecordStore, SqlRecordStore],
) -> None:
    """Eight threads write from the same revision: exactly one write per revision is stored."""
    a, b = sqlite_pair
    base = a.write(record())
    outcomes: list[str] = []

    def race(store: SqlRecordStore, n: int) -> None:
        try:
            store.write(base.model_copy(update={"restarts": [float(n)]}))
            outcomes.append("won")
        except RecordConflictError:
            outcomes.append("lost")

    threads = [threading.Thread(target=race, args=(a if n % 2 else b, n)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lost"] * 7 + ["won"]
    stored = a.get("c", "orders")
    assert stored is not None
    assert stored.revision == 2


def test_a_runs_renewer_ends_when_it_holds_no_lease() -> None:
    """Executors built outside a run (scripts, tests) are never closed: their renewer must not live on."""
    records = RunRecords(MemoryRecordStore(), "dag/run1/reconcile", lease_seconds=0.3)
    records.write(record())
    renewer = records._renewer
    assert renewer is not None
    records.release("c", "orders")
    renewer.join(timeout=2)
    assert not renewer.is_alive()
    records.write(record("payments"))  # a new lease starts a renewer again
    assert records._renewer is not None
    records.close()


def test_a_missing_database_driver_names_what_to_install() -> None:
    store = SqlRecordStore("mysql+nosuchdriver://u@127.0.0.1/db", name="flink_records")
    with pytest.raises(RecordStoreError, match=r"^the SQL store flink_records \(mysql\) could not write"):
        store.write(record())
    missing = SqlRecordStore("postgresql+psycopg2://u@127.0.0.1:9/db", name="flink_records")
    import builtins

    real_import = builtins.__import__

    def no_psycopg2(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("psycopg2"):
            raise ModuleNotFoundError("No module named 'psycopg2'")
        return real_import(name, *args, **kwargs)

    builtins.__import__ = no_psycopg2
    try:
        with pytest.raises(RecordStoreError) as failed:
            missing.write(record())
    finally:
        builtins.__import__ = real_import
    assert str(failed.value) == (
        "the SQL store flink_records (postgresql) needs the psycopg2 driver, which is not installed here "
        "(No module named 'psycopg2'): pip install 'airflow-provider-flink[postgres]' (or apache-airflow[postgres])"
    )


@pytest.mark.parametrize("raw", ["1", "nan", "inf", "soon"])
def test_a_lease_length_that_cannot_work_is_refused(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_flink.deployments.stores import lease_seconds

    monkeypatch.setenv("AIRFLOW__FLINK__RECORD_LEASE_SECONDS", raw)
    with pytest.raises(RecordStoreError) as refused:
        lease_seconds()
    assert str(refused.value) == f"[flink] record_lease_seconds must be a number of seconds >= 5, got {raw!r}"


@pytest.mark.parametrize(
    ("option", "raw", "words"),
    [
        ("SAMPLE_INTERVAL_SECONDS", "0.5", "a number of seconds >= 1, or 0 to take no samples"),
        ("SAMPLE_INTERVAL_SECONDS", "often", "a number of seconds >= 1, or 0 to take no samples"),
        ("SAMPLE_RETENTION_HOURS", "0", "a number of hours >= 1"),
        ("SAMPLE_RETENTION_HOURS", "inf", "a number of hours >= 1"),
    ],
)
def test_a_sampling_setting_that_cannot_work_is_refused(
    option: str, raw: str, words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_flink.deployments.stores.choice import retention_hours, sample_seconds

    monkeypatch.setenv(f"AIRFLOW__FLINK__{option}", raw)
    read = sample_seconds if option.startswith("SAMPLE_INTERVAL") else retention_hours
    with pytest.raises(RecordStoreError) as refused:
        read()
    assert str(refused.value) == f"[flink] {option.lower()} must be {words}, got {raw!r}"


def test_sampling_settings_default_and_zero_means_no_samples(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow_provider_flink.deployments.stores.choice import retention_hours, sample_seconds

    monkeypatch.delenv("AIRFLOW__FLINK__SAMPLE_INTERVAL_SECONDS", raising=False)
    monkeypatch.delenv("AIRFLOW__FLINK__SAMPLE_RETENTION_HOURS", raising=False)
    assert (sample_seconds(), retention_hours()) == (60.0, 24.0)
    monkeypatch.setenv("AIRFLOW__FLINK__SAMPLE_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("AIRFLOW__FLINK__SAMPLE_RETENTION_HOURS", "6")
    assert (sample_seconds(), retention_hours()) == (0.0, 6.0)


def test_a_connection_of_another_type_says_how_to_add_it() -> None:
    from types import SimpleNamespace

    from airflow_provider_flink.deployments.stores.choice import database_url

    generic = SimpleNamespace(
        conn_type="generic", host="/r.db", schema=None, login=None, password=None, port=None
    )
    with pytest.raises(RecordStoreError) as refused:
        database_url("flink_records", generic)
    assert str(refused.value) == (
        "connection flink_records is of type 'generic': the record store takes a postgres, sqlite or mysql "
        "connection (add it with --conn-uri postgresql://…, sqlite:////absolute/path.db or mysql://…: the "
        "command line turns a --conn-type it has no provider for into generic)"
    )
    relative = SimpleNamespace(conn_type="sqlite", host="records.db", schema=None)
    with pytest.raises(
        RecordStoreError, match=r"needs the absolute path of its file as host, got 'records\.db'"
    ):
        database_url("flink_records", relative)
    sqlite = SimpleNamespace(conn_type="sqlite", host="", schema="/var/r.db")  # as --conn-uri stores it
    assert str(database_url("flink_records", sqlite)) == "sqlite:////var/r.db"


def test_a_remembering_store_reads_again_only_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Flink page's store: a view of 10,000 deployments parsed every record on every load."""
    from airflow_provider_flink.deployments.stores import sql as sql_module

    url = f"sqlite:///{tmp_path / 'records.db'}"
    writer, page = SqlRecordStore(url), SqlRecordStore(url, remember=True)
    first = {name: writer.write(record(name)) for name in ("a", "b")}
    assert page.get_many("c") == first
    parsed: list[str] = []
    real_parse = sql_module.parse_record
    monkeypatch.setattr(
        sql_module, "parse_record", lambda raw, c, n: parsed.append(n) or real_parse(raw, c, n)
    )
    assert page.get_many("c") == first
    assert parsed == []  # nothing changed: nothing fetched or parsed again
    changed = writer.write(first["b"].model_copy(update={"status": "running"}))
    again = page.get_many("c")
    assert parsed == ["b"]
    assert again == {"a": first["a"], "b": changed}
    assert SqlRecordStore(url).get_many("c") == again  # what a store that remembers nothing reads


def test_put_stores_a_record_as_it_is_over_whatever_is_stored(store: RecordStore) -> None:
    """What moving records between stores writes: the revision kept, no check, no lease."""
    store.take_lease("c", "orders", "dag/run1/reconcile", 30)  # put ignores leases: not a reconcile's write
    store.put(record(revision=7, status="running"))
    assert store.get("c", "orders") == record(revision=7, status="running")
    store.put(record(revision=3))  # over a newer one too: the mover decides what to copy
    assert store.get("c", "orders") == record(revision=3)
    store.put(record("other", cluster="d", revision=1))
    assert sorted((r.cluster, r.name, r.revision) for r in store.all_records()) == [
        ("c", "orders", 3),
        ("d", "other", 1),
    ]


class DictStore(UnfencedStore):
    """The smallest store without compare-and-set: what Variables and the campaign's file are."""

    describe = "dict store"

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], DeploymentRecord] = {}

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        return self.records.get((cluster, name))

    def put(self, record: DeploymentRecord) -> None:
        self.records[(record.cluster, record.name)] = record

    def all_records(self) -> Iterator[DeploymentRecord]:
        yield from self.records.values()


def test_a_store_without_compare_and_set_checks_the_revision_and_holds_no_lease() -> None:
    store = DictStore()
    lease = store.take_lease("c", "orders", "dag/run1/reconcile", 30)
    assert (lease.fenced, lease.token, lease.holder) == (False, 0, "dag/run1/reconcile")
    assert store.take_lease("c", "orders", "dag/run2/reconcile", 30).fenced is False  # nobody is kept out
    assert store.renew_lease(lease, 30) == lease
    store.release_lease(lease)
    first = store.write(record(rebuilt=True), lease)
    assert (first.revision, first.rebuilt) == (1, False)
    with pytest.raises(RecordConflictError, match=r"\(revision 1 in the dict store, this run had 0\)"):
        store.write(record())
    store.write(record("b"))
    assert sorted(store.get_many("c")) == ["b", "orders"]
    assert sorted(store.get_many("c", ["orders", "nope"])) == ["orders"]


def test_a_dry_run_writes_nothing_and_reads_the_store() -> None:
    from airflow_provider_flink.deployments.stores import DryRun

    store = MemoryRecordStore()
    stored = store.write(record())
    dry = DryRun(RunRecords(store, "dag/run1/reconcile"))
    assert dry.get("c", "orders") == stored
    written = dry.write(stored.model_copy(update={"status": "running", "rebuilt": True}))
    assert (written.revision, written.rebuilt, written.status) == (2, False, "running")
    assert store.get("c", "orders") == stored
    assert store.leases == {}  # no lease taken either


def test_the_sql_tables_keep_one_row_per_deployment_and_refuse_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "records.db"
    SqlRecordStore(f"sqlite:///{path}").get_many("c")
    with sqlite3.connect(path) as db:
        for table in ("flink_deployment_records", "flink_deployment_leases"):
            columns = {row[1]: (row[3], row[5]) for row in db.execute(f"PRAGMA table_info({table})")}
            assert {name for name, (_, key) in columns.items() if key} == {"cluster", "name"}
            assert all(notnull for notnull, _ in columns.values())
        assert [row[1] for row in db.execute("PRAGMA table_info(flink_provider_store)")] == ["id", "version"]
        assert db.execute("SELECT id, version FROM flink_provider_store").fetchall() == [(1, SCHEMA_VERSION)]


# ---------------------------------------------------------------------------------------- samples
def _sample(at: float, **values: Any) -> Sample:
    return Sample(at=at, seconds=60.0, **values)


@pytest.mark.parametrize("kind", ["sql", "memory"])
def test_samples_are_kept_per_deployment_read_after_a_time_and_pruned_by_age(
    kind: str, tmp_path: Path
) -> None:
    store: Any = (
        SqlRecordStore(f"sqlite:///{tmp_path / 'records.db'}", name="flink_records")
        if kind == "sql"
        else MemoryRecordStore()
    )
    assert sample_store(store) is store
    store.add_samples(
        "c", {"orders": _sample(100.0, up_s=60.0, records_in_per_s=10.5), "fraud": _sample(100.0)}
    )
    store.add_samples("c", {"orders": _sample(160.0, down_s=60.0, job_state="RESTARTING")})
    store.add_samples("other", {"orders": _sample(160.0, up_s=1.0)})
    # A second row at the same instant is not written over: the first stands.
    store.add_samples("c", {"orders": _sample(160.0, up_s=60.0)})
    assert [
        (s.at, s.up_s, s.down_s, s.records_in_per_s, s.job_state) for s in store.samples("c", "orders", 0.0)
    ] == [
        (100.0, 60.0, 0.0, 10.5, None),
        (160.0, 0.0, 60.0, None, "RESTARTING"),
    ]
    assert [s.at for s in store.samples("c", "orders", 100.0)] == [160.0]  # strictly after
    assert store.prune_samples(150.0) == 2  # c/orders and c/fraud at 100
    assert [s.at for s in store.samples("c", "orders", 0.0)] == [160.0]
    assert store.samples("c", "fraud", 0.0) == []
    assert [s.up_s for s in store.samples("other", "orders", 0.0)] == [1.0]


def test_variables_keep_no_samples() -> None:
    assert sample_store(VariableRecordStore()) is None


def test_a_version_1_database_gains_the_samples_table_and_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "records.db"
    old = SqlRecordStore(f"sqlite:///{path}", name="flink_records")
    kept = old.write(record())
    with sqlite3.connect(path) as db:  # as version 1 left it
        db.execute("DROP TABLE flink_deployment_samples")
        db.execute("UPDATE flink_provider_store SET version = 1")
    sql._migrated.clear()  # a new provider's first use
    store = SqlRecordStore(f"sqlite:///{path}", name="flink_records")
    assert store.schema_version() == 1
    store.add_samples("c", {"orders": _sample(5.0, up_s=5.0)})
    assert store.schema_version() == SCHEMA_VERSION == 2
    assert store.get("c", "orders") == kept
    assert [s.up_s for s in store.samples("c", "orders", 0.0)] == [5.0]


def test_version_2_makes_the_clock_columns_double_precision_on_mysql() -> None:
    from sqlalchemy.dialects import mysql, postgresql, sqlite
    from sqlalchemy.schema import CreateTable

    t = sql.tables(None)
    assert sql.widened_clocks(mysql.dialect(), t) == [
        "ALTER TABLE flink_deployment_records MODIFY updated_at DOUBLE NOT NULL",
        "ALTER TABLE flink_deployment_leases MODIFY expires_at DOUBLE NOT NULL",
    ]
    assert sql.widened_clocks(postgresql.dialect(), t) == []  # FLOAT is float8 there
    assert sql.widened_clocks(sqlite.dialect(), t) == []
    # New tables: every time column is double precision on MySQL too.
    for table in (t.records, t.leases, t.samples):
        created = str(CreateTable(table).compile(dialect=mysql.dialect()))
        assert " FLOAT" not in created, created
    assert "at DOUBLE NOT NULL" in str(CreateTable(t.samples).compile(dialect=mysql.dialect()))


def test_the_watchers_sample_store_is_looked_up_on_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    from airflow_provider_flink.deployments.stores.choice import asample_store
    from airflow_provider_flink.exceptions import AirflowNotFoundException
    from airflow_provider_flink.hooks.flink import FlinkHook

    monkeypatch.delenv("AIRFLOW__FLINK__RECORD_STORE_CONN_ID", raising=False)
    assert asyncio.run(asample_store()) is None  # records in Variables: no samples kept

    async def missing(conn_id: str) -> Any:
        raise AirflowNotFoundException(conn_id)

    monkeypatch.setenv("AIRFLOW__FLINK__RECORD_STORE_CONN_ID", "flink_records")
    monkeypatch.setattr(FlinkHook, "aget_connection", missing)
    with pytest.raises(RecordStoreError) as refused:
        asyncio.run(asample_store())
    assert str(refused.value) == (
        "[flink] record_store_conn_id names connection 'flink_records', which is not defined: add it "
        "(airflow connections add flink_records --conn-uri postgresql://user:pass@host:5432/db) or unset "
        "[flink] record_store_conn_id to keep records in Variables"
    )
