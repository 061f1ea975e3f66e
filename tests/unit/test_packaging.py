"""The wheel holds the package (and the license), nothing of tests, harness, benchmarks or DAGs;
the package includes its data: the SQL runner jar and its source, the Flink page's bundle (not its
sources)."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_contains_only_the_package_and_its_license(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv, "uv is needed to build the wheel (scripts/lib.sh installs it)"
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "airflow_provider_flink",
        source / "airflow_provider_flink",
        ignore=shutil.ignore_patterns("__pycache__", "node_modules"),
    )
    for other in ("tests", "harness", "benchmarks", "dags"):  # present, as in a checkout, to be left out
        shutil.copytree(ROOT / other, source / other, ignore=shutil.ignore_patterns("__pycache__", "*.jar"))
    subprocess.run(
        [uv, "build", "--wheel", "-q", "-o", str(tmp_path / "dist"), str(source)], check=True, timeout=300
    )
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "airflow_provider_flink",
        wheel.name.split("-py3")[0] + ".dist-info",
    }
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "airflow_provider_flink/py.typed" in names
    # The SQL runner: built (users need no JDK) and its source, which the jar's manifest names.
    assert "airflow_provider_flink/artifacts/sql/flink-sql-runner.jar" in names
    assert "airflow_provider_flink/artifacts/sql/java/flinkprovider/sql/SqlRunner.java" in names
    # The Flink page's bundle and icons, built (users need no Node.js); not its sources.
    assert "airflow_provider_flink/ui/static/flink-page.js" in names
    assert "airflow_provider_flink/ui/static/flink-icon.svg" in names
    assert not [n for n in names if "/ui/frontend/" in n or "node_modules" in n]
