"""One run's records: reads from the store, and writes each fenced by the lease of its deployment.

A run takes a deployment's lease at its first write of that deployment (the intent before any
request to Flink is a write, I4, so no request goes out before the lease is held), keeps it
renewed from a thread every third of its length while it acts, and releases it when it is done
with the deployment. A write under a lease that was taken over or ran out is refused by the store
(a lost race: the run yields that deployment); a renewal that finds the lease lost marks it, so
the run's next write fails at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Collection

from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.stores.base import LEASE_SECONDS, Lease, RecordStore
from airflow_provider_flink.exceptions import RecordConflictError

log = logging.getLogger(__name__)

Key = tuple[str, str]


def holder_of(run: str | None) -> str:
    """Who holds a run's leases: the task without its try number ("dag/run/task": Airflow runs one
    try of a task at a time, so a task's next try takes over the lease of one that died), or, for
    a run outside a task, this process and a random part."""
    if run:
        dag_run_task, _, _try = run.rpartition("/")
        return dag_run_task or run
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class RunRecords:
    """``store``'s records as one run reads and writes them."""

    def __init__(self, store: RecordStore, holder: str, lease_seconds: float = LEASE_SECONDS) -> None:
        self.store, self.holder, self.lease_seconds = store, holder, lease_seconds
        self._leases: dict[Key, Lease] = {}
        self._lost: dict[Key, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def describe(self) -> str:
        return self.store.describe

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        return self.store.get(cluster, name)

    def get_many(self, cluster: str, names: Collection[str] | None = None) -> dict[str, DeploymentRecord]:
        return self.store.get_many(cluster, names)

    def write(self, record: DeploymentRecord) -> DeploymentRecord:
        """``record`` as its next revision, under the deployment's lease (taken now if not held)."""
        return self.store.write(record, self.lease(record.cluster, record.name))

    def lease(self, cluster: str, name: str) -> Lease:
        key = (cluster, name)
        with self._lock:
            if key in self._lost:
                raise RecordConflictError(self._lost[key])
            held = self._leases.get(key)
        if held is not None:
            return held
        lease = self.store.take_lease(cluster, name, self.holder, self.lease_seconds)
        with self._lock:
            self._leases[key] = lease
        if lease.fenced:
            self._start_renewing()
        return lease

    def release(self, cluster: str, name: str) -> None:
        """Done with the deployment: its lease goes back (a next run need not wait for its end)."""
        with self._lock:
            lease = self._leases.pop((cluster, name), None)
            self._lost.pop((cluster, name), None)
        if lease is None or not lease.fenced:
            return
        try:
            self.store.release_lease(lease)
        except Exception as err:  # it runs out by itself
            log.warning("The lease of %s could not be released (%s): it ends by itself", name, err)

    def close(self) -> None:
        """Release every lease still held and stop renewing."""
        self._stop.set()
        for cluster, name in list(self._leases):
            self.release(cluster, name)
        renewer = self._renewer
        if renewer is not None:
            renewer.join(timeout=5)

    # ------------------------------------------------------------------ renewals
    def _start_renewing(self) -> None:
        with self._lock:
            if self._renewer is not None:
                return
            self._renewer = threading.Thread(target=self._renew, name="flink-record-leases", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:
                held = list(self._leases.items())
                if not held:  # nothing held any more: the next lease starts a renewer again
                    self._renewer = None
                    return
            for key, lease in held:
                try:
                    renewed = self.store.renew_lease(lease, self.lease_seconds)
                except RecordConflictError as err:
                    log.warning("%s", err)
                    with self._lock:
                        if self._leases.get(key) == lease:
                            self._leases.pop(key)
                            self._lost[key] = str(err)
                    continue
                except Exception as err:  # the store did not answer: the next renewal tries again
                    log.warning("The lease of %s could not be renewed (%s): trying again", lease.name, err)
                    continue
                with self._lock:
                    if self._leases.get(key) == lease:
                        self._leases[key] = renewed


class DryRun:
    """A dry run's writes: the next revision, stored nowhere."""

    def __init__(self, records: RunRecords) -> None:
        self.records = records

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        return self.records.get(cluster, name)

    def write(self, record: DeploymentRecord) -> DeploymentRecord:
        return record.model_copy(update={"revision": record.revision + 1, "rebuilt": False})
