"""``FlinkHook``: an Airflow connection of type ``flink`` -> a configured Flink REST client, and
every Flink verb the operators, triggers and the reconcile executor use.

Nothing above this layer builds a :mod:`~airflow_provider_flink.client.calls` request that changes
the cluster: submit, cancel, stop, savepoint, dispose and delete-jar are methods here, so their
safety rules (a caller-chosen job id adopted on Flink's duplicate answer, a cancel of an ended job
being no error) are written once. The async verbs the triggers need are on
:class:`~airflow_provider_flink.hooks.verbs.AsyncFlinkVerbs`, opened with :meth:`FlinkHook.async_verbs`.
"""

from __future__ import annotations

import shutil
import tempfile
import time
import weakref
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

from airflow.sdk import BaseHook

from airflow_provider_flink import ids
from airflow_provider_flink.client import (
    AsyncFlinkClient,
    ClientSettings,
    FlinkApiError,
    FlinkClient,
    FlinkError,
    FlinkOutcomeUnknownError,
    FlinkUnreachableError,
    RetryPolicy,
    calls,
    models,
)
from airflow_provider_flink.client.calls import Call
from airflow_provider_flink.client.errors import FlinkApplicationFailedError
from airflow_provider_flink.client.resilience import CircuitBreaker
from airflow_provider_flink.exceptions import (
    AirflowNotFoundException,
    FlinkConnectionError,
    RescaleNotPossibleError,
)
from airflow_provider_flink.hooks.applications import ApplicationRoute, FlinkApplicationCancelledError
from airflow_provider_flink.hooks.connection import (
    CONN_TYPE,
    settings_from_connection,
    stored_connection,
    web_ui_url,
)
from airflow_provider_flink.hooks.credentials import mask_value
from airflow_provider_flink.hooks.limits import ClusterLimits
from airflow_provider_flink.hooks.rescale import (
    RescaleSupport,
    cluster_scheduler,
    job_scheduler,
    judge_rescale,
    refusal_from_flink,
)
from airflow_provider_flink.hooks.verbs import (
    AsyncFlinkVerbs,
    KillAction,
    kill_call,
    raise_unless_not_found,
    upload_name,
)

T = TypeVar("T")
SubmitRoute = Literal["auto", "jar"]
# Applications of one job whose main failed (or that were cancelled first) before the submission
# gives up: each is a run of the program that started nothing.
APPLICATION_ATTEMPTS = 20


