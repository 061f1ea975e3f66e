"""What every record store offers: reads in bulk, compare-and-set writes, a lease per deployment.

A store keeps one :class:`~airflow_provider_flink.deployments.records.DeploymentRecord` per
deployment, with a revision that each write bumps by one. A write names the revision it read
(``record.revision``) and the lease it holds; the store writes only if both still stand, and
otherwise says which one fell (:class:`RecordConflictError`: a lost race, not a failure). A write
the store could not make (unreachable, a server error) is a :class:`RecordStoreError`: a failure.

A lease is a deployment's "one actor at a time" (I8): taken before the first write of a run,
renewed while the run acts, released at the end. Each new lease of a deployment gets a greater
token (the fencing token); a write carries its lease's token and the store refuses it unless that
token is the deployment's newest and has not run out, on the store's own clock. A run paused past
its lease's end can therefore not write again, whatever it believes.

Stores that cannot compare and set atomically (Airflow Variables) check the revision just before
writing and hold no leases (:class:`UnfencedStore`): two writers can pass that check together,
which the derived job and trigger ids of every request make harmless (Flink runs each once).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.samples import Sample
from airflow_provider_flink.exceptions import RecordConflictError

LEASE_SECONDS = 30.0  # renewed every third of it while a run acts; a killed run's lease ends after it


@dataclass(frozen=True)
class Lease:
    """The right of ``holder`` to write the records of one deployment until ``expires_at`` (the
    store's clock, epoch seconds), fenced by ``token``. ``fenced`` False: a store without leases;
    the lease is a placeholder that writes ignore."""

    cluster: str
    name: str
    holder: str
    token: int
    expires_at: float
    fenced: bool = True


class RecordStore(Protocol):
    """A store of deployment records (see the module's docstring for the rules of each method)."""

    @property
    def describe(self) -> str:
        """What the store is, for messages ("SQL store flink_records (postgresql)"); no secret."""
        ...

    def get(self, cluster: str, name: str) -> DeploymentRecord | None: ...

    def get_many(self, cluster: str, names: Collection[str] | None = None) -> dict[str, DeploymentRecord]:
        """The readable records of ``names`` on ``cluster`` (None: all of them), by name."""
        ...

    def write(self, record: DeploymentRecord, lease: Lease | None = None) -> DeploymentRecord:
        """Store ``record`` as revision ``record.revision + 1`` if ``record.revision`` is the
        stored one (0: none stored) and ``lease`` still holds; return what was stored."""
        ...

    def put(self, record: DeploymentRecord) -> None:
        """Store ``record`` as it is, revision included, whatever is stored (moving records
        between stores, tests); never what a reconcile does."""
        ...

    def take_lease(self, cluster: str, name: str, holder: str, seconds: float) -> Lease:
        """The deployment's lease for ``seconds``, unless another holder's has not run out
        (:class:`RecordConflictError`). The same holder takes its own over (a task's next try)."""
        ...

    def renew_lease(self, lease: Lease, seconds: float) -> Lease:
        """``lease`` for ``seconds`` more, unless it ran out or was taken over (:class:`RecordConflictError`)."""
        ...

    def release_lease(self, lease: Lease) -> None: ...

    def all_records(self) -> Iterator[DeploymentRecord]:
        """Every readable record (moving records between stores)."""
        ...


@runtime_checkable
class SampleStore(Protocol):
    """A store that also keeps what deployments' jobs did over time (the SQL and memory stores;
    Airflow Variables do not: a Variable per sample would flood the metadata DB)."""

    def add_samples(self, cluster: str, samples: dict[str, Sample]) -> None:
        """One sample per deployment of ``cluster``, by name."""
        ...

    def samples(self, cluster: str, name: str, since: float) -> list[Sample]:
        """The samples of one deployment taken after ``since``, oldest first."""
        ...

    def prune_samples(self, before: float, cluster: str | None = None) -> int:
        """Delete the samples (of ``cluster``; None: of every cluster) taken before ``before``;
        how many."""
        ...


def sample_store(store: object) -> SampleStore | None:
    """``store`` if it keeps samples, else None."""
    return store if isinstance(store, SampleStore) else None


def stale(
    record: DeploymentRecord, stored: DeploymentRecord | None, store: str
) -> RecordConflictError | None:
    """The lost race, if ``stored`` is not the revision ``record`` was read at."""
    revision = stored.revision if stored is not None else 0
    if revision == record.revision:
        return None
    return RecordConflictError(
        f"another reconcile changed the record of {record.name} while this run acted on it "
        f"(revision {revision} in the {store}, this run had {record.revision}): this run stops acting "
        "on it and leaves it to the other"
    )


def busy(name: str, holder: str, remaining: float) -> str:
    return (
        f"{name} is being acted on by {holder} (its lease runs {max(remaining, 0.0):.0f} s more): "
        "this run leaves it to that one"
    )


def refusal(lease: Lease, newest: Lease | None, now: float) -> str | None:
    """Why ``lease`` no longer holds (``newest``: the deployment's newest lease), or None."""
    if newest is None or newest.token != lease.token:
        by = newest.holder if newest is not None else "nobody"
        return (
            f"this run's lease on {lease.name} was taken over by {by}: this run stops acting on it "
            "and leaves it to that one"
        )
    if newest.expires_at <= now:
        return (
            f"this run's lease on {lease.name} ran out {now - newest.expires_at:.0f} s ago (the run was "
            "paused or its renewals did not reach the store): this run stops acting on it"
        )
    return None


def fence(name: str, lease: Lease | None, newest: Lease | None, now: float) -> str | None:
    """Why a write under ``lease`` (None or unfenced: a write without a lease) may not be made now,
    given the deployment's ``newest`` lease; None: it may."""
    if lease is None or not lease.fenced:
        if newest is not None and newest.expires_at > now:
            return f"{name} is leased to {newest.holder}: a write without its lease is refused"
        return None
    return refusal(lease, newest, now)


class UnfencedStore:
    """A store without compare-and-set: the revision is checked by a read just before the write,
    and leases are placeholders (``fenced=False``). Subclasses read and write one record."""

    describe = "record store"

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        raise NotImplementedError

    def put(self, record: DeploymentRecord) -> None:
        raise NotImplementedError

    def get_many(self, cluster: str, names: Collection[str] | None = None) -> dict[str, DeploymentRecord]:
        if names is None:
            return {r.name: r for r in self.all_records() if r.cluster == cluster}
        found = {name: self.get(cluster, name) for name in names}
        return {name: record for name, record in found.items() if record is not None}

    def all_records(self) -> Iterator[DeploymentRecord]:
        raise NotImplementedError(f"the {self.describe} cannot list its records")

    def write(self, record: DeploymentRecord, lease: Lease | None = None) -> DeploymentRecord:
        lost = stale(record, self.get(record.cluster, record.name), self.describe)
        if lost is not None:
            raise lost
        written = record.model_copy(update={"revision": record.revision + 1, "rebuilt": False})
        self.put(written)
        return written

    def take_lease(self, cluster: str, name: str, holder: str, seconds: float) -> Lease:
        return Lease(cluster, name, holder, 0, float("inf"), fenced=False)

    def renew_lease(self, lease: Lease, seconds: float) -> Lease:
        return lease

    def release_lease(self, lease: Lease) -> None:
        return None
