"""The "Flink" page of the Airflow UI: a FastAPI app the api-server mounts at ``/flink``.

* ``GET /flink/`` — the page: every declared deployment, desired against actual, filters by
  cluster and by status, links to the Flink UI, to each deployment's history and to the task log
  of its last action, and the actions below as buttons;
* ``GET /flink/deployments/{name}`` — one deployment's history: its actions, savepoints and
  rollbacks, newest first;
* ``GET /flink/api/deployments`` and ``GET /flink/api/deployments/{name}`` — the same as JSON;
* ``GET /flink/api/deployments/{name}/charts?hours=6`` — what its job did over the last hours
  (uptime, records in and out per second, back-pressure, restarts, checkpoints): the job watcher's
  samples and the record's restarts;
* ``POST /flink/api/deployments/{name}/{action}`` — ``savepoint`` (now), ``suspend`` (until
  resumed), ``resume``, ``retry`` (one more try of a spec that failed and was rolled back) or
  ``reconcile`` (a reconcile run for this deployment now): each starts a run of the
  ``flink_reconcile`` DAG with a conf; nothing acts on Flink from here, every rule of the reconcile
  holds. An action that cannot apply now (no running job to savepoint, nothing to resume) is
  refused with 409 and the reason, rather than starting a run that would do nothing.

Protected by Airflow's own authentication and authorization (the auth manager): reading needs
read access to the reconcile DAG's runs, an action needs permission to create one. Without it,
nothing is shown and nothing can be started. A POST must carry ``X-Requested-With`` (the page's
script sends it; a form on another site cannot), so a browser's cookie alone starts nothing.
"""

from __future__ import annotations

import html
import json
import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol
from urllib.parse import quote

from fastapi import Depends, FastAPI, Header, HTTPException, Query
from fastapi.responses import HTMLResponse, Response

from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.samples import Sample
from airflow_provider_flink.deployments.spec import load_specs, spec_folder
from airflow_provider_flink.deployments.stores import configured_store, sample_store
from airflow_provider_flink.deployments.stores.choice import retention_hours, sample_seconds
from airflow_provider_flink.ui.bundle import static_file
from airflow_provider_flink.ui.status import (
    ACTIONS,
    STATUS_FILTERS,
    ActionEntry,
    DeploymentStatus,
    History,
    StatusFilter,
    chart_view,
    collect,
    history,
    refusal,
)

RECONCILE_DAG = "flink_reconcile"


def action_conf(name: str, action: str) -> dict[str, Any]:
    """The ``flink_reconcile`` run's conf for a page action (its reconcile operator reads it)."""
    conf: dict[str, Any] = {"deployments": name}
    extra = {
        "savepoint": "savepoint_now",
        "suspend": "suspend",
        "resume": "resume",
        "retry": "retry_failed",
        "clear-restarts": "clear_restarts",
    }.get(action)
    if extra:
        conf[extra] = name
    return conf


def _access(method: str) -> Any:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity
    from airflow.api_fastapi.core_api.security import requires_access_dag

    return Depends(requires_access_dag(method, DagAccessEntity.RUN, param_dag_id=RECONCILE_DAG))  # type: ignore[arg-type]


def _person() -> Any:
    """Why the person asking may start no action (None: they may): the same rule the POST's
    ``access("POST")`` applies, asked of the auth manager, so the page shows a button the person
    may not press disabled with this reason instead of answering "Forbidden" after the click."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
    from airflow.api_fastapi.core_api.security import get_user

    # Why not ``user: GetUserDep``: this module's annotations are strings, and FastAPI resolves a
    # string in the module's globals, where a name imported here is not: it took ``user`` for a
    # query parameter and answered 422 (found under the real api-server). The default says it all.
    def may_not(user: Any = Depends(get_user)) -> str | None:  # noqa: B008
        allowed = get_auth_manager().is_authorized_dag(
            method="POST", access_entity=DagAccessEntity.RUN, details=DagDetails(id=RECONCILE_DAG), user=user
        )
        if allowed:
            return None
        return (
            f"{user.get_name()} may not start runs of {RECONCILE_DAG}: the page's actions need "
            "permission to trigger that DAG (ask an admin)"
        )

    return Depends(may_not)


class Source(Protocol):
    """Where the page reads and what starts a run: Airflow's metadata DB and Flink in the
    api-server (:class:`ServerSource`), a fake in unit tests."""

    def rows(
        self, only: str | None = None, checkpoints: bool = True
    ) -> tuple[list[DeploymentStatus], list[str], str]: ...

    def record(self, cluster: str, name: str) -> DeploymentRecord | None: ...

    def trigger(self, conf: dict[str, Any]) -> str: ...

    def reconcile_paused(self) -> bool: ...

    def samples(self, cluster: str, name: str, since: float) -> list[Sample] | None:
        """The deployment's samples after ``since``; None: the store keeps none."""
        ...

    def cluster_of(self, name: str) -> str | None:
        """The cluster a declared deployment's spec names (None: not declared); no Flink call."""
        ...

    def sampling(self) -> tuple[float, float]:
        """Seconds between samples, and hours they are kept."""
        ...


