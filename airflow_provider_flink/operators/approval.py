"""Approval before risk, through Airflow's human-in-the-loop (docs/approvals.md).

A reconcile run that plans an action a person must approve records the request in the
deployment's record and does not act (deployments/approvals.py). Three operators carry the
request to a person and the answer back, so that no reconcile waits (its DAG runs one run at a
time) and no worker is held while a person thinks:

* :class:`FlinkAskApprovalOperator`, after the reconcile task: starts one run of the approval DAG
  with the requests the reconcile recorded (skipped when it recorded none);
* :class:`FlinkApprovalOperator`, in the approval DAG: asks through Airflow's human-in-the-loop
  (the "Required Actions" view; on Airflow 3.3+ the task waits in ``awaiting_input``, before that
  in the triggerer), one option per request, then records each answer in its deployment's record
  (approved: the options chosen; rejected: the others, or all on "Reject all" or a time-out);
* :class:`FlinkReconcileApprovedOperator`, after it: starts a reconcile run for the deployments
  approved, which acts if what it plans is still the action approved (same job, spec and mode).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.providers.standard.operators.hitl import HITLOperator
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

from airflow_provider_flink.deployments.answers import Request, record_answer
from airflow_provider_flink.deployments.records import Approval
from airflow_provider_flink.deployments.stores import RunRecords, configured_store, holder_of
from airflow_provider_flink.exceptions import AirflowSkipException
from airflow_provider_flink.operators.reconcile import _task_label

APPROVAL_DAG = "flink_approval"
RECONCILE_DAG = "flink_reconcile"
REJECT_ALL = "Reject all"
PLACEHOLDER = "(the requests are read when the task runs)"


def option(request: Request) -> str:
    """The option a person picks to approve one request: its deployment and the request's id."""
    return f"Approve {request.deployment} ({request.key[:8]})"


def requests_in(conf: Any) -> list[Request]:
    """The requests a run's conf names (``{"requests": [{deployment, cluster, key}, ...]}``)."""
    raw = conf.get("requests") if isinstance(conf, dict) else None
    if not isinstance(raw, list) or not raw:
        raise ValueError('the run\'s conf names no request: {"requests": [{"deployment", "cluster", "key"}]}')
    try:
        return [Request(str(r["deployment"]), str(r["cluster"]), str(r["key"])) for r in raw]
    except (KeyError, TypeError):
        raise ValueError(f"a request needs deployment, cluster and key: {raw!r}") from None


class FlinkAskApprovalOperator(TriggerDagRunOperator):
    """Start a run of the approval DAG with the approval requests the reconcile task
    (``reconcile_task_id``) recorded; skipped when it recorded none. Make it the reconcile's
    teardown (``reconcile >> ask.as_teardown()``): it runs when the reconcile failed too (a run
    that failed for one deployment may have asked for another), and the run's state stays the
    reconcile's."""

    def __init__(
        self, *, reconcile_task_id: str = "reconcile", approval_dag_id: str = APPROVAL_DAG, **kwargs: Any
    ) -> None:
        super().__init__(trigger_dag_id=approval_dag_id, **kwargs)
        self.reconcile_task_id = reconcile_task_id

    def execute(self, context: Any) -> Any:
        report = context["ti"].xcom_pull(task_ids=self.reconcile_task_id) or {}
        requests = [
            {"deployment": entry["deployment"], "cluster": entry["cluster"], "key": key}
            for entry in report.get("deployments", [])
            for key in entry.get("approvals", [])
        ]
        if not requests:
            raise AirflowSkipException("the reconcile asked for no approval")
        self.log.info("Asking for approval: %s", ", ".join(r["deployment"] for r in requests))
        self.conf = {"requests": requests}
        return super().execute(context)


