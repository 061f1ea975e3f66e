"""The provider is registered with Airflow and declares the flink connection form."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from airflow_provider_flink.get_provider_info import get_provider_info


def test_entry_point_points_at_provider_info() -> None:
    eps = [
        ep
        for ep in entry_points(group="apache_airflow_provider")
        if ep.value.startswith("airflow_provider_flink")
    ]
    assert [ep.value for ep in eps] == ["airflow_provider_flink.get_provider_info:get_provider_info"]
    assert eps[0].load()()["package-name"] == "airflow-provider-flink"


def test_connection_form_declares_every_field() -> None:
    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == "flink"
    assert conn_type["hook-class-name"] == "airflow_provider_flink.hooks.flink.FlinkHook"
    fields = conn_type["conn-fields"]
    assert set(fields) == {
        "bearer_token",
        "verify_tls",
        "ca_bundle",
        "client_cert",
        "client_private_key",
        "request_timeout",
        "web_ui_url",
        "circuit_breaker_failures",
        "circuit_breaker_cooldown",
        "require_verified_artifacts",
        "max_parallelism",
        "allowed_jar_sources",
        "allowed_entry_classes",
        "max_artifact_bytes",
        "python_staging_dir",
    }
    for name in ("bearer_token", "client_cert", "client_private_key"):
        assert fields[name]["schema"]["format"] == "password", name
    assert fields["verify_tls"]["schema"]["default"] is True
    assert all(field["label"] for field in fields.values())
    relabel = conn_type["ui-field-behaviour"]["relabeling"]
    assert set(relabel) == {"host", "port", "schema", "login", "password"}


def test_airflow_providers_manager_sees_the_hook_and_form() -> None:
    from airflow.providers_manager import ProvidersManager

    try:  # Airflow 3.3: tasks look hooks up through the SDK's own runtime manager
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        hook = ProvidersManagerTaskRuntime().hooks["flink"]
    except ImportError:  # Airflow 3.1 / 3.2: one manager for everything
        hook = ProvidersManager().hooks["flink"]
    assert hook is not None
    assert hook.hook_class_name == "airflow_provider_flink.hooks.flink.FlinkHook"
    manager = ProvidersManager()
    assert "airflow-provider-flink" in manager.providers
    widgets = manager.connection_form_widgets
    if hasattr(ProvidersManager, "_to_api_format"):  # Airflow 3.3: the form's own fields
        behaviour = manager.field_behaviours["flink"]
        assert behaviour["relabeling"]["schema"] == "Protocol (http or https)"
        assert "extra__flink__bearer_token" in widgets
        assert widgets["extra__flink__client_private_key"].is_sensitive
        assert behaviour["hidden_fields"] == ["extra"]
    else:  # Airflow 3.1: no conn-fields (and a form only with the FAB provider): Extra stays
        info = get_provider_info()["connection-types"][0]
        assert info["ui-field-behaviour"]["hidden-fields"] == []


def test_every_exported_operator_sensor_hook_and_trigger_is_listed() -> None:
    """A class a DAG author can import from the package is in a module the provider info names."""
    import importlib
    import inspect

    from airflow.sdk import BaseHook, BaseOperator
    from airflow.triggers.base import BaseTrigger

    info = get_provider_info()
    packages = {
        "hooks": ["hooks"],
        "operators": ["operators"],
        "sensors": ["sensors"],
        "triggers": ["triggers", "events"],
    }
    for kind, package_names in packages.items():
        listed = {module for entry in info[kind] for module in entry["python-modules"]}
        modules = [importlib.import_module(f"airflow_provider_flink.{p}") for p in package_names]
        for package, name in [(m, n) for m in modules for n in m.__all__]:
            obj = getattr(package, name)
            if inspect.isclass(obj) and issubclass(obj, (BaseHook, BaseOperator, BaseTrigger)):
                assert obj.__module__ in listed, (
                    f"{kind}: {name} ({obj.__module__}) is not in the provider info"
                )
    from airflow_provider_flink.operators import FlinkReconcileOperator

    assert FlinkReconcileOperator.__module__ == "airflow_provider_flink.operators.reconcile"


def test_the_registry_listing_names_what_the_package_offers() -> None:
    """``.airflow-registry.yaml`` (Airflow's provider registry): every class it names imports, every
    public operator, sensor and hook is in it, and its package and Airflow range are pyproject's."""
    import importlib
    from pathlib import Path

    import yaml

    import airflow_provider_flink.hooks
    import airflow_provider_flink.operators
    import airflow_provider_flink.sensors

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parents[2]
    listing = yaml.safe_load((root / ".airflow-registry.yaml").read_text())
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert listing["package-name"] == project["name"]
    [airflow] = [d for d in project["dependencies"] if d.startswith("apache-airflow>")]
    assert listing["airflow-versions"] == airflow.removeprefix("apache-airflow")
    for section in ("operators", "sensors", "hooks", "triggers", "plugins"):
        for path in listing[section]:
            module, _, name = path.rpartition(".")
            assert isinstance(getattr(importlib.import_module(module), name), type), path
    for section, package in (
        ("operators", airflow_provider_flink.operators),
        ("sensors", airflow_provider_flink.sensors),
        ("hooks", airflow_provider_flink.hooks),
    ):
        public = {
            f"{package.__name__}.{name}"
            for name in package.__all__
            if name.startswith("Flink") and name.endswith(("Operator", "Sensor", "Hook"))
        }
        assert public == set(listing[section]), section
    for page in listing["docs"].values():
        assert (root / page).is_file(), page
