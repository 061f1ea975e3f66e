"""Operators for a program that runs several jobs as one deployment (a Flink 2.3+ application).

One fixed job id cannot name several jobs (Flink fails an application whose ``main`` starts a
second job under it), so the jobs' ids are Flink's and the **application id** is the idempotency
key: chosen and recorded before the submission (I4), derived from the deployment key where there
is one (I8), so a retry, a racing run or a lost answer runs the program once (I1, I3). The jobs are
told apart by the names the program gives them (``env.execute(name)``), declared in ``jobs``.

Flink's one ``savepointPath`` would be applied to every job of the program (its second job then
fails restoring the first's state), so none is sent: each job's snapshot goes into the
application's configuration as ``airflow.restore.<job name>`` (:data:`RESTORE_KEY`), and the program
starts that job from it (docs/applications.md shows the three lines). A stop returns every job's
savepoint by name, which is what the next deploy takes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_flink import crashpoints
from airflow_provider_flink.client import FlinkError, models
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.exceptions import AirflowFailException, FlinkOperatorError
from airflow_provider_flink.hooks.applications import FlinkApplicationJobsError
from airflow_provider_flink.ids import deployment_prefix
from airflow_provider_flink.lineage import events as lineage
from airflow_provider_flink.operators.job import (
    SPENT,
    TRIGGER_ID_KEY,
    FlinkDeployJobOperator,
    Stopping,
    _empty,
    _SavepointingOperator,
)
from airflow_provider_flink.operators.task_ids import id_store, recorded_id
from airflow_provider_flink.triggers import FlinkJobTrigger, FlinkSavepointTrigger, WaitEvent, run_inline

APPLICATION_ID_KEY = "flink_application_id"
#: The configuration key (plus the job's name) that carries a job's snapshot to the program.
RESTORE_KEY = "airflow.restore."
# What a single job's savepointPath request carries besides the path, as configuration (Flink 2.x keys).
IGNORE_UNCLAIMED = "execution.state-recovery.ignore-unclaimed-state"
CLAIM_MODE = "execution.state-recovery.claim-mode"


def _names(jobs: Any) -> tuple[str, ...]:
    """The declared job names: at least one, each once, none empty."""
    if isinstance(jobs, str):
        jobs = [part.strip() for part in jobs.split(",")]
    names = tuple(str(name).strip() for name in jobs or ())
    if not names or any(not name for name in names) or len(set(names)) < len(names):
        raise AirflowFailException(
            f"jobs must name every job the program starts, each once (the names it gives them in "
            f"env.executeAsync(name)), got {jobs!r}"
        )
    return names


def _application_of(value: Any) -> str:
    """An application id given as itself or as the deploy task's whole output."""
    if isinstance(value, Mapping):
        value = value.get("application_id")
    return "" if _empty(value) else str(value).strip()


