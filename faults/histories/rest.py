"""The checker's own tiny reader of Flink's REST API (httpx only: nothing of the product).

Every read answers None when Flink cannot be reached or says no: the sampler keeps sampling
through JobManager restarts, and the checker judges only what it did see.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
from typing_extensions import Self

COUNTER_METRIC = "count.counter"  # the CounterJob's keyed counter (harness/java/.../CounterJob.java)
TERMINAL = {"FINISHED", "CANCELED", "FAILED"}


class FlinkReader:
    def __init__(self, url: str, timeout: float = 2.0) -> None:
        self._client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, **params: str) -> Any:
        try:
            answer = self._client.get(path, params=params or None)
        except httpx.HTTPError:
            return None
        return answer.json() if answer.status_code == 200 else None

    def jobs(self) -> list[dict[str, Any]] | None:
        """``/jobs/overview``: [{jid, name, state, start-time, ...}], None when unreachable."""
        found = self.get("/jobs/overview")
        return list(found["jobs"]) if isinstance(found, dict) and "jobs" in found else None

    def job(self, jid: str) -> dict[str, Any] | None:
        found = self.get(f"/jobs/{jid}")
        return found if isinstance(found, dict) else None

    def counter(self, jid: str, detail: dict[str, Any]) -> float | None:
        """The counter (max over subtasks) of a job's ``count`` vertex; None before it reports."""
        vertex = next(
            (v for v in detail.get("vertices", []) if str(v.get("name", "")).startswith("count")), None
        )
        if vertex is None:
            return None
        found = self.get(f"/jobs/{jid}/vertices/{vertex['id']}/subtasks/metrics", get=COUNTER_METRIC)
        if not isinstance(found, list) or not found:
            return None
        value = found[0].get("max")
        return float(value) if value is not None else None


def all_running(detail: dict[str, Any]) -> bool:
    """Every vertex RUNNING (a FINISHED source subtask of an upscaled job is still healthy)."""
    vertices = detail.get("vertices", [])
    return (
        detail.get("state") == "RUNNING"
        and bool(vertices)
        and all(v.get("status") in ("RUNNING", "FINISHED") for v in vertices)
        and any(v.get("status") == "RUNNING" for v in vertices)
    )


def parallelism(detail: dict[str, Any]) -> int:
    return max((int(v.get("parallelism", 0)) for v in detail.get("vertices", [])), default=0)


class Periodic:
    """A thread that looks at Flink every ``interval`` seconds (:meth:`sample`) through its own
    reader until stopped; a look that raises is handed to :meth:`failed` (a sampler that died
    silently would judge nothing, and every run would pass)."""

    def __init__(self, url: str, interval: float) -> None:
        self.reader = FlinkReader(url)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.reader.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self.sample()
            except Exception as err:
                self.failed(err)
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def sample(self) -> None:
        raise NotImplementedError

    def failed(self, err: Exception) -> None:
        raise NotImplementedError
