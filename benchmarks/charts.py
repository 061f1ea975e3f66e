"""The charts' samples on the SQL store at scale: 24 hours of samples of many deployments in a
private PostgreSQL, against raw SQL on the same table in the same run (issue 21).

For ``--deployments`` deployments on one cluster, one sample a minute for ``--hours`` hours is
seeded (1,000 x 24 h = 1.44 million rows). Then, taken in turn (``benchmarks.common.interleaved``):

* **one deployment's charts**: what ``GET /flink/api/deployments/{name}/charts?hours=24`` does
  behind HTTP: ``SqlRecordStore.samples`` (the deployment's rows of the window, parsed) and
  ``samples.charts`` (points merged to at most 360, totals); baseline: the same rows fetched with
  psycopg2 and a raw ``SELECT body ... WHERE cluster AND name AND at >`` (bodies not parsed);
* **one sample of every deployment**: the job watcher's write, ``add_samples`` (one statement that
  skips rows already there, then one insert); baseline: psycopg2's ``execute_values`` of the same
  rows;
* **retention**: ``prune_samples`` of one minute's rows (what the hourly deletion costs per
  minute of samples), against a raw ``DELETE``.

    .venv/bin/python -m benchmarks.charts [--deployments 1000] [--hours 24] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2  # type: ignore[import-untyped]
from psycopg2.extras import execute_values  # type: ignore[import-untyped]

from airflow_provider_flink.deployments.samples import Sample, charts
from airflow_provider_flink.deployments.stores import SqlRecordStore
from benchmarks.common import interleaved, summary
from harness.postgres import LocalPostgres

CLUSTER = "flink_bench"


def sample(at: float, i: int) -> Sample:
    """A realistic sample: a healthy job, its rates, the last checkpoint."""
    return Sample(
        at=at,
        seconds=60.0,
        up_s=60.0,
        job_id=f"{i:032x}",
        job_state="RUNNING",
        records_in_per_s=1234.5 + i % 7,
        records_out_per_s=1230.25,
        backpressure=0.0125,
        restarts=0,
        checkpoints=6,
        checkpoints_failed=0,
        checkpoint_duration_ms=231.0,
        checkpoint_size_bytes=48_213_112.0,
    )


def seed(url: str, deployments: int, hours: float, until: float) -> int:
    """Rows for ``hours`` of one sample a minute per deployment, ending at ``until``."""
    rows = 0
    with psycopg2.connect(url) as db, db.cursor() as cur:
        minutes = int(hours * 60)
        for m in range(minutes):
            at = until - (minutes - m) * 60.0 + 1.0  # inside the window (since, until]
            values = [(CLUSTER, f"dep-{i:05d}", at, sample(at, i).to_json()) for i in range(deployments)]
            execute_values(
                cur,
                "INSERT INTO flink_deployment_samples (cluster, name, at, body) VALUES %s",
                values,
                page_size=5000,
            )
            rows += len(values)
        cur.execute("ANALYZE flink_deployment_samples")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n", 1)[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the figures there (JSON)")
    args = parser.parse_args(argv)

    postgres = LocalPostgres().start()  # its own folder, readable by the server's user
    try:
        url = postgres.url.replace("postgresql+psycopg2://", "postgresql://")  # psycopg2's own form
        store = SqlRecordStore(postgres.url, name="bench")
        store.prune_samples(0.0)  # creates the tables (version 2)
        now = time.time()
        began = time.monotonic()
        rows = seed(url, args.deployments, args.hours, now)
        print(
            f"seeded {rows:,} samples ({args.deployments} deployments x {args.hours:g} h) in {time.monotonic() - began:.0f} s"
        )
        raw = psycopg2.connect(url)
        raw.autocommit = True
        name = f"dep-{args.deployments // 2:05d}"
        since = now - args.hours * 3600

        def ours_charts() -> Any:
            return charts(store.samples(CLUSTER, name, since), [], since, now)

        def raw_charts() -> Any:
            with raw.cursor() as cur:
                cur.execute(
                    "SELECT body FROM flink_deployment_samples WHERE cluster = %s AND name = %s AND at > %s ORDER BY at",
                    (CLUSTER, name, since),
                )
                return cur.fetchall()

        points = ours_charts()
        assert points["samples"] == int(args.hours * 60), points["samples"]
        read = interleaved({"charts": ours_charts, "raw": raw_charts}, args.repeat)

        step = [0]

        def next_minute() -> float:
            step[0] += 1
            return now + step[0] * 60.0

        def ours_write() -> None:
            at = next_minute()
            store.add_samples(CLUSTER, {f"dep-{i:05d}": sample(at, i) for i in range(args.deployments)})

        def raw_write() -> None:
            at = next_minute()
            values = [(CLUSTER, f"dep-{i:05d}", at, sample(at, i).to_json()) for i in range(args.deployments)]
            with raw.cursor() as cur:
                execute_values(
                    cur,
                    "INSERT INTO flink_deployment_samples (cluster, name, at, body) VALUES %s",
                    values,
                    page_size=5000,
                )

        write = interleaved({"add": ours_write, "raw": raw_write}, max(5, args.repeat // 2), warmup=2)

        oldest = [now - args.hours * 3600]

        def ours_prune() -> None:
            oldest[0] += 60.0
            store.prune_samples(oldest[0])

        def raw_prune() -> None:
            oldest[0] += 60.0
            with raw.cursor() as cur:
                cur.execute("DELETE FROM flink_deployment_samples WHERE at < %s", (oldest[0],))

        prune = interleaved({"prune": ours_prune, "raw": raw_prune}, max(5, args.repeat // 2), warmup=2)
        raw.close()
    finally:
        postgres.stop()

    def med(xs: list[float]) -> float:
        return statistics.median(xs)

    figures = {
        "deployments": args.deployments,
        "hours": args.hours,
        "rows": rows,
        "charts_s": med(read["charts"]),
        "charts_raw_s": med(read["raw"]),
        "write_s": med(write["add"]),
        "write_raw_s": med(write["raw"]),
        "prune_s": med(prune["prune"]),
        "prune_raw_s": med(prune["raw"]),
    }
    for label, ours, base in (
        ("one deployment's 24 h charts", read["charts"], read["raw"]),
        ("one sample of every deployment", write["add"], write["raw"]),
        ("retention: one minute's rows", prune["prune"], prune["raw"]),
    ):
        print(summary(label, ours))
        print(summary("  baseline: raw SQL", base))
        print(f"  ratio {med(ours) / med(base):.2f}x")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
