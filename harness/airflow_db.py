"""A migrated SQLite metadata DB for ``airflow dags test`` and the CLI, made once per Airflow version.

``airflow db migrate`` on a fresh SQLite file takes 15-20 s of CPU (40-70 s with the suite's lanes
side by side); every test session, the demo and each supported Airflow's run needs one. The first
makes it (with the reconcile pool) and keeps a copy in the cache; the others copy that file.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.flink_cluster import CACHE_ROOT, cache_lock

# The reconcile DAG's pool: one slot, so two runs never act on the same deployments at once.
RECONCILE_POOL = ("pools", "set", "flink_reconcile", "1", "Flink reconcile: one run acts at a time")
# Bump when what the template holds changes (another pool, a Variable ...).
TEMPLATE_FORMAT = "1"


class MigrationError(RuntimeError):
    pass


def migrated_sqlite() -> Path:
    """The SQLite file ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` names, migrated and with the
    reconcile pool (this interpreter's Airflow); returns its path."""
    url = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    if not url.startswith("sqlite:///"):
        raise MigrationError(f"not a SQLite metadata DB: {url}")
    target = Path(url.removeprefix("sqlite:///"))
    version = importlib.metadata.version("apache-airflow")
    template = CACHE_ROOT / "airflow-db" / f"airflow-{version}-{TEMPLATE_FORMAT}.db"
    with cache_lock(template):
        if not template.exists():
            _migrate()
            partial = template.with_suffix(".partial")
            shutil.copyfile(target, partial)
            os.replace(partial, template)
            return target
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, target)
    return target


def _migrate() -> None:
    airflow = Path(sys.executable).with_name("airflow")
    for command in (["db", "migrate"], [*RECONCILE_POOL]):
        done = subprocess.run([str(airflow), *command], capture_output=True, text=True, check=False)
        if done.returncode:
            raise MigrationError(
                f"airflow {' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
            )
