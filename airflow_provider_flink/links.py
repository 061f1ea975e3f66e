"""The "Flink Job" extra link: the job's page in the Flink web UI.

Operators push the URL into XCom under this link's key as soon as the job id is known, before
waiting, so the button works while the task is still running or deferred. ``get_link`` only reads
that XCom value: no network call from the UI.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperatorLink


class FlinkJobLink(BaseOperatorLink):
    name = "Flink Job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        value = XCom.get_value(ti_key=ti_key, key=self.xcom_key)
        return str(value) if value else ""

    def persist(self, context: Any, url: str) -> None:
        context["ti"].xcom_push(key=self.xcom_key, value=url)
