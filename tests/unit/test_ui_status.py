"""The Flink page's rows (``ui.status``) and their rendering (``ui.app.render``), without a server
(the app's routes: test_ui_app.py; the served page, its auth and a browser:
tests/integration/test_real_components.py)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_flink.client import FlinkUnreachableError
from airflow_provider_flink.client.models import JobCheckpoints, JobDetail, JobOverview
from airflow_provider_flink.deployments.planner import ClusterView
from airflow_provider_flink.deployments.records import (
    DeploymentRecord,
    FailedSpec,
    HistoryEntry,
    Hold,
    SavepointEntry,
    Savepointing,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.deployments.stores import MemoryRecordStore
from airflow_provider_flink.ids import deployment_prefix
from airflow_provider_flink.ui.app import render, render_history
from airflow_provider_flink.ui.status import (
    ACTIONS,
    collect,
    deployment_status,
    history,
    refusal,
    task_log,
)

NOW = 1_000_000.0
RUN = "flink_reconcile/manual__2026-01-01T00:00:00+00:00/reconcile/2"


def spec(**fields: object) -> DeploymentSpec:
    return DeploymentSpec.model_validate(
        {"name": "orders", "artifact": {"jar": "/j.jar"}, "entry_class": "a.B", **fields}
    )


def job(state: str, n: int = 0, name: str = "orders") -> JobOverview:
    return JobOverview.model_validate(
        {"jid": deployment_prefix(name) + f"{n:020x}", "name": "x", "state": state, "start-time": n,
         "tasks": {"running": 2 if state == "RUNNING" else 0, "total": 2}}
    )  # fmt: skip


def view(*jobs: JobOverview) -> ClusterView:
    return ClusterView("flink_default", jobs)


def record(**fields: Any) -> DeploymentRecord:
    return DeploymentRecord(name="orders", cluster="flink_default", **fields)


def test_a_running_deployment_shows_its_job_checkpoint_savepoint_restarts_and_last_action() -> None:
    rec = record(
        applied_hash="ab" * 32,
        savepoints=[SavepointEntry(path="file:/sp/1", taken_at=NOW - 7200, reason="periodic", job_id="j")],
        restarts=[NOW - 60, NOW - 10 * 3600],
        history=[
            HistoryEntry(at=NOW - 900, kind="deploy", ok=True, detail="first deploy", job_id="j0"),
            HistoryEntry(
                at=NOW - 30, kind="savepoint", ok=True, detail="asked from the page", job_id="j", run=RUN
            ),
        ],
    )
    row = deployment_status(
        spec(), rec, view(job("FINISHED", 0), job("RUNNING", 1)), "http://ui/#/job/running/x/overview", NOW,
        checkpoint_at=NOW - 4.04,
    )  # fmt: skip
    assert (row.job_id, row.job_state, row.tasks_running, row.tasks_total) == (
        job("RUNNING", 1).jid,
        "RUNNING",
        2,
        2,
    )
    assert row.applied_hash == "ab" * 6
    assert row.checkpoint_age_s == 4.0
    assert (row.last_savepoint, row.last_savepoint_age_s) == ("file:/sp/1", 7200.0)
    assert row.restarts_in_window == 1  # the window is 60 minutes
    assert row.attention is None
    assert row.last_action is not None
    assert (row.last_action.kind, row.last_action.ok, row.last_action.age_s) == ("savepoint", True, 30.0)
    assert row.last_action.task_log == (
        "dags/flink_reconcile/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00/tasks/reconcile?try_number=2"
    )
    assert (row.held, row.record_status) == (False, "new")


def test_a_checkpoint_from_a_clock_slightly_ahead_is_not_in_the_future() -> None:
    row = deployment_status(spec(), None, view(job("RUNNING")), None, NOW, checkpoint_at=NOW + 0.7)
    assert row.checkpoint_age_s == 0.0
    assert deployment_status(spec(), None, view(job("RUNNING")), None, NOW).checkpoint_age_s is None


def test_what_needs_a_person_is_said_once_per_row() -> None:
    unseen = ClusterView("flink_default", None, "connection refused")
    assert deployment_status(spec(), None, unseen, None, NOW).job_state == "UNKNOWN"  # never FAILED
    assert (
        deployment_status(spec(), None, unseen, None, NOW).attention
        == "cluster flink_default not observed: connection refused"
    )
    failed = record(failed_spec=FailedSpec(spec_hash="h", reason="did not start", failed_at=NOW))
    assert (
        deployment_status(spec(), failed, view(job("RUNNING")), None, NOW).attention
        == "declared spec rolled back: did not start"
    )
    assert deployment_status(spec(), None, view(job("FAILED")), None, NOW).attention == "job FAILED"
    assert deployment_status(spec(), None, view(), None, NOW).attention == "declared running, no job runs"
    assert deployment_status(spec(state="suspended"), None, view(), None, NOW).attention is None
    # Suspended from the page: no job is what a person asked for.
    held = record(hold=Hold(at=NOW - 120, by="flink_reconcile/r/reconcile/1"), status="suspended")
    row = deployment_status(spec(), held, view(job("FINISHED")), None, NOW)
    assert (row.attention, row.held, row.held_age_s, row.suspended) == (None, True, 120.0, True)
    assert deployment_status(spec(), held, view(), None, NOW).attention is None


def test_a_checkpoint_older_than_the_specs_limit_needs_attention() -> None:
    limited = spec(max_checkpoint_age_minutes=5)
    old = deployment_status(limited, None, view(job("RUNNING")), None, NOW, checkpoint_at=NOW - 630)
    assert old.attention == "latest checkpoint 10.5 min old (limit 5 min)"
    fresh = deployment_status(limited, None, view(job("RUNNING")), None, NOW, checkpoint_at=NOW - 200)
    assert fresh.attention is None
    # No checkpoint yet (a job that just started), or no limit: nothing to say.
    assert deployment_status(limited, None, view(job("RUNNING")), None, NOW).attention is None
    unlimited = deployment_status(spec(), None, view(job("RUNNING")), None, NOW, checkpoint_at=NOW - 9999)
    assert unlimited.attention is None


def test_each_action_is_offered_only_where_the_reconcile_would_act_on_it() -> None:
    running = deployment_status(spec(), record(status="running"), view(job("RUNNING")), None, NOW)
    assert {a: refusal(running, a) for a in ACTIONS} == {
        "savepoint": None,
        "suspend": None,
        "resume": "not suspended",
        "retry": "no failed spec: the declared spec was not rolled back",
        "clear-restarts": "no restart counted in the last 60 min: nothing to clear",
        "reconcile": None,
    }
    held = deployment_status(
        spec(), record(status="suspended", hold=Hold(at=NOW)), view(job("FINISHED")), None, NOW
    )
    assert {a: refusal(held, a) for a in ("savepoint", "suspend", "resume")} == {
        "savepoint": "no running job (job state FINISHED)",
        "suspend": "already suspended from the page",
        "resume": None,
    }
    # The reconcile suspended it and has not resumed it yet (no hold): resume may ask it to.
    lagging = deployment_status(spec(), record(status="suspended"), view(), None, NOW)
    assert (refusal(lagging, "resume"), refusal(lagging, "suspend")) == (None, "already suspended")
    # The file says suspended: the page cannot override it.
    declared = deployment_status(spec(state="suspended"), record(status="suspended"), view(), None, NOW)
    assert (refusal(declared, "resume"), refusal(declared, "suspend")) == (
        "declared suspended in its file: set state: running there",
        "declared suspended in its file",
    )
    # A cluster not observed: the reconcile takes no action there (I3), so only "reconcile now".
    unseen = deployment_status(spec(), None, ClusterView("flink_default", None, "refused"), None, NOW)
    assert {a: refusal(unseen, a) for a in ACTIONS} == {
        **dict.fromkeys(
            ("savepoint", "suspend", "resume", "retry", "clear-restarts"),
            "cluster flink_default not observed: the reconcile takes no action on it until it answers",
        ),
        "reconcile": None,
    }
    # A savepoint as the reconcile takes one: of a healthy job, one at a time.
    starting = job("RUNNING").model_copy(update={"tasks": {"running": 1, "total": 2}})
    assert refusal(deployment_status(spec(), None, view(starting), None, NOW), "savepoint") == (
        "job not healthy yet (1/2 tasks running)"
    )
    busy = record(operation=Savepointing(job_id="j", trigger_id="t-1", reason="asked", started_at=NOW))
    assert refusal(deployment_status(spec(), busy, view(job("RUNNING")), None, NOW), "savepoint") == (
        "a savepoint (t-1) is already in progress"
    )
    failed = record(failed_spec=FailedSpec(spec_hash="h", reason="x", failed_at=NOW))
    assert refusal(deployment_status(spec(), failed, view(job("RUNNING")), None, NOW), "retry") is None
    with pytest.raises(ValueError, match="unknown action 'restart'"):
        refusal(running, "restart")


def test_a_task_log_link_is_read_from_the_history_entrys_run() -> None:
    assert task_log("flink_reconcile/scheduled__x/reconcile/1") == (
        "dags/flink_reconcile/runs/scheduled__x/tasks/reconcile?try_number=1"
    )
    assert task_log("d/a/b/t/3") == "dags/d/runs/a%2Fb/tasks/t?try_number=3"  # a "/" in a run id
    for unreadable in (None, "", "flink_reconcile/r/reconcile", "d/r/t/x"):
        assert task_log(unreadable) is None


def test_the_history_is_newest_first_with_savepoints_and_rollbacks() -> None:
    rec = record(
        history=[
            HistoryEntry(at=NOW - 300, kind="upgrade", ok=False, detail="did not become healthy", run=RUN),
            HistoryEntry(at=NOW - 200, kind="rollback", ok=True, detail="back to abc"),
            HistoryEntry(at=NOW - 100, kind="savepoint", ok=True, detail="page"),
        ],
        savepoints=[
            SavepointEntry(path="file:/sp/old", taken_at=NOW - 500, reason="upgrade", job_id="j1"),
            SavepointEntry(path="file:/sp/new", taken_at=NOW - 100, reason="requested", job_id="j2"),
        ],
    )
    past = history(rec, NOW)
    assert [a.kind for a in past.actions] == ["savepoint", "rollback", "upgrade"]
    assert [(a.kind, a.ok) for a in past.rollbacks] == [("rollback", True), ("upgrade", False)]
    assert [(s.path, s.age_s, s.reason) for s in past.savepoints] == [
        ("file:/sp/new", 100.0, "requested"),
        ("file:/sp/old", 500.0, "upgrade"),
    ]
    assert past.held_by is None
    assert history(None, NOW).actions == []


def unreachable(reason: str) -> FlinkUnreachableError:
    return FlinkUnreachableError("GET /x", "http://flink", reason, request_sent=False)


class FakeHook:
    """A cluster's answers, and what the page asked of it."""

    def __init__(
        self,
        jobs: list[JobOverview] | None,
        checkpoints: dict[str, Any],
        parallelism: dict[str, list[int]] | None = None,
    ) -> None:
        self._jobs, self._checkpoints, self._parallelism = jobs, checkpoints, parallelism or {}
        self.approval_required_for = None
        self.asked: list[str] = []
        self.closed = False

    def jobs(self) -> list[JobOverview]:
        self.asked.append("overview")
        if self._jobs is None:
            raise unreachable("connection refused")
        return self._jobs

    def checkpoint_history(self, job_id: str) -> JobCheckpoints | None:
        self.asked.append(job_id)
        answer = self._checkpoints[job_id]
        if isinstance(answer, Exception):
            raise answer
        return JobCheckpoints.model_validate(answer) if answer is not None else None

    def find_job(self, job_id: str) -> JobDetail | None:
        self.asked.append(f"detail {job_id}")
        widths = self._parallelism.get(job_id, [])
        vertices = [{"id": f"v{i}", "parallelism": w} for i, w in enumerate(widths)]
        return JobDetail.model_validate(
            {"jid": job_id, "name": "x", "state": "RUNNING", "vertices": vertices}
        )

    def root_cause(self, job_id: str) -> str | None:
        self.asked.append(f"GET /jobs/{job_id}/exceptions")
        return "java.lang.RuntimeException: boom at 7"

    def job_url(self, job_id: str, ended: bool = False, tab: str = "overview") -> str:
        return f"http://flink/#/job/{'completed' if ended else 'running'}/{job_id}/{tab}"

    def close(self) -> None:
        self.closed = True


