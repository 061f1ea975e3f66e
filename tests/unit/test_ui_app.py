"""The Flink page's app (``ui.app.create_app``) over a fake source: routes, filters, the actions'
checks and the conf each one starts a run with. Airflow's auth is replaced here by a no-op; it is
tested for real against the api-server in tests/integration/test_real_components.py."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient

from airflow_provider_flink.client.models import JobOverview
from airflow_provider_flink.deployments.planner import ClusterView
from airflow_provider_flink.deployments.records import DeploymentRecord, HistoryEntry, Hold, SavepointEntry
from airflow_provider_flink.deployments.samples import Sample
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.ids import deployment_prefix
from airflow_provider_flink.ui.app import action_conf, create_app
from airflow_provider_flink.ui.status import DeploymentStatus, deployment_status

PAGE = {"X-Requested-With": "flink-page"}


def job(name: str, state: str) -> JobOverview:
    return JobOverview.model_validate(
        {"jid": deployment_prefix(name) + "0" * 20, "name": name, "state": state, "start-time": 1,
         "tasks": {"running": 1 if state == "RUNNING" else 0, "total": 1}}
    )  # fmt: skip


class FakeSource:
    """Three deployments on two clusters: orders runs, audit is held (suspended from the page),
    billing's cluster does not answer. Records what it was asked and which runs it started."""

    def __init__(self) -> None:
        now = time.time()
        self.records = {
            "orders": DeploymentRecord(
                name="orders", cluster="flink_a", status="running",
                history=[HistoryEntry(at=now - 60, kind="deploy", ok=True, detail="first deploy",
                                      run="flink_reconcile/scheduled__1/reconcile/1")],
                savepoints=[SavepointEntry(path="file:/sp/9", taken_at=now - 30, reason="requested", job_id="j")],
            ),
            "audit": DeploymentRecord(name="audit", cluster="flink_a", status="suspended", hold=Hold(at=now)),
        }  # fmt: skip
        self.triggered: list[dict[str, Any]] = []
        self.asked: list[tuple[str | None, bool]] = []
        self.paused = False
        self.may_not: str | None = None  # why the person asking may not act (None: they may)
        self.kept: list[Sample] | None = []  # None: a store that keeps no samples
        self.samples_asked: list[tuple[str, str, float]] = []
        self.every, self.retention = 60.0, 24.0

    def _rows(self) -> list[DeploymentStatus]:
        seen = ClusterView("flink_a", (job("orders", "RUNNING"), job("audit", "FINISHED")))
        unseen = ClusterView("flink_b", None, "connection refused")
        specs = [("orders", "flink_a", seen), ("audit", "flink_a", seen), ("billing", "flink_b", unseen)]
        return [
            deployment_status(
                DeploymentSpec.model_validate(
                    {"name": n, "cluster": c, "artifact": {"jar": "/j.jar"}, "entry_class": "a.B"}
                ),
                self.records.get(n),
                v,
                None,
                time.time(),
            )
            for n, c, v in specs
        ]

    def rows(
        self, only: str | None = None, checkpoints: bool = True
    ) -> tuple[list[DeploymentStatus], list[str], str]:
        self.asked.append((only, checkpoints))
        return [r for r in self._rows() if only is None or r.name == only], ["bad.yaml: x"], "/specs"

    def record(self, cluster: str, name: str) -> DeploymentRecord | None:
        return self.records.get(name)

    def trigger(self, conf: dict[str, Any]) -> str:
        self.triggered.append(conf)
        return f"manual__{len(self.triggered)}"

    def reconcile_paused(self) -> bool:
        return self.paused

    def samples(self, cluster: str, name: str, since: float) -> list[Sample] | None:
        self.samples_asked.append((cluster, name, since))
        return None if self.kept is None else [s for s in self.kept if s.at > since]

    def sampling(self) -> tuple[float, float]:
        return self.every, self.retention

    def cluster_of(self, name: str) -> str | None:
        return {"orders": "flink_a", "audit": "flink_a", "billing": "flink_b"}.get(name)


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


@pytest.fixture
def client(source: FakeSource) -> TestClient:
    return TestClient(
        create_app(
            source,
            access=lambda method: Depends(lambda: None),
            person=lambda: Depends(lambda: source.may_not),
        )
    )


@pytest.mark.parametrize(
    ("name", "action", "conf"),
    [
        ("orders", "savepoint", {"deployments": "orders", "savepoint_now": "orders"}),
        ("orders", "suspend", {"deployments": "orders", "suspend": "orders"}),
        ("audit", "resume", {"deployments": "audit", "resume": "audit"}),
        ("orders", "reconcile", {"deployments": "orders"}),
        ("billing", "reconcile", {"deployments": "billing"}),
    ],
)
def test_an_action_that_applies_starts_one_run_with_its_conf(
    client: TestClient, source: FakeSource, name: str, action: str, conf: dict[str, str]
) -> None:
    answer = client.post(f"/api/deployments/{name}/{action}", headers=PAGE)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"dag_id": "flink_reconcile", "dag_run_id": "manual__1", "conf": conf}
    assert source.triggered == [conf]
    assert source.asked == [(name, False)]  # one deployment's job list judges it, no checkpoint calls


