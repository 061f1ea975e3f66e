"""Reading deployment files: the provider's parse against PyYAML's pure-Python ``safe_load`` in the
same run (issue 20: 22 of 24 s of a 10,000-deployment run went to parsing with the latter).

    .venv/bin/python -m benchmarks.spec_parse [--files 10000]
"""

from __future__ import annotations

import argparse
import time

import yaml

from airflow_provider_flink.deployments.spec import YAML_LOADER, parse_spec_text

SPEC = {
    "name": "orders-0001",
    "cluster": "flink_default",
    "artifact": {"jar": "/opt/jobs/orders.jar", "sha256": "a" * 64},
    "entry_class": "com.example.Orders",
    "args": ["--topic", "orders", "--rate", "100"],
    "parallelism": 4,
    "flink_config": {"pipeline.max-parallelism": "128", "state.backend.type": "rocksdb"},
    "savepoint_policy": {"interval_minutes": 60, "keep_last": 5},
    "restart_policy": {"max_restarts": 3},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args(argv)
    text = yaml.safe_dump(SPEC)
    began = time.perf_counter()
    for _ in range(args.files):
        yaml.safe_load(text)  # the baseline: YAML alone, pure Python
    baseline = time.perf_counter() - began
    began = time.perf_counter()
    for i in range(args.files):
        spec, problems = parse_spec_text(f"orders-{i}.yaml", text)
        assert spec is not None, problems
    provider = time.perf_counter() - began
    print(f"loader: {YAML_LOADER.__name__}")
    print(f"{args.files} files, pure-Python yaml.safe_load alone: {baseline:.2f} s")
    print(f"{args.files} files, parse_spec_text (YAML and validation): {provider:.2f} s")
    print(f"ratio: {provider / baseline:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
