"""The Flink page as the Airflow UI loads it (a ``react_apps`` plugin, Airflow 3.2+): the shipped
bundle is what its sources build (byte for byte), it bundles none of the libraries the UI lends it,
the api-server serves it, and the plugin's entry points the UI at it.

The build test needs Node.js 18+ and npm (scripts/lib.sh ``ensure_node`` installs them for
./scripts/test) and the npm registry for its first ``npm ci``; it fails without them, it does not
skip. It is marked ``bundle``: ``-m "not bundle"`` leaves it out of a quick run.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from airflow_provider_flink.ui import plugin
from airflow_provider_flink.ui.app import create_app
from airflow_provider_flink.ui.bundle import STATIC

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = ROOT / "airflow_provider_flink" / "ui" / "frontend"
SHIPPED = STATIC / "flink-page.js"
SOURCES = ("src", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts", ".npmrc")
# What the Airflow UI lends its plugins (globalThis.<name>) and the bundle must take from there.
GLOBALS = ("React", "ReactJSXRuntime", "ReactRouterDOM", "ChakraUI")
REBUILD = (
    "rebuild it with ./scripts/build-ui and commit the sources, package-lock.json and the bundle together"
)


def _npm() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    missing = (
        "Node.js 18+ and npm are needed to build the Flink page's bundle: ./scripts/test installs them "
        "(scripts/lib.sh ensure_node), or install them and run ./scripts/build-ui"
    )
    assert node, missing
    assert npm, missing
    major = int(subprocess.run([node, "-p", "process.versions.node.split('.')[0]"], capture_output=True,
                               text=True, check=True).stdout)  # fmt: skip
    assert major >= 18, f"Node.js {major} is too old to build the Flink page's bundle: 18 or newer"
    return npm


def _installed(npm: str) -> None:
    """``npm ci`` into the frontend's node_modules, unless it already holds this package-lock.json
    (the stamp scripts/build-ui writes after its own ``npm ci``)."""
    lock = hashlib.sha256(
        (FRONTEND / "package.json").read_bytes() + (FRONTEND / "package-lock.json").read_bytes()
    )
    stamp = FRONTEND / "node_modules" / ".flink-page-lock"
    if stamp.is_file() and stamp.read_text().strip() == lock.hexdigest():
        return
    subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, check=True, timeout=600)
    stamp.write_text(lock.hexdigest() + "\n")


def _build(npm: str, tree: Path, out: Path) -> bytes:
    done = subprocess.run(
        [npm, "run", "--silent", "build", "--", "--outDir", str(out), "--emptyOutDir"],
        cwd=tree, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"the Flink page's build failed:\n{done.stdout}\n{done.stderr}"
    return (out / "flink-page.js").read_bytes()


@pytest.mark.bundle
def test_the_shipped_bundle_is_what_its_sources_build(tmp_path: Path) -> None:
    npm = _npm()
    _installed(npm)
    # Built twice: in the checkout, and from a copy of the sources elsewhere (the same node_modules):
    # the same bytes both times, so nothing of the build's place or time lands in the bundle.
    here = _build(npm, FRONTEND, tmp_path / "here")
    copy = tmp_path / "elsewhere"
    copy.mkdir()
    for name in SOURCES:
        source = FRONTEND / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / name)
    (copy / "node_modules").symlink_to(FRONTEND / "node_modules", target_is_directory=True)
    elsewhere = _build(npm, copy, tmp_path / "elsewhere-out")
    assert here == elsewhere, "the build is not deterministic: two builds of the same sources differ"
    shipped = SHIPPED.read_bytes()
    assert here == shipped, (
        f"{SHIPPED.relative_to(ROOT)} is not what airflow_provider_flink/ui/frontend builds "
        f"(built sha256 {hashlib.sha256(here).hexdigest()}, shipped {hashlib.sha256(shipped).hexdigest()}): {REBUILD}"
    )


def test_the_bundle_takes_react_and_chakra_from_the_airflow_ui() -> None:
    text = SHIPPED.read_text()
    # None of React's, ReactDOM's or Chakra's own code: only references to the UI's globals.
    for inside in (
        "react.production",
        "__SECRET_INTERNALS",
        "__CLIENT_INTERNALS",
        "createSystem(",
        "@emotion/cache",
    ):
        assert inside not in text, (
            f"the bundle contains {inside!r}: a library the Airflow UI lends was bundled"
        )
    assert len(text) < 100_000, f"the bundle is {len(text)} bytes: something was bundled that should not be"
    # A UMD bundle whose value is the page's component, made from the UI's globals:
    # `(g = globalThis, g.AirflowPlugin = factory(g.ReactJSXRuntime, g.ChakraUI, ...))`.
    umd = re.search(r"\b(\w+)\.AirflowPlugin=\w+\(([^)]*)\)", text)
    assert umd, "the bundle does not set globalThis.AirflowPlugin (a UMD bundle named AirflowPlugin)"
    taken = {arg.split(".", 1)[1] for arg in umd.group(2).split(",") if arg.startswith(umd.group(1) + ".")}
    assert set(GLOBALS) <= taken, (
        f"the bundle takes {sorted(taken)} from the Airflow UI, not all of {GLOBALS}"
    )
    assert "globalThis.Flink=" in text  # the app's name: the UI looks there first
    # Nothing of the machine that built it.
    for leak in ("/work/", "/home/", "/tmp/", "node_modules", str(ROOT)):
        assert leak not in text, f"the bundle names {leak!r}: {REBUILD}"


@pytest.fixture
def client() -> TestClient:
    def no_auth(_method: str) -> Any:
        return Depends(lambda: None)

    return TestClient(create_app(source=object(), access=no_auth))  # type: ignore[arg-type]


def test_the_api_server_serves_the_bundle_without_auth_with_a_strong_etag(client: TestClient) -> None:
    answer = client.get("/static/flink-page.js")
    assert answer.status_code == 200
    assert answer.content == SHIPPED.read_bytes()
    assert answer.headers["content-type"] == "application/javascript"
    assert answer.headers["cache-control"] == "no-cache"
    etag = answer.headers["etag"]
    assert etag.startswith('"')  # strong: not W/"..."
    assert etag.strip('"') == hashlib.sha256(SHIPPED.read_bytes()).hexdigest()[:32]
    again = client.get("/static/flink-page.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert client.get("/static/flink-page.js", headers={"If-None-Match": '"other"'}).status_code == 200
    for icon in ("flink-icon.svg", "flink-icon-dark.svg"):
        svg = client.get(f"/static/{icon}")
        assert svg.status_code == 200
        assert svg.headers["content-type"] == "image/svg+xml"


@pytest.mark.parametrize("name", ["app.py", "..%2Fapp.py", "frontend", "bundle.py", "nothing.js"])
def test_only_the_page_s_static_files_are_served(client: TestClient, name: str) -> None:
    assert client.get(f"/static/{name}").status_code == 404


def test_the_plugin_offers_the_react_app_on_airflow_3_2_and_newer(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.api_fastapi.core_api.datamodels.plugins import ReactAppResponse

    monkeypatch.setattr(plugin, "react_apps_supported", lambda version=None: True)
    monkeypatch.setattr(plugin, "root_path", lambda: "")
    flink = plugin.FlinkPlugin()
    (app,) = flink.react_apps
    assert app == {
        "name": "Flink",
        "destination": "nav",
        "url_route": "flink",
        "category": "browse",
        "bundle_url": "/flink/static/flink-page.js",
        "icon": "/flink/static/flink-icon.svg",
        "icon_dark_mode": "/flink/static/flink-icon-dark.svg",
    }
    # What /api/v2/plugins validates each entry with: an invalid one hides the whole plugin.
    ReactAppResponse.model_validate(app)
    assert flink.external_views == []
    assert flink.react_apps is flink.react_apps  # one list: Airflow removes invalid entries in place


def test_the_plugin_keeps_the_server_rendered_page_on_airflow_3_1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plugin, "react_apps_supported", lambda version=None: False)
    flink = plugin.FlinkPlugin()
    assert flink.react_apps == []
    assert flink.external_views == [
        {"name": "Flink", "destination": "nav", "url_route": "flink", "category": "browse", "href": "flink/"}
    ]


@pytest.mark.parametrize(
    ("version", "supported"),
    [
        ("3.1.8", False),
        ("3.1.0", False),
        ("3.2.0b1", True),
        ("3.2.2", True),
        ("3.3.2", True),
        ("3.4.0b2", True),
    ],
)
def test_react_apps_from_airflow_3_2(version: str, supported: bool) -> None:
    assert plugin.react_apps_supported(version) is supported


@pytest.mark.parametrize(
    ("base_url", "bundle"),
    [
        ("", "/flink/static/flink-page.js"),
        ("http://localhost:8080", "/flink/static/flink-page.js"),
        ("https://airflow.example.com/", "/flink/static/flink-page.js"),
        ("https://example.com/airflow", "/airflow/flink/static/flink-page.js"),
        ("https://example.com/team/airflow/", "/team/airflow/flink/static/flink-page.js"),
    ],
)
def test_the_bundle_url_follows_the_ui_s_base_url(
    monkeypatch: pytest.MonkeyPatch, base_url: str, bundle: str
) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", base_url)
    assert plugin.react_app(plugin.root_path())["bundle_url"] == bundle
