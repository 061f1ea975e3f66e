"""Run a soak and print its figures (see :mod:`faults.soak.run`).

    .venv/bin/python -m faults.soak --minutes 60 --version 2.3.0 --seed 1 [--every 60] [--out soak.json]

Exit code 1 when a deployment's keyed state went back, the sampler failed, a fault's recovery
was not over by the end, or (with ``--bound S``) a recovery took more than S seconds once the
faulted part answered again (the figures are printed either way). The suite's sample:

    .venv/bin/python -m faults.soak --minutes 5 --every 30 --bound 60 --seed 1
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from faults.soak.figures import Fault, beyond, figures, markdown
from faults.soak.run import DEPLOYMENTS, Soak, keep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between faults (on average)")
    parser.add_argument("--kinds", default="", help="comma-separated fault kinds (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="the soak's evidence and figures as JSON")
    parser.add_argument("--keep", type=Path, default=None, help="keep the soak's folder (logs) here")
    parser.add_argument(
        "--bound",
        type=float,
        default=None,
        help="seconds a recovery may take once the faulted part answers again (default: no bound)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="flink-soak-") as tmp:
        soak = Soak(args.version, Path(tmp), args.minutes, args.seed, args.every)
        if args.kinds:
            soak.kinds = {kind: soak.kinds[kind] for kind in args.kinds.split(",")}
        try:
            soak.setup()
            evidence = soak.run()
        finally:
            soak.teardown()
            keep(Path(tmp), args.keep)
    faults = [Fault(**f) for f in evidence["faults"]]
    samples = [(t, state) for t, state in evidence["uptime"]["samples"] if t >= evidence["began"]]
    result = figures(samples, faults, DEPLOYMENTS, evidence["reconcile_runs"])
    print(markdown(result, args.minutes, args.version))
    bounded = evidence["bounded_runs"]
    print(
        f"Bounded job runs: {len(bounded)}, "
        + ", ".join(
            f"{s}: {sum(r.get('state') == s for r in bounded)}"
            for s in ("success", "failed", "running", "queued")
        )
    )
    problems = [*evidence["uptime"]["back"], *evidence["uptime"]["errors"]]
    problems += [
        f"{r.kind} at {r.at:.0f}: {r.deployment} not up again by the end"
        for r in result.recoveries
        if r.seconds is None
    ]
    if args.bound is not None:
        problems += beyond(result, args.bound)
    if not evidence["settled"]:
        problems.append("not every deployment was up at the end")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if args.out:
        evidence["figures"] = {
            "availability": result.availability,
            "by_kind": result.by_kind,
            "flink_own": result.flink_own,
            "hourly_availability": result.hourly_availability,
            "downtime_per_fault": result.downtime_per_fault,
            "recovery_per_fault": result.recovery_per_fault,
            "recoveries": [{**vars(r), "share": r.share} for r in result.recoveries],
        }
        args.out.write_text(json.dumps(evidence, indent=1, default=str))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