class FlinkDeployApplicationOperator(FlinkDeployJobOperator):
    """Deploy a program that runs several jobs as one Flink application and wait until every one
    of them runs healthy (Flink 2.3+; on an older Flink the task fails before anything is fetched
    or submitted, saying so).

    :param jobs: the names the program gives its jobs (``env.execute(name)``), e.g.
        ``["orders", "payments"]``; a job of another name (or two of one name) cancels the
        application and fails the task.
    :param savepoint_paths: each job's snapshot to start from, by job name: typically an upstream
        :class:`FlinkStopApplicationOperator`'s ``.output`` (a dict, or its JSON). Given, every
        declared job must have one, unless ``start_without_savepoint`` (then those without start
        fresh). The program reads them from its configuration (``airflow.restore.<name>``).
    :param application_id: 32-hex application id to use; by default one is chosen and recorded
        before submitting (or derived from ``deployment_key``).
    :param deployment_key: what this task deploys, by name: a live application of the key is
        adopted (``on_live_job="adopt"``) or the task fails (``"fail"``); separate runs derive the
        same next application id, so Flink runs one (I1, I8).

    Everything else is :class:`FlinkDeployJobOperator`'s (the artifact gate, caps, ``args``,
    ``flink_config``, ``parallelism`` for every job). The jobs are waited for in the worker.
    Returns ``{"application_id": ..., "jobs": {name: job_id}}``; the application id is also
    pushed as XCom ``application_id``.
    """

    template_fields: Sequence[str] = (
        *FlinkDeployJobOperator.template_fields,
        "jobs",
        "savepoint_paths",
        "application_id",
    )

    def __init__(
        self,
        *,
        jobs: Sequence[str] | str,
        savepoint_paths: Mapping[str, str] | str | None = None,
        application_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        for field in ("savepoint_path", "job_id", "wait_for_completion"):
            if kwargs.get(field):
                raise ValueError(
                    f"{field} does not apply to a program of several jobs: give savepoint_paths "
                    "(by job name) instead of savepoint_path; the application id replaces the job id"
                )
        if kwargs.get("kill_action") not in (None, "none", "cancel"):
            raise ValueError(
                "kill_action must be 'none' or 'cancel' for a program of several jobs (a killed task cancels "
                "the application, or leaves it running); stop it with FlinkStopApplicationOperator"
            )
        super().__init__(**kwargs)
        self.jobs = jobs
        self.savepoint_paths = savepoint_paths
        self.application_id = application_id
        self._paths_declared = not _empty(savepoint_paths)
        self._application: str | None = None

    # ------------------------------------------------------------------ validation
    def _restores(self, names: Sequence[str]) -> dict[str, str]:
        """Each job's snapshot by name; a declared restore that misses a job fails (before anything
        is fetched or submitted), unless ``start_without_savepoint``."""
        if not self._paths_declared:
            return {}
        value: Any = self.savepoint_paths
        if _empty(value):
            value = {}  # declared, rendered empty: every job is missing its snapshot
        elif isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)  # a stop's output rendered by a (non-native) template
        if not isinstance(value, Mapping):
            raise AirflowFailException(
                f"savepoint_paths must map job names to snapshots (a stop's output), got {self.savepoint_paths!r}"
            )
        unknown = sorted(str(name) for name in value if str(name) not in names)
        if unknown:
            raise AirflowFailException(
                f"savepoint_paths names jobs the program does not declare: {', '.join(unknown)} "
                f"(jobs: {', '.join(names)})"
            )
        paths = {str(name): str(path) for name, path in value.items() if not _empty(path)}
        missing = [name for name in names if name not in paths]
        if missing and not self.start_without_savepoint:
            raise AirflowFailException(
                f"savepoint_paths has no snapshot for job(s) {', '.join(missing)} (the upstream stop took "
                "none). Not starting them without their state; set start_without_savepoint=True to "
                "start those fresh"
            )
        for name in missing:
            self.log.warning("Job %s has no snapshot: starting it WITHOUT state, as asked", name)
        return paths

    # ------------------------------------------------------------------ identity
    # The application, by its id, is what this task names before submitting (FlinkDeployJobOperator's
    # rules: recorded first, adopted when live, a new one after a spent one, derived from the key).
    noun = "application"
    id_key = APPLICATION_ID_KEY
    id_crash_point = "deploy-application-task:id-recorded"
    key_namespace = "application"
    # A FINISHED application never runs again (its jobs were stopped): a deploy starts a new one.
    spent = frozenset({*SPENT, models.ApplicationState.FINISHED.value})

    def _given_id(self) -> str:
        return _application_of(self.application_id)

    def _shown_state(self, candidate: str) -> str | None:
        app = self.hook.applications.find(candidate)
        return app.status.value if app is not None else None

    def _shown_all(self) -> list[tuple[str, int, str, bool]]:
        return [(a.id, a.start_time, a.status.value, not a.ended) for a in self.hook.applications_overview()]

    # ------------------------------------------------------------------ execute
    def execute(self, context: Any) -> Any:
        names = _names(self.jobs)
        restores = self._restores(names)
        definition = self._definition()
        self._request(definition, None)  # bad input fails here, before any call
        if not self.hook.has_applications():
            raise AirflowFailException(
                f"This program runs {len(names)} jobs ({', '.join(names)}) as one application, which needs a "
                f"Flink with applications (2.3+); Flink {self.hook.flink_version()} at {self.flink_conn_id} runs "
                "one job per jar run. Deploy each job from a program of its own with FlinkDeployJobOperator, "
                "or upgrade the cluster. Nothing was submitted"
            )
        artifact = self._artifact(definition)
        store = id_store(context)
        application_id, on_cluster = self._id_to_use(store)
        self._application = application_id
        # The OpenLineage parent run and names (lineage on only): one configuration for every job.
        lineage_config, self._lineage_origin = self.lineage_request(
            context, definition.flink_config, self._lineage_key()
        )
        request = self._request(dataclasses.replace(definition, flink_config=lineage_config), None, context)
        config = dict(request.flink_configuration or {})
        config.update({f"{RESTORE_KEY}{name}": path for name, path in restores.items()})
        # No one savepointPath (it would be every job's): what it carries goes in the configuration
        # every job's environment inherits, the path itself per job (airflow.restore.<name>).
        if request.allow_non_restored_state:
            config[IGNORE_UNCLAIMED] = "true"
        if self.claim_mode:
            config[CLAIM_MODE] = self.claim_mode
        request = request.model_copy(
            update={
                "flink_configuration": config or None,
                "savepoint_path": None,
                "allow_non_restored_state": None,
                "claim_mode": None,
            }
        )
        try:
            if on_cluster:
                call = "the earlier try's submission"
                app = self.hook.applications.await_jobs(application_id, names, call)
            else:
                self._ensure_capacity((request.parallelism or 1) * len(names))
                jar_id = self.hook.upload_jar(artifact.path, artifact.sha256, str(self.jar))
                adopted, app = self.hook.run_program(jar_id, request, application_id, names)
                crashpoints.reach("deploy-application-task:requested")
                self.log.info("%s application %s", "Adopted" if adopted else "Submitted", application_id)
        except FlinkApplicationJobsError as err:
            raise self._refused(err) from None
        jobs = {job.name: job.jid for job in app.jobs}
        context["ti"].xcom_push(key="application_id", value=application_id)
        self.push_job_link(context, jobs[names[0]])
        if self.wait_until_running:
            deadline = self.deadline()  # one wait for the whole program, not one per job
            for name in names:
                self.log.info("Waiting for job %s (%s) of application %s", name, jobs[name], application_id)
                trigger = FlinkJobTrigger(
                    self.flink_conn_id,
                    jobs[name],
                    deadline,
                    target="running",
                    poll_interval=self.poll_interval,
                    max_restarts=self.max_restarts,
                    asked_parallelism=request.parallelism,
                )
                WaitEvent.checked(run_inline(trigger), self.task_id)
            # A job of another name the program started meanwhile is a disagreement too.
            later = self.hook.applications.find(application_id)
            try:
                if later is not None:
                    self.hook.applications.check_jobs(later, names)
            except FlinkApplicationJobsError as err:
                raise self._refused(err) from None
        self.report_lineage(
            context, {jobs[name]: name for name in names}, ["START"] if self.wait_until_running else [],
            key=self._lineage_key(),
        )  # fmt: skip
        return {"application_id": application_id, "jobs": {name: jobs[name] for name in names}}

    def _refused(self, err: FlinkApplicationJobsError) -> AirflowFailException:
        """The program and ``jobs=`` disagree: its application (this task's own) is cancelled."""
        try:
            cancelled = self.hook.cancel_application(err.application_id)
            err.cancelled = (
                "the application was cancelled" if cancelled else "the application had already ended"
            )
        except FlinkError as cancel:
            err.cancelled = f"cancelling the application failed ({cancel}): cancel it yourself"
        return AirflowFailException(str(err))

    def on_kill(self) -> None:
        """Killed while waiting: ``kill_action="cancel"`` cancels the application (every job)."""
        if self._application and self.kill_action == "cancel":
            self.hook.cancel_application(self._application)


