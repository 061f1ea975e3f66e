"""The job watcher's sampler: what each declared deployment's job did, for the Flink page's charts.

The watcher polls ``/jobs/overview`` every couple of seconds anyway; the sampler counts each poll's
interval as up, down, unknown or off per deployment (no call of its own). Every
``[flink] sample_interval_seconds`` (60 s by default) it looks at each live job (``GET /jobs/{id}``
and ``GET /jobs/{id}/metrics``, a few at a time) and writes one
:class:`~airflow_provider_flink.deployments.samples.Sample` per deployment to the record store;
once an hour it deletes the samples older than ``[flink] sample_retention_hours``.

Sampling never holds the watcher up: it runs beside the polls, bounded in time, and a failure
(Flink, the store) costs that sample, logged once per kind, never an event. The samples are kept
by the SQL record store only; with records in Airflow Variables nothing is sampled (said once).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from airflow_provider_flink.client.models import TERMINAL, JobState
from airflow_provider_flink.deployments.changes import Health
from airflow_provider_flink.deployments.samples import (
    JOB_METRICS,
    Availability,
    Counters,
    Uptime,
    counters_of,
    sample_of,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.deployments.stores.base import SampleStore
from airflow_provider_flink.events import state
from airflow_provider_flink.hooks.flink import FlinkHook

T = TypeVar("T")

PRUNE_EVERY = 3600.0  # seconds between deletions of samples past their retention
AT_ONCE = 4  # jobs looked at concurrently in one sample
MAX_GAP = 60.0  # a longer pause between two polls (a stalled triggerer) counts as unknown


def availability(spec: DeploymentSpec, seen: Health | None) -> Availability:
    """How one poll saw a deployment: ``off`` declared suspended, ``up`` its newest job healthy,
    ``down`` otherwise (failed, restarting, not there)."""
    if spec.state == "suspended":
        return "off"
    return "up" if seen is not None and seen.healthy else "down"


class Sampler:
    """One cluster's samples. ``store``: where they go (awaited on the event loop once; None: not
    kept; the store's own calls then run on a thread of the sampler's);
    ``every``: seconds between samples; ``retention``: seconds they are kept."""

    def __init__(
        self,
        cluster: str,
        store: Callable[[], Awaitable[SampleStore | None]],
        every: float,
        retention: float,
        log: logging.Logger | Any,
        budget: float = 30.0,
    ) -> None:
        self.cluster = cluster
        self.store_factory = store
        self.every = every
        self.retention = retention
        self.log = log
        self.budget = budget
        self.uptime = Uptime()
        # The newest look at each deployment's job, kept until a newer one of the same deployment:
        # a job not read this time (restarting, past the time budget) is compared with it later.
        self.looks: dict[str, Counters] = {}
        self.names: list[str] = []  # the declared deployments at the last answered poll
        self.polled: float | None = None
        self.sampled = time.time()  # the first sample covers the interval from the start
        # The first deletion an hour after the start, not at once: the samplers of every cluster
        # (one trigger each) would otherwise all delete at the triggerer's start.
        self.pruned = self.sampled
        self.running: asyncio.Task[None] | None = None
        self.clock: Callable[[], float] = time.time  # when a job's counters were read
        self._store: SampleStore | None = None
        self._warned: set[str] = set()
        # The store's calls get a thread of their own: a database that hangs holds this thread,
        # never the event loop's shared pool the watcher reads its folder with.
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"flink-samples-{cluster}")

    def _warn(self, kind: str, message: str, *args: Any) -> None:
        if kind not in self._warned:  # once per kind, not every sample
            self._warned.add(kind)
            self.log.warning(message, *args)

    def poll(
        self, health: dict[str, Health] | None, specs: dict[str, DeploymentSpec] | None, now: float
    ) -> None:
        """Count the interval since the previous poll for every declared deployment; ``health``
        None: Flink did not answer (unknown)."""
        seconds = now - self.polled if self.polled is not None else 0.0
        self.polled = now
        if specs is not None:
            self.names = sorted(specs)
        for name in self.names:
            if health is None or specs is None or seconds > MAX_GAP:
                self.uptime.add(name, "unknown", seconds)
            elif name in specs:
                self.uptime.add(name, availability(specs[name], health.get(name)), seconds)

    def due(self, now: float) -> bool:
        return (
            self.every > 0
            and now - self.sampled >= self.every
            and (self.running is None or self.running.done())
        )

    def start(self, hook: FlinkHook, health: dict[str, Health], now: float) -> None:
        """Take a sample beside the polls (a task of its own)."""
        seconds, self.sampled = now - self.sampled, now
        taken = {name: self.uptime.take(name) for name in self.names}
        self.running = asyncio.ensure_future(self._sample(hook, health, taken, now, seconds))

    def stop(self) -> None:
        if self.running is not None and not self.running.done():
            self.running.cancel()
        self._db.shutdown(wait=False, cancel_futures=True)

    async def _in_db(self, call: Callable[..., T], *args: Any) -> T:
        """``call`` on the store's own thread, bounded in time (a hung database costs a sample),
        in a copy of this task's context as ``asyncio.to_thread`` runs it: the triggerer's
        connection lookups (the record store's connection) find what they need there."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        work = loop.run_in_executor(self._db, functools.partial(context.run, call, *args))
        return await state.within(work, self.budget)

    async def _sample(
        self,
        hook: FlinkHook,
        health: dict[str, Health],
        taken: dict[str, dict[Availability, float]],
        now: float,
        seconds: float,
    ) -> None:
        try:
            store = await self._open()
            if store is None:
                return
            # Every job not ended is read (a restarting one too: its restarts are what matters),
            # those read longest ago first, so a time budget that cuts the round short starves no one.
            live = {
                name: seen
                for name, seen in health.items()
                if name in taken and JobState(seen.state) not in TERMINAL
            }
            looks = await self._look(hook, live)
            samples = {
                name: sample_of(
                    now,
                    seconds,
                    taken[name],
                    health[name].state if name in health else None,
                    looks.get(name),
                    self.looks.get(name),
                )
                for name in taken
            }
            self.looks = {
                name: looks.get(name) or self.looks[name]
                for name in taken
                if name in looks or name in self.looks
            }
            await self._in_db(store.add_samples, self.cluster, samples)
            if now - self.pruned >= PRUNE_EVERY:
                self.pruned = now
                gone = await self._in_db(store.prune_samples, now - self.retention, self.cluster)
                if gone:
                    self.log.info("Deleted %d samples older than %g h", gone, self.retention / 3600)
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            self._warn(
                "store:timeout",
                "Samples of %s not kept: the record store did not answer within %g s",
                self.cluster,
                self.budget,
            )
        except Exception as err:  # a sample lost, never the watcher
            self._warn(
                f"store:{type(err).__name__}",
                "Samples of %s not kept (%s: %s)",
                self.cluster,
                type(err).__name__,
                err,
            )

    async def _open(self) -> SampleStore | None:
        if self._store is None:
            self._store = await state.within(self.store_factory(), self.budget)
            if self._store is None:
                self._warn(
                    "no-store",
                    "No samples are taken for the Flink page's charts: the record store is Airflow "
                    "Variables (set [flink] record_store_conn_id to keep records, and samples, in SQL)",
                )
                self.every = 0.0  # nothing more to do: no Flink call either
        return self._store

    async def _look(self, hook: FlinkHook, live: dict[str, Health]) -> dict[str, Counters]:
        """Each live job's counters; a job that could not be read is left out (no rates this time)."""
        found: dict[str, Counters] = {}
        if not live:
            return found
        gate = asyncio.Semaphore(AT_ONCE)

        async def one(flink: Any, name: str, job_id: str) -> None:
            async with gate:
                try:
                    job = await flink.find_job(job_id)
                    metrics = await flink.job_metrics(job_id, JOB_METRICS)
                except Exception as err:
                    self._warn(
                        f"flink:{type(err).__name__}",
                        "Job %s not sampled (%s: %s)",
                        job_id,
                        type(err).__name__,
                        err,
                    )
                    return
                if job is not None:
                    found[name] = counters_of(job, metrics, self.clock())

        def read_at(name: str) -> float:
            look = self.looks.get(name)
            return look.at if look is not None else 0.0

        async def all_of() -> None:
            async with hook.async_verbs() as flink:
                order = sorted(live, key=lambda name: (read_at(name), name))
                await asyncio.gather(*(one(flink, name, live[name].job_id) for name in order))

        try:
            await state.within(all_of(), self.budget)
        except asyncio.TimeoutError:
            self._warn("timeout", "Not every job of %s sampled within %g s", self.cluster, self.budget)
        return found
