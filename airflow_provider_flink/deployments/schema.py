"""Print the JSON Schema of a deployment file: ``python -m airflow_provider_flink.deployments.schema``.

docs/deployment.schema.json is this command's output; a test keeps the two equal.
"""

from __future__ import annotations

import json

from airflow_provider_flink.deployments.spec import json_schema


def render() -> str:
    return json.dumps(json_schema(), indent=2) + "\n"


def main() -> None:
    print(render(), end="")


if __name__ == "__main__":
    main()
