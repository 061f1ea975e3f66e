"""Imports point down the layers only (docs/architecture.md), read from the source with ``ast``.

Every ``import`` of every module of the package counts, also the ones inside functions (a lazy
import is still a dependency). A module may import its own package and any layer below its own;
two packages of one layer (operators and sensors) may not import each other; the REST client
imports nothing of Airflow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "airflow_provider_flink"
ROOT = Path(__file__).resolve().parents[2] / PACKAGE

# Lowest first. A top-level module or sub-package of the package sits in exactly one layer.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("client",),  # Flink's REST API, typed; no Airflow
    # what several layers raise, parse, or crash at; every id the provider gives Flink
    ("exceptions", "values", "crashpoints", "ids", "locations"),
    ("hooks",),  # connection -> client; every Flink verb
    ("triggers",),  # waits: judges, typed wait event, deferred or in-process
    ("artifacts",),  # jars: fetch, verify, what a job is made of
    ("deployments",),  # declared deployments: spec, records, planner, executor, reconcile
    ("events",),  # event triggers that start reconcile runs (asset watchers)
    ("lineage",),  # OpenLineage: jobs' datasets from plans and SQL, events (when the provider is installed)
    ("links",),  # the UI's extra links
    ("tasks",),  # what operators and sensors do alike around a wait
    ("operators", "sensors", "ui"),  # thin Airflow tasks; the Flink page
    ("get_provider_info",),  # Airflow's entry point: names the rest, imports none of it
)
NO_AIRFLOW = ("client",)


def layer_of(part: str) -> int:
    for index, members in enumerate(LAYERS):
        if part in members:
            return index
    raise AssertionError(f"{PACKAGE}.{part} is in no layer: add it to LAYERS and docs/architecture.md")


def imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import statement, at any depth."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == PACKAGE:  # ``from airflow_provider_flink import hooks``
                for alias in node.names:
                    yield node.lineno, f"{PACKAGE}.{alias.name}"
            else:
                yield node.lineno, node.module


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).with_suffix("")
        parts = relative.parts
        if parts == ("__init__",):
            continue  # the package's own __init__ holds only the version
        own = parts[0]
        own_layer = layer_of(own)
        for line, module in imports(path.read_text()):
            where = f"{PACKAGE}/{relative}.py:{line}"
            top = module.split(".")[0]
            if own in NO_AIRFLOW and top == "airflow":
                found.append(f"{where}: the REST client imports Airflow ({module})")
            if top != PACKAGE or module == PACKAGE:
                continue
            target = module.split(".")[1]
            if target == own:
                continue
            if not (root / target).exists() and not (root / f"{target}.py").exists():
                continue  # a name imported from the package root (``__version__``)
            target_layer = layer_of(target)
            if target_layer > own_layer:
                found.append(
                    f"{where}: {own} (layer {own_layer}) imports {module} (layer {target_layer}) above it"
                )
            elif target_layer == own_layer:
                found.append(f"{where}: {own} imports {module}, a neighbour in its own layer")
    return found


def test_imports_point_down_only() -> None:
    assert violations(ROOT) == []


def test_every_module_is_in_a_layer() -> None:
    for path in ROOT.iterdir():
        if path.name.startswith(("_", ".")) or path.name == "py.typed":
            continue
        layer_of(path.stem)


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / PACKAGE
    for name, text in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"hooks/flink.py": "def f():\n    from airflow_provider_flink.operators.job import X\n"},
            "airflow_provider_flink/hooks/flink.py:2: hooks (layer 2) imports "
            "airflow_provider_flink.operators.job (layer 10) above it",
        ),
        (
            {"sensors/flink.py": "from airflow_provider_flink.operators import base\n"},
            "airflow_provider_flink/sensors/flink.py:1: sensors imports "
            "airflow_provider_flink.operators, a neighbour in its own layer",
        ),
        (
            {"client/calls.py": "import airflow.sdk\n"},
            "airflow_provider_flink/client/calls.py:1: the REST client imports Airflow (airflow.sdk)",
        ),
        (
            {"deployments/x.py": "from airflow_provider_flink import operators\n"},
            "airflow_provider_flink/deployments/x.py:1: deployments (layer 5) imports "
            "airflow_provider_flink.operators (layer 10) above it",
        ),
    ],
)
def test_an_upward_or_sideways_import_is_caught(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    root = _tree(tmp_path, {"operators/__init__.py": "", "operators/job.py": "", **files})
    assert violations(root) == [expected]


def test_downward_imports_pass(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "operators/job.py": "from airflow_provider_flink.hooks import FlinkHook\nimport airflow.sdk\n",
            "hooks/__init__.py": "from airflow_provider_flink.client import calls\n",
            "client/__init__.py": "import httpx\n",
        },
    )
    assert violations(root) == []


def requests_built_outside_the_hook(root: Path) -> list[str]:
    """``calls.<request>(...)`` anywhere but the client and the hooks: the hook owns every verb."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if relative.parts[0] in ("client", "hooks"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "calls"
            ):
                found.append(f"{PACKAGE}/{relative}:{node.lineno}: calls.{node.attr} (use a FlinkHook verb)")
    return found


def test_only_the_hook_builds_requests() -> None:
    assert requests_built_outside_the_hook(ROOT) == []


def test_a_request_built_in_an_operator_is_caught(tmp_path: Path) -> None:
    root = _tree(
        tmp_path, {"operators/job.py": "def f(hook, calls):\n    hook.call(calls.cancel_job('x'))\n"}
    )
    assert requests_built_outside_the_hook(root) == [
        "airflow_provider_flink/operators/job.py:2: calls.cancel_job (use a FlinkHook verb)"
    ]
