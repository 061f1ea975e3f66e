"""``FlinkPlugin``: mounts the Flink page (:mod:`airflow_provider_flink.ui.app`) in the api-server at
``/flink`` and adds "Flink" to the UI's navigation (Browse). Registered through the
``airflow.plugins`` entry point, so installing the provider is enough (Airflow 3.1+).

* Airflow 3.2+: a ``react_apps`` entry. The UI (at ``{root}/plugin/flink``) imports the page's
  bundle (``/flink/static/flink-page.js``, ui/bundle.py) and renders it with its own React,
  Chakra UI and theme (light and dark), which it lends its plugins as globals since 3.2.
* Airflow 3.1: its UI lends plugins React and React Router but not Chakra UI (nor the theme), so
  the bundle cannot render there: an ``external_views`` entry shows the server-rendered page
  (``{root}/flink/``) in the UI's frame instead.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from airflow.plugins_manager import AirflowPlugin

NAV = {"name": "Flink", "destination": "nav", "url_route": "flink", "category": "browse"}


def react_apps_supported(version: str | None = None) -> bool:
    """Whether the Airflow UI lends plugins Chakra UI and its theme (``globalThis.ChakraUI``,
    ``ChakraUISystem``): 3.2 and newer (pre-releases of 3.2 included)."""
    from packaging.version import Version

    if version is None:
        from airflow import __version__

        version = str(__version__)
    return Version(Version(version).base_version) >= Version("3.2")


def root_path() -> str:
    """The path the Airflow UI is served under (that of ``[api] base_url``), without its final
    ``/``: "" at the root, "/airflow" under https://host/airflow/."""
    from airflow.configuration import conf

    return urlsplit(conf.get("api", "base_url", fallback="") or "").path.rstrip("/")


def react_app(root: str) -> dict[str, Any]:
    """The page's ``react_apps`` entry. ``bundle_url`` is an absolute path with the UI's root in
    it: Airflow 3.2 imports it as given (a relative one would resolve against the UI's own script
    in ``static/assets/``), 3.3 against the UI's ``<base href>``; an absolute path means the
    same to both."""
    static = f"{root}/flink/static"
    return {
        **NAV,
        "bundle_url": f"{static}/flink-page.js",
        "icon": f"{static}/flink-icon.svg",
        "icon_dark_mode": f"{static}/flink-icon-dark.svg",
    }


class FlinkPlugin(AirflowPlugin):
    name = "flink"

    @property
    def fastapi_apps(self) -> list[dict[str, object]]:  # type: ignore[override]
        from airflow_provider_flink.ui.app import app  # only in the api-server: not at every import

        return [{"app": app, "url_prefix": "/flink", "name": "Flink deployments"}]

    # The lists are built once per plugin instance: the plugins manager removes invalid entries
    # from them in place.
    @property
    def react_apps(self) -> list[dict[str, Any]]:  # type: ignore[override]
        if "_react_apps" not in self.__dict__:
            self.__dict__["_react_apps"] = [react_app(root_path())] if react_apps_supported() else []
        apps: list[dict[str, Any]] = self.__dict__["_react_apps"]
        return apps

    @property
    def external_views(self) -> list[dict[str, Any]]:  # type: ignore[override]
        if "_external_views" not in self.__dict__:
            self.__dict__["_external_views"] = [] if react_apps_supported() else [{**NAV, "href": "flink/"}]
        views: list[dict[str, Any]] = self.__dict__["_external_views"]
        return views
