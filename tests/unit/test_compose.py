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
COMPOSE_AIRFLOW = "3.3.2"  # the newest released Airflow: the suite's main environment
SUPPORTED_AIRFLOWS = ("3.1.", "3.2.", "3.3.", "3.4.")  # pyproject.toml: apache-airflow>=3.1,<3.5
DOCKERFILE = ROOT / "docker" / "airflow.Dockerfile"
AIRFLOW_SERVICES = (
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
)


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
    airflow = [s for name, s in services.items() if name.startswith("airflow-")]
    assert {s["image"] for s in airflow} == {f"airflow-provider-flink-airflow:{COMPOSE_AIRFLOW}"}
    assert {s["build"]["args"]["AIRFLOW_IMAGE"] for s in airflow} == {
        f"apache/airflow:{COMPOSE_AIRFLOW}-python3.11"
    }
    assert f"`apache/airflow:{COMPOSE_AIRFLOW}-python3.11`" in PAGE
    assert version("apache-airflow").startswith(SUPPORTED_AIRFLOWS)
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


def test_nothing_is_installed_or_built_when_a_container_starts() -> None:
    """Installed at each start from the mounted checkout, the build ran as uid 50000 in a checkout
    that user may not write (its egg-info): the containers failed on Linux hosts."""
    for name in AIRFLOW_SERVICES:
        service = _services()[name]
        assert "_PIP_ADDITIONAL_REQUIREMENTS" not in service["environment"], name
        assert not [v for v in service["volumes"] if v.split(":")[0] in (".", "./")], name
        assert service["build"]["dockerfile"] == "docker/airflow.Dockerfile"
        assert service["user"] == "${AIRFLOW_UID:-50000}:0"


def test_every_airflow_container_sees_flinks_snapshots_where_flink_writes_them() -> None:
    """A restart, resume or recovery first checks that its snapshot exists in storage: without
    the volume it answered "gone" and refused."""
    services = _services()
    properties = yaml.safe_load(services["flink-jobmanager"]["environment"]["FLINK_PROPERTIES"])
    dirs = [properties["execution.checkpointing.dir"], properties["execution.checkpointing.savepoint-dir"]]
    assert all(d.startswith("file:///flink-data/") for d in dirs), dirs
    for name in (*AIRFLOW_SERVICES, "flink-jobmanager", "flink-taskmanager", "flink-storage-init"):
        assert any(v.split(":")[:2] == ["flink-data", "/flink-data"] for v in services[name]["volumes"]), name
    # Flink (user flink) writes into a volume Docker creates root-owned: made its own first
    init = services["flink-storage-init"]
    assert init["user"] == "0"
    assert "chown -R flink:flink /flink-data" in " ".join(init["command"])
    for name in ("flink-jobmanager", "flink-taskmanager"):
        assert services[name]["depends_on"]["flink-storage-init"] == {
            "condition": "service_completed_successfully"
        }


def _image_sources(target: Path) -> None:
    """The files the Dockerfile's COPY lines put into the image, at ``target``."""
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            *sources, _ = line.split()[2:]
            for source in sources:
                path = ROOT / source
                if path.is_dir():
                    shutil.copytree(path, target / source, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    shutil.copy(path, target / source)


@pytest.mark.image_build
@pytest.mark.parametrize("owner", [50000, 0], ids=["owned-by-the-image-user", "owned-by-root"])
def test_the_image_build_step_runs_as_the_image_user(owner: int) -> None:
    """The Dockerfile's install, as uid 50000 (Airflow's image user) over sources it owns (COPY
    --chown), builds; over a checkout owned by root (the old compose's mount) it cannot."""
    import os
    import tempfile

    if os.geteuid() != 0 or not Path("/usr/bin/python3").exists():
        pytest.skip("needs root (to act as uid 50000) and /usr/bin/python3 with pip")
    assert "COPY --chown=airflow:0 " in DOCKERFILE.read_text()
    assert 'pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" /opt/airflow/provider-src' in (
        DOCKERFILE.read_text()
    )
    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:
        home = Path(scratch)
        home.chmod(0o755)
        source = home / "provider-src"
        source.mkdir()
        _image_sources(source)
        for path in [home, *home.rglob("*")]:
            os.chown(path, owner if source in (path, *path.parents) else 50000, 0)
        done = subprocess.run(
            ["/usr/bin/python3", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--target", str(home / "site"), str(source)],
            user=50000, group=0, extra_groups=[], cwd=home, env={"HOME": scratch, "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if owner == 50000:
            assert done.returncode == 0, done.stderr[-2000:]
            assert (home / "site" / "airflow_provider_flink" / "get_provider_info.py").is_file()
        else:
            assert done.returncode != 0
            assert "Permission denied" in done.stderr, done.stderr[-2000:]
