"""Tell a person when a declared Flink deployment's job leaves RUNNING: failed, restarting,
cancelled, finished or gone (a JobManager restart), within seconds, with Flink's root cause; and
when a job is still not healthy past its health timeout, or completes no checkpoint for longer than
its spec's ``max_checkpoint_age_minutes``. A job becoming healthy is an event too (it starts the
reconcile that marks it stable) but not an alert.

Scheduled on the asset ``flink_job_states``, which a watcher in the triggerer updates (one
``/jobs/overview`` per cluster every second; see ``dags/flink_reconcile.py``, which the same event
starts to restart or recover the job per the spec's policies). Each event carries, per change:
deployment, job id, the state before and after, the root cause of a failure, the Flink UI link.

``notify`` only logs here: replace it with your channel (a Slack or e-mail notifier, a pager
webhook). It must not raise for a bad message: an alert that fails should not hide the next one.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import DAG, task

from airflow_provider_flink.events import folder_from_variable, job_states_asset

DEFAULT_FOLDER = str(Path(__file__).parent / "deployments")
# Declared as in flink_reconcile.py (the same folder, the same watchers): one asset.
JOB_STATES = job_states_asset(folder_from_variable(DEFAULT_FOLDER))


def alert_lines(triggering_asset_events: Any) -> list[str]:
    """One line per job change in the run's events, what a person needs to act on."""
    lines = []
    for events in (triggering_asset_events or {}).values():
        for event in events:
            payload = (getattr(event, "extra", None) or {}).get("payload") or {}
            for change in payload.get("changes", []):
                kind = change.get("kind", "state")
                if kind == "healthy":
                    continue  # good news: the reconcile acts on it, nobody needs paging
                cause = f"; cause: {change['root_cause']}" if change.get("root_cause") else ""
                what = (
                    f"{change['from'] or '(new)'} -> {change['to']}"
                    if kind == "state"
                    else change.get("note", kind)
                )
                lines.append(
                    f"Flink deployment {change['deployment']} on {payload.get('cluster')}: job "
                    f"{change['job_id']} {what}{cause} ({change['flink_url']})"
                )
    return lines


def notify(line: str) -> None:
    """Replace with your channel, e.g. SlackNotifier / SmtpNotifier from Airflow's providers."""
    print(f"ALERT {line}")


with DAG(
    dag_id="flink_job_alerts",
    schedule=[JOB_STATES],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["flink", "example", "alerts"],
    doc_md=__doc__,
) as dag:

    @task
    def alert(triggering_asset_events: Any = None) -> list[str]:
        lines = alert_lines(triggering_asset_events)
        for line in lines:
            notify(line)
        return lines

    alert()
