"""One ``GET /jobs/overview`` per cluster per interval, shared by every job wait of a process.

The triggerer runs the deferred waits of many tasks in one event loop. Each wait used to ask Flink
about its own job (``GET /jobs/{id}``) every poll: 50 waits on one cluster, 50 requests per
interval. Here the waits of one connection share a snapshot of the cluster's job list: the first
wait that needs a newer one than ``max_age`` fetches it, any wait that asks meanwhile awaits the
same request (single flight), and an error reaches every waiter of that request (each treats it as
"unknown", as before). A wait fetches its own job's details only when the snapshot shows that its
wait may be over (see ``FlinkJobTrigger.probe``).
"""

from __future__ import annotations

import asyncio
import time
import weakref

from airflow_provider_flink.client import models
from airflow_provider_flink.hooks.verbs import AsyncFlinkVerbs

_Snapshot = tuple[float, "asyncio.Future[list[models.JobOverview]]"]  # (when fetched, the fetch)
# Per event loop (a loop's futures are its own; a finished loop's entries go with it), per connection.
_SNAPSHOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Snapshot]] = (
    weakref.WeakKeyDictionary()
)


async def shared_jobs(conn_id: str, flink: AsyncFlinkVerbs, max_age: float) -> list[models.JobOverview]:
    """The cluster's jobs, at most ``max_age`` seconds old, fetched once for all waiters."""
    loop = asyncio.get_running_loop()
    snapshots = _SNAPSHOTS.setdefault(loop, {})
    now = time.monotonic()
    known = snapshots.get(conn_id)
    if known is not None and (not known[1].done() or now - known[0] <= max_age):
        return await asyncio.shield(known[1])
    fetch: asyncio.Future[list[models.JobOverview]] = loop.create_future()
    snapshots[conn_id] = (now, fetch)
    try:
        jobs = await flink.jobs()
    except BaseException as err:
        fetch.set_exception(err)
        fetch.exception()  # retrieved: no "exception never retrieved" warning when nobody else waited
        raise
    fetch.set_result(jobs)
    return jobs


def forget() -> None:
    """Drop every snapshot (tests)."""
    _SNAPSHOTS.clear()