def deployments_folder() -> str:
    """The reconcile DAG's folder: the Variable ``flink_deployments_folder``, else ``deployments/``
    in the DAGs folder (where the example DAG keeps it)."""
    from airflow.configuration import conf
    from airflow.models.variable import Variable

    default = os.path.join(conf.get("core", "dags_folder"), "deployments")
    return str(Variable.get("flink_deployments_folder", default_var=default))


class ServerSource:
    def rows(
        self, only: str | None = None, checkpoints: bool = True
    ) -> tuple[list[DeploymentStatus], list[str], str]:
        folder = deployments_folder()
        found, invalid = collect(
            spec_folder(folder),
            configured_store(server=True),
            only=only,
            checkpoints=checkpoints,
            reconcile_paused=self.reconcile_paused(),
        )
        return found, invalid, folder

    def reconcile_paused(self) -> bool:
        """The reconcile DAG is paused: nothing declared is applied until it is unpaused."""
        from airflow.models.dag import DagModel

        dag = DagModel.get_dagmodel(RECONCILE_DAG)
        return bool(dag is not None and dag.is_paused)

    def record(self, cluster: str, name: str) -> DeploymentRecord | None:
        return configured_store(server=True).get(cluster, name)

    def cluster_of(self, name: str) -> str | None:
        specs, _ = load_specs(spec_folder(deployments_folder()), read_sql_files=False)
        return next((spec.cluster for spec in specs if spec.name == name), None)

    def samples(self, cluster: str, name: str, since: float) -> list[Sample] | None:
        store = sample_store(configured_store(server=True))
        return store.samples(cluster, name, since) if store is not None else None

    def sampling(self) -> tuple[float, float]:
        return sample_seconds(), retention_hours()

    def trigger(self, conf: dict[str, Any]) -> str:
        from airflow.api.common.trigger_dag import trigger_dag
        from airflow.utils.types import DagRunTriggeredByType

        run = trigger_dag(RECONCILE_DAG, triggered_by=DagRunTriggeredByType.UI, conf=conf)
        if run is None:
            raise HTTPException(409, f"the {RECONCILE_DAG} DAG did not start a run")
        return str(run.run_id)


