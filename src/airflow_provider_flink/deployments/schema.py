"""Print the JSON Schema of a deployment file: ``python -m airflow_provider_flink.deployments.schema``."""

from __future__ import annotations

import json

from airflow_provider_flink.deployments.spec import json_schema

if __name__ == "__main__":
    print(json.dumps(json_schema(), indent=2))
