"""Latency of one REST call through the provider's client against raw calls of the same request.

Baselines measured in the same run against the same local Flink:
* ``curl``: a raw ``curl -s URL`` process per call (what a shell script does);
* ``requests.get``: the bare HTTP library on a warm session (the floor for any Python client).

    .venv/bin/python -m benchmarks.client_latency [--version 2.3.0] [--repeat 200]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
from collections.abc import Callable

import requests

from airflow_provider_flink.client import ClientSettings, FlinkClient, calls
from benchmarks.common import interleaved, local_flink, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", default="2.3.0")
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    curl = shutil.which("curl")
    with local_flink(args.version) as flink:
        for path, call in (("/overview", calls.overview()), ("/jobs/overview", calls.jobs_overview())):
            url = flink.rest_url + path
            with FlinkClient(ClientSettings(flink.rest_url)) as client, requests.Session() as session:
                variants: dict[str, Callable[[], object]] = {
                    "FlinkClient.call": lambda c=call: client.call(c),  # type: ignore[misc]
                    "requests.Session.get (raw)": lambda u=url: session.get(u, timeout=10).json(),  # type: ignore[misc]
                }
                if curl:
                    variants["curl process (raw)"] = lambda u=url: subprocess.run(  # type: ignore[misc]
                        [curl, "-sf", u], check=True, capture_output=True
                    )
                results = interleaved(variants, args.repeat)
            print(f"\nGET {path}")
            for name, samples in results.items():
                print("  " + summary(name, samples))
            base = statistics.median(results["FlinkClient.call"])
            for name, samples in results.items():
                if name != "FlinkClient.call":
                    print(f"  ratio FlinkClient / {name}: {base / statistics.median(samples):.2f}x")


if __name__ == "__main__":
    main()
