"""Session-wide settings, applied before anything imports Airflow.

Airflow reads its configuration when first imported, so the test Airflow home (a fresh SQLite
metadata DB under .run/), the DAG folder (``dags/`` plus the test-only DAGs) and quiet defaults are set
here, at the top of the first conftest pytest loads.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# One home per pytest process running beside another (pytest-xdist workers; scripts/test's one
# pytest per Flink version, TEST_RUN_NAME): none may remove or share the SQLite metadata DB another
# is using.
RUN = "-".join(filter(None, (os.environ.get("TEST_RUN_NAME"), os.environ.get("PYTEST_XDIST_WORKER"))))
AIRFLOW_HOME = ROOT / ".run" / (f"airflow-test-{RUN}" if RUN else "airflow-test")

DAGS = AIRFLOW_HOME / "dags"

shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)
DAGS.mkdir(parents=True)
# dag.test() runs only DAGs of the configured bundle: the examples and the test-only DAGs.
# The fault campaign's DAG too: its CI sample runs tasks of it as real Airflow task processes.
sources = [ROOT / "dags", ROOT / "tests" / "integration" / "dags", ROOT / "faults" / "dags"]
for source in [path for folder in sources for path in folder.glob("*.py")]:
    (DAGS / source.name).symlink_to(source)
os.environ.update(
    {
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
    }
)
