"""``FlinkPlugin``: mounts the Flink page (:mod:`airflow_provider_flink.ui.app`) in the api-server at
``/flink`` and adds "Flink" to the UI's navigation. Registered through the ``airflow.plugins`` entry
point, so installing the provider is enough (Airflow 3.1+)."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class FlinkPlugin(AirflowPlugin):
    name = "flink"

    @property
    def fastapi_apps(self) -> list[dict[str, object]]:  # type: ignore[override]
        from airflow_provider_flink.ui.app import app  # only in the api-server: not at every import

        return [{"app": app, "url_prefix": "/flink", "name": "Flink deployments"}]

    external_views = [
        {"name": "Flink", "href": "flink/", "destination": "nav", "url_route": "flink", "category": "browse"}
    ]
