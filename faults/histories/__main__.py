"""Command line: draw, play and judge random histories; replay and shorten a failing one.

    .venv/bin/python -m faults.histories --versions 2.3.0,1.20.5 --histories 10 --ops 15 --seed 1
    .venv/bin/python -m faults.histories --versions 2.3.0 --replay 123456 --shrink
    .venv/bin/python -m faults.histories --store file ...   # records in a JSON file (no leases)

Records are in the SQL store on a PostgreSQL the command starts (``--store postgres``, the
default), each play in a schema of its own.

One line per history (seed, operations, verdict, why), then a table per Flink version. Exit 1 on
any violation, a history that could not be judged included.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

from faults.campaign import airflow_settings
from faults.histories.generate import History, generate
from faults.histories.run import Verdict, play
from faults.histories.shrink import shrink
from harness.flink_cluster import LocalFlink
from harness.job_jars import build_jar
from harness.postgres import LocalPostgres


def _line(verdict: Verdict) -> str:
    mark = "ok       " if verdict.ok else "VIOLATION"
    return f"{mark} flink {verdict.version:<7} seed {verdict.seed:<7} ops {verdict.ops:<3} {verdict.why}"


def _shortened(
    flink: LocalFlink, jar: Path, work: Path, verdict: Verdict, budget: int, database: str | None
) -> None:
    """Replay the failing history with operations dropped; print the shortest that still fails."""

    def fails(ops: list[dict[str, object]]) -> bool:
        again = play(flink, jar, work, dataclasses.replace(verdict.history, ops=ops), database)
        print(
            f"  replay of {len(ops)} ops: {'fails' if not again.ok else 'passes'} {again.why[:160]}",
            flush=True,
        )
        return not again.ok

    ops, used = shrink(verdict.history.ops, fails, budget)
    history = dataclasses.replace(verdict.history, ops=ops)
    print(f"  shortened to {len(ops)} of {verdict.ops} ops in {used} replays:", flush=True)
    print("  " + json.dumps(history.as_json()), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--versions", default="2.3.0,1.20.5")
    parser.add_argument("--histories", type=int, default=4, help="histories per version")
    parser.add_argument("--ops", type=int, default=15, help="operations per history (at least)")
    parser.add_argument("--seed", type=int, default=1, help="draws the histories' seeds")
    parser.add_argument(
        "--replay", default=None, help="play the histories of these seeds only (comma-separated)"
    )
    parser.add_argument("--file", type=Path, default=None, help="play a history from its JSON")
    parser.add_argument("--shrink", action="store_true", help="shorten each failing history")
    parser.add_argument("--budget", type=int, default=10, help="replays a shrink may use")
    parser.add_argument("--keep", type=Path, default=None, help="keep each play's evidence under this folder")
    parser.add_argument(
        "--store", choices=["postgres", "file"], default="postgres", help="where records live"
    )
    args = parser.parse_args(argv)
    airflow_home = Path(tempfile.mkdtemp(prefix="flink-histories-airflow-"))
    os.environ.update(airflow_settings(airflow_home))  # before the zygote imports Airflow
    atexit.register(shutil.rmtree, airflow_home, True)
    if args.file:
        histories = [History.from_json(json.loads(args.file.read_text()))]
    elif args.replay is not None:
        histories = [generate(int(seed), args.ops) for seed in args.replay.split(",")]
    else:
        seeds = random.Random(args.seed).sample(range(10**6), args.histories)
        histories = [generate(seed, args.ops) for seed in seeds]
    verdicts: list[Verdict] = []
    postgres = LocalPostgres().start() if args.store == "postgres" else None
    atexit.register(lambda: postgres.stop() if postgres else None)
    database = postgres.url if postgres else None
    for version in args.versions.split(","):
        with tempfile.TemporaryDirectory(prefix="flink-histories-") as tmp:
            work = Path(tmp)
            jar = build_jar(version, work / "jars")
            flink = LocalFlink(version=version, workdir=work / "flink", python=True).start()
            try:
                plays = args.keep / version if args.keep else work / "plays"
                for history in histories:
                    verdict = play(flink, jar, plays, history, database)
                    verdicts.append(verdict)
                    print(_line(verdict), flush=True)
                    if not verdict.ok:
                        print("  history: " + json.dumps(history.as_json()), flush=True)
                        if args.shrink:
                            _shortened(flink, jar, plays, verdict, args.budget, database)
            finally:
                flink.stop()
    print("\n| Flink | histories | operations | violations |\n|---|---|---|---|")
    for version in args.versions.split(","):
        mine = [v for v in verdicts if v.version == version]
        print(f"| {version} | {len(mine)} | {sum(v.ops for v in mine)} | {sum(not v.ok for v in mine)} |")
    bad = [v for v in verdicts if not v.ok]
    print(
        f"\n{len(verdicts)} histories, {len(bad)} with violations"
        + (" (replay: --replay SEED --versions VERSION [--shrink])" if bad else "")
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