def write_specs(folder: Any, *names: str) -> None:
    for name in names:
        (folder / f"{name}.yaml").write_text(f"name: {name}\nartifact: {{jar: /j.jar}}\nentry_class: a.B\n")


def test_collect_asks_one_job_list_per_cluster_and_of_each_newest_job_what_its_row_shows(
    tmp_path: Any,
) -> None:
    write_specs(tmp_path, "orders", "payments", "stopped", "fails", "broken")
    live = job("RUNNING", 1)
    pay = job("RUNNING", 1, "payments")
    failing = job("RESTARTING", 1, "fails")
    failed = job("FAILED", 1, "broken")
    hook = FakeHook(
        [job("FINISHED", 0), live, pay, job("CANCELED", 0, "stopped"), failing, failed],
        {
            live.jid: {"latest": {"completed": {"id": 3, "trigger_timestamp": int((NOW - 12) * 1000)}}},
            pay.jid: unreachable("timed out"),  # shown as "-", never an error page
            failing.jid: {"latest": {"completed": None}},  # none completed yet
        },
        parallelism={live.jid: [2, 4, 1]},
    )
    rows, invalid = collect(tmp_path, MemoryRecordStore(), NOW, hook_for=lambda cluster: hook)
    assert invalid == []
    seen = {r.name: (r.job_state, r.checkpoint_age_s, r.actual_parallelism, r.root_cause) for r in rows}
    assert seen == {
        "broken": ("FAILED", None, None, "java.lang.RuntimeException: boom at 7"),
        "fails": ("RESTARTING", None, None, "java.lang.RuntimeException: boom at 7"),
        "orders": ("RUNNING", 12.0, 4, None),  # the widest task's parallelism
        "payments": ("RUNNING", None, None, None),
        "stopped": ("CANCELED", None, None, None),
    }
    by_name = {r.name: r for r in rows}
    assert by_name["broken"].job is not None
    assert by_name["broken"].job.exceptions_url == f"http://flink/#/job/completed/{failed.jid}/exceptions"
    assert by_name["broken"].flink_url == f"http://flink/#/job/completed/{failed.jid}/overview"
    assert by_name["stopped"].job is not None
    assert by_name["stopped"].job.exceptions_url is not None
    # One job list; of each live newest job its checkpoints and detail; of each failing one its
    # exceptions; nothing of an ended job that did not fail; the hook closed.
    assert hook.asked[0] == "overview"
    assert sorted(hook.asked[1:]) == sorted(
        [
            *(j.jid for j in (live, pay, failing)),
            *(f"detail {j.jid}" for j in (live, pay, failing)),
            *(f"GET /jobs/{j.jid}/exceptions" for j in (failing, failed)),
        ]
    )
    assert hook.closed
    only, _ = collect(tmp_path, MemoryRecordStore(), NOW, only="orders", checkpoints=False,
                      hook_for=lambda cluster: hook)  # fmt: skip
    assert [r.name for r in only] == ["orders"]
    assert only[0].checkpoint_age_s is None
    assert hook.asked[-1] == "overview"  # no checkpoint call when not asked