def test_the_retry_and_clear_confs_name_the_deployment() -> None:
    assert action_conf("orders", "retry") == {"deployments": "orders", "retry_failed": "orders"}
    assert action_conf("orders", "clear-restarts") == {"deployments": "orders", "clear_restarts": "orders"}


@pytest.mark.parametrize(
    ("name", "action", "detail"),
    [
        ("audit", "savepoint", "savepoint now not started for audit: no running job (job state FINISHED)"),
        ("audit", "suspend", "suspend not started for audit: already suspended from the page"),
        ("orders", "resume", "resume not started for orders: not suspended"),
        ("orders", "retry", "retry the failed spec not started for orders: no failed spec: the declared spec was not rolled back"),
        ("billing", "savepoint", "savepoint now not started for billing: cluster flink_b not observed: the reconcile takes no action on it until it answers"),
        ("orders", "clear-restarts", "clear the restart limit not started for orders: no restart counted in the last 60 min: nothing to clear"),
    ],
)  # fmt: skip
def test_an_action_that_cannot_apply_is_refused_with_its_reason_and_starts_nothing(
    client: TestClient, source: FakeSource, name: str, action: str, detail: str
) -> None:
    answer = client.post(f"/api/deployments/{name}/{action}", headers=PAGE)
    assert (answer.status_code, answer.json()) == (409, {"detail": detail})
    assert source.triggered == []


def test_a_bad_request_starts_nothing(client: TestClient, source: FakeSource) -> None:
    bare = client.post("/api/deployments/orders/savepoint")
    assert (bare.status_code, bare.json()["detail"]) == (
        400,
        "missing X-Requested-With: actions are started from the Flink page",
    )
    unknown = client.post("/api/deployments/orders/restart", headers=PAGE)
    assert (unknown.status_code, unknown.json()["detail"]) == (
        404,
        "unknown action 'restart': one of clear-restarts, reconcile, resume, retry, savepoint, suspend",
    )
    missing = client.post("/api/deployments/nope/savepoint", headers=PAGE)
    assert (missing.status_code, missing.json()["detail"]) == (404, "no declared deployment 'nope'")
    assert source.triggered == []


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", ["orders", "audit", "billing"]),
        ("?status=running", ["orders"]),
        ("?status=not-running", ["audit", "billing"]),
        ("?status=suspended", ["audit"]),
        ("?status=attention", ["billing"]),
        ("?attention=true", ["billing"]),  # the first version's filter still works
        ("?cluster=flink_a", ["orders", "audit"]),
        ("?cluster=flink_a&status=suspended", ["audit"]),
    ],
)
def test_the_list_filters_by_cluster_and_status(client: TestClient, query: str, names: list[str]) -> None:
    answer = client.get(f"/api/deployments{query}")
    assert answer.status_code == 200
    assert [r["name"] for r in answer.json()["deployments"]] == names
    page = client.get(f"/{query}")
    assert page.status_code == 200
    assert [n for n in ("orders", "audit", "billing") if f'data-deployment="{n}">' in page.text] == names


def test_an_unknown_status_filter_is_a_bad_request(client: TestClient) -> None:
    assert client.get("/api/deployments?status=broken").status_code == 422


def test_the_json_says_what_each_action_would_do(client: TestClient) -> None:
    [audit] = [r for r in client.get("/api/deployments").json()["deployments"] if r["name"] == "audit"]
    assert audit["held"] is True
    assert audit["actions"] == {
        "savepoint": "no running job (job state FINISHED)",
        "suspend": "already suspended from the page",
        "resume": None,
        "retry": "no failed spec: the declared spec was not rolled back",
        "clear-restarts": "no restart counted in the last 60 min: nothing to clear",
        "reconcile": None,
    }


def test_the_json_says_who_may_act_and_whether_a_run_will_apply_anything(
    client: TestClient, source: FakeSource
) -> None:
    body = client.get("/api/deployments").json()
    assert body["person"] == {"may_act": True, "why": None}
    assert body["reconcile"] == {"dag_id": "flink_reconcile", "paused": False}
    assert body["action_labels"]["clear-restarts"] == "clear the restart limit"
    source.may_not, source.paused = "viewer may not start runs of flink_reconcile", True
    body = client.get("/api/deployments").json()
    assert body["person"] == {"may_act": False, "why": "viewer may not start runs of flink_reconcile"}
    assert body["reconcile"]["paused"] is True
    # A viewer's buttons: every action refused with the reason, "reconcile now" too.
    for row in body["deployments"]:
        assert set(row["actions"].values()) == {"viewer may not start runs of flink_reconcile"}
    one = client.get("/api/deployments/orders").json()
    assert one["person"]["may_act"] is False
    assert set(one["deployment"]["actions"].values()) == {"viewer may not start runs of flink_reconcile"}


