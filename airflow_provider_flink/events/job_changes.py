"""``FlinkJobEventTrigger``: an asset event when a declared deployment's job leaves RUNNING on Flink,
becomes healthy, outlasts its health timeout unhealthy, or stops completing checkpoints.

One trigger per cluster (connection) asks Flink one ``GET /jobs/overview`` per ``poll_interval``,
whatever the number of deployments, and compares each deployment's newest job with the last look
(:func:`airflow_provider_flink.deployments.changes.job_changes`): RUNNING -> FAILING, FAILED,
RESTARTING, CANCELED, FINISHED, SUSPENDED; a new job that fails at once; or all of a deployment's
jobs gone (a JobManager restarted without HA). Failures and vanished jobs are reported at once; a
job that ended (FINISHED, CANCELED) only when the next look still shows it ended with no newer job:
a reconcile's own upgrade (stop, then submit) is not an event. The event names the deployments (the reconcile
then restarts, recovers or reports per the spec's policies, without waiting for its schedule) and
carries what an alert needs: job, states, Flink's root cause for a failure, the Flink UI link.

The same look also tells (no extra call) when a deployment's newest job became healthy (short
reconcile runs do not wait for it: the run this event starts marks it stable) and when a live job
is still not healthy ``health_timeout_seconds`` after it started (the run rolls an upgrade back, or
reports it), once per job. A deployment that declares ``max_checkpoint_age_minutes`` costs one
``GET /jobs/:id/checkpoints`` every ``CHECKPOINT_EVERY`` seconds while its job is healthy: an event
when its last completed checkpoint is older than that (once per checkpoint; alert only, a restore
would refuse such a checkpoint).

Only the declared deployments of this cluster are watched: their names come from the deployments
folder, read again each poll (no Flink call), so a new spec is watched from its first job on.
When Flink does not answer, nothing is concluded ("unknown is not failed"): the last good look
stands and a warning is logged once per kind of failure.

The same watcher samples each deployment's job for the Flink page's charts
(``events/sampling.py``): uptime from these polls, and every ``[flink] sample_interval_seconds``
two calls per live job, beside the polls, never delaying them.

Where it starts from: on Airflow 3.3 the last look is kept in the asset's state store, so a job
that failed while no triggerer ran is reported when one is back; on 3.1/3.2 the first look is the
baseline (the reconcile's schedule finds such a job). What is kept never runs ahead of the events
(:func:`~airflow_provider_flink.deployments.changes.kept_cursor`): an ended job still held is kept
as it was before, so a triggerer that dies before the event is sent costs a duplicate event at
worst, never a lost one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_flink.client.models import FAILING_STATES, JobState
from airflow_provider_flink.deployments.changes import (
    Health,
    JobChange,
    health_changes,
    job_changes,
    kept_cursor,
    newest_health,
    settle,
    stale_checkpoint,
    states_of,
    urgent,
)
from airflow_provider_flink.deployments.samples import RETENTION_HOURS
from airflow_provider_flink.deployments.spec import DeploymentSpec, load_specs, spec_folder
from airflow_provider_flink.deployments.stores.choice import asample_store, retention_hours, sample_seconds
from airflow_provider_flink.events import state
from airflow_provider_flink.events.sampling import Sampler
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.hooks.verbs import AsyncFlinkVerbs
from airflow_provider_flink.triggers.flink import POLL_RETRY

CURSOR_KEY = "flink_job_states"
CHECKPOINT_EVERY = 30.0  # seconds between looks at the checkpoints of jobs that declare a max age
# One GET /jobs/overview a second per cluster: a failed or vanished job is known within a second.
POLL_INTERVAL = 1.0
# An ended job (FINISHED, CANCELED) is reported once it has stayed the deployment's newest job this
# long: a reconcile's upgrade stops a job, then submits the next (measured in the soak on 2.3.0:
# stop and submit together take 0.5-0.9 s; 2 s leaves room for a slower cluster); a person's
# cancel is reported this much later.
CONFIRM_AFTER = 2.0


def declared(folder: str, cluster: str) -> list[DeploymentSpec]:
    """The deployments declared for ``cluster`` (files that do not parse are skipped: the reconcile
    reports them)."""
    specs, _ = load_specs(spec_folder(folder), read_sql_files=False)
    return sorted((spec for spec in specs if spec.cluster == cluster), key=lambda spec: spec.name)


class _Look:
    """One poll's findings: states for the cursor, health for the health judges, the specs."""

    def __init__(self, specs: list[DeploymentSpec], jobs: list[Any]) -> None:
        names = [spec.name for spec in specs]
        self.specs = {spec.name: spec for spec in specs}
        self.health = newest_health(names, jobs)  # one index of the jobs by deployment
        self.states = states_of(self.health)