class FlinkApprovalOperator(HITLOperator):
    """Ask a person to approve the requests the run's conf names, and record each answer.

    :param response_timeout: how long a person has; then every request is recorded expired
        ("nobody answered") and the next reconcile run asks again. Default one day.
    """

    def __init__(self, *, response_timeout: timedelta | None = timedelta(days=1), **kwargs: Any) -> None:
        super().__init__(
            subject="Approve Flink actions that lose or risk state",
            options=[PLACEHOLDER],
            multiple=True,
            response_timeout=response_timeout,
            **kwargs,
        )

    def _prepare(self, context: Any) -> list[Request]:
        """Subject, body and options from the requests (again on resume: a new process)."""
        requests = requests_in(getattr(context.get("dag_run"), "conf", None))
        store = configured_store()
        asked = {r.key: self._approval(store, r) for r in requests}
        self.options = [option(r) for r in requests] + [REJECT_ALL]
        names = ", ".join(sorted({r.deployment for r in requests}))
        self.subject = f"Approve Flink actions on {names}"
        self.body = "\n\n".join(_describe(r, asked[r.key]) for r in requests) + (
            "\n\nPick the requests to approve; the others are rejected. "
            f"**{REJECT_ALL}** rejects every one. Nothing is done on Flink until a request is approved."
        )
        return requests

    @staticmethod
    def _approval(store: Any, request: Request) -> Approval | None:
        record = store.get(request.cluster, request.deployment)
        return record.approval(request.key) if record is not None else None

    def execute(self, context: Any) -> Any:
        self._prepare(context)
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        requests = self._prepare(context)
        if "error" in event:
            if event.get("error_type") != "timeout":
                raise RuntimeError(f"the approval request failed: {event.get('error')}")
            chosen: list[str] = []
            by, note = "timeout", f"nobody answered within {self.response_timeout}"
            expired = True
        else:
            super().execute_complete(context, event)  # checks the options chosen
            chosen = list(event["chosen_options"])
            user = event.get("responded_by_user") or {}
            by, note = str(user.get("name") or user.get("id") or "unknown"), None
            expired = False
        approve_all_chosen = REJECT_ALL not in chosen
        records = RunRecords(configured_store(), holder_of(_task_label(context.get("ti"))))
        outcome: dict[str, list[str]] = {"approved": [], "rejected": [], "expired": [], "recorded": []}
        try:
            for request in requests:
                approved = approve_all_chosen and option(request) in chosen
                answered = record_answer(records, request, approved, by, note, expired=expired)
                self.log.info("%s", answered.text)
                outcome["recorded"].append(answered.text)
                # What the record holds decides what the next task starts: a request approved here
                # but answered before (rejected), or gone from the record, starts nothing.
                kind = answered.decision if answered.decision in ("approved", "expired") else "rejected"
                outcome[kind].append(request.deployment)
        finally:
            records.close()
        return outcome


class FlinkReconcileApprovedOperator(TriggerDagRunOperator):
    """Start a reconcile run for the deployments the approval task (``approval_task_id``)
    recorded approved; skipped when none was."""

    def __init__(
        self,
        *,
        approval_task_id: str = "approve",
        reconcile_dag_id: str = RECONCILE_DAG,
        **kwargs: Any,
    ) -> None:
        super().__init__(trigger_dag_id=reconcile_dag_id, **kwargs)
        self.approval_task_id = approval_task_id

    def execute(self, context: Any) -> Any:
        outcome = context["ti"].xcom_pull(task_ids=self.approval_task_id) or {}
        approved: Sequence[str] = sorted(set(outcome.get("approved") or []))
        if not approved:
            raise AirflowSkipException("no request was approved: nothing to reconcile")
        self.conf = {"deployments": ",".join(approved)}
        return super().execute(context)


# Markdown's own characters where they act mid-line (every value sits after a label, and a line
# break in one is a space): a value that holds them (a job argument "*", a note "[link](…)", an
# HTML tag) is shown as written, never as formatting or a link the person did not see.
_MARKDOWN = re.compile(r"([\\`*_\[\]<|~])")


def md(text: str) -> str:
    """``text`` as Markdown shows it literally, on one line."""
    return _MARKDOWN.sub(r"\\\1", " ".join(text.split()))


def code(text: str) -> str:
    """``text`` as an inline code span, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _describe(request: Request, asked: Approval | None) -> str:
    """One request as the person reads it (Markdown, every value escaped): the action, its risks,
    the fields it changes and the state its new job starts from."""
    head = f"### {md(option(request))}\n\nDeployment **{md(request.deployment)}** on {code(request.cluster)}."
    if asked is None:
        return head + "\n\nThe request is not in the deployment's record any more: approving it does nothing."
    lines = [head, f"- **Action:** {md(asked.action)}", *(f"- **Risk:** {md(risk)}" for risk in asked.risks)]
    lines += [f"- **Change:** {code(change)}" for change in asked.changes]
    if asked.restore:
        lines.append(f"- **State:** {md(asked.restore)}")
    if asked.decision is not None:
        lines.append(f"- Already **{asked.decision}** by {md(asked.by or 'unknown')}: that answer stands.")
    return "\n".join(lines)
