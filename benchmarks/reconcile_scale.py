"""Reconcile of many declared deployments with no drift: REST calls, planning time, whole run.

The clusters are **recorded responses**, not live Flinks (a 4-slot local cluster cannot run
1,000 jobs): one ``/jobs/overview`` entry recorded from Flink 2.3.0 (tests/unit/recorded),
repeated with the job id of each deployment, served over real HTTP on loopback by one counting
server per cluster. Records are as a previous reconcile left them (same spec applied, stable), so
nothing drifted.

Scenarios: 1,000 / 3,000 / 10,000 deployments on one cluster, and 10 clusters of 1,000. For each:

* **planning**: the pure planner over every deployment (records read, view of its cluster);
  the baseline, measured in the same run, is the same planner with the scan every deployment
  used to make over all of its cluster's jobs (``ClusterView.jobs_of`` before the index);
* **whole run**: ``reconcile()`` as the operator runs it: read the files, observe each cluster
  once, verify each distinct jar once, hash, plan.

    .venv/bin/python -m benchmarks.reconcile_scale [--sizes 1000,3000,10000] [--clusters 10x1000]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

if "AIRFLOW_HOME" not in os.environ:  # (setdefault would make the directory even when unused)
    os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="bench-airflow-")

from airflow_provider_flink.client import models
from airflow_provider_flink.deployments import (
    ClusterView,
    DeploymentRecord,
    DeploymentSpec,
    MemoryRecordStore,
    load_specs,
    plan_deployment,
    reconcile,
    spec_hash,
)
from airflow_provider_flink.deployments.executor import prepare_spec_artifact
from airflow_provider_flink.deployments.records import AppliedSpec
from airflow_provider_flink.hooks import FlinkHook
from airflow_provider_flink.ids import deployment_prefix, new_job_id

RECORDED = (
    Path(__file__).resolve().parents[1] / "tests" / "unit" / "recorded" / "flink-2.3.0-running-job.json"
)


class CountingFlink(BaseHTTPRequestHandler):
    """One cluster: answers ``GET /jobs/overview`` with its recorded jobs, counts every request."""

    bodies: dict[int, bytes] = {}
    requests: list[str] = []

    def do_GET(self) -> None:
        CountingFlink.requests.append(self.path)
        body = self.bodies.get(self.server.server_address[1])  # type: ignore[index, arg-type]
        if self.path == "/jobs/overview" and body is not None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404)
            self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class ScanningClusterView(ClusterView):
    """The baseline: every lookup scans all of the cluster's jobs (what ``jobs_of`` did before)."""

    def jobs_of(self, name: str) -> list[models.JobOverview]:
        prefix = deployment_prefix(name)
        return sorted((j for j in self.jobs or () if j.jid.startswith(prefix)), key=lambda j: j.start_time)


@dataclass
class Scenario:
    specs: list[DeploymentSpec]
    hashes: dict[str, str]
    store: MemoryRecordStore
    jobs: dict[str, tuple[models.JobOverview, ...]]
    folder: Path
    servers: list[ThreadingHTTPServer]