def create_app(
    source: Source | None = None,
    access: Callable[[str], Any] = _access,
    person: Callable[[], Any] = _person,
) -> FastAPI:
    src: Source = source or ServerSource()
    app = FastAPI(title="Flink deployments", docs_url=None, redoc_url=None, openapi_url=None)

    def listed(
        cluster: str | None, status: StatusFilter, attention: bool
    ) -> tuple[list[DeploymentStatus], list[str], str, StatusFilter]:
        status = "attention" if attention else status  # ?attention=true: the first page's filter
        found, invalid, folder = src.rows()
        found = [r for r in found if (not cluster or r.cluster == cluster) and r.matches(status)]
        return found, invalid, folder, status

    def one(name: str) -> tuple[DeploymentStatus, History]:
        found, _, _ = src.rows(only=name)
        if not found:
            raise HTTPException(404, f"no declared deployment {name!r}")
        row = found[0]
        return row, history(src.record(row.cluster, name), time.time())

    def context(may_not: str | None) -> dict[str, Any]:
        """What every answer adds to its rows: who may act, and whether any run will."""
        return {
            "reconcile": {"dag_id": RECONCILE_DAG, "paused": src.reconcile_paused()},
            "person": {"may_act": may_not is None, "why": may_not},
            "action_labels": ACTIONS,
        }

    @app.get("/api/deployments", dependencies=[access("GET")])
    def list_deployments(
        cluster: str | None = None,
        status: StatusFilter = "all",
        attention: bool = False,
        may_not: str | None = person(),
    ) -> Response:
        found, invalid, folder, _ = listed(cluster, status, attention)
        # Plain JSON types already: serialized at once (FastAPI's encoder walked 10,000 rows for
        # about a second of a 10,000-deployment page).
        payload = {
            "folder": folder,
            "deployments": [r.as_dict(may_not) for r in found],
            "invalid": invalid,
            **context(may_not),
        }
        return Response(json.dumps(payload), media_type="application/json")

    @app.get("/api/deployments/{name}", dependencies=[access("GET")])
    def deployment(name: str, may_not: str | None = person()) -> dict[str, Any]:
        row, past = one(name)
        return {"deployment": row.as_dict(may_not), "history": past.as_dict(), **context(may_not)}

    @app.get("/api/deployments/{name}/charts", dependencies=[access("GET")])
    def deployment_charts(
        name: str, hours: float = Query(6.0, gt=0, le=24 * 31, description="the window, in hours")
    ) -> Response:
        # The spec names the cluster: no call to Flink (the charts stay quick while Flink is slow).
        cluster = src.cluster_of(name)
        if cluster is None:
            raise HTTPException(404, f"no declared deployment {name!r}")
        every, kept_hours = src.sampling()
        hours = min(hours, kept_hours)  # nothing older is kept
        now = time.time()
        samples = src.samples(cluster, name, now - hours * 3600)
        view = chart_view(src.record(cluster, name), samples, hours, now, every)
        return Response(
            json.dumps({"deployment": name, "cluster": cluster, **view}), media_type="application/json"
        )

    @app.post("/api/deployments/{name}/{action}", dependencies=[access("POST")])
    def act(name: str, action: str, x_requested_with: str | None = Header(default=None)) -> dict[str, Any]:
        if not x_requested_with:
            raise HTTPException(400, "missing X-Requested-With: actions are started from the Flink page")
        if action not in ACTIONS:
            raise HTTPException(404, f"unknown action {action!r}: one of {', '.join(sorted(ACTIONS))}")
        # Only the job list is needed to judge an action: no checkpoint calls.
        found, _, _ = src.rows(only=name, checkpoints=False)
        if not found:
            raise HTTPException(404, f"no declared deployment {name!r}")
        why = refusal(found[0], action)
        if why:
            raise HTTPException(409, f"{ACTIONS[action]} not started for {name}: {why}")
        conf = action_conf(name, action)
        return {"dag_id": RECONCILE_DAG, "dag_run_id": src.trigger(conf), "conf": conf}

    @app.get("/", response_class=HTMLResponse, dependencies=[access("GET")])
    def page(cluster: str | None = None, status: StatusFilter = "all", attention: bool = False) -> str:
        found, invalid, folder, status = listed(cluster, status, attention)
        return render(found, invalid, folder, cluster, status)

    @app.get("/deployments/{name}", response_class=HTMLResponse, dependencies=[access("GET")])
    def history_page(name: str) -> str:
        row, past = one(name)
        return render_history(row, past)

    # The page's bundle for the Airflow UI (a react_apps plugin, ui/plugin.py) and its icons:
    # static code, no data, so no auth (as the UI's own assets); ETag + no-cache (ui/bundle.py).
    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str, if_none_match: str | None = Header(default=None)) -> Response:
        return static_file(name, if_none_match)

    return app


# ------------------------------------------------------------------------------ rendering
e = html.escape


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return f"{seconds:.0f} s ago"