def test_a_deployments_history_as_a_page_and_as_json(client: TestClient, source: FakeSource) -> None:
    answer = client.get("/api/deployments/orders")
    assert answer.status_code == 200
    body = answer.json()
    assert body["deployment"]["name"] == "orders"
    assert [(a["kind"], a["ok"], a["task_log"]) for a in body["history"]["actions"]] == [
        ("deploy", True, "dags/flink_reconcile/runs/scheduled__1/tasks/reconcile?try_number=1")
    ]
    assert [s["path"] for s in body["history"]["savepoints"]] == ["file:/sp/9"]
    page = client.get("/deployments/orders")
    assert page.status_code == 200
    assert "<h1>Flink deployment orders</h1>" in page.text
    assert '<body data-api="../api/" data-root="../../">' in page.text  # one level below the list
    assert "<td>deploy</td><td>ok</td><td>first deploy</td>" in page.text
    assert "<td>file:/sp/9</td>" not in page.text  # paths are code
    assert "<code>file:/sp/9</code>" in page.text
    assert client.get("/deployments/nope").status_code == 404
    assert client.get("/api/deployments/nope").json() == {"detail": "no declared deployment 'nope'"}
    assert source.triggered == []


# ------------------------------------------------------------------------------------ charts
def test_charts_read_the_window_of_samples_and_count_the_reconciles_restarts(
    client: TestClient, source: FakeSource
) -> None:
    now = time.time()
    source.kept = [
        Sample(at=now - 7200, seconds=60, up_s=60),  # outside a 1-hour window
        Sample(at=now - 120, seconds=60, up_s=60, records_in_per_s=10.0),
        Sample(at=now - 60, seconds=60, up_s=15, down_s=45, restarts=1),
    ]
    record = source.records["orders"]
    source.records["orders"] = record.model_copy(
        update={
            "history": [
                *record.history,
                HistoryEntry(at=now - 90, kind="restart", ok=True, detail="restarted"),
            ]
        }
    )
    answer = client.get("/api/deployments/orders/charts", params={"hours": 1})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["deployment"], body["cluster"], body["hours"], body["every_s"], body["kept"]) == (
        "orders", "flink_a", 1.0, 60.0, True,
    )  # fmt: skip
    assert "why" not in body
    assert source.asked == []  # no job list asked of Flink: the spec names the cluster
    assert source.samples_asked[0][:2] == ("flink_a", "orders")
    assert source.samples_asked[0][2] == pytest.approx(now - 3600, abs=5)
    assert [p["records_in_per_s"] for p in body["points"]] == [10.0, None]
    assert [p["provider_restarts"] for p in body["points"]] == [0, 1]
    assert body["totals"]["uptime"] == 0.625
    assert (body["totals"]["flink_restarts"], body["totals"]["provider_restarts"]) == (1, 1)


def test_charts_say_why_they_are_empty(client: TestClient, source: FakeSource) -> None:
    source.kept = None
    body = client.get("/api/deployments/orders/charts").json()
    assert (body["kept"], body["hours"], body["points"]) == (False, 6.0, [])
    assert body["why"] == (
        "no samples are kept: the record store is Airflow Variables; set [flink] record_store_conn_id "
        "(docs/records.md) and the job watcher keeps samples in its tables"
    )
    source.kept = []
    source.retention = 2.0
    body = client.get("/api/deployments/orders/charts", params={"hours": 12}).json()
    assert body["hours"] == 2.0  # nothing older is kept
    assert body["why"] == (
        "no samples in the last 2 h: the job watcher (the flink_reconcile DAG's asset watcher, in the "
        "triggerer) takes one per deployment every 60 s while a triggerer runs"
    )
    source.every = 0.0
    body = client.get("/api/deployments/orders/charts").json()
    assert body["why"] == "no samples are taken: [flink] sample_interval_seconds is 0"


@pytest.mark.parametrize("hours", ["0", "-1", "x", "10000"])
def test_charts_refuse_a_window_that_is_not_a_number_of_hours(
    client: TestClient, source: FakeSource, hours: str
) -> None:
    answer = client.get("/api/deployments/orders/charts", params={"hours": hours})
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "hours"]
    assert source.samples_asked == []


def test_charts_of_an_undeclared_deployment_are_not_found(client: TestClient, source: FakeSource) -> None:
    answer = client.get("/api/deployments/nope/charts")
    assert (answer.status_code, answer.json()) == (404, {"detail": "no declared deployment 'nope'"})
    assert source.samples_asked == []
