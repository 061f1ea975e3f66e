"""The "Flink" page of the Airflow UI: a FastAPI app the api-server mounts at ``/flink``.

* ``GET /flink/`` — the page: every declared deployment, desired against actual, filters by
  cluster and by "needs attention", links to the Flink UI and to the reconcile DAG's runs, and the
  actions below as buttons;
* ``GET /flink/api/deployments`` — the same as JSON (``?cluster=`` / ``?attention=true``);
* ``POST /flink/api/deployments/{name}/{action}`` — ``reconcile`` (a reconcile run for this
  deployment now) or ``retry`` (one more try of a spec that failed and was rolled back): each starts
  a run of the ``flink_reconcile`` DAG with a conf; nothing acts on Flink from here, every rule of
  the reconcile holds.

Protected by Airflow's own authentication and authorization (the auth manager): reading needs
read access to the reconcile DAG's runs, an action needs permission to create one. Without it,
nothing is shown and nothing can be started. A POST must carry ``X-Requested-With`` (the page's
script sends it; a form on another site cannot), so a browser's cookie alone starts nothing.
"""

from __future__ import annotations

import html
import os
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi.responses import HTMLResponse

from airflow_provider_flink.deployments.records import DeploymentRecord, parse_record, record_key
from airflow_provider_flink.deployments.spec import spec_folder
from airflow_provider_flink.ui.status import DeploymentStatus, collect

RECONCILE_DAG = "flink_reconcile"
ACTIONS = {"reconcile": "reconcile now", "retry": "retry the failed spec"}


def _access(method: str) -> Any:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag(method, DagAccessEntity.RUN, param_dag_id=RECONCILE_DAG))  # type: ignore[arg-type]


class ServerRecordStore:
    """Records read in the api-server (the metadata DB directly: there is no Task SDK here)."""

    def get(self, cluster: str, name: str) -> DeploymentRecord | None:
        from airflow.models.variable import Variable

        return parse_record(Variable.get(record_key(cluster, name), default_var=None), cluster, name)

    def put(self, record: DeploymentRecord) -> None:  # pragma: no cover - the page never writes
        raise NotImplementedError("the Flink page only reads records")


def deployments_folder() -> str:
    """The reconcile DAG's folder: the Variable ``flink_deployments_folder``, else ``deployments/``
    in the DAGs folder (where the example DAG keeps it)."""
    from airflow.configuration import conf
    from airflow.models.variable import Variable

    default = os.path.join(conf.get("core", "dags_folder"), "deployments")
    return str(Variable.get("flink_deployments_folder", default_var=default))


def rows(cluster: str | None, attention: bool) -> tuple[list[DeploymentStatus], list[str], str]:
    folder = deployments_folder()
    found, invalid = collect(spec_folder(folder), ServerRecordStore())
    found = [r for r in found if (not cluster or r.cluster == cluster) and (not attention or r.attention)]
    return found, invalid, folder


