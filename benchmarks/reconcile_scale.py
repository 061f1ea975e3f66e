"""Reconcile of 1,000 declared deployments with no drift: REST calls made and planning time.

The cluster is **a recorded response**, not a live Flink (a 4-slot local cluster cannot run 1,000
jobs): one ``/jobs/overview`` entry recorded from Flink 2.3.0 (tests/unit/recorded), repeated with
the job id of each deployment, served over real HTTP on loopback by a counting server. Records are
as a previous reconcile left them (same spec applied, stable), so nothing drifted.

    .venv/bin/python -m benchmarks.reconcile_scale [--deployments 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="bench-airflow-"))

from airflow_provider_flink.client import models
from airflow_provider_flink.deployments.executor import resolve_artifact
from airflow_provider_flink.deployments.planner import ClusterView, new_job_id, plan_deployment
from airflow_provider_flink.deployments.records import DeploymentRecord, MemoryRecordStore
from airflow_provider_flink.deployments.spec import load_specs, spec_hash
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.operators.reconcile import reconcile

RECORDED = (
    Path(__file__).resolve().parents[1] / "tests" / "unit" / "recorded" / "flink-2.3.0-running-job.json"
)


class CountingFlink(BaseHTTPRequestHandler):
    body = b"{}"
    requests: list[str] = []

    def do_GET(self) -> None:
        CountingFlink.requests.append(self.path)
        if self.path == "/jobs/overview":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deployments", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    jar = work / "job.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("x/Main.class", os.urandom(15000))
    folder = work / "deployments"
    folder.mkdir()
    for i in range(args.deployments):
        declared = {
            "name": f"job-{i:04d}",
            "artifact": {"jar": str(jar)},
            "entry_class": "x.Main",
            "parallelism": 1 + i % 4,
        }
        (folder / f"job-{i:04d}.json").write_text(json.dumps(declared))
    specs, problems = load_specs(folder)
    if problems or len(specs) != args.deployments:
        raise SystemExit(f"spec generation went wrong: {problems}")
    server = ThreadingHTTPServer(("127.0.0.1", 0), CountingFlink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    os.environ["AIRFLOW_CONN_FLINK_DEFAULT"] = json.dumps(
        {"conn_type": "flink", "host": "127.0.0.1", "port": server.server_address[1]}
    )
    hook = FlinkHook("flink_default")
    template = json.loads(RECORDED.read_text())
    store = MemoryRecordStore()
    jobs = []
    for spec in specs:
        digest = spec_hash(spec, resolve_artifact(spec, hook)[1])
        job_id = new_job_id(spec.name, digest)
        jobs.append(
            {
                "jid": job_id,
                "name": spec.name,
                "state": "RUNNING",
                "start-time": template["start-time"],
                "end-time": -1,
                "tasks": {"running": 2, "total": 2},
            }
        )
        store.put(
            DeploymentRecord(
                name=spec.name,
                cluster="flink_default",
                status="running",
                current_job_id=job_id,
                applied_hash=digest,
                last_stable_hash=digest,
            )
        )
    CountingFlink.body = json.dumps({"jobs": jobs}).encode()
    totals, plans = [], []
    view = ClusterView("flink_default", tuple(models.JobsOverview.model_validate({"jobs": jobs}).jobs))
    try:
        for _ in range(args.repeat):
            CountingFlink.requests = []
            began = time.perf_counter()
            summary = reconcile(folder, store)
            totals.append(time.perf_counter() - began)
            if summary["errors"] or any(d["actions"] for d in summary["deployments"]):
                raise SystemExit(f"drift where none was expected: {summary}")
            calls = len(CountingFlink.requests)
            began = time.perf_counter()
            for spec in specs:
                digest = spec_hash(spec, resolve_artifact(spec, hook)[1])
                plan_deployment(spec, digest, view, store.get(spec.cluster, spec.name), time.time())
            plans.append(time.perf_counter() - began)
    finally:
        server.shutdown()
    print(
        f"{args.deployments} deployments on 1 cluster, no drift (cluster = recorded response, see docstring)"
    )
    print(f"  REST calls per reconcile run: {calls} ({sorted(set(CountingFlink.requests))})")
    print(
        f"  planning {args.deployments} deployments (hash + plan, records read): median {statistics.median(plans):.3f} s"
    )
    print(
        f"  whole reconcile run (load files, observe, plan): median {statistics.median(totals):.3f} s  n={args.repeat}"
    )


if __name__ == "__main__":
    main()