def test_jobs_of_one_deployment_are_told_apart_by_what_follows_their_shared_prefix() -> None:
    first, second = job("CANCELED", 1), job("RUNNING", 2)
    assert first.jid[:12] == second.jid[:12]  # the deployment's prefix: the same for all its jobs
    row = deployment_status(spec(), None, view(first, second), None, NOW)
    assert row.job is not None
    assert row.job.id == second.jid
    assert row.job.tag == f"{second.jid[12:24]}·{second.jid[24:]}"
    assert row.job.tag != f"{first.jid[12:24]}·{first.jid[24:]}"
    assert row.job.spec == second.jid[12:24]
    assert row.job.started_at == 0.002  # Flink's start time in ms
    assert deployment_status(spec(), None, view(), None, NOW).job is None


def test_a_deployment_at_its_restart_limit_says_so_and_may_be_cleared() -> None:
    restarts = [NOW - 300, NOW - 200, NOW - 100]
    at_limit = deployment_status(
        spec(), record(status="running", restarts=restarts, current_job_id=job("FAILED", 1).jid),
        view(job("FAILED", 1)), None, NOW,
    )  # fmt: skip
    assert (at_limit.restarts_in_window, at_limit.restart_limit, at_limit.restart_limit_reached) == (
        3,
        3,
        True,
    )
    assert at_limit.attention == (
        "job FAILED: restart limit reached (3 restarts in 60 min, limit 3); not restarted until it is cleared"
    )
    assert refusal(at_limit, "clear-restarts") is None
    # The planner's words for why it is not restarted, on the row.
    assert at_limit.why_not_applied == (
        f"job {job('FAILED', 1).jid} FAILED again: 3 restarts in the last 60 min reached the limit of 3"
    )
    below = deployment_status(
        spec(), record(status="running", restarts=restarts[:1]), view(job("FAILED", 1)), None, NOW
    )
    assert (below.restart_limit_reached, below.attention) == (False, "job FAILED")
    assert refusal(below, "clear-restarts") is None  # one restart counted: it may be forgotten
    assert below.why_not_applied is None
    assert below.next_step[0].startswith("deploy orders")
    old = deployment_status(
        spec(), record(status="running", restarts=[NOW - 7200]), view(job("RUNNING", 1)), None, NOW
    )
    assert refusal(old, "clear-restarts") == "no restart counted in the last 60 min: nothing to clear"