class _ApplicationSnapshots(_SavepointingOperator):
    """Savepoint (or stop) every job of an application, each under a trigger id of its own
    recorded before its request, and return the locations by job name."""

    template_fields: Sequence[str] = ("application_id", "deployment_key", "target_directory")
    crash_infix = "-application"

    def __init__(
        self,
        *,
        application_id: str | None = None,
        deployment_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not (application_id or deployment_key):
            raise ValueError(
                "give application_id (a deploy's output) or the deployment_key it was deployed with"
            )
        super().__init__(job_id="", **kwargs)
        self.application_id = application_id
        self.deployment_key = deployment_key

    def _application(self) -> models.ApplicationDetail | None:
        if not self.hook.has_applications():
            raise AirflowFailException(
                f"Flink {self.hook.flink_version()} at {self.flink_conn_id} has no applications (2.3+): "
                "there is no application to act on; use FlinkStopJobOperator / FlinkSavepointOperator per job"
            )
        application_id = _application_of(self.application_id)
        if not application_id:
            # The deploy's own namespace for the key's application ids: the two cannot drift apart.
            prefix = deployment_prefix(
                f"{FlinkDeployApplicationOperator.key_namespace}:{self.deployment_key}"
            )
            found = sorted(
                (a for a in self.hook.applications_overview() if a.id.startswith(prefix)),
                key=lambda a: a.start_time,
            )
            if not found:
                return None
            application_id = found[-1].id
        return self.hook.applications.find(application_id)

    def _asked(self) -> str:
        """The application as this task was asked for it (for messages)."""
        return _application_of(self.application_id) or f"of deployment key {self.deployment_key!r}"

    def _snapshot(self, context: Any, store: Any, job: models.JobOverview) -> str | None:
        trigger_id = self._resume_or_start(store, job.jid, key=f"{TRIGGER_ID_KEY}:{job.name}")
        trigger = FlinkSavepointTrigger(
            self.flink_conn_id,
            job.jid,
            request_id=trigger_id,
            deadline=self.deadline(),
            operation=self.operation,
            poll_interval=self.poll_interval,
        )
        location = WaitEvent.checked(run_inline(trigger), self.task_id).location
        self.log.info("Job %s (%s): %s at %s", job.name, job.jid, self.operation, location)
        return location


class FlinkSavepointApplicationOperator(_ApplicationSnapshots):
    """Take a savepoint of every job of an application; return ``{job name: location}``.

    :param application_id: the application (a :class:`FlinkDeployApplicationOperator`'s output, or
        its id); or ``deployment_key``: the key's newest application.

    Every job must be RUNNING (else the task fails before any savepoint is asked for). A failed
    savepoint fails the task with Flink's cause; the jobs keep running untouched.
    """

    def execute(self, context: Any) -> Any:
        app = self._application()
        if app is None:
            raise FlinkOperatorError(
                f"Cannot take savepoints: Flink does not know application {self._asked()}"
            )
        idle = [f"{job.name} is {job.state.value}" for job in app.jobs if job.state is not JobState.RUNNING]
        if idle or not app.jobs:
            raise FlinkOperatorError(
                f"Cannot take savepoints of application {app.id}: every job must be RUNNING ({'; '.join(idle) or 'it has no job'})"
            )
        store = id_store(context)
        locations = {
            job.name: self._snapshot(context, store, job) for job in sorted(app.jobs, key=lambda j: j.name)
        }
        self.report_lineage(context, {job.jid: job.name for job in app.jobs}, started_here=False)
        return locations


class FlinkStopApplicationOperator(Stopping, _ApplicationSnapshots):
    """Stop every job of an application with a savepoint; return ``{job name: location}`` (what
    :class:`FlinkDeployApplicationOperator`'s ``savepoint_paths`` takes for an upgrade).

    :param drain: emit MAX_WATERMARK before stopping (ends event-time windows; use when not resuming).
    :param missing_ok: an application Flink does not know ends the task with ``{}``.

    Idempotent: a job an earlier try stopped gives that stop's savepoint (asked by its recorded
    trigger id, or its last snapshot when that is a savepoint); a job that ended otherwise (a
    person cancelled it) gives ``None``: the deploy downstream then refuses to start it without
    state unless told to. A job whose stop fails fails the task; the others stay stopped, and a
    retry stops the rest.
    """

    def execute(self, context: Any) -> Any:
        app = self._application()
        if app is None:
            what = self._asked()
            if self.missing_ok:
                self.log.warning("Flink does not know application %s: nothing to stop", what)
                return {}
            raise FlinkOperatorError(
                f"Cannot stop application {what}: Flink at {self.flink_conn_id} does not know it (a wrong id, "
                "another cluster, or lost in a JobManager restart without HA); no savepoint was taken. "
                "Set missing_ok=True if an unknown application counts as already stopped"
            )
        store = id_store(context)
        locations: dict[str, str | None] = {}
        for job in sorted(app.jobs, key=lambda j: j.name):
            if job.state.is_globally_terminal:
                locations[job.name] = self._ended(store, job)
            else:
                locations[job.name] = self._snapshot(context, store, job)
        self.report_lineage(
            context, {job.jid: job.name for job in app.jobs}, [lineage.STOPPED], started_here=False
        )
        return locations

    def _ended(self, store: Any, job: models.JobOverview) -> str | None:
        """The savepoint of a job that already ended: its stop's (an earlier try's), else its last
        snapshot when that is a savepoint of a FINISHED job; never an older one (state back in time)."""
        key = f"{TRIGGER_ID_KEY}:{job.name}"
        recorded = recorded_id(store, key, lambda candidate: self._known(job.jid, candidate))
        if recorded:
            try:
                status = self.hook.savepoint_status(job.jid, recorded)
                if status.succeeded and status.location:
                    self.log.info(
                        "Job %s was stopped by an earlier try; savepoint at %s", job.name, status.location
                    )
                    return status.location
            except FlinkError as err:
                self.log.info("Earlier stop %s of job %s is not known any more: %s", recorded, job.name, err)
        if job.state is JobState.FINISHED:
            history = self.hook.checkpoint_history(job.jid)
            last = history.latest.completed if history is not None else None
            if last is not None and last.is_savepoint and last.external_path:
                self.log.info("Job %s ended with savepoint %s", job.name, last.external_path)
                return last.external_path
        self.log.warning(
            "Job %s (%s) already ended %s without a final savepoint this task can tell: none for it",
            job.name,
            job.jid,
            job.state.value,
        )
        return None
