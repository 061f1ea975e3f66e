"""docker-compose.yml: valid as Compose reads it, and in agreement with its page
(docs/docker-compose.md) and with the versions this suite tests."""

from __future__ import annotations

import re
import shutil
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.flink_cluster import DEFAULT_VERSION

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PAGE = (ROOT / "docs" / "docker-compose.md").read_text()
COMPOSE_AIRFLOW = "3.3.2"  # the newest supported Airflow: the suite's main environment
OLDEST_AIRFLOW = "3.1.8"  # the oldest supported one: CI's second environment (./scripts/test)


def _services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())["services"]
    return services


def test_compose_validates_the_file() -> None:
    if shutil.which("docker-compose") is None:
        pytest.fail(
            "docker-compose is not installed (./scripts/test installs it: apt-get install docker-compose)"
        )
    done = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_images_are_the_versions_under_test_and_the_page_names_them() -> None:
    services = _services()
    airflow_images = {s["image"] for name, s in services.items() if name.startswith("airflow-")}
    assert airflow_images == {f"apache/airflow:{COMPOSE_AIRFLOW}-python3.11"}
    # the newest Airflow the suite runs on (CI runs it on the oldest supported one too)
    assert version("apache-airflow") in (COMPOSE_AIRFLOW, OLDEST_AIRFLOW)
    flink_images = {s["image"] for name, s in services.items() if name.startswith("flink-")}
    assert flink_images == {f"flink:{DEFAULT_VERSION}-java17"}
    for name, service in services.items():  # every service in the page's table, with its image
        assert re.search(rf"\| `{name}` \| `{re.escape(service['image'])}` \|", PAGE), name


def test_ports_and_the_connection_agree_with_the_page() -> None:
    services = _services()
    published = {name: [p.split(":")[0] for p in s.get("ports", [])] for name, s in services.items()}
    assert published["airflow-apiserver"] == ["8080"]
    assert published["flink-jobmanager"] == ["8081"]
    assert "| 8080 |" in PAGE
    assert "| 8081 |" in PAGE
    # The connection airflow-init stores points at the JobManager service and its REST port.
    init = " ".join(services["airflow-init"]["command"])
    assert "--conn-type flink --conn-host flink-jobmanager --conn-port 8081" in init
    assert "host `flink-jobmanager`, port `8081`" in PAGE
    assert "8081:8081" in services["flink-jobmanager"]["ports"]
    # The examples expect the jar at /opt/flink/usrlib on the Airflow workers.
    example = (ROOT / "dags" / "deployments" / "counter.yaml").read_text()
    assert "/opt/flink/usrlib/flink-provider-testjobs.jar" in example
    assert any(v.endswith(":/opt/flink/usrlib:ro") for v in services["airflow-scheduler"]["volumes"])