def create_app() -> FastAPI:
    app = FastAPI(title="Flink deployments", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/api/deployments", dependencies=[_access("GET")])
    def list_deployments(cluster: str | None = None, attention: bool = False) -> dict[str, Any]:
        found, invalid, folder = rows(cluster, attention)
        return {"folder": folder, "deployments": [r.as_dict() for r in found], "invalid": invalid}

    @app.post("/api/deployments/{name}/{action}", dependencies=[_access("POST")])
    def act(name: str, action: str, x_requested_with: str | None = Header(default=None)) -> dict[str, Any]:
        if not x_requested_with:
            raise HTTPException(400, "missing X-Requested-With: actions are started from the Flink page")
        if action not in ACTIONS:
            raise HTTPException(404, f"unknown action {action!r}: one of {', '.join(sorted(ACTIONS))}")
        found, _, _ = rows(None, False)
        if name not in {r.name for r in found}:
            raise HTTPException(404, f"no declared deployment {name!r}")
        conf: dict[str, Any] = {"deployments": name}
        if action == "retry":
            conf["retry_failed"] = name
        return {"dag_id": RECONCILE_DAG, "dag_run_id": _trigger(conf), "conf": conf}

    @app.get("/", response_class=HTMLResponse, dependencies=[_access("GET")])
    def page(cluster: str | None = None, attention: bool = False) -> str:
        found, invalid, folder = rows(cluster, attention)
        return render(found, invalid, folder, cluster, attention)

    return app


def _trigger(conf: dict[str, Any]) -> str:
    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    run = trigger_dag(RECONCILE_DAG, triggered_by=DagRunTriggeredByType.UI, conf=conf)
    if run is None:
        raise HTTPException(409, f"the {RECONCILE_DAG} DAG did not start a run")
    return str(run.run_id)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return f"{seconds:.0f} s ago"


def render(
    found: list[DeploymentStatus], invalid: list[str], folder: str, cluster: str | None, attention: bool
) -> str:
    """The page: plain HTML and a few lines of script (no build step, nothing fetched from outside)."""
    e = html.escape
    clusters = sorted({r.cluster for r in found} | ({cluster} if cluster else set()))
    options = "".join(
        f'<option value="{e(c)}"{" selected" if c == cluster else ""}>{e(c)}</option>' for c in clusters
    )
    body = []
    for r in found:
        tasks = f"{r.tasks_running}/{r.tasks_total}" if r.tasks_total is not None else "-"
        job = (
            f'<a href="{e(r.flink_url)}" target="_blank" rel="noopener">{e(r.job_id or "")}</a>'
            if r.flink_url
            else e(r.job_id or "-")
        )
        buttons = "".join(
            f'<button data-deployment="{e(r.name)}" data-action="{a}">{e(label)}</button>'
            for a, label in ACTIONS.items()
            if a != "retry" or r.failed_spec
        )
        body.append(
            f'<tr class="{"attention" if r.attention else ""}" data-deployment="{e(r.name)}">'
            f"<td>{e(r.name)}</td><td>{e(r.cluster)}</td><td>{e(r.declared_state)}, p={r.parallelism}, "
            f"{e(r.upgrade_mode)}</td><td class=state>{e(r.job_state)}</td><td>{tasks}</td><td>{job}</td>"
            f'<td>{e(r.applied_hash or "-")}</td><td title="{e(r.last_savepoint or "")}">{_age(r.last_savepoint_age_s)}</td>'
            f"<td>{r.restarts_in_window}</td><td>{e(r.attention or '')}</td><td>{buttons}</td></tr>"
        )
    problems = "".join(f"<li>{e(p)}</li>" for p in invalid)
    return PAGE.format(
        folder=e(folder),
        options=options,
        checked=" checked" if attention else "",
        rows="".join(body) or '<tr><td colspan="11">no deployment matches</td></tr>',
        problems=f"<h2>Files that do not parse</h2><ul>{problems}</ul>" if problems else "",
        count=len(found),
    )


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Flink deployments</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; color: #1f2933; }}
table {{ border-collapse: collapse; width: 100%; font-size: 0.9rem; }}
th, td {{ border-bottom: 1px solid #d9e2ec; padding: 0.35rem 0.5rem; text-align: left; }}
tr.attention {{ background: #fff3c4; }}
td.state {{ font-weight: 600; }}
button {{ margin-right: 0.3rem; }}
#message {{ margin: 0.5rem 0; min-height: 1.2rem; }}
</style></head>
<body>
<h1>Flink deployments</h1>
<p>Declared in <code>{folder}</code>: {count} shown. Actions start a run of the
<a href="../dags/flink_reconcile" target="_top">flink_reconcile</a> DAG; its task log says what it did.</p>
<form method="get">
<label>Cluster <select name="cluster"><option value="">all</option>{options}</select></label>
<label><input type="checkbox" name="attention" value="true"{checked}> needs attention only</label>
<button type="submit">Filter</button>
</form>
<div id="message"></div>
<table>
<thead><tr><th>deployment</th><th>cluster</th><th>declared</th><th>job state</th><th>tasks running</th>
<th>job</th><th>applied spec</th><th>last savepoint</th><th>restarts (window)</th><th>attention</th><th>actions</th></tr></thead>
<tbody>{rows}</tbody>
</table>
{problems}
<script>
for (const button of document.querySelectorAll("button[data-action]")) {{
  button.addEventListener("click", async () => {{
    const name = button.dataset.deployment, action = button.dataset.action;
    const answer = await fetch(`api/deployments/${{encodeURIComponent(name)}}/${{action}}`, {{
      method: "POST", credentials: "same-origin", headers: {{"X-Requested-With": "flink-page"}}}});
    const body = await answer.json();
    document.getElementById("message").textContent = answer.ok
      ? `Started ${{body.dag_id}} run ${{body.dag_run_id}} for ${{name}}`
      : `Not started: ${{body.detail}}`;
  }});
}}
</script>
</body></html>
"""

app = create_app()
