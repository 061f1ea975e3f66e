"""Where an asset watcher keeps its last look across triggerer restarts: the asset's state store
(Airflow 3.3+; ``asset_state_store``, injected by the triggerer). Absent on 3.1/3.2: nothing kept.

Every call is bounded in time and serialized within the process: a watcher must never stop
watching because the store did not answer (a first version of the job watcher was seen silent
after its first look in one of three runs, both watchers having called the store at the same
instant). A call that fails or times out is logged and the watcher goes on without it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable
from typing import Any, TypeVar

import tenacity

T = TypeVar("T")

TIMEOUT = 10.0
# A watcher started again after its database came back (PostgreSQL restarted, the triggerer with
# it) may find the store not answering yet; starting from now would miss what changed meanwhile.
LOAD_ATTEMPTS = 3
LOAD_PAUSE = 2.0
_LOCKS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


async def within(work: Awaitable[T], seconds: float) -> T:
    """``work``, or ``asyncio.TimeoutError`` after ``seconds``. Not ``asyncio.wait_for``: before
    Python 3.12 it can swallow a cancellation that arrives as the inner work completes, and a
    watcher whose poll was bounded that way could not be stopped (seen: a unit test's trigger that
    went on polling after its cancel, hanging the suite)."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise asyncio.TimeoutError(f"no answer within {seconds:g} s")
    return task.result()


def _lock() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    if loop not in _LOCKS:
        _LOCKS[loop] = asyncio.Lock()
    return _LOCKS[loop]


async def load(trigger: Any, key: str) -> Any:
    """The stored value, or None (no store, nothing stored, or the store did not answer
    ``LOAD_ATTEMPTS`` times, ``LOAD_PAUSE`` seconds apart)."""
    store = getattr(trigger, "asset_state_store", None)
    if store is None:
        return None
    try:
        async for attempt in tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(LOAD_ATTEMPTS),
            wait=tenacity.wait_fixed(LOAD_PAUSE),
            reraise=True,
        ):
            with attempt:
                async with _lock():
                    return await within(store.aget(key), TIMEOUT)
    except Exception as err:
        trigger.log.warning(
            "The asset state store did not give %s (%s: %s): starting from now", key, type(err).__name__, err
        )
    return None


async def save(trigger: Any, key: str, value: Any) -> None:
    store = getattr(trigger, "asset_state_store", None)
    if store is None:
        return
    try:
        async with _lock():
            await within(store.aset(key, value), TIMEOUT)
    except Exception as err:
        trigger.log.warning("The asset state store did not keep %s (%s: %s)", key, type(err).__name__, err)