def _utc(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _log_link(entry: ActionEntry, root: str) -> str:
    if not entry.task_log:
        return ""
    return f'<a href="{e(root + entry.task_log)}" target="_top">task log</a>'


def _last_action(entry: ActionEntry | None, root: str) -> str:
    if entry is None:
        return "-"
    outcome = "ok" if entry.ok else "failed"
    return (
        f'<span class="{outcome}" title="{e(_utc(entry.at))}: {e(entry.detail)}">{e(entry.kind)} {outcome}</span>'
        f" {_age(entry.age_s)} {_log_link(entry, root)}"
    )


def _buttons(r: DeploymentStatus) -> str:
    """One button per action that makes sense on the row; one that cannot apply now is shown
    disabled with the reason on hover (retry only on a rolled-back spec; suspend or resume)."""
    out = []
    for action, label in ACTIONS.items():
        why = refusal(r, action)
        if action == "retry" and not r.failed_spec:
            continue
        if action == "clear-restarts" and not r.restarts_in_window:
            continue
        if action == "suspend" and r.suspended:
            continue  # resume is offered in its place
        if action == "resume" and not r.suspended:
            continue
        state = f' disabled title="{e(why)}"' if why else ""
        out.append(f'<button data-deployment="{e(r.name)}" data-action="{action}"{state}>{e(label)}</button>')
    return "".join(out)


def _declared(r: DeploymentStatus) -> str:
    text = f"{e(r.declared_state)}, p={r.parallelism}, {e(r.upgrade_mode)}"
    if r.held:
        text += f'<br><span class="held">suspended from the page {_age(r.held_age_s)}</span>'
    return text


def _short(job_id: str | None) -> str:
    """A job id's first 12 characters (the full id on hover): enough to tell jobs apart."""
    return e(job_id[:12] + "…") if job_id else "-"


def _row(r: DeploymentStatus, root: str, link: str) -> str:
    tasks = f"{r.tasks_running}/{r.tasks_total}" if r.tasks_total is not None else "-"
    if r.tasks_finished:  # else "3/4" reads like a task that does not run
        tasks += f" ({r.tasks_finished} finished)"
    job = (
        f'<a href="{e(r.flink_url)}" target="_blank" rel="noopener" title="{e(r.job_id or "")}">'
        f"<code>{_short(r.job_id)}</code></a>"
        if r.flink_url
        else f'<code title="{e(r.job_id or "")}">{_short(r.job_id)}</code>'
    )
    name = f'<a href="{e(link)}">{e(r.name)}</a>' if link else e(r.name)
    return (
        f'<tr class="{"attention" if r.attention else ""}" data-deployment="{e(r.name)}">'
        f"<td>{name}</td><td>{e(r.cluster)}</td><td>{_declared(r)}</td><td class=lifecycle>{e(r.lifecycle)}</td>"
        f"<td class=state>{e(r.job_state)}</td><td>{tasks}</td><td>{job}</td>"
        f"<td><code>{e(r.applied_hash or '-')}</code></td><td class=checkpoint>{_age(r.checkpoint_age_s)}</td>"
        f'<td class=savepoint title="{e(r.last_savepoint or "")}">{_age(r.last_savepoint_age_s)}</td>'
        f"<td>{r.restarts_in_window}</td><td class=action>{_last_action(r.last_action, root)}</td>"
        f"<td>{e(r.attention or '')}</td><td>{_buttons(r)}</td></tr>"
    )


HEAD = (
    "<tr><th>deployment</th><th>cluster</th><th>declared</th><th>lifecycle</th><th>job state</th><th>tasks running</th>"
    "<th>job</th><th>applied spec</th><th>checkpoint</th><th>last savepoint</th><th>restarts (window)</th>"
    "<th>last action</th><th>attention</th><th>actions</th></tr>"
)


def render(
    found: list[DeploymentStatus], invalid: list[str], folder: str, cluster: str | None, status: str
) -> str:
    """The page: plain HTML and a few lines of script (no build step, nothing fetched from outside)."""
    clusters = sorted({r.cluster for r in found} | ({cluster} if cluster else set()))
    options = "".join(
        f'<option value="{e(c)}"{" selected" if c == cluster else ""}>{e(c)}</option>' for c in clusters
    )
    statuses = "".join(
        f'<option value="{s}"{" selected" if s == status else ""}>{e(label)}</option>'
        for s, label in STATUS_FILTERS.items()
    )
    body = "".join(_row(r, "../", f"deployments/{quote(r.name, safe='')}") for r in found)
    problems = "".join(f"<li>{e(p)}</li>" for p in invalid)
    content = f"""<h1>Flink deployments</h1>
<p>Declared in <code>{e(folder)}</code>: {len(found)} shown. Actions start a run of the
<a href="../dags/flink_reconcile" target="_top">flink_reconcile</a> DAG; its task log says what it did.</p>
<form method="get">
<label>Cluster <select name="cluster"><option value="">all</option>{options}</select></label>
<label>Status <select name="status">{statuses}</select></label>
<button type="submit">Filter</button>
</form>
<div id="message" role="status"></div>
<table>
<thead>{HEAD}</thead>
<tbody>{body or '<tr><td colspan="14">no deployment matches</td></tr>'}</tbody>
</table>
{f"<h2>Files that do not parse</h2><ul>{problems}</ul>" if problems else ""}"""
    return PAGE.format(title="Flink deployments", api="api/", root="../", content=content)


def render_history(r: DeploymentStatus, past: History) -> str:
    """One deployment: its row, what the reconcile did (newest first), its savepoints, its rollbacks."""
    root = "../../"

    def actions_table(entries: list[ActionEntry], empty: str, table_id: str) -> str:
        lines = "".join(
            f'<tr class="{"ok" if a.ok else "failed"}"><td title="{_age(a.age_s)}">{_utc(a.at)}</td>'
            f"<td>{e(a.kind)}</td><td>{'ok' if a.ok else 'failed'}</td><td>{e(a.detail)}</td>"
            f"<td><code>{e(a.job_id or '-')}</code></td><td>{_log_link(a, root)}</td></tr>"
            for a in entries
        )
        return (
            f'<table id="{table_id}"><thead><tr><th>time</th><th>action</th><th>outcome</th><th>detail</th><th>job</th>'
            f"<th>task log</th></tr></thead><tbody>{lines or f'<tr><td colspan=6>{empty}</td></tr>'}</tbody></table>"
        )

    savepoints = "".join(
        f"<tr><td>{_utc(s.taken_at)}</td><td>{_age(s.age_s)}</td><td>{e(s.reason)}</td>"
        f'<td><code>{e(s.job_id)}</code></td><td class="path"><code>{e(s.path)}</code></td></tr>'
        for s in past.savepoints
    )
    notes = []
    if r.held:
        notes.append(
            f"Suspended from the page {_age(r.held_age_s)}"
            + (f" (recorded by {e(past.held_by)})" if past.held_by else "")
            + ": it stays suspended until resumed."
        )
    if r.savepoint_in_progress:
        notes.append(f"A savepoint is in progress (Flink trigger {e(r.savepoint_in_progress)}).")
    if r.failed_spec:
        notes.append(f"The declared spec was rolled back: {e(r.failed_spec)}.")
    content = f"""<p><a href="../">&larr; all deployments</a></p>
<h1>Flink deployment {e(r.name)}</h1>
<div id="message" role="status"></div>
<table><thead>{HEAD}</thead><tbody>{_row(r, root, "")}</tbody></table>
{"".join(f"<p class=note>{n}</p>" for n in notes)}
<h2>Actions</h2>
{actions_table(past.actions, "no action recorded", "actions")}
<h2>Savepoints</h2>
<table id="savepoints"><thead><tr><th>taken</th><th>age</th><th>reason</th><th>job</th><th>path</th></tr></thead>
<tbody>{savepoints or "<tr><td colspan=5>no savepoint recorded</td></tr>"}</tbody></table>
<h2>Rollbacks</h2>
{actions_table(past.rollbacks, "no rollback", "rollbacks")}"""
    return PAGE.format(title=f"Flink deployment {e(r.name)}", api="../api/", root=root, content=content)


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>
/* Airflow 3.1 frames this page: its UI lends plugins no Chakra UI, so the page takes Airflow's
   look by hand (its palette, font and radii), light or dark as the UI's own "theme" setting says. */
:root {{ color-scheme: light; --bg: #ffffff; --fg: #18181b; --muted: #52525b; --line: #e4e4e7;
  --subtle: #f4f4f5; --info: #0369a1; --warn-bg: #fef3c7; --err: #b91c1c; --held: #92400e;
  --btn: #0284c7; --btn-fg: #ffffff; }}
:root.dark {{ color-scheme: dark; --bg: #09090b; --fg: #fafafa; --muted: #a1a1aa; --line: #27272a;
  --subtle: #18181b; --info: #7dd3fc; --warn-bg: #422006; --err: #fca5a5; --held: #fcd34d;
  --btn: #0ea5e9; --btn-fg: #09090b; }}
body {{ font-family: Inter, ui-sans-serif, system-ui, -apple-system, "Segoe UI", sans-serif;
  margin: 1.5rem; color: var(--fg); background: var(--bg); font-size: 0.875rem; }}
a {{ color: var(--info); }}
h1 {{ font-size: 1.5rem; font-weight: 600; }} h2 {{ font-size: 1.125rem; font-weight: 600; }}
table {{ border-collapse: separate; border-spacing: 0; width: 100%; font-size: 0.85rem; margin-bottom: 1rem;
  border: 1px solid var(--line); border-radius: 0.375rem; overflow: hidden; }}
th {{ background: var(--subtle); font-weight: 600; }}
th, td {{ border-bottom: 1px solid var(--line); padding: 0.45rem 0.6rem; text-align: left; vertical-align: top; }}
code {{ font-size: 0.8rem; white-space: nowrap; }}
td.path code {{ white-space: normal; word-break: break-all; }}
tr.attention {{ background: var(--warn-bg); }}
td.state {{ font-weight: 600; }}
.failed {{ color: var(--err); font-weight: 600; }}
.held {{ color: var(--held); }}
button {{ margin: 0 0.3rem 0.2rem 0; white-space: nowrap; font: inherit; font-size: 0.8rem; cursor: pointer;
  padding: 0.25rem 0.6rem; border-radius: 0.375rem; border: 1px solid var(--btn); background: var(--btn);
  color: var(--btn-fg); }}
button:disabled {{ opacity: 0.45; cursor: not-allowed; }}
select {{ font: inherit; background: var(--bg); color: var(--fg); border: 1px solid var(--line); border-radius: 0.375rem; }}
td.action {{ min-width: 8rem; }}
label {{ margin-right: 0.8rem; }}
#message {{ margin: 0.5rem 0; min-height: 1.2rem; font-weight: 600; }}
</style>
<script>
// Airflow's UI keeps its colour mode in localStorage "theme" (light, dark or system): the frame
// follows it, and follows a change made in the UI while the page is open.
function applyTheme() {{
  let theme = null;
  try {{ theme = localStorage.getItem("theme"); }} catch (err) {{ theme = null; }}
  const dark = theme === "dark" || ((!theme || theme === "system") && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.classList.toggle("dark", dark);
}}
applyTheme();
addEventListener("storage", (event) => {{ if (event.key === "theme") applyTheme(); }});
</script></head>
<body data-api="{api}" data-root="{root}">
{content}
<script>
const api = document.body.dataset.api, root = document.body.dataset.root;
for (const button of document.querySelectorAll("button[data-action]")) {{
  button.addEventListener("click", async () => {{
    const name = button.dataset.deployment, action = button.dataset.action;
    if (action === "suspend" && !confirm(`Suspend ${{name}}? Its job stops with a savepoint and stays stopped until "resume".`)) return;
    button.disabled = true;
    const message = document.getElementById("message");
    try {{
      const answer = await fetch(`${{api}}deployments/${{encodeURIComponent(name)}}/${{action}}`, {{
        method: "POST", credentials: "same-origin", headers: {{"X-Requested-With": "flink-page"}}}});
      const body = await answer.json();
      message.textContent = answer.ok
        ? `Started ${{body.dag_id}} run ${{body.dag_run_id}} for ${{name}}: ${{button.textContent}}. `
        : `Not started: ${{body.detail}}`;
      message.dataset.run = answer.ok ? body.dag_run_id : "";
      if (answer.ok) {{
        const link = document.createElement("a");
        link.href = `${{root}}dags/${{body.dag_id}}/runs/${{encodeURIComponent(body.dag_run_id)}}`;
        link.target = "_top";
        link.textContent = "Open the run";
        message.append(link);
      }}
    }} catch (err) {{
      message.textContent = `Not started: ${{err}}`;
    }} finally {{
      button.disabled = false;
    }}
  }});
}}
</script>
</body></html>
"""

app = create_app()
