"""Records as Airflow Variables ``flink_deployment.<cluster>.<name>`` (JSON): the store when
nothing else is configured. It works on every executor with nothing to set up, and has limits
(docs/records.md): one request to the api-server per record read or written (no bulk read from a
task), no compare-and-set (the revision is read just before each write), no leases.

:class:`VariableRecordStore` is a task's (the Task SDK, through its supervisor);
:class:`MetadataVariableStore` is the api-server's and the command line's (Airflow's metadata DB
directly, every record of a cluster in one query).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from airflow_provider_flink.deployments.records import (
    VARIABLE_PREFIX,
    DeploymentRecord,
    parse_record,
    record_key,
)
from airflow_provider_flink.deployments.stores.base import UnfencedStore
from airflow_provider_flink.exceptions import RecordStoreError

DESCRIPTION = "Flink deployment record of {name} (written by airflow-provider-flink)"


def _failed(what: str, err: Exception) -> RecordStoreError:
    """The store's failure, with the api-server's status when it answered (the Task SDK's error)."""
    line = str(err).strip().splitlines()[0] if str(err).strip() else ""
    status = getattr(getattr(err, "response", None), "status_code", None)
    answered = f" (the api-server answered HTTP {status})" if isinstance(status, int) else ""
    return RecordStoreError(
        f"Airflow Variables could not {what}: {type(err).__name__}: {line}".rstrip(": ") + answered
    )


def _set(variable: Any, record: DeploymentRecord) -> None:
    """``record`` as its Variable, through ``variable`` (the Task SDK's, or the metadata DB's)."""
    try:
        variable.set(
            record_key(record.cluster, record.name),
            record.model_dump_json(),
            description=DESCRIPTION.format(name=record.name),
        )
    except Exception as err:  # the api-server answered with an error, or the DB failed
        raise _failed(f"write the record of {record.name}", err) from None


class VariableRecordStore(UnfencedStore):
    """A task's records in Variables, read and written one by one through the Task SDK."""

    describe = "Airflow Variables"

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        from airflow.sdk import Variable

        try:
            raw = Variable.get(record_key(cluster, name), default=None)
        except Exception as err:  # the api-server answered with an error, or not at all
            raise _failed(f"read the record of {name}", err) from None
        return parse_record(raw, cluster, name)

    def put(self, record: DeploymentRecord) -> None:
        from airflow.sdk import Variable

        _set(Variable, record)


class MetadataVariableStore(UnfencedStore):
    """Records in Variables read from Airflow's metadata DB directly (the api-server, the command
    line; never a task): every record of a cluster in one query."""

    describe = "Airflow Variables"

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        from airflow.models.variable import Variable

        try:
            raw = Variable.get(record_key(cluster, name), default_var=None)
        except Exception as err:
            raise _failed(f"read the record of {name}", err) from None
        return parse_record(raw, cluster, name)

    def _rows(self, prefix: str) -> list[tuple[str, str | None]]:
        from airflow.models.variable import Variable
        from airflow.utils.session import create_session
        from sqlalchemy import select

        try:
            with create_session() as session:
                # LIKE treats "_" as any character: the keys are matched exactly below.
                found = session.scalars(select(Variable).where(Variable.key.like(f"{prefix}%"))).all()
                return [(v.key, v.val) for v in found if v.key.startswith(prefix)]
        except Exception as err:
            raise _failed("read the records", err) from None

    def get_many(self, cluster: str, names: Collection[str] | None = None) -> dict[str, DeploymentRecord]:
        prefix = record_key(cluster, "")
        wanted = None if names is None else set(names)
        found: dict[str, DeploymentRecord] = {}
        for key, raw in self._rows(prefix):
            name = key[len(prefix) :]
            if wanted is not None and name not in wanted:
                continue
            record = parse_record(raw, cluster, name)
            if record is not None:
                found[name] = record
        return found

    def all_records(self) -> Iterator[DeploymentRecord]:
        for key, raw in self._rows(f"{VARIABLE_PREFIX}."):
            cluster, _, name = key[len(VARIABLE_PREFIX) + 1 :].rpartition(".")
            record = parse_record(raw, cluster, name)
            if record is not None:
                yield record

    def put(self, record: DeploymentRecord) -> None:
        from airflow.models.variable import Variable

        _set(Variable, record)
