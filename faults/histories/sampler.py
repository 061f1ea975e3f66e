"""A background watcher of Flink and its storage during a history (every ~0.5 s).

It keeps what the checker cannot learn afterwards: the jobs Flink showed (a JobManager restart
forgets them), when each was seen with every vertex running, its parallelism, its counter, and
which snapshots were on storage. Nothing of the product is imported.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from faults.histories.rest import TERMINAL, Periodic, all_running, parallelism


def job_deployment(name: str, deployments: list[str]) -> str | None:
    """The deployment a job belongs to, from its name (``<deployment>.g<generation>``: the
    history puts ``--name`` in each spec's args)."""
    base = name.rsplit(".g", 1)[0]
    return base if base in deployments else None


def job_generation(name: str) -> int | None:
    tail = name.rsplit(".g", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


def snapshots_on_storage(checkpoint_dir: Path, savepoint_dir: Path) -> list[str]:
    """Every completed snapshot on storage (a ``_metadata`` file), savepoints searched
    recursively (the reconcile may keep a deployment's in a subdirectory)."""
    found = [str(p.parent) for p in checkpoint_dir.glob("*/chk-*/_metadata")]
    found += [str(p.parent) for p in savepoint_dir.rglob("_metadata")]
    return sorted(found)


class Sampler(Periodic):
    def __init__(
        self,
        url: str,
        deployments: list[str],
        checkpoint_dir: Path,
        savepoint_dir: Path,
        interval: float = 0.5,
    ) -> None:
        super().__init__(url, interval)
        self.deployments = deployments
        self.dirs = (checkpoint_dir, savepoint_dir)
        self.samples: list[dict[str, Any]] = []
        self.jobs: dict[str, dict[str, Any]] = {}  # jid -> {name, deployment, parallelism, healthy: [t...]}
        self.storage: list[tuple[float, list[str]]] = []  # (t, listing) whenever it changed

    def failed(self, err: Exception) -> None:
        self.samples.append({"t": time.time(), "error": f"{type(err).__name__}: {err}"})

    def sample(self) -> None:
        now = time.time()
        listing = snapshots_on_storage(*self.dirs)
        if not self.storage or self.storage[-1][1] != listing:
            self.storage.append((now, listing))
        jobs = self.reader.jobs()
        if jobs is None:
            self.samples.append({"t": now, "unreachable": True})
            return
        mine = [j for j in jobs if job_deployment(str(j.get("name", "")), self.deployments)]
        live = []
        for job in mine:
            jid, state = str(job["jid"]), str(job["state"])
            known = self.jobs.setdefault(
                jid,
                {
                    "name": job["name"],
                    "deployment": job_deployment(job["name"], self.deployments),
                    "first_seen": now,
                    "healthy": [],
                    "counters": [],
                    "parallelism": 0,
                    "state": state,
                },
            )
            known["state"] = state
            if state not in TERMINAL:
                live.append({"jid": jid, "name": job["name"], "state": state})
                self._look_closer(jid, known, now)
        self.samples.append({"t": now, "live": live})

    def _look_closer(self, jid: str, known: dict[str, Any], now: float) -> None:
        detail = self.reader.job(jid)
        if detail is None:
            return
        known["parallelism"] = parallelism(detail) or known["parallelism"]
        if all_running(detail):
            known["healthy"].append(now)
        value = self.reader.counter(jid, detail)
        if value:  # 0 before the first record: says nothing about state
            known["counters"].append((now, value))

    def as_json(self) -> dict[str, Any]:
        return {"samples": self.samples, "jobs": self.jobs, "storage": self.storage}
