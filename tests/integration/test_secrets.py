"""No secret used by a DAG run ever shows up in its logs, XCom values or rendered fields (I5).

The DAG talks to Flink through nginx with basic auth, a bearer token, and a connection carrying a
client certificate and key; one task is refused on purpose so an error path is logged too. Then
everything the run left behind is searched for each secret and its derived forms.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any

import pytest

from harness.auth_proxy import AuthProxy
from harness.tls import TestCA
from tests.integration.conftest import Cluster, run_dag

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize("deferrable", [False, True], ids=["wait", "defer"]),
]


def _rendered_and_xcom(dag_id: str) -> list[str]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    texts: list[str] = []
    with create_session() as session:
        for row in session.query(XComModel).filter(XComModel.dag_id == dag_id):
            texts.append(json.dumps(XComModel.deserialize_value(row), default=str))
        for rtif in session.query(RenderedTaskInstanceFields).filter(
            RenderedTaskInstanceFields.dag_id == dag_id
        ):
            texts.append(json.dumps(rtif.rendered_fields, default=str))
    return texts


def test_no_secret_in_logs_xcom_or_rendered_fields(
    airflow: Cluster,
    auth_proxy: AuthProxy,
    deferrable: bool,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    client = TestCA().issue("airflow-worker")
    basic = {
        "conn_type": "flink",
        "host": auth_proxy.basic_url,
        "login": auth_proxy.user,
        "password": auth_proxy.password,
        "extra": {"client_cert": client.cert_pem, "client_private_key": client.key_pem},
    }
    monkeypatch.setenv("AIRFLOW_CONN_FLINK_SECURED", json.dumps(basic))
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_BEARER",
        json.dumps(
            {"conn_type": "flink", "host": auth_proxy.bearer_url, "extra": {"bearer_token": auth_proxy.token}}
        ),
    )
    wrong = secrets.token_urlsafe(20)
    monkeypatch.setenv(
        "AIRFLOW_CONN_FLINK_WRONG_TOKEN",
        json.dumps({"conn_type": "flink", "host": auth_proxy.bearer_url, "extra": {"bearer_token": wrong}}),
    )

    result = run_dag("test_secrets_in_play", deferrable=deferrable)
    assert result.tasks == {
        "healthy": "success",
        "deploy": "success",
        "savepoint": "success",
        "stop": "success",
        "denied": "failed",
    }

    captured = capfd.readouterr()
    haystack: list[Any] = [captured.out, captured.err, *_rendered_and_xcom("test_secrets_in_play")]
    logs = Path(airflow_home()) / "logs"
    if logs.exists():
        haystack += [p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file()]
    text = "\n".join(haystack)
    assert "401" in text  # the refused task's error is in there, so error paths were searched too
    # The refused deploy failed before its job id was known: no "[error] XCom not found" for its
    # empty "Flink Job" link under the real error.
    assert "_link_FlinkJobLink" not in text
    key_body = "".join(client.key_pem.strip().splitlines()[1:-1])
    needles = {
        "password": auth_proxy.password,
        "basic header": base64.b64encode(f"{auth_proxy.user}:{auth_proxy.password}".encode()).decode(),
        "bearer token": auth_proxy.token,
        "wrong bearer token": wrong,
        "client key": key_body[:40],
    }
    leaked = [name for name, secret in needles.items() if secret in text]
    assert leaked == [], f"secrets found in logs/XCom/rendered fields: {leaked}"


def airflow_home() -> str:
    import os

    return os.environ["AIRFLOW_HOME"]
