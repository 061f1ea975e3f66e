"""Records in a dict, with the SQL store's rules (compare-and-set, fenced leases): for tests, dry
runs and scripts that keep nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator

from airflow_provider_flink.deployments.records import DeploymentRecord, parse_record, record_key
from airflow_provider_flink.deployments.samples import Sample
from airflow_provider_flink.deployments.stores.base import Lease, busy, fence, refusal, stale
from airflow_provider_flink.exceptions import RecordConflictError


class MemoryRecordStore:
    """``raw``: the stored JSON by :func:`record_key`; ``clock``: the store's clock (leases)."""

    describe = "memory store"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.raw: dict[str, str] = {}
        self.leases: dict[tuple[str, str], Lease] = {}
        self.kept: dict[tuple[str, str], dict[float, Sample]] = {}  # samples by (cluster, name), at
        self.clock = clock
        self._lock = threading.Lock()  # a run's lease is renewed from a thread of its own

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        return parse_record(self.raw.get(record_key(cluster, name)), cluster, name)

    def get_many(self, cluster: str, names: Collection[str] | None = None) -> dict[str, DeploymentRecord]:
        wanted = None if names is None else set(names)
        return {
            r.name: r
            for r in self.all_records()
            if r.cluster == cluster and (wanted is None or r.name in wanted)
        }

    def all_records(self) -> Iterator[DeploymentRecord]:
        for raw in list(self.raw.values()):
            record = parse_record(raw, "?", "?")
            if record is not None:
                yield record

    def add_samples(self, cluster: str, samples: dict[str, Sample]) -> None:
        with self._lock:
            for name, sample in samples.items():
                self.kept.setdefault((cluster, name), {}).setdefault(sample.at, sample)

    def samples(self, cluster: str, name: str, since: float) -> list[Sample]:
        kept = self.kept.get((cluster, name), {})
        return [kept[at] for at in sorted(kept) if at > since]

    def prune_samples(self, before: float, cluster: str | None = None) -> int:
        with self._lock:
            gone = 0
            for (where, _), kept in self.kept.items():
                if cluster is not None and where != cluster:
                    continue
                for at in [at for at in kept if at < before]:
                    del kept[at]
                    gone += 1
            return gone

    def put(self, record: DeploymentRecord) -> None:
        self.raw[record_key(record.cluster, record.name)] = record.model_dump_json()

    def write(self, record: DeploymentRecord, lease: Lease | None = None) -> DeploymentRecord:
        with self._lock:
            fence = self._fence(record.cluster, record.name, lease)
            if fence is not None:
                raise RecordConflictError(fence)
            key = record_key(record.cluster, record.name)
            # An unreadable record reads as none: the one rebuilt from Flink (revision 0) replaces it.
            lost = stale(record, self.get(record.cluster, record.name), self.describe)
            if lost is not None:
                raise lost
            written = record.model_copy(update={"revision": record.revision + 1, "rebuilt": False})
            self.raw[key] = written.model_dump_json()
            return written

    def _fence(self, cluster: str, name: str, lease: Lease | None) -> str | None:
        return fence(name, lease, self.leases.get((cluster, name)), self.clock())

    def take_lease(self, cluster: str, name: str, holder: str, seconds: float) -> Lease:
        with self._lock:
            now = self.clock()
            newest = self.leases.get((cluster, name))
            if newest is not None and newest.expires_at > now and newest.holder != holder:
                raise RecordConflictError(busy(name, newest.holder, newest.expires_at - now))
            token = newest.token + 1 if newest is not None else 1
            lease = Lease(cluster, name, holder, token, now + seconds)
            self.leases[(cluster, name)] = lease
            return lease

    def renew_lease(self, lease: Lease, seconds: float) -> Lease:
        with self._lock:
            now = self.clock()
            why = refusal(lease, self.leases.get((lease.cluster, lease.name)), now)
            if why is not None:
                raise RecordConflictError(why)
            renewed = Lease(lease.cluster, lease.name, lease.holder, lease.token, now + seconds)
            self.leases[(lease.cluster, lease.name)] = renewed
            return renewed

    def release_lease(self, lease: Lease) -> None:
        with self._lock:
            newest = self.leases.get((lease.cluster, lease.name))
            if newest is not None and newest.token == lease.token:
                # The token stays: a later lease must get a greater one (fencing).
                self.leases[(lease.cluster, lease.name)] = Lease(
                    lease.cluster, lease.name, lease.holder, lease.token, 0.0
                )