def build(work: Path, clusters: int, per_cluster: int) -> Scenario:
    jar = work / "job.jar"
    if not jar.exists():
        with zipfile.ZipFile(jar, "w") as archive:
            archive.writestr("x/Main.class", os.urandom(15000))
    folder = work / f"deployments-{clusters}x{per_cluster}"
    folder.mkdir()
    for c in range(clusters):
        for i in range(per_cluster):
            declared = {
                "name": f"job-{c:02d}-{i:05d}",
                "cluster": f"flink_bench_{c}",
                "artifact": {"jar": str(jar)},
                "entry_class": "x.Main",
                "parallelism": 1 + i % 4,
            }
            (folder / f"{declared['name']}.json").write_text(json.dumps(declared))
    specs, problems = load_specs(folder)
    if problems or len(specs) != clusters * per_cluster:
        raise SystemExit(f"spec generation went wrong: {problems}")
    template = json.loads(RECORDED.read_text())
    store = MemoryRecordStore()
    servers, hashes = [], {}
    raw: dict[str, list[dict[str, Any]]] = {}
    for c in range(clusters):
        server = ThreadingHTTPServer(("127.0.0.1", 0), CountingFlink)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        os.environ[f"AIRFLOW_CONN_FLINK_BENCH_{c}"] = json.dumps(
            {"conn_type": "flink", "host": "127.0.0.1", "port": server.server_address[1]}
        )
    digests: dict[tuple[str, int], str] = {}
    for spec in specs:
        key = (spec.cluster, spec.parallelism)
        if key not in digests:  # the jar is the same for all; its caps check depends on the cluster
            digests[key] = prepare_spec_artifact(spec, FlinkHook(spec.cluster)).sha256
        digest = spec_hash(spec, digests[key])
        hashes[spec.name] = digest
        job_id = new_job_id(spec.name, digest)
        raw.setdefault(spec.cluster, []).append(
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
                cluster=spec.cluster,
                status="running",
                current_job_id=job_id,
                applied=AppliedSpec(spec_hash=digest),
                stable=AppliedSpec(spec_hash=digest),
            )
        )
    jobs = {}
    for c, server in enumerate(servers):
        cluster_jobs = raw[f"flink_bench_{c}"]
        CountingFlink.bodies[server.server_address[1]] = json.dumps({"jobs": cluster_jobs}).encode()
        jobs[f"flink_bench_{c}"] = tuple(models.JobsOverview.model_validate({"jobs": cluster_jobs}).jobs)
    return Scenario(specs, hashes, store, jobs, folder, servers)


def plan_all(scenario: Scenario, view_type: type[ClusterView]) -> float:
    """Seconds to plan every deployment against a fresh view of its cluster (records read)."""
    began = time.perf_counter()
    views = {cluster: view_type(cluster, jobs) for cluster, jobs in scenario.jobs.items()}
    now = time.time()
    for spec in scenario.specs:
        plan = plan_deployment(
            spec,
            scenario.hashes[spec.name],
            views[spec.cluster],
            scenario.store.get(spec.cluster, spec.name),
            now,
        )
        if plan.actions:
            raise SystemExit(f"drift where none was expected: {plan.actions}")
    return time.perf_counter() - began


def whole_run(scenario: Scenario) -> tuple[float, list[str]]:
    CountingFlink.requests = []
    began = time.perf_counter()
    report = reconcile(scenario.folder, scenario.store)
    took = time.perf_counter() - began
    if report.errors or any(d.actions for d in report.deployments):
        raise SystemExit(f"drift where none was expected: {report.problems[:3]}")
    return took, list(CountingFlink.requests)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,3000,10000", help="deployments on one cluster")
    parser.add_argument("--clusters", default="10x1000", help="CLUSTERSxDEPLOYMENTS, or '' for none")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline-repeat", type=int, default=1, help="the scan baseline is slow")
    args = parser.parse_args()
    logging.getLogger("airflow_provider_flink").setLevel(logging.WARNING)  # the table, not run logs
    layouts = [(1, int(n)) for n in args.sizes.split(",") if n]
    if args.clusters:
        count, size = args.clusters.split("x")
        layouts.append((int(count), int(size)))
    work = Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    print(
        "| deployments | clusters | planning (indexed) | per deployment | planning (scan baseline) "
        "| baseline / indexed | whole run | REST calls per run |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for clusters, per_cluster in layouts:
        scenario = build(work, clusters, per_cluster)
        try:
            total = clusters * per_cluster
            indexed = statistics.median(plan_all(scenario, ClusterView) for _ in range(args.repeat))
            scanning = statistics.median(
                plan_all(scenario, ScanningClusterView) for _ in range(args.baseline_repeat)
            )
            runs = [whole_run(scenario) for _ in range(args.repeat)]
            run_time = statistics.median(took for took, _ in runs)
            calls = runs[-1][1]
            if calls != ["/jobs/overview"] * clusters:
                raise SystemExit(f"expected one GET /jobs/overview per cluster, saw {calls[:5]}")
            print(
                f"| {total:,} | {clusters} | {indexed:.3f} s | {indexed / total * 1e6:.0f} µs | "
                f"{scanning:.3f} s | {scanning / indexed:.1f}x | {run_time:.3f} s | {len(calls)} |",
                flush=True,
            )
        finally:
            for server in scenario.servers:
                server.shutdown()
    print(
        f"(planning and whole run: median of {args.repeat}; scan baseline: median of {args.baseline_repeat})"
    )


if __name__ == "__main__":
    main()
