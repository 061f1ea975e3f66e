"""Helpers shared by the benchmarks: a local Flink for the run and simple timing statistics."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from harness.flink_cluster import LocalFlink


@contextmanager
def local_flink(version: str, python: bool = False) -> Iterator[LocalFlink]:
    """A fresh local Flink for the benchmark (``python``: it runs Python jobs too), stopped at the
    end whatever happens."""
    with TemporaryDirectory(prefix="flink-bench-") as tmp:
        flink = LocalFlink(version=version, workdir=Path(tmp), python=python)
        began = time.monotonic()
        flink.start()
        print(f"Flink {version} up at {flink.rest_url} in {time.monotonic() - began:.1f} s")
        try:
            yield flink
        finally:
            flink.stop()


def interleaved(fns: dict[str, Callable[[], object]], repeat: int, warmup: int = 5) -> dict[str, list[float]]:
    """Wall-clock seconds of ``repeat`` calls of each function, taken in turn so that drift in
    the server (JIT warm-up, GC) hits every variant alike; ``warmup`` rounds are not measured."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for round_ in range(warmup + repeat):
        for name, fn in fns.items():
            began = time.perf_counter()
            fn()
            if round_ >= warmup:
                samples[name].append(time.perf_counter() - began)
    return samples


def summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[int(len(ordered) * 0.9) - 1]
    return (
        f"{name:<38} median {statistics.median(samples) * 1000:8.2f} ms   "
        f"p90 {p90 * 1000:8.2f} ms   n={len(samples)}"
    )


def deploy_rounds(
    rounds: int, operator: Callable[[], object], raw: Callable[[], object], after: Callable[[], None]
) -> dict[str, list[float]]:
    """Seconds of each deploy, the operator's and the raw REST sequence's, ``rounds`` times, taking
    turns at going first (neither always meets a cluster just freed); ``after`` each (cancel)."""
    results: dict[str, list[float]] = {"operator": [], "raw REST": []}
    for round_ in range(rounds):
        order = ["operator", "raw REST"] if round_ % 2 == 0 else ["raw REST", "operator"]
        for name in order:
            began = time.perf_counter()
            (operator if name == "operator" else raw)()
            results[name].append(time.perf_counter() - began)
            after()
    return results


def print_deploy_latency(title: str, results: dict[str, list[float]]) -> float:
    """The operator against raw REST as a table; returns the ratio of the medians."""
    print(f"\n{title} (start -> the job and all its vertices RUNNING)")
    print(f"{'':<12} {'median':>8} {'min':>8} {'max':>8}   n")
    for name, samples in results.items():
        print(
            f"{name:<12} {statistics.median(samples):7.3f}s {min(samples):7.3f}s {max(samples):7.3f}s   {len(samples)}"
        )
    ratio = statistics.median(results["operator"]) / statistics.median(results["raw REST"])
    print(f"operator / raw REST: {ratio:.2f}x")
    return ratio