def test_a_cluster_that_does_not_answer_costs_no_checkpoint_call(tmp_path: Any) -> None:
    write_specs(tmp_path, "orders")
    hook = FakeHook(None, {})
    rows, _ = collect(tmp_path, MemoryRecordStore(), NOW, hook_for=lambda cluster: hook)
    assert [(r.job_state, r.checkpoint_age_s) for r in rows] == [("UNKNOWN", None)]
    assert hook.asked == ["overview"]


def test_the_page_escapes_what_it_shows_and_offers_each_button_where_it_applies() -> None:
    failed = record(failed_spec=FailedSpec(spec_hash="h", reason="<script>x</script>", failed_at=NOW))
    row = deployment_status(spec(), failed, view(job("RUNNING")), None, NOW)
    page = render([row], ["bad.yaml: name: <b>missing</b>"], "/specs", None, "all")
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "&lt;b&gt;missing&lt;/b&gt;" in page
    assert '<button data-deployment="orders" data-action="retry">retry the failed spec</button>' in page
    assert '<a href="deployments/orders">orders</a>' in page
    one_done = job("RUNNING").model_copy(update={"tasks": {"running": 3, "finished": 1, "total": 4}})
    healthy = deployment_status(spec(), record(status="running"), view(one_done), None, NOW)
    assert healthy.healthy  # a bounded source's subtask that ended is no problem
    page = render([healthy], [], "/specs", None, "running")
    assert "<td>3/4 (1 finished)</td>" in page
    assert 'data-action="retry"' not in page
    assert 'data-action="resume"' not in page
    assert '<button data-deployment="orders" data-action="savepoint">savepoint now</button>' in page
    assert '<button data-deployment="orders" data-action="suspend">suspend</button>' in page
    assert '<option value="running" selected>job running</option>' in page
    assert "no deployment matches" in render([], [], "/specs", "flink_other", "attention")


