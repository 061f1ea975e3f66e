"""``FlinkSpecChangeTrigger``: an asset event when a deployment file or a jar it names changes.

Give it to an ``AssetWatcher`` on the asset the reconcile DAG is scheduled on (see
``dags/flink_reconcile.py``); the event's payload names the deployments to reconcile
(``flink_deployments``), which :class:`~airflow_provider_flink.operators.FlinkReconcileOperator`
reads from the run's triggering asset events.

Timing, not content, is this module's job (what changed is
:func:`airflow_provider_flink.deployments.changes.compare`'s):

* the folder is read every ``poll_interval`` seconds (local paths and any ``ObjectStoragePath``
  URI alike: polling, so it works on object stores and network mounts where file-system
  notifications do not exist);
* a change is reported once it has **settled**: two reads ``quiet_seconds`` apart saw the same
  thing. A file being written, a burst of edits (a ``git pull`` of ten files, an editor's save
  sequence) give one event, after the last write;
* a file that does not parse gets longer (``5 x quiet_seconds``) to become valid: an editor that
  saves in two steps is not a broken spec. A file still broken after that is reported (the
  reconcile fails on it with the usual error and changes nothing for it);
* editors' swap, lock and backup files are not deployment files at all
  (:func:`~airflow_provider_flink.deployments.spec.is_spec_file`).

Where the trigger starts from: on Airflow 3.3 the last reported state is kept in the asset's
state store (``asset_state_store``), so a change made while the triggerer was down is reported
when it comes back. An event is sent before the state is stored: a crash between the two sends
it again (one more reconcile run, which finds nothing to do), never loses it.

A watcher starts again when its DAG is unpaused (Airflow runs the watchers of unpaused DAGs only)
or the triggerer restarts. An event sent while the DAG was paused is dropped by Airflow (seen: an
edit saved seconds after pausing, and unpausing started no run), so a watcher that starts sends
again the event it sent in the last ``REPLAY_SECONDS``; one more run that finds nothing to do is
the price when nothing was dropped. On 3.1/3.2 there is no store, so nothing is known of what
changed while no watcher ran: a starting watcher asks for one run of every deployment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent

from airflow_provider_flink.deployments.changes import Change, FolderState, compare, look
from airflow_provider_flink.deployments.spec import spec_folder
from airflow_provider_flink.events import state

CURSOR_KEY = "flink_spec_state"
LAST_EVENT_KEY = "flink_spec_last_event"  # {"payload": ..., "sent_at": epoch seconds}
REPLAY_SECONDS = 600.0
INVALID_GRACE = 5  # x quiet_seconds: how long a file that does not parse may still be in the making


class FlinkSpecChangeTrigger(BaseEventTrigger):
    """Watch a deployments folder (local path or ``ObjectStoragePath`` URI) and the jars its
    files name; yield one event per settled change, naming the deployments to reconcile."""

    def __init__(self, folder: str, poll_interval: float = 2.0, quiet_seconds: float = 1.0) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        if poll_interval <= 0 or quiet_seconds < 0:
            raise ValueError(
                f"poll_interval must be > 0 and quiet_seconds >= 0, got {poll_interval!r} and {quiet_seconds!r}"
            )
        self.folder = folder
        self.poll_interval = float(poll_interval)
        self.quiet_seconds = float(quiet_seconds)
        self._last_error = ""

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"folder": self.folder, "poll_interval": self.poll_interval, "quiet_seconds": self.quiet_seconds},
        )

    async def _read(self) -> FolderState | None:
        """One look; None when the folder could not be read (the previous look stands)."""
        try:
            # Bounded: a hung network mount or object store is "could not read" for this poll.
            folder_state = await state.within(
                asyncio.to_thread(look, spec_folder(self.folder)), max(30.0, 3 * self.poll_interval)
            )
        except Exception as err:  # any storage error: an object store's, a network mount's
            kind = type(err).__name__
            if kind != self._last_error:  # once per kind of failure, not every poll
                self.log.warning("Cannot read %s (%s: %s); trying again", self.folder, kind, err)
            self._last_error = kind
            return None
        if self._last_error:
            self.log.info("Reading %s again", self.folder)
        self._last_error = ""
        return folder_state

    async def _stored(self) -> FolderState | None:
        data = await state.load(self, CURSOR_KEY)
        return FolderState.from_dict(data) if isinstance(data, dict) else None

    async def _store(self, folder_state: FolderState) -> None:
        await state.save(self, CURSOR_KEY, folder_state.as_dict())

    async def _sent(self, payload: dict[str, Any]) -> None:
        await state.save(self, LAST_EVENT_KEY, {"payload": payload, "sent_at": time.time()})

    async def _on_start(self, reported: FolderState | None, latest: FolderState) -> dict[str, Any] | None:
        """The event a starting watcher sends before it watches, if any (see the module's docs)."""
        if getattr(self, "asset_state_store", None) is None:
            names = sorted({f.deployment for f in latest.files.values() if f.deployment})
            if not names:
                return None
            self.log.info(
                "Started with no memory of earlier looks (no asset state store): one run for every "
                "deployment, what changed while no watcher ran is not known: %s",
                ", ".join(names),
            )
            return Change(tuple(names), (), (), ()).payload()
        last = await state.load(self, LAST_EVENT_KEY)
        if reported is None or not isinstance(last, dict) or not isinstance(last.get("payload"), dict):
            return None
        age = time.time() - float(last.get("sent_at") or 0)
        if not 0 <= age < REPLAY_SECONDS:
            return None
        self.log.info(
            "Started %.0f s after this watcher's last event: sending it again (Airflow drops an event "
            "sent while its DAG is paused): %s",
            age,
            ", ".join(last["payload"].get("flink_deployments") or []) or "(no deployment)",
        )
        payload: dict[str, Any] = last["payload"]
        return payload

    async def run(self) -> AsyncIterator[TriggerEvent]:
        reported = await self._stored()
        latest = await self._read()
        while latest is None:
            await asyncio.sleep(self.poll_interval)
            latest = await self._read()
        first = await self._on_start(reported, latest)
        if reported is None:
            reported = latest  # nothing stored: start from what is there now
            await self._store(reported)
        self.log.info(
            "Watching %s: %d deployment file(s), %d jar(s), every %g s",
            self.folder, len(latest.files), len(latest.jars), self.poll_interval,
        )  # fmt: skip
        if first is not None:
            yield TriggerEvent(first)  # type: ignore[no-untyped-call]
        changed_at = time.monotonic()
        while True:
            change = compare(reported, latest)
            if change is not None:
                quiet = self.quiet_seconds * (INVALID_GRACE if change.invalid else 1)
                if time.monotonic() - changed_at >= quiet:
                    self.log.info(
                        "Deployment files changed: %s; reconcile: %s%s",
                        ", ".join(change.files + change.jars),
                        ", ".join(change.deployments) or "(no deployment parses)",
                        f"; not valid: {', '.join(change.invalid)}" if change.invalid else "",
                    )
                    yield TriggerEvent(change.payload())  # type: ignore[no-untyped-call]
                    reported = latest
                    await self._store(reported)
                    await self._sent(change.payload())
            await asyncio.sleep(self.poll_interval)
            now = await self._read()
            if now is not None and now != latest:
                latest, changed_at = now, time.monotonic()  # still changing: wait until it settles