def job_page(ui: str, job_id: str, ended: bool, tab: str) -> str:
    """A job's page in the Flink web UI at ``ui``; the UI lists an ``ended`` job under "completed"."""
    return f"{ui}/#/job/{'completed' if ended else 'running'}/{job_id}/{tab}"


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
    # How long a request whose answer was lost is settled by asking Flink about the id the caller
    # chose for it (a /run that takes 30 s still registers its job within this), and how often.
    settle_seconds = 60.0
    settle_interval = 2.0

    def __init__(self, flink_conn_id: str = default_conn_name, retry: RetryPolicy | None = None) -> None:
        super().__init__()
        self.flink_conn_id = flink_conn_id
        self.retry = retry
        self._secret_dir: Path | None = None
        self._cleanup: weakref.finalize[Any, Any] | None = None
        self._client: FlinkClient | None = None
        self._flink_version: str | None = None
        self._has_applications: bool | None = None

    # ---------------------------------------------------------------- settings
    @classmethod
    def get_connection(cls, conn_id: str) -> Any:
        """The connection, as a task sees it; in a script (no task around it), also one stored in
        the metadata DB, as Airflow's own CLI finds it.

        The Task SDK's lookup outside a task reads environment variables and external secrets
        backends only, so ``reconcile(...)`` or ``test_connection()`` in a script said "isn't
        defined" of a connection added with ``airflow connections add``. Inside a task (or a
        triggerer) the SDK's answer stands: a task never reads the metadata DB itself."""
        try:
            return super().get_connection(conn_id)
        except AirflowNotFoundException:
            stored = stored_connection(conn_id)
            if stored is None:
                raise
            return stored

    @cached_property
    def connection(self) -> Any:
        return self.get_connection(self.flink_conn_id)

    def _settings(self, conn: Any) -> ClientSettings:
        return settings_from_connection(conn, self._private_dir, mask_value, self.retry)

    def _private_dir(self) -> Path:
        """The 0700 directory for PEM texts from the connection, made only when one is written.

        Made on every hook before, it was left behind by every task: Airflow's task processes end
        with ``os._exit``, which skips the finalizer (436 empty ``flink-conn-*`` directories in
        /tmp after a day of tests). Connections without PEM texts now leave nothing.
        """
        if self._secret_dir is None:
            self._secret_dir = Path(tempfile.mkdtemp(prefix="flink-conn-"))
            self._cleanup = weakref.finalize(self, shutil.rmtree, self._secret_dir, True)
        return self._secret_dir

    @property
    def web_ui_url(self) -> str:
        return web_ui_url(self.connection)

    @property
    def approval_required_for(self) -> Any:
        """The connection's extra ``approval_required_for`` as stored (the risks every deployment
        of this cluster wants approved; deployments/approvals.py reads and checks it)."""
        return self.connection.extra_dejson.get("approval_required_for")

    def job_url(self, job_id: str, ended: bool = False, tab: str = "overview") -> str:
        """Link to the job's page in the Flink web UI (``tab``: overview, exceptions, checkpoints,
        ...); the UI lists an ``ended`` job under "completed"."""
        return job_page(self.web_ui_url, job_id, ended, tab)

    # ---------------------------------------------------------------- clients
    def get_conn(self) -> FlinkClient:
        if self._client is None:
            self._client = FlinkClient(self._settings(self.connection))
        return self._client

    def call(self, call: Call[T]) -> T:
        """Send one REST call (see :mod:`airflow_provider_flink.client.calls`): for reads the verbs
        below do not cover. Changes to the cluster go through the verbs."""
        return self.get_conn().call(call)

    async def ajob_url(self, job_id: str, ended: bool = False, tab: str = "overview") -> str:
        """:meth:`job_url` for a trigger: the connection looked up on the event loop (a sync lookup
        from a thread competes with the triggerer's async ones for its channel to the supervisor)."""
        return job_page(web_ui_url(await self._aconnection()), job_id, ended, tab)

    async def aget_conn(self) -> AsyncFlinkClient:
        """An async client for triggers; the caller closes it (``async with``)."""
        return AsyncFlinkClient(self._settings(await self._aconnection()))

    async def _aconnection(self) -> Any:
        try:
            conn = await self.aget_connection(self.flink_conn_id)
        except AirflowNotFoundException as missing:
            # `airflow dags test` / `airflow tasks test` run a task under an in-process supervisor
            # that answers only the sync lookup: a connection stored in the metadata DB "isn't
            # defined" on the async path there, so a wait the task runs in-line (not deferred)
            # failed at once. The triggerer and real workers answer both; there the sync lookup
            # fails too for a connection that truly is not defined: the user sees the first error.
            try:
                conn = self.get_connection(self.flink_conn_id)
            except Exception:
                raise missing from None
        return conn

    @asynccontextmanager
    async def async_verbs(self) -> AsyncIterator[AsyncFlinkVerbs]:
        """The async verbs over one client, closed at the end of the ``async with``."""
        async with await self.aget_conn() as client:
            yield AsyncFlinkVerbs(client, self.log)

    # ---------------------------------------------------------------- reads
    def overview(self) -> models.ClusterOverview:
        return self.call(calls.overview())

    def flink_version(self) -> str:
        """The cluster's Flink version, asked once per hook."""
        if self._flink_version is None:
            self._flink_version = self.overview().flink_version
        return self._flink_version

    def jobs(self) -> list[models.JobOverview]:
        """Every job the cluster knows (``GET /jobs/overview``): one call, whatever their number."""
        return self.call(calls.jobs_overview()).jobs

    def find_job(self, job_id: str) -> models.JobDetail | None:
        """The job's detail, or None when Flink does not know the id (404)."""
        try:
            return self.call(calls.job(job_id))
        except FlinkApiError as err:
            raise_unless_not_found(err)
            return None

    def job_parameters(self, job_id: str) -> dict[str, str]:
        """The job's global job parameters (where ``airflow.*`` keys say what started it)."""
        found = self.call(calls.job_config(job_id)).execution_config.user_config
        return {str(key): str(value) for key, value in found.items()}

    def root_cause(self, job_id: str) -> str | None:
        """The job's latest failure as one line (its exception history), or None: it never failed."""
        return self.call(calls.job_exceptions(job_id)).root_cause()

    def latest_checkpoint(self, job_id: str) -> models.CheckpointInfo | None:
        """The job's latest completed checkpoint, if any."""
        return self.call(calls.job_checkpoints(job_id)).latest.completed

    def checkpoint_history(self, job_id: str) -> models.JobCheckpoints | None:
        """The job's checkpoint history (latest completed checkpoint and savepoint, what it was
        restored from), or None when Flink does not know the job (404)."""
        try:
            return self.call(calls.job_checkpoints(job_id))
        except FlinkApiError as err:
            raise_unless_not_found(err)
            return None

    def checkpoint_config(self, job_id: str) -> models.CheckpointConfig:
        """What the job does with its checkpoints, among others whether they survive a cancel."""
        return self.call(calls.checkpoint_config(job_id))

    def latest_savepoint(self, job_id: str) -> models.CheckpointInfo | None:
        """The job's latest completed savepoint in Flink's checkpoint history, if any (it outlives
        the savepoint trigger's status, which Flink forgets after ``rest.async.store-duration``)."""
        return self.call(calls.job_checkpoints(job_id)).latest.savepoint

    def cluster_config(self) -> dict[str, str]:
        """The JobManager's effective configuration."""
        return self.call(calls.jobmanager_config()).as_dict()

    def jobmanager_stdout(self) -> str:
        """The JobManager's standard output (a Python program's prints and tracebacks)."""
        return self.call(calls.jobmanager_stdout())

    def savepoint_status(self, job_id: str, trigger_id: str) -> models.AsyncOperationStatus:
        """Status of a savepoint or stop-with-savepoint started with ``trigger_id``."""
        return self.call(calls.savepoint_status(job_id, trigger_id))

    # ---------------------------------------------------------------- jars
    def upload_jar(self, path: Path, digest: str, display_name: str | None = None) -> str:
        """Upload ``path`` unless the cluster already holds a jar with the same content; return its id.

        The upload is named ``<stem>.sha256-<digest>.jar`` (stem of ``display_name``, else of the
        file), so one ``GET /jars`` tells whether this exact content is there: an unchanged jar is
        never uploaded twice. ``digest`` is the verified SHA-256 of ``path`` (the artifacts layer
        computes it while fetching).
        """
        name = upload_name(path, digest, display_name)
        for jar in self.call(calls.list_jars()).files:
            if jar.name == name:
                self.log.info("Jar %s is already on the cluster as %s: not uploading it again", path, jar.id)
                return jar.id
        jar_id = self.call(calls.upload_jar(path, name)).jar_id
        self.log.info("Uploaded %s as %s", path, jar_id)
        return jar_id

    def delete_jar(self, jar_id: str) -> None:
        self.call(calls.delete_jar(jar_id))

    # ---------------------------------------------------------------- jobs
    def has_applications(self) -> bool:
        """Whether the cluster runs programs as applications (Flink 2.3+, FLIP-549): told by the
        cluster itself (``GET /applications/overview`` answered, not 404), asked once per hook."""
        if self._has_applications is None:
            try:
                self.call(calls.applications_overview())
                self._has_applications = True
            except FlinkApiError as err:
                if not err.is_not_found:
                    raise
                self._has_applications = False
        return self._has_applications

    def submit_job(
        self, jar_id: str, request: models.JarRunRequest, route: SubmitRoute = "auto", repeatable: bool = True
    ) -> bool:
        """Run the jar with the request's (caller-chosen) job id; True when Flink already had it.

        "Already submitted" is Flink refusing a duplicate id: the job exists, from an earlier
        attempt whose answer was lost, and is adopted instead of started twice (invariant I1).

        ``route``: ``auto`` submits through ``run-application`` where the cluster has
        applications (hooks/applications.py) and ``/jars/{id}/run`` elsewhere; ``jar`` always
        through ``/jars/{id}/run``. Either returns once Flink shows the job, or raises with
        Flink's cause. ``repeatable=False`` (a Python program): a request whose answer was lost is
        never sent again, only settled by its job id (``calls.run_jar`` says why).
        """
        # The version only decides the claim-mode field's name: don't ask for it when there is none.
        version = self.flink_version() if request.claim_mode else None
        job_id = request.job_id
        if job_id and route == "auto" and self.has_applications():
            return self._submit_application(jar_id, request, job_id, version)
        try:
            self.call(calls.run_jar(jar_id, request, version, repeatable))
        except FlinkApiError as err:
            if err.is_duplicate_submission and job_id:
                self.log.info("Flink already has job %s: adopting it instead of submitting again", job_id)
                return True
            if err.status >= 500 and job_id and self._shows(job_id):
                # A proxy's 502/504, or Flink failing after the job was registered: the id says it runs.
                self.log.warning("%s, but Flink runs job %s: adopting it", err, job_id)
                return True
            raise
        except FlinkUnreachableError as err:
            if not (err.request_sent and job_id):
                raise
            # I3: a lost answer is a question about the id chosen beforehand, not a failure.
            self._settle_lost_answer(err, f"job {job_id}", lambda: self.find_job(job_id) is not None)
            self.log.info("Flink runs job %s: the answer to its submission was lost, the job was not", job_id)
            return True
        return False

    def _submit_application(
        self, jar_id: str, request: models.JarRunRequest, job_id: str, version: str | None
    ) -> bool:
        """The application route: one job per application, whose id is the job's (I1). An earlier
        submission's application that ended without starting the job (its ``main`` failed, or it
        was cancelled first) spent its id, not the job's: the next attempt's application id is
        derived from the job id and the program runs again, as a ``/run`` retry would."""
        for attempt in range(APPLICATION_ATTEMPTS):
            application_id = ids.application_id(job_id, attempt)
            call = calls.run_application(jar_id, request, application_id, version)
            adopted = self._send_application(call, application_id)
            try:
                self.applications.await_job(application_id, job_id, call.description)
                return adopted
            except FlinkApplicationFailedError as err:
                if err.is_duplicate_submission and self._shows(job_id):
                    # This application failed because Flink already has the job (an earlier one
                    # started it): that job is the submission's, adopted.
                    self.log.info("Flink already has job %s: adopting it", job_id)
                    return True
                if not adopted or err.job_shown:
                    raise  # this submission's program failed (or its job was cancelled with it)
                spent: FlinkError = err
            except FlinkApplicationCancelledError as err:
                if not adopted:
                    raise
                spent = err
            self.log.info(
                "%s (an earlier submission): submitting job %s again as a new application", spent, job_id
            )
        raise FlinkOutcomeUnknownError(
            f"POST /jars/{jar_id}/run-application",
            f"job {job_id}",
            f"{APPLICATION_ATTEMPTS} applications of it ended without starting it",
            0.0,
        )

    def run_program(
        self, jar_id: str, request: models.JarRunRequest, application_id: str, names: Sequence[str]
    ) -> tuple[bool, models.ApplicationDetail]:
        """Run a program of several jobs as one application (Flink 2.3+) under the caller's
        recorded ``application_id``, and return once it shows a job of every name in ``names``:
        (whether Flink already had the application, the application). Its jobs' ids are Flink's
        (one fixed job id cannot name several jobs): the application id alone makes a retry, a race
        or a lost answer run the program once (I1, I3). A program whose jobs are not the declared
        ones raises :class:`FlinkApplicationJobsError` (the caller cancels it)."""
        version = self.flink_version() if request.claim_mode else None
        call = calls.run_application(jar_id, request, application_id, version)
        adopted = self._send_application(call, application_id)
        return adopted, self.applications.await_jobs(application_id, names, call.description)

    def applications_overview(self) -> list[models.ApplicationOverview]:
        """Every application Flink shows (running and ended), on a cluster with applications."""
        return self.call(calls.applications_overview()).applications

    def cancel_application(self, application_id: str) -> bool:
        """Cancel an application and every job of it; False when Flink has no running application
        of the id (Flink 2.3.0 answers 404 for an unknown and for an ended one alike)."""
        try:
            self.call(calls.cancel_application(application_id))
        except FlinkApiError as err:
            if err.is_not_found:
                return False
            raise
        return True

    def _send_application(self, call: Call[Any], application_id: str) -> bool:
        """POST run-application; True when Flink already had the application (adopted)."""
        try:
            self.call(call)
        except FlinkApiError as err:
            # A proxy's 502/504 after Flink took it: the application id says it is there.
            if not (
                err.is_duplicate_submission or (err.status >= 500 and self._knows_application(application_id))
            ):
                raise
            self.log.info(
                "Flink already has application %s: adopting it instead of submitting again", application_id
            )
            return True
        except FlinkUnreachableError as err:
            if not err.request_sent:
                raise
            self._settle_lost_answer(
                err,
                f"application {application_id}",
                lambda: self.applications.find(application_id) is not None,
            )
            self.log.info(
                "Flink has application %s: the answer to its submission was lost, it was not", application_id
            )
            return True
        return False

    @cached_property
    def applications(self) -> ApplicationRoute:
        return ApplicationRoute(self.call, self.find_job)

    def _knows_application(self, application_id: str) -> bool:
        """Whether Flink shows the application; a failure to ask is a no (the caller's error stands)."""
        try:
            return self.applications.find(application_id) is not None
        except FlinkError:
            return False

    def _shows(self, job_id: str) -> bool:
        """Whether Flink shows the job; a failure to ask is a no (the caller's own error stands)."""
        try:
            return self.find_job(job_id) is not None
        except FlinkError:
            return False

    def _settle_lost_answer(self, err: FlinkUnreachableError, what: str, known: Callable[[], bool]) -> None:
        """Ask Flink about ``what`` (``known``) until it shows it or :attr:`settle_seconds` pass; then
        :class:`FlinkOutcomeUnknownError`. A call that fails meanwhile (Flink still busy) is asked again."""
        began = time.monotonic()
        self.log.warning("No answer to %s (%s): asking Flink whether %s exists", err.call, err.reason, what)
        while True:
            try:
                if known():
                    return
            except FlinkError as busy:
                self.log.info("Flink cannot say yet whether %s exists: %s", what, busy)
            waited = time.monotonic() - began
            if waited >= self.settle_seconds:
                raise FlinkOutcomeUnknownError(err.call, what, err.reason, waited) from None
            time.sleep(self.settle_interval)

    def cancel_job(self, job_id: str) -> bool:
        """Cancel without a savepoint; False when there was nothing to cancel (unknown or ended job)."""
        try:
            self.call(calls.cancel_job(job_id))
        except FlinkApiError as err:
            if err.status in (404, 409):  # Flink: unknown job / already ended
                return False
            raise
        return True

    def stop_job(
        self,
        job_id: str,
        trigger_id: str,
        *,
        drain: bool = False,
        target_directory: str | None = None,
        format_type: models.SavepointFormat = "CANONICAL",
    ) -> None:
        """Stop with a savepoint under the caller's ``trigger_id`` (recorded first, so a retry polls it)."""
        self._trigger(
            calls.stop_job(
                job_id, trigger_id, drain=drain, target_directory=target_directory, format_type=format_type
            ),
            job_id,
            trigger_id,
        )

    def trigger_savepoint(
        self,
        job_id: str,
        trigger_id: str,
        target_directory: str | None = None,
        format_type: models.SavepointFormat = "CANONICAL",
    ) -> None:
        """Start a savepoint under the caller's ``trigger_id``; the job keeps running."""
        self._trigger(
            calls.trigger_savepoint(job_id, trigger_id, target_directory, format_type), job_id, trigger_id
        )

    def _trigger(self, call: Call[Any], job_id: str, trigger_id: str) -> None:
        """Send a savepoint or stop under ``trigger_id``; a lost answer is settled by asking Flink
        for that trigger's status (known: the caller waits on it as on any other)."""
        try:
            self.call(call)
        except FlinkUnreachableError as err:
            if not err.request_sent:
                raise

            def known() -> bool:
                try:
                    self.savepoint_status(job_id, trigger_id)
                except FlinkApiError as missing:
                    raise_unless_not_found(missing)
                    return False
                return True

            self._settle_lost_answer(err, f"savepoint trigger {trigger_id} of job {job_id}", known)

    def trigger_checkpoint(self, job_id: str, trigger_id: str) -> None:
        """Take a checkpoint now under the caller's ``trigger_id`` (sent twice, Flink runs it once);
        wait with :class:`~airflow_provider_flink.triggers.FlinkCheckpointTrigger`. Before a rescale
        in place on Flink 1.x (see :meth:`supports_rescale`)."""
        self.call(calls.trigger_checkpoint(job_id, trigger_id))

    def dispose_savepoint(self, path: str) -> str:
        """Ask Flink to delete a savepoint (it knows the state backend's layout); returns the trigger id
        to wait on with :class:`~airflow_provider_flink.triggers.FlinkDisposalTrigger`."""
        return self.call(calls.dispose_savepoint(path)).request_id

    def kill_job(self, job_id: str, action: KillAction) -> None:
        """What a killed task does to its job: nothing, cancel, or stop with a savepoint."""
        call = kill_call(job_id, action, self.log)
        if call is not None:
            self.call(call)

    # ---------------------------------------------------------------- rescale in place
    def supports_rescale(self, job_id: str, parallelism: int | None = None) -> RescaleSupport:
        """Whether Flink can change the job's parallelism (to ``parallelism``, if given) without
        stopping it, and why not (``reason``). Reads only; see :mod:`~airflow_provider_flink.hooks.rescale`
        for how the scheduler is told and which bounds a rescale sends.

        ``checkpoint_first`` (Flink 1.x): call :meth:`trigger_checkpoint` and wait for it
        (:class:`~airflow_provider_flink.triggers.FlinkCheckpointTrigger`) right before
        :meth:`rescale_job`, so the job re-processes only what came in since, not everything since
        its last periodic checkpoint (up to one checkpoint interval).

        Raises :class:`LimitError` for a ``parallelism`` over the connection's cap."""
        return self._rescale_support(job_id, parallelism, strict=False)

    def _rescales_at_once(self) -> bool:
        """Flink 1.x's adaptive scheduler rescales as soon as it is asked, from the latest
        checkpoint; 2.x's waits for its next checkpoint (``rescale-trigger``) before it restarts."""
        try:
            return int(self.flink_version().split(".")[0]) < 2
        except ValueError:
            return False

    def _rescale_support(self, job_id: str, parallelism: int | None, strict: bool) -> RescaleSupport:
        if parallelism is not None:  # a rescale is held to the same cap as a deploy
            ClusterLimits.from_connection(self.connection).check_parallelism(self.flink_conn_id, parallelism)
        job = self.find_job(job_id)
        if job is None or (job.job_type or "").upper() == "BATCH":
            return judge_rescale(job, job_id, None, None, parallelism)
        # Flink 2.3 names the job's scheduler; on 1.20 the cluster's configuration decides it.
        refusal = job_scheduler(job) if job.scheduler_type else cluster_scheduler(self.cluster_config())
        current = checkpoint = None
        if refusal is None:
            try:
                current = self.call(calls.resource_requirements(job_id))
            except FlinkApiError as err:
                refusal = refusal_from_flink(err)
                if refusal is None:
                    raise
            if current is not None:
                checkpoint = self.latest_checkpoint(job_id)
        first = refusal is None and current is not None and not strict and self._rescales_at_once()
        return judge_rescale(
            job, job_id, refusal, current, parallelism, checkpoint, int(time.time() * 1000), first
        )

    def rescale_job(self, job_id: str, parallelism: int) -> RescaleSupport:
        """Ask Flink to run the job at ``parallelism`` without stopping it (same job id; the adaptive
        scheduler restarts it from its latest checkpoint once it has the slots). Returns at once:
        wait with :class:`~airflow_provider_flink.triggers.FlinkJobTrigger` ``parallelism=``.

        Raises :class:`RescaleNotPossibleError` (nothing sent) when Flink cannot do it in place,
        and :class:`LimitError` (nothing sent) for a parallelism over the connection's cap: a rescale
        is held to the same cap as a deploy. Repeating it is harmless: bounds already asked are not
        sent again.
        """
        support = self._rescale_support(job_id, parallelism, strict=True)
        if not support.possible:
            raise RescaleNotPossibleError(support.reason, transient=support.transient)
        if support.requirements is None:
            self.log.info("Job %s: %s; nothing to send", job_id, support.reason)
            return support
        try:
            self.call(calls.set_resource_requirements(job_id, support.requirements))
        except FlinkApiError as err:
            refusal = refusal_from_flink(err)
            if refusal is None:
                raise
            raise RescaleNotPossibleError(refusal) from None
        # Said, so that a wait of half a minute is not taken for a hang (it passed in silence).
        self.log.info(
            "Asked Flink to rescale job %s in place from parallelism %s to %s; Flink's adaptive scheduler "
            "applies it after its cooldown (30 s after the job's start or its last rescale by default: "
            "jobmanager.adaptive-scheduler.executing.cooldown-after-rescaling on Flink 2, "
            "jobmanager.adaptive-scheduler.scaling-interval.min on 1.x)",
            job_id,
            support.current,
            parallelism,
        )
        return support

    # ---------------------------------------------------------------- the UI's Test button
    def test_connection(self) -> tuple[bool, str]:
        """Reach the cluster and report its version and capacity (the UI's "Test" button).

        Always asks the cluster: the process-wide circuit breaker, opened by other calls' failures
        (the api-server serves many tests), is bypassed so that the answer names the real cause
        (connection refused, TLS, 401), not "the circuit breaker is open"."""
        try:
            settings = self._settings(self.connection)
            with FlinkClient(settings, breaker=CircuitBreaker(settings.root)) as client:
                info = client.call(calls.overview())
        except (FlinkError, FlinkConnectionError) as err:
            return False, str(err)
        except AirflowNotFoundException:
            return False, (
                f"Connection {self.flink_conn_id} is not defined: add it (airflow connections add "
                f"{self.flink_conn_id} --conn-type flink --conn-host <jobmanager> --conn-port 8081)"
            )
        except Exception as err:  # the UI's Test button shows a message, never a stack trace
            return False, f"Connection {self.flink_conn_id} could not be tested: {type(err).__name__}: {err}"
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