def test_a_held_or_declared_suspended_row_offers_resume_and_says_why_not() -> None:
    held = deployment_status(
        spec(), record(status="suspended", hold=Hold(at=NOW - 60)), view(job("FINISHED")), None, NOW
    )
    page = render([held], [], "/specs", None, "suspended")
    assert '<button data-deployment="orders" data-action="resume">resume</button>' in page
    assert 'data-action="suspend"' not in page
    assert "suspended from the page 1.0 min ago" in page
    assert (
        '<button data-deployment="orders" data-action="savepoint" disabled '
        'title="no running job (job state FINISHED)">savepoint now</button>'
    ) in page
    declared = deployment_status(spec(state="suspended"), record(status="suspended"), view(), None, NOW)
    assert (
        '<button data-deployment="orders" data-action="resume" disabled '
        'title="declared suspended in its file: set state: running there">resume</button>'
    ) in render([declared], [], "/specs", None, "all")


def test_the_last_action_and_the_history_link_to_the_task_log() -> None:
    rec = record(
        history=[HistoryEntry(at=NOW - 5, kind="savepoint", ok=False, detail="<timed out>", run=RUN)],
        savepoints=[SavepointEntry(path="file:/sp/1", taken_at=NOW - 8, reason="requested", job_id="j")],
        hold=Hold(at=NOW - 3, by="flink_reconcile/r/reconcile/1"),
        operation=Savepointing(job_id="j", trigger_id="t-7", reason="asked", started_at=NOW),
    )
    row = deployment_status(spec(), rec, view(job("RUNNING")), None, NOW)
    log = "dags/flink_reconcile/runs/manual__2026-01-01T00%3A00%3A00%2B00%3A00/tasks/reconcile?try_number=2"
    page = render([row], [], "/specs", None, "all")
    assert f'<a href="../{log}" target="_top">task log</a>' in page
    assert (
        '<span class="failed" title="1970-01-12 13:46:35 UTC: &lt;timed out&gt;">savepoint failed</span> 5 s ago'
        in page
    )
    view_page = render_history(row, history(rec, NOW))
    assert f'<a href="../../{log}" target="_top">task log</a>' in view_page  # one level deeper
    assert "<td>savepoint</td><td>failed</td><td>&lt;timed out&gt;</td>" in view_page
    assert "<td>8 s ago</td><td>requested</td>" in view_page
    assert "Suspended from the page 3 s ago (recorded by flink_reconcile/r/reconcile/1)" in view_page
    assert "A savepoint is in progress (Flink trigger t-7)." in view_page
    assert "no rollback" in view_page


def test_a_page_of_many_deployments_asks_checkpoints_only_where_the_spec_limits_their_age(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked of every live job, 10,000 deployments cost 10,000 calls per page view (about 15 s)."""
    from airflow_provider_flink.ui import status

    monkeypatch.setattr(status, "CHECKPOINT_ROWS", 2)
    write_specs(tmp_path, "orders", "payments")
    (tmp_path / "limited.yaml").write_text(
        "name: limited\nartifact: {jar: /j.jar}\nentry_class: a.B\nmax_checkpoint_age_minutes: 1\n"
    )
    jobs = [job("RUNNING", 1), job("RUNNING", 1, "payments"), job("RUNNING", 1, "limited")]
    stale = {"latest": {"completed": {"id": 3, "trigger_timestamp": int((NOW - 120) * 1000)}}}
    hook = FakeHook(jobs, {jobs[2].jid: stale})
    rows, _ = collect(tmp_path, MemoryRecordStore(), NOW, hook_for=lambda cluster: hook)
    assert hook.asked == ["overview", jobs[2].jid]
    by_name = {r.name: r for r in rows}
    assert by_name["limited"].attention == "latest checkpoint 2.0 min old (limit 1 min)"
    assert by_name["orders"].checkpoint_age_s is None
