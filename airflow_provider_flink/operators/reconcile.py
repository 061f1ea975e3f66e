"""``FlinkReconcileOperator``: run the reconcile use case (:mod:`airflow_provider_flink.deployments`)
from a DAG, log what it did, and push its report to XCom.

Isolation: two runs must never act on the same deployment at once. Give the reconcile DAG
``max_active_runs=1`` and put reconcile tasks in a pool per cluster with one slot
(``airflow pools set flink_reconcile_<cluster> 1 "..."``); see docs/deployments.md.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from airflow_provider_flink.artifacts.sql import script_of
from airflow_provider_flink.deployments import (
    Asked,
    ReconcileReport,
    RecordStore,
    configured_store,
    reconcile,
)
from airflow_provider_flink.deployments.executor import JobConfig
from airflow_provider_flink.deployments.report import Metric
from airflow_provider_flink.deployments.spec import load_specs, spec_folder
from airflow_provider_flink.deployments.stores import lease_seconds
from airflow_provider_flink.exceptions import FlinkOperatorError, FlinkRefusedError
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.lineage import events as lineage
from airflow_provider_flink.lineage.observe import observed_run
from airflow_provider_flink.operators.base import FlinkBaseOperator


def _names(value: Sequence[str] | str | None, where: str = "") -> list[str]:
    """Names as a list from a list, or from a rendered string "a, b" (templates render strings)."""
    if not value:
        return []
    if not isinstance(value, (str, list, tuple)):
        raise FlinkRefusedError(
            f"{where or 'names'} must be a deployment name, names separated by commas or a list of names, "
            f"got {type(value).__name__} {value!r}"
        )
    items = value.split(",") if isinstance(value, str) else value
    return [str(item).strip() for item in items if str(item).strip()]


# What a person may ask of a run in its conf (the Flink page's actions, a manual trigger); read by
# the operator itself, so that any reconcile DAG honours them, not only one that templates them in.
ASKED_KEYS = ("deployments", "retry_failed", "savepoint_now", "suspend", "resume", "clear_restarts")


def asked_in_conf(context: Any) -> dict[str, list[str]]:
    """The names each key of :data:`ASKED_KEYS` gives in the run's conf (absent keys: none)."""
    conf = getattr(context.get("dag_run"), "conf", None) or {}
    if not isinstance(conf, dict):
        return {}
    return {key: _names(conf.get(key), f"the run's conf key {key!r}") for key in ASKED_KEYS}


EVENT_KEY = "flink_deployments"  # in an asset event's payload: the deployments it is about


def names_from_events(triggering: Any) -> list[str] | None:
    """The deployments the run's triggering asset events name, or None for "all of them".

    Events from the provider's watchers carry ``flink_deployments`` in their payload; a run
    triggered by them looks at just those (an empty list: an event about a file that names no
    deployment, which the reconcile still reports). Any other event (one a team sends itself, or
    none: a scheduled or manual run) means every deployment.
    """
    names: set[str] = set()
    seen = False
    for events in (triggering or {}).values():
        for event in events if isinstance(events, Iterable) else ():
            extra = getattr(event, "extra", None) or {}
            payload = extra.get("payload") if isinstance(extra, dict) else None
            if not isinstance(payload, dict) or not isinstance(payload.get(EVENT_KEY), list):
                return None
            seen = True
            names.update(str(name) for name in payload[EVENT_KEY])
    return sorted(names) if seen else None


def _task_label(ti: Any) -> str | None:
    """ "dag_id/run_id/task_id/try_number": where the deployments' history points for the task log."""
    parts = [getattr(ti, key, None) for key in ("dag_id", "run_id", "task_id", "try_number")]
    return "/".join(str(part) for part in parts) if all(part is not None for part in parts) else None


def send_metrics(metrics: list[Metric], log: Any) -> None:
    """To Airflow's stats (a no-op unless ``[metrics] statsd_on`` or ``otel_on``); never fails the run."""
    try:
        try:
            from airflow.sdk.observability.stats import Stats  # Airflow 3.3
        except ImportError:
            from airflow.stats import Stats  # Airflow 3.1, 3.2
        for metric in metrics:
            if metric.kind == "incr":
                Stats.incr(metric.name)
            elif metric.kind == "gauge":
                Stats.gauge(metric.name, metric.value)
            else:
                Stats.timing(metric.name, metric.value)
    except Exception as err:  # a metrics backend's trouble is not the reconcile's
        log.warning("Could not send metrics: %s", err)


