"""Where deployment records live: a store with compare-and-set, bulk reads and a lease per
deployment (:mod:`.base`), as SQL tables (:mod:`.sql`), Airflow Variables (:mod:`.variables`) or a
dict (:mod:`.memory`); the installation's choice (:mod:`.choice`); one run's fenced writes
(:mod:`.leased`); moving records between stores (``python -m airflow_provider_flink.deployments.stores``)."""

from airflow_provider_flink.deployments.stores.base import (
    Lease,
    RecordStore,
    SampleStore,
    UnfencedStore,
    sample_store,
)
from airflow_provider_flink.deployments.stores.choice import configured_store, lease_seconds, sql_store
from airflow_provider_flink.deployments.stores.leased import DryRun, RunRecords, holder_of
from airflow_provider_flink.deployments.stores.memory import MemoryRecordStore
from airflow_provider_flink.deployments.stores.sql import SqlRecordStore
from airflow_provider_flink.deployments.stores.variables import MetadataVariableStore, VariableRecordStore

__all__ = [
    "DryRun",
    "Lease",
    "MemoryRecordStore",
    "MetadataVariableStore",
    "RecordStore",
    "RunRecords",
    "SampleStore",
    "SqlRecordStore",
    "UnfencedStore",
    "VariableRecordStore",
    "configured_store",
    "holder_of",
    "lease_seconds",
    "sample_store",
    "sql_store",
]
