"""``FlinkHook``: an Airflow connection of type ``flink`` -> a configured Flink REST client."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import weakref
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_flink.client import (
    AsyncFlinkClient,
    ClientSettings,
    FlinkApiError,
    FlinkClient,
    FlinkError,
    RetryPolicy,
    calls,
    models,
)
from airflow_provider_flink.client.calls import Call
from airflow_provider_flink.hooks.connection import (
    CONN_TYPE,
    FlinkConnectionError,
    settings_from_connection,
    web_ui_url,
)

T = TypeVar("T")


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks (jars can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def mask_value(secret: Any) -> None:
    if not secret:
        return
    from airflow.sdk.log import mask_secret

    mask_secret(secret)


class FlinkHook(BaseHook):
    """Talk to one Flink cluster through its REST API.

    :param flink_conn_id: the Airflow connection (type ``flink``), default ``flink_default``.
    :param retry: retry policy for safe-to-repeat calls (defaults to 4 attempts with backoff).

    Client certificate and key given as PEM text in the connection are written to private
    (0600) files that exist only while the hook's client does: :meth:`close` (or garbage
    collection of the hook) removes them.
    """

    conn_name_attr = "flink_conn_id"
    default_conn_name = "flink_default"
    conn_type = CONN_TYPE
    hook_name = "Apache Flink"

    def __init__(self, flink_conn_id: str = default_conn_name, retry: RetryPolicy | None = None) -> None:
        super().__init__()
        self.flink_conn_id = flink_conn_id
        self.retry = retry
        self._secret_dir: Path | None = None
        self._cleanup: weakref.finalize[Any, Any] | None = None
        self._client: FlinkClient | None = None
        self._flink_version: str | None = None

    # ---------------------------------------------------------------- settings
    @cached_property
    def connection(self) -> Any:
        return self.get_connection(self.flink_conn_id)

    def _settings(self, conn: Any) -> ClientSettings:
        if self._secret_dir is None:
            self._secret_dir = Path(tempfile.mkdtemp(prefix="flink-conn-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._secret_dir, True)
        return settings_from_connection(conn, self._secret_dir, mask_value, self.retry)

    @property
    def web_ui_url(self) -> str:
        return web_ui_url(self.connection)

    def job_url(self, job_id: str) -> str:
        """Link to the job's page in the Flink web UI."""
        return f"{self.web_ui_url}/#/job/running/{job_id}/overview"

    # ---------------------------------------------------------------- clients
    def get_conn(self) -> FlinkClient:
        if self._client is None:
            self._client = FlinkClient(self._settings(self.connection))
        return self._client

    def call(self, call: Call[T]) -> T:
        """Send one REST call (see :mod:`airflow_provider_flink.client.calls`)."""
        return self.get_conn().call(call)

    async def aget_conn(self) -> AsyncFlinkClient:
        """An async client for triggers; the caller closes it (``async with``)."""
        conn = await self.aget_connection(self.flink_conn_id)
        return AsyncFlinkClient(self._settings(conn))

    def flink_version(self) -> str:
        """The cluster's Flink version, asked once per hook."""
        if self._flink_version is None:
            self._flink_version = self.call(calls.overview()).flink_version
        return self._flink_version

    # ---------------------------------------------------------------- job-level operations
    def find_job(self, job_id: str) -> models.JobDetail | None:
        """The job's detail, or None when Flink does not know the id (404)."""
        try:
            return self.call(calls.job(job_id))
        except FlinkApiError as err:
            if err.is_not_found:
                return None
            raise

    def upload_jar(self, path: Path, digest: str | None = None, display_name: str | None = None) -> str:
        """Upload ``path`` unless the cluster already holds a jar with the same content; return its id.

        The upload is named ``<stem>.sha256-<digest>.jar`` (stem of ``display_name``, else of the
        file), so one ``GET /jars`` tells whether this exact content is there: an unchanged jar is
        never uploaded twice.
        """
        stem = Path(display_name.split("?")[0].rstrip("/")).stem if display_name else path.stem
        name = f"{stem}.sha256-{digest or sha256_of(path)}.jar"
        for jar in self.call(calls.list_jars()).files:
            if jar.name == name:
                self.log.info("Jar %s is already on the cluster as %s: not uploading it again", path, jar.id)
                return jar.id
        jar_id = self.call(calls.upload_jar(path, name)).jar_id
        self.log.info("Uploaded %s as %s", path, jar_id)
        return jar_id

    def submit_job(self, jar_id: str, request: models.JarRunRequest) -> bool:
        """Run the jar with the request's (caller-chosen) job id; True when Flink already had it.

        "Already submitted" is Flink refusing a duplicate id: the job exists, from an earlier
        attempt whose answer was lost, and is adopted instead of started twice (invariant I1).
        """
        # The version only decides the claim-mode field's name: don't ask for it when there is none.
        version = self.flink_version() if request.claim_mode else None
        try:
            self.call(calls.run_jar(jar_id, request, version))
        except FlinkApiError as err:
            if err.is_duplicate_submission and request.job_id:
                self.log.info(
                    "Flink already has job %s: adopting it instead of submitting again", request.job_id
                )
                return True
            raise
        return False

    def test_connection(self) -> tuple[bool, str]:
        """Reach the cluster and report its version and capacity (the UI's "Test" button)."""
        try:
            info = self.call(calls.overview())
        except (FlinkError, FlinkConnectionError) as err:
            return False, str(err)
        finally:
            self.close()
        return True, (
            f"Connected to Flink {info.flink_version}: {info.taskmanagers} task manager(s), "
            f"{info.slots_available}/{info.slots_total} slots free, {info.jobs_running} job(s) running"
        )

    def close(self) -> None:
        """Close the HTTP session and delete the private certificate/key files."""
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cleanup is not None:
            self._cleanup()
        self._secret_dir = self._cleanup = None