class FlinkReconcileOperator(FlinkBaseOperator):
    """Reconcile the deployments declared in ``deployments_folder`` (YAML/JSON, one per file).

    :param deployments_folder: folder of spec files (templated).
    :param clusters: only deployments of these connection ids (default: all).
    :param deployments: only these deployment names: a list, or one string of comma-separated
        names (templated, e.g. from ``dag_run.conf``; the Flink page's actions set it). Default:
        all; a run started by the provider's asset watchers looks at the deployments its events name.
    :param plan_only: plan and report, change nothing (a dry run).
    :param fail_on_problems: fail the task at the end when a spec was invalid, an action failed or
        a deployment was refused for a reason a person must resolve (every other deployment is
        still reconciled first).
    :param retry_failed: deployments whose failed (rolled-back) spec may be applied again: a list
        of names, or one string of comma-separated names (templated, e.g. from ``dag_run.conf``).
    :param savepoint_now: deployments to take a savepoint of now (their job must be healthy); names
        as for ``retry_failed``. The Flink page's "savepoint now".
    :param suspend: deployments to hold suspended (stop with a savepoint), whatever their file
        declares, until a ``resume`` names them; names as for ``retry_failed``.
    :param resume: deployments whose hold is released (they follow their file again).
    :param clear_restarts: deployments whose restart limit is cleared (the restarts counted in the
        policy's window are forgotten, so a FAILED job is restarted again); names as for
        ``retry_failed``. The Flink page's "clear the restart limit".
    :param wait_for_health: wait in the task for each job it submits to become healthy, and roll a
        failed upgrade back in the same run (up to ``health_timeout_seconds`` of a worker's time).
        Default False (short runs): the task acts, records and returns; the next run (started by
        the job watcher's event when the job becomes healthy, fails or outlasts its timeout, or by
        the schedule) marks it stable or rolls it back.

    Returns the report as a dict: ``invalid`` (one line per problem, naming file and field),
    ``deployments`` (plan, outcomes, skip reasons), ``errors``.
    """

    template_fields: Sequence[str] = (
        "deployments_folder",
        "retry_failed",
        "deployments",
        "savepoint_now",
        "suspend",
        "resume",
        "clear_restarts",
    )
    # A run acts on many jobs: no single "Flink Job" link (the inherited one only logged
    # "XCom not found" at the end of every run).
    operator_extra_links = ()

    def __init__(
        self,
        *,
        deployments_folder: str,
        clusters: Sequence[str] | None = None,
        deployments: Sequence[str] | str | None = None,
        plan_only: bool = False,
        fail_on_problems: bool = True,
        retry_failed: Sequence[str] | str = (),
        savepoint_now: Sequence[str] | str = (),
        suspend: Sequence[str] | str = (),
        resume: Sequence[str] | str = (),
        clear_restarts: Sequence[str] | str = (),
        wait_for_health: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.retry_failed = retry_failed
        self.savepoint_now = savepoint_now
        self.suspend = suspend
        self.resume = resume
        self.clear_restarts = clear_restarts
        self.wait_for_health = wait_for_health
        self.deployments_folder = deployments_folder
        self.clusters = list(clusters) if clusters else None
        self.deployments = deployments
        self.plan_only = plan_only
        self.fail_on_problems = fail_on_problems

    def record_store(self) -> RecordStore:
        """The installation's store (``[flink] record_store_conn_id``; unset: Variables)."""
        return configured_store()

    def execute(self, context: Any) -> Any:
        conf = asked_in_conf(context)

        def union(own: Sequence[str] | str | None, key: str) -> list[str]:
            return sorted({*_names(own, key), *conf.get(key, [])})

        own, named = _names(self.deployments, "deployments"), conf.get("deployments", [])
        # None: every deployment. The operator's own list bounds what a conf may name (a DAG for
        # some deployments acts on no other); the example DAG templates the conf in: the same names.
        names = [n for n in own if n in named] if own and named else (own or named or None)
        if names is None:
            names = names_from_events(context.get("triggering_asset_events"))
            if names is not None:
                self.log.info(
                    "Started by changes to: %s", ", ".join(names) or "(files that name no deployment)"
                )
        asked = Asked(
            frozenset(union(self.retry_failed, "retry_failed")),
            frozenset(union(self.savepoint_now, "savepoint_now")),
            frozenset(union(self.suspend, "suspend")),
            frozenset(union(self.resume, "resume")),
            frozenset(union(self.clear_restarts, "clear_restarts")),
        )
        both = asked.suspend & asked.resume
        if both:
            raise FlinkOperatorError(
                f"Both suspend and resume were asked for {', '.join(sorted(both))}: ask for one of them"
            )
        run = _task_label(context.get("ti"))
        parent = lineage.task_run(context)
        job_config: JobConfig | None = None
        if parent is not None:  # each job's OpenLineage parent run and name, in its configuration

            def job_config(name: str) -> dict[str, str]:
                return lineage.parent_config(parent, lineage.flink_job_name(parent, name))

        began = time.monotonic()
        report = reconcile(
            spec_folder(str(self.deployments_folder)),
            self.record_store(),
            self.clusters,
            names,
            self.plan_only,
            asked=asked,
            wait_for_health=self.wait_for_health,
            run=run,
            lease_seconds=lease_seconds(),
            job_config=job_config,
        )
        self._log(report)
        if parent is not None:
            self._lineage(report, parent)
        complete = names is None and self.clusters is None and not self.plan_only
        send_metrics(report.metrics(time.monotonic() - began, complete), self.log)
        if self.fail_on_problems and report.problems:
            context["ti"].xcom_push(key="return_value", value=report.as_dict())
            message = "Reconcile finished with problems: " + "; ".join(report.problems)
            if report.retryable:
                raise FlinkOperatorError(message)
            # Only a person can resolve these: a retry would fail the same way and, with
            # max_active_runs=1, hold back the runs other deployments' events queue behind it.
            raise FlinkRefusedError(message + " (not retried: each needs a person; see the runbook)")
        return report.as_dict()

    def _lineage(self, report: ReconcileReport, parent: lineage.TaskRun) -> None:
        """The jobs this run started (START, this task run their parent) and ended (their end), as
        runs of the OpenLineage job ``flink.<deployment>``; the started ones' datasets for the
        task's own COMPLETE event. Never fails the run."""
        try:
            specs = {spec.name: spec for spec in load_specs(spec_folder(str(self.deployments_folder)))[0]}
            started: list[lineage.FlinkRun] = []
            ended: list[tuple[lineage.FlinkRun, str]] = []
            for entry in report.deployments:
                spec = specs.get(entry.deployment)
                sql = script_of(spec.definition().args) if spec is not None else None
                name = lineage.flink_job_name(parent, entry.deployment)
                hook = FlinkHook(entry.cluster)
                try:
                    for done in entry.done:
                        if not done.ok:
                            continue
                        if done.new_job_id:
                            run = observed_run(hook, done.new_job_id, name, sql=sql)
                            if run.state != "UNKNOWN":  # planned, not submitted (a rescale in place)
                                started.append(run)
                        if done.job_id and done.job_id != done.new_job_id:
                            old = observed_run(hook, done.job_id, name)
                            if old.state in lineage.END_EVENTS:
                                ended.append((old, lineage.END_EVENTS[old.state]))
                finally:
                    hook.close()
            self._lineage_facts = (started, [], [], True)
            lineage.emit_runs([(run, "START") for run in started], parent)
            lineage.emit_runs(ended, parent, started_by_parent=False)
        except Exception as err:  # lineage never fails a reconcile
            self.log.warning("OpenLineage: lineage of this run not reported: %s", err)

    def _log(self, report: ReconcileReport) -> None:
        for problem in report.invalid:
            self.log.error("invalid spec: %s", problem)
        for entry in report.deployments:  # the plan itself was logged before acting
            for done in entry.done:
                if done.ok:
                    self.log.info("done %s: %s", done.action, done.detail)
                elif done.yielded:  # another actor's, not a failure (the task stays green)
                    self.log.info("yielded %s: %s", done.action, done.detail)
                else:
                    self.log.error("FAILED %s: %s", done.action, done.detail)
            if entry.skipped:
                self.log.warning("skipped %s: %s", entry.deployment, entry.skipped)