class FlinkJobEventTrigger(BaseEventTrigger):
    """Watch one cluster's declared deployments; yield an event when one's job leaves RUNNING."""

    def __init__(
        self,
        flink_conn_id: str,
        deployments_folder: str,
        poll_interval: float = POLL_INTERVAL,
        sample_interval: float | None = None,
    ) -> None:
        """``sample_interval``: seconds between samples for the Flink page's charts (0: none;
        None: ``[flink] sample_interval_seconds``, read in the triggerer)."""
        super().__init__()  # type: ignore[no-untyped-call]
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be > 0, got {poll_interval!r}")
        if sample_interval is not None and sample_interval < 0:
            raise ValueError(f"sample_interval must be >= 0, got {sample_interval!r}")
        self.flink_conn_id = flink_conn_id
        self.deployments_folder = deployments_folder
        self.poll_interval = float(poll_interval)
        self.sample_interval = sample_interval
        self._last_error = ""
        self._budget = max(30.0, 3 * self.poll_interval)  # seconds a look (or an event's details) may take

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "flink_conn_id": self.flink_conn_id,
                "deployments_folder": self.deployments_folder,
                "poll_interval": self.poll_interval,
                "sample_interval": self.sample_interval,
            },
        )

    def _failed(self, what: str, err: Exception) -> None:
        kind = type(err).__name__
        if kind != self._last_error:  # once per kind of failure, not every poll
            self.log.warning("%s (%s: %s); the last look stands", what, kind, err)
        self._last_error = kind

    async def _look(self, flink: AsyncFlinkVerbs) -> _Look | None:
        try:
            specs = await asyncio.to_thread(declared, self.deployments_folder, self.flink_conn_id)
        except Exception as err:
            self._failed(f"Cannot read {self.deployments_folder}", err)
            return None
        try:
            jobs = await flink.jobs()
        except Exception as err:  # unknown is not failed: conclude nothing
            self._failed(f"Flink ({self.flink_conn_id}) did not answer", err)
            return None
        if self._last_error:
            self.log.info("Watching %s again", self.flink_conn_id)
        self._last_error = ""
        return _Look(specs, jobs)

    async def _observe(self, hook: FlinkHook) -> _Look | None:
        """One look, bounded in time: a lookup that never answers (the connection through the
        triggerer's supervisor, a hung endpoint) is "unknown" for this poll, never a stuck watcher."""

        async def look() -> _Look | None:
            async with hook.async_verbs() as flink:
                return await self._look(flink)

        try:
            return await state.within(look(), self._budget)
        except asyncio.TimeoutError as err:
            self._failed(f"No look at {self.flink_conn_id} within {self._budget:g} s", err)
            return None

    async def _event(self, changes: list[JobChange], hook: FlinkHook) -> dict[str, Any]:
        """The payload; root causes and links are best effort within the time budget."""
        details = [
            {
                "deployment": c.deployment,
                "job_id": c.job_id,
                "kind": c.kind,
                "from": c.before,
                "to": c.after or "GONE",
                "note": c.note,
                "root_cause": None,
                "flink_url": None,
            }
            for c in changes
        ]

        async def enrich() -> None:
            async with hook.async_verbs() as flink:
                for change, detail in zip(changes, details, strict=True):
                    if not change.job_id:
                        continue
                    detail["flink_url"] = await hook.ajob_url(change.job_id)
                    if JobState(change.after) in FAILING_STATES:
                        try:
                            detail["root_cause"] = await flink.root_cause(change.job_id)
                        except Exception as err:  # the event goes out anyway, without the cause
                            detail["root_cause"] = f"(root cause not available: {type(err).__name__})"

        try:
            await state.within(enrich(), self._budget)
        except Exception as err:
            self.log.warning("Event sent without all causes and links (%s: %s)", type(err).__name__, err)
        return {
            "flink_deployments": sorted({c.deployment for c in changes}),
            "cluster": self.flink_conn_id,
            "changes": details,
        }

    async def _stored(self) -> dict[str, tuple[str, str]] | None:
        data = await state.load(self, CURSOR_KEY)
        return {name: (v[0], v[1]) for name, v in data.items()} if isinstance(data, dict) else None

    async def _store(self, now: dict[str, tuple[str, str]]) -> None:
        await state.save(self, CURSOR_KEY, {name: list(v) for name, v in now.items()})

    async def _stale_checkpoints(self, hook: FlinkHook, look: _Look, reported: set[str]) -> list[JobChange]:
        """Healthy jobs whose spec bounds the checkpoint age: one checkpoints call each, bounded in
        time; a job whose checkpoints cannot be read is skipped this time (unknown is not stale)."""
        watched = [
            (name, seen, spec.max_checkpoint_age_minutes * 60)
            for name, seen in look.health.items()
            if seen.healthy and (spec := look.specs.get(name)) and spec.max_checkpoint_age_minutes
        ]
        found: list[JobChange] = []

        async def check() -> None:
            async with hook.async_verbs() as flink:
                for name, seen, max_age in watched:
                    try:
                        latest = await flink.latest_checkpoint(seen.job_id)
                    except Exception as err:
                        self._failed(f"Checkpoints of {seen.job_id} not readable", err)
                        continue
                    completed = (
                        latest.trigger_timestamp / 1000 if latest and latest.trigger_timestamp else None
                    )
                    change = stale_checkpoint(name, seen, completed, max_age, time.time())
                    key = f"{seen.job_id}:{latest.id if latest else 0}"
                    if change is not None and key not in reported:
                        reported.add(key)
                        found.append(change)

        if watched:
            try:
                await state.within(check(), self._budget)
            except asyncio.TimeoutError as err:
                self._failed(
                    f"No look at the checkpoints on {self.flink_conn_id} within {self._budget:g} s", err
                )
        return found

    def _sampler(self) -> Sampler:
        """The charts' sampler; a bad setting is said once and takes no samples."""
        every = self.sample_interval
        retention = RETENTION_HOURS * 3600
        try:
            every = sample_seconds() if every is None else every
            retention = retention_hours() * 3600
        except Exception as err:
            self.log.warning("No samples taken: %s", err)
            every = 0.0

        return Sampler(self.flink_conn_id, asample_store, float(every), retention, self.log, self._budget)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        sampler = self._sampler()
        try:
            async for event in self._watch(sampler):
                yield event
        finally:
            sampler.stop()

    async def _watch(self, sampler: Sampler) -> AsyncIterator[TriggerEvent]:
        hook = FlinkHook(self.flink_conn_id, retry=POLL_RETRY)
        previous = await self._stored()
        kept = dict(previous or {})  # what the store holds: never ahead of the events sent
        health: dict[str, Health] | None = None  # the last look's health (in memory: first look is the base)
        reported: set[str] = set()  # jobs (and checkpoints) already reported unhealthy or stale
        checked = 0.0  # when the checkpoints were last looked at
        held: list[tuple[JobChange, float]] = []  # ended jobs (FINISHED, CANCELED ...), when first seen
        self.log.info(
            "Watching the declared deployments' jobs on %s every %g s", self.flink_conn_id, self.poll_interval
        )
        while True:
            look = await self._observe(hook)
            sampler.poll(look.health if look else None, look.specs if look else None, time.time())
            if look is not None and sampler.due(time.time()):
                sampler.start(hook, look.health, time.time())
            if look is not None:
                now = look.states
                found = job_changes(previous, now) if previous is not None else []
                timeouts = {
                    name: spec.health_timeout_seconds + self.poll_interval
                    for name, spec in look.specs.items()
                }
                found += health_changes(health, look.health, timeouts, time.time(), reported)
                if time.monotonic() - checked >= CHECKPOINT_EVERY:
                    checked = time.monotonic()
                    found += await self._stale_checkpoints(hook, look, reported)
                sure, held = settle(held, now, time.monotonic(), CONFIRM_AFTER)
                changes = [c for c in found if urgent(c)] + sure
                held += [(c, time.monotonic()) for c in found if not urgent(c)]
                health = look.health
                if changes:
                    self.log.info("Jobs changed: %s", "; ".join(c.describe() for c in changes))
                    yield TriggerEvent(await self._event(changes, hook))  # type: ignore[no-untyped-call]
                previous = now
                cursor = kept_cursor(now, kept, held)
                if cursor != kept:
                    kept = cursor
                    await self._store(cursor)
            await asyncio.sleep(self.poll_interval)
