"""Operators for a Flink job's lifecycle: deploy, savepoint, stop with savepoint, cancel.

Each one records the id it is about to use (job id, trigger id) in the task state store *before*
the request (I4), so a retry or a resumed worker continues the same operation instead of starting
a second one (I1): a job found under the recorded id is adopted, a savepoint trigger id is polled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import partial
from typing import Any, Literal

from airflow_provider_flink import crashpoints, ids
from airflow_provider_flink.artifacts import (
    ArtifactRequest,
    JobDefinition,
    PreparedArtifact,
    prepare_job,
)
from airflow_provider_flink.artifacts.python_program import StagedProgram, unstaged
from airflow_provider_flink.artifacts.submission import submit_prepared
from airflow_provider_flink.client import FlinkApiError, models
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.exceptions import (
    AirflowFailException,
    ArtifactError,
    FlinkOperatorError,
    LimitError,
)
from airflow_provider_flink.ids import deployment_prefix, transition_id
from airflow_provider_flink.lineage import events as lineage
from airflow_provider_flink.operators.base import FlinkBaseOperator, airflow_origin
from airflow_provider_flink.operators.task_ids import fresh_id, id_store, recorded_id
from airflow_provider_flink.triggers import (
    FlinkClusterHealthTrigger,
    FlinkPollingTrigger,
    FlinkSavepointTrigger,
    KillAction,
    WaitEvent,
    run_inline,
)
from airflow_provider_flink.triggers.steps import begin_savepoint
from airflow_provider_flink.values import parse_bool

JOB_ID_KEY = "flink_job_id"
# The spec part of a deployment key's job ids: the key, not the jar, decides which job is "the" one.
KEY_SPEC = "0" * 64
TRIGGER_ID_KEY = "flink_trigger_id"
# An id whose job ended so is spent: Flink never accepts it again, and the job never runs again.
SPENT = frozenset({JobState.FAILED.value, JobState.CANCELED.value})


def _int_or_none(value: Any, field: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise AirflowFailException(f"{field} must be a whole number, got {value!r}") from None
    if number < 1:
        raise AirflowFailException(f"{field} must be at least 1, got {number}")
    return number


def _empty(value: Any) -> bool:
    """No value, or what a template renders for none (an XCom of None renders as "None")."""
    return value is None or str(value).strip() in ("", "None")


class FlinkDeployJobOperator(FlinkBaseOperator):
    """Deploy a jar job and wait until it runs (streaming) or finishes (batch).

    :param jar: the job jar: a path on the worker, an http(s) URL or any ObjectStoragePath URI
        (s3://, gs://, file:// ...). It is fetched into a digest-keyed cache and verified before any
        call to Flink; an unchanged jar is not uploaded again.
    :param jar_sha256: pinned SHA-256; a jar that does not match is never uploaded.
    :param jar_signature: path or URI of a detached signature (Ed25519, ECDSA P-256, RSA-PSS) of the jar.
    :param public_keys_conn_id: connection holding the PEM public keys that may sign jars
        (extra ``public_keys`` or the password field).
    :param public_keys: PEM public keys (text or file paths on the worker) that may sign jars, in
        addition to those of ``public_keys_conn_id``.
    :param artifact_conn_id: connection for downloading the jar over http(s): extra ``headers`` and/or
        login/password (basic auth).
    :param capacity_check: before submitting, compare free task slots with the parallelism:
        ``"fail"`` at once, ``"wait"`` (in the worker, up to ``wait_timeout``) or ``"off"`` (default;
        clusters that add task managers on demand show no free slots before a job asks).

    The connection's caps (``max_parallelism``, ``allowed_jar_sources``, ``allowed_entry_classes``,
    ``require_verified_artifacts``) are checked before anything is fetched or submitted.
    :param entry_class: main class (needed unless the jar's manifest names one).
    :param args: program arguments.
    :param parallelism: job parallelism (templated; a rendered string is accepted).
    :param flink_config: per-job Flink configuration (``flinkConfiguration``).
    :param savepoint_path: start from this savepoint or retained checkpoint (templated; typically
        an upstream stop's ``.output``). Given but rendered empty (the stop took no savepoint), the
        task fails before anything is submitted, so a stateless copy never starts in place of a
        stateful upgrade.
    :param start_without_savepoint: with a ``savepoint_path`` that renders empty, start the job
        without state instead of failing.
    :param allow_non_restored_state: skip savepoint state that maps to no operator.
    :param claim_mode: CLAIM, NO_CLAIM or LEGACY (sent as the Flink version expects).
    :param job_id: 32-hex job id to use; by default one is chosen and recorded before submitting.
    :param wait_for_completion: wait for FINISHED (bounded jobs) instead of RUNNING.
    :param wait_until_running: for streaming jobs, wait until the job is healthy (default) or return
        right after the submission.
    :param deployment_key: what this task deploys, by name (for example ``"orders"``). Separate DAG
        runs that deploy the same key never start a second live copy: a live job of the key is
        adopted (``on_live_job="adopt"``) or the task fails (``"fail"``). The key's job ids are
        derived from it and from the key's last job, so two runs that start together submit the same
        id and Flink, which accepts an id once, runs one job (I1, I8).
    :param on_live_job: with ``deployment_key``: ``"adopt"`` (default) waits for the live job as if
        this task had started it; ``"fail"`` fails the task and leaves the job alone.
    :param kill_action: what to do with the job when the task is killed or marked failed:
        ``"none"`` (default for streaming jobs: state stays), ``"cancel"`` (default with
        ``wait_for_completion``) or ``"stop"`` (stop with a savepoint).

    Returns the job id; with ``wait_for_completion`` the final state is also pushed as XCom
    ``final_state``.
    """

    template_fields: Sequence[str] = (
        "jar",
        "entry_class",
        "args",
        "parallelism",
        "flink_config",
        "savepoint_path",
        "allow_non_restored_state",
        "job_id",
        "jar_sha256",
        "jar_signature",
        "deployment_key",
    )

    def __init__(
        self,
        *,
        jar: str,
        entry_class: str | None = None,
        args: list[str] | None = None,
        parallelism: int | str | None = None,
        flink_config: dict[str, Any] | None = None,
        savepoint_path: str | None = None,
        allow_non_restored_state: bool | str = False,
        claim_mode: models.ClaimMode | None = None,
        job_id: str | None = None,
        wait_for_completion: bool = False,
        wait_until_running: bool = True,
        kill_action: KillAction | None = None,
        jar_sha256: str | None = None,
        jar_signature: str | None = None,
        public_keys_conn_id: str | None = None,
        capacity_check: Literal["off", "fail", "wait"] = "off",
        artifact_conn_id: str | None = None,
        public_keys: list[str] | None = None,
        start_without_savepoint: bool = False,
        deployment_key: str | None = None,
        on_live_job: Literal["adopt", "fail"] = "adopt",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_live_job not in ("adopt", "fail"):
            raise ValueError(f"on_live_job must be 'adopt' or 'fail', got {on_live_job!r}")
        self.deployment_key = deployment_key
        self.on_live_job = on_live_job
        # Known before rendering: whether the DAG asked for a restore at all.
        self._savepoint_declared = not _empty(savepoint_path)
        self.start_without_savepoint = start_without_savepoint
        self.artifact_conn_id = artifact_conn_id
        self.public_keys = public_keys
        self.capacity_check = capacity_check
        self.jar = jar
        self.jar_sha256 = jar_sha256
        self.jar_signature = jar_signature
        self.public_keys_conn_id = public_keys_conn_id
        self.entry_class = entry_class
        self.args = args
        self.parallelism = parallelism
        self.flink_config = flink_config
        self.savepoint_path = savepoint_path
        self.allow_non_restored_state = allow_non_restored_state
        self.claim_mode = claim_mode
        self.job_id = job_id
        self.wait_for_completion = wait_for_completion
        self.wait_until_running = wait_until_running
        self.kill_action: KillAction = kill_action or ("cancel" if wait_for_completion else "none")
        self._started_job: str | None = None
        self._lineage_origin: dict[str, str] = {}

    # ------------------------------------------------------------------ validation
    def _definition(self) -> JobDefinition:
        """What to run, from the (rendered) arguments; bad input fails before any call."""
        try:
            allow_non_restored = parse_bool(self.allow_non_restored_state, "allow_non_restored_state")
        except ValueError as err:
            raise AirflowFailException(str(err)) from None
        return JobDefinition(
            artifact=ArtifactRequest(
                jar=str(self.jar),
                entry_class=self.entry_class or None,
                parallelism=_int_or_none(self.parallelism, "parallelism"),
                sha256=self.jar_sha256 or None,
                signature=self.jar_signature or None,
                public_keys=tuple(self.public_keys or ()),
                public_keys_conn_id=self.public_keys_conn_id,
                headers_conn_id=self.artifact_conn_id,
            ),
            args=tuple(str(a) for a in self.args or ()),
            flink_config=dict(self.flink_config or {}),
            allow_non_restored_state=allow_non_restored,
        )

    def _request(
        self,
        definition: JobDefinition,
        job_id: str | None,
        context: Any = None,
        staged: StagedProgram | None = None,
    ) -> models.JarRunRequest:
        if definition.python is not None and staged is None:
            staged = unstaged(definition.python)  # the request's shape only: never submitted
        try:
            origin = {**airflow_origin(context), **self._lineage_origin}
            return definition.run_request(job_id, self.savepoint_path, self.claim_mode, origin, staged)
        except ValueError as err:
            raise AirflowFailException(f"Invalid Flink job request: {err}") from None

    def _artifact(self, definition: JobDefinition) -> PreparedArtifact:
        """Caps, then fetch and verify the jar (a Python job's files, then staged), before anything
        touches the cluster (I6)."""
        try:
            prepared = prepare_job(self.hook, definition)
        except (ArtifactError, LimitError) as err:
            raise AirflowFailException(str(err)) from None
        if prepared.program is not None:
            for file in prepared.program.files:
                self.log.info(
                    "Python file %s: SHA-256 %s, verified by %s, staged at %s",
                    file.name,
                    file.sha256,
                    file.verified_by,
                    file.location,
                )
        else:
            self.log.info(
                "Artifact %s: SHA-256 %s, verified by %s", self.jar, prepared.sha256, prepared.verified_by
            )
        return prepared

    # ------------------------------------------------------------------ identity
    # What this task starts and names before submitting it (I4): a job, by its id. The application
    # operator starts an application instead, by its id (operators/application.py): the same rules.
    noun = "job"
    id_key = JOB_ID_KEY
    id_crash_point = "deploy-task:id-recorded"
    key_namespace = "operator"  # a deployment key's ids: a reconcile deployment name cannot contain ":"
    spent = SPENT  # (a FINISHED job is adopted: a bounded job's deploy waits for exactly that)

    def _given_id(self) -> str:
        return str(self.job_id) if self.job_id else ""

    def _shown_state(self, candidate: str) -> str | None:
        """The state of what Flink shows under the id; None: Flink does not know it."""
        job = self.hook.find_job(candidate)
        return job.state.value if job is not None else None

    def _shown_all(self) -> list[tuple[str, int, str, bool]]:
        """Everything of this kind Flink shows: (id, start time, state, live)."""
        return [
            (j.jid, j.start_time, j.state.value, not j.state.is_globally_terminal) for j in self.hook.jobs()
        ]

    def _id_to_use(self, store: Any) -> tuple[str, bool]:
        """(id, already on the cluster?). A new id is recorded before anything is submitted."""
        noun, key, given = self.noun, self.id_key, self._given_id()
        if given:
            chosen: str = given
            recorded: str | None = given
        else:
            recorded = recorded_id(store, key, lambda candidate: self._shown_state(candidate) is not None)
            if not recorded and self.deployment_key:
                return self._id_of_key(store, str(self.deployment_key))
            chosen = recorded or fresh_id(store, key)
        if recorded:
            state = self._shown_state(chosen)
            if state in self.spent and given:
                a = "an" if noun[0] in "aeiou" else "a"
                raise AirflowFailException(
                    f"{noun.capitalize()} id {chosen} was already used by {a} {noun} that ended {state}, and Flink "
                    f"never accepts {a} {noun} id twice: leave {noun}_id unset (one is chosen per run) or give a new one"
                )
            if state in self.spent:
                self.log.info(
                    "%s %s of an earlier try ended %s: submitting a new %s",
                    noun.capitalize(),
                    chosen,
                    state,
                    noun,
                )
                chosen = fresh_id(store, key)
            elif state is not None:
                self.log.info(
                    "%s %s is already on the cluster (%s): adopting it, not submitting again",
                    noun.capitalize(),
                    chosen,
                    state,
                )
                store.set(key, chosen)
                return chosen, True
        store.set(key, chosen)  # intent first (I4): a retry reuses this id
        crashpoints.reach(self.id_crash_point)
        return chosen, False

    def _id_of_key(self, store: Any, key: str) -> tuple[str, bool]:
        """A live one of the deployment key (adopted, or the task fails), else the key's next id,
        derived from the key and its last one: every run that starts now derives the same one."""
        namespace = f"{self.key_namespace}:{key}"
        prefix = deployment_prefix(namespace)
        found = sorted((f for f in self._shown_all() if f[0].startswith(prefix)), key=lambda f: f[1])
        live = [f for f in found if f[3]]
        if live:
            shown, _, state, _ = live[-1]
            if self.on_live_job == "fail":
                raise AirflowFailException(
                    f"Deployment key {key!r} already has a live {self.noun} {shown} ({state}): not starting a "
                    "second copy (on_live_job='fail'). Stop or cancel it first, or set on_live_job='adopt'"
                )
            self.log.info("Deployment key %r: adopting its live %s %s (%s)", key, self.noun, shown, state)
            store.set(self.id_key, shown)
            return shown, True
        last = found[-1][0] if found else None
        chosen = transition_id(namespace, KEY_SPEC, last, {f[0] for f in found})
        store.set(self.id_key, chosen)  # intent first (I4)
        crashpoints.reach(self.id_crash_point)
        return chosen, False

    # ------------------------------------------------------------------ execute
    def _ensure_capacity(self, parallelism: int | None) -> None:
        """Free slots >= parallelism, or fail / wait as ``capacity_check`` says (before submitting)."""
        if self.capacity_check == "off":
            return
        needed = parallelism or 1
        free = self.hook.overview().slots_available
        if free >= needed:
            return
        shortage = f"the job needs {needed} free task slot(s) and {self.flink_conn_id} has {free}"
        if self.capacity_check == "fail":
            raise FlinkOperatorError(f"Not deploying: {shortage} (capacity_check='fail')")
        self.log.info("%s: waiting up to %s s for slots (capacity_check='wait')", shortage, self.wait_timeout)
        trigger = FlinkClusterHealthTrigger(
            self.flink_conn_id, self.deadline(), 1, needed, self.poll_interval
        )
        WaitEvent.checked(run_inline(trigger), self.task_id)

    def _check_savepoint_rendered(self) -> None:
        if self._savepoint_declared and _empty(self.savepoint_path):
            if not self.start_without_savepoint:
                raise AirflowFailException(
                    f"savepoint_path was given but rendered empty ({self.savepoint_path!r}): the upstream "
                    "task took no savepoint. Not starting the job without its state; set "
                    "start_without_savepoint=True to start it fresh"
                )
            self.log.warning("savepoint_path rendered empty: starting the job WITHOUT state, as asked")
            self.savepoint_path = None

    def execute(self, context: Any) -> Any:
        self._check_savepoint_rendered()
        definition = self._definition()
        self._request(definition, str(self.job_id) if self.job_id else ids.new_id())  # validate first
        # The OpenLineage parent run and job names into the job's configuration (lineage on only).
        config, self._lineage_origin = self.lineage_request(
            context, definition.flink_config, self._lineage_key()
        )
        definition = dataclasses.replace(definition, flink_config=config)
        artifact = self._artifact(definition)
        store = id_store(context)
        job_id, on_cluster = self._id_to_use(store)
        request = self._request(definition, job_id, context, artifact.program)
        if not on_cluster:
            self._ensure_capacity(request.parallelism)
            _, adopted = submit_prepared(self.hook, artifact, request, definition.artifact.jar)
            crashpoints.reach("deploy-task:requested")
            self.log.info(
                "%s job %s (%s)", "Adopted" if adopted else "Submitted", job_id, self.entry_class or self.jar
            )
        self._started_job = job_id
        self.push_job_link(context, job_id)
        if not self.wait_for_completion and not self.wait_until_running:
            self._job_lineage(context, job_id, None)
            return job_id
        target: Literal["running", "finished"] = "finished" if self.wait_for_completion else "running"
        return self.wait_for_job(
            context, job_id, target, kill_action=self.kill_action, asked_parallelism=request.parallelism
        )

    def end_xcoms(self, trigger: FlinkPollingTrigger) -> dict[str, str] | None:
        if self.wait_for_completion:
            return {"return_value": "job_id", "final_state": "state"}
        return {"return_value": "job_id"}

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        # What the triggerer does itself when it ends the task (end_xcoms), keep the two alike.
        done = self.completed(event)
        if self.wait_for_completion:
            context["ti"].xcom_push(key="final_state", value=done.state)
        if done.job_id:
            self._job_lineage(context, done.job_id, done.state if self.wait_for_completion else None)
        return done.job_id

    # ------------------------------------------------------------------ lineage
    def _lineage_key(self) -> str | None:
        return str(self.deployment_key) if self.deployment_key else None

    def _lineage_sql(self) -> str | None:
        """A SQL job's statements (its datasets); None for a jar's job."""
        return None

    def _job_lineage(self, context: Any, job_id: str, ended: str | None) -> None:
        """The job's run started (and, waited for to its end, ended) as OpenLineage events."""
        if lineage.task_run(context) is None:
            return
        events = ["START"] + ([lineage.END_EVENTS.get(ended, "COMPLETE")] if ended else [])
        try:
            sql = self._lineage_sql()
        except Exception as err:  # the SQL was read when the job was submitted; lineage only
            self.log.warning("OpenLineage: SQL statements not read again (%s)", err)
            sql = None
        self.report_lineage(
            context,
            {job_id: ""},
            events,
            key=self._lineage_key(),
            sql=sql,
            savepoint=None if _empty(self.savepoint_path) else str(self.savepoint_path),
        )

    def on_kill(self) -> None:
        """Killed while waiting in the worker: do what the deferred wait's trigger would do."""
        if self._started_job:
            self.hook.kill_job(self._started_job, self.kill_action)


class _SavepointingOperator(FlinkBaseOperator):
    """Savepoint and stop share the trigger-id bookkeeping and the wait for the operation."""

    operation: Literal["savepoint", "stop"] = "savepoint"
    template_fields: Sequence[str] = ("job_id", "target_directory")

    drain: bool = False  # the stop operator's: MAX_WATERMARK before stopping
    crash_infix: str = ""  # the campaign's crash points are "<operation><infix>-task:..."

    def __init__(
        self,
        *,
        job_id: str,
        target_directory: str | None = None,
        format_type: models.SavepointFormat = "CANONICAL",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poll_interval", 1.0)
        super().__init__(**kwargs)
        self.job_id = job_id
        self.target_directory = target_directory
        self.format_type = format_type

    def _known(self, job_id: str, trigger_id: str) -> bool:
        """Whether Flink still knows a savepoint operation of the job under this trigger id."""
        try:
            self.hook.savepoint_status(job_id, trigger_id)
        except FlinkApiError as err:
            if err.status >= 500:
                raise
            return False  # Flink answered: it does not know it (never sent, or expired)
        # No answer at all (unreachable, 5xx) propagates: unknown is not "not known", and a retry
        # that took it for that would start a second savepoint beside the first.
        return True

    def _resume_or_start(self, store: Any, job_id: str, key: str = TRIGGER_ID_KEY) -> str:
        """Poll the trigger id of an earlier try when Flink still knows it; else start anew (the id
        recorded under ``key`` first)."""
        trigger_id = recorded_id(store, key, lambda candidate: self._known(job_id, candidate))
        if trigger_id:
            try:
                status = self.hook.savepoint_status(job_id, str(trigger_id))
                if status.in_progress or status.succeeded:
                    self.log.info("Continuing %s %s of an earlier try", self.operation, trigger_id)
                    return str(trigger_id)
            except Exception as err:  # expired (5 min in Flink) or unknown: start a new one
                self.log.info(
                    "Earlier %s %s is not known any more (%s): starting a new one",
                    self.operation,
                    trigger_id,
                    err,
                )
        trigger_id = fresh_id(store, key)
        begin_savepoint(
            self.hook,
            job_id,
            trigger_id,
            operation=self.operation,
            record=partial(store.set, key),  # intent first: a retry polls this id
            crash_prefix=f"{self.operation}{self.crash_infix}-task:",
            target_directory=self.target_directory,
            format_type=self.format_type,
            drain=self.drain,
        )
        return trigger_id

    def _wait_for(self, context: Any, job_id: str, trigger_id: str) -> Any:
        trigger = FlinkSavepointTrigger(
            self.flink_conn_id,
            job_id,
            request_id=trigger_id,
            deadline=self.deadline(),
            operation=self.operation,
            poll_interval=self.poll_interval,
        )
        return self.wait(context, trigger)

    def end_xcoms(self, trigger: FlinkPollingTrigger) -> dict[str, str] | None:
        return {"return_value": "location"}

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        return self.completed(event).location


class FlinkSavepointOperator(_SavepointingOperator):
    """Trigger a savepoint of a running job, wait for it, return its location.

    :param job_id: the job (templated).
    :param target_directory: where to write it; the cluster's default savepoint directory otherwise.
    :param format_type: ``CANONICAL`` (portable across state backends) or ``NATIVE`` (faster).

    A failed savepoint fails the task with Flink's cause; the job keeps running untouched.
    """

    def execute(self, context: Any) -> Any:
        job_id = str(self.job_id)
        job = self.hook.find_job(job_id)
        if job is None:
            raise FlinkOperatorError(f"Cannot take a savepoint: Flink does not know job {job_id}")
        if job.state is not JobState.RUNNING:
            raise FlinkOperatorError(
                f"Cannot take a savepoint: job {job_id} is {job.state.value}, not RUNNING"
            )
        self.push_job_link(context, job_id)
        trigger_id = self._resume_or_start(id_store(context), job_id)
        return self._wait_for(context, job_id, trigger_id)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        location = super().execute_complete(context, event)
        self.report_lineage(
            context, {str(self.job_id): ""}, savepoint=location, savepoint_output=True, started_here=False
        )
        return location


class Stopping(_SavepointingOperator):
    """A stop with a savepoint (of a job, or of every job of an application): ``drain`` and
    ``missing_ok`` (what Flink does not know counts as already stopped)."""

    operation: Literal["savepoint", "stop"] = "stop"

    def __init__(self, *, drain: bool = False, missing_ok: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.drain = drain
        self.missing_ok = missing_ok


class FlinkStopJobOperator(Stopping):
    """Stop a job with a savepoint (optionally draining it first) and return the savepoint location.

    :param drain: emit MAX_WATERMARK before stopping (ends event-time windows; use when not resuming).
    :param missing_ok: a job id Flink does not know ends the task with ``None`` instead of failing it.

    Idempotent: a job that already ended (stopped, cancelled, failed) is reported as such and the
    task returns ``None``, or the location an earlier try's stop recorded. A job id Flink does not
    know fails the task (a wrong id, another cluster, or a JobManager restart without HA): a
    redeploy downstream would otherwise start without the state of a job that may still run.
    """

    def execute(self, context: Any) -> Any:
        job_id = str(self.job_id)
        store = id_store(context)
        job = self.hook.find_job(job_id)
        if job is None and not self.missing_ok:
            raise FlinkOperatorError(
                f"Cannot stop job {job_id}: Flink at {self.flink_conn_id} does not know it (a wrong job id, "
                "another cluster, or lost in a JobManager restart without HA); no savepoint was taken. "
                "Set missing_ok=True if an unknown job counts as already stopped"
            )
        if job is None or job.state.is_globally_terminal:
            recorded = recorded_id(store, TRIGGER_ID_KEY, lambda candidate: self._known(job_id, candidate))
            if job is not None and recorded:
                # An earlier try stopped it: its savepoint location is still answerable for a while.
                try:
                    status = self.hook.savepoint_status(job_id, str(recorded))
                    if status.succeeded and status.location:
                        self.log.info(
                            "Job %s was stopped by an earlier try; savepoint at %s", job_id, status.location
                        )
                        return status.location
                except Exception as err:
                    self.log.info("Earlier stop %s is not known any more: %s", recorded, err)
            state = "not known to Flink (already gone)" if job is None else f"already {job.state.value}"
            self.log.warning("Job %s is %s: nothing to stop, no savepoint taken", job_id, state)
            return None
        self.push_job_link(context, job_id)
        trigger_id = self._resume_or_start(store, job_id)
        return self._wait_for(context, job_id, trigger_id)

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        location = super().execute_complete(context, event)
        self.report_lineage(
            context,
            {str(self.job_id): ""},
            [lineage.STOPPED],
            savepoint=location,
            savepoint_output=True,
            started_here=False,
        )
        return location


class FlinkCancelJobOperator(FlinkBaseOperator):
    """Cancel a job **without** a savepoint and wait for CANCELED; returns the final state.

    Its state since the last checkpoint is not saved: use :class:`FlinkStopJobOperator` to keep it.
    A job that already ended or that Flink does not know is reported, not an error.
    """

    template_fields: Sequence[str] = ("job_id",)

    def __init__(self, *, job_id: str, wait: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.wait_for_cancel = wait

    def execute(self, context: Any) -> Any:
        job_id = str(self.job_id)
        job = self.hook.find_job(job_id)
        if job is None:
            self.log.warning("Job %s is not known to Flink (already gone): nothing to cancel", job_id)
            return None
        if job.state.is_globally_terminal:
            self.log.warning("Job %s already ended %s: nothing to cancel", job_id, job.state.value)
            return job.state.value
        self.push_job_link(context, job_id)
        if not self.hook.cancel_job(job_id):
            ended = self.hook.find_job(job_id)
            self.log.warning("Job %s ended before the cancel reached it: nothing to cancel", job_id)
            return ended.state.value if ended is not None else None
        self.log.info("Cancel requested for job %s (no savepoint)", job_id)
        if not self.wait_for_cancel:
            return JobState.CANCELLING.value
        return self.wait_for_job(context, job_id, "states", [JobState.CANCELED.value])

    def end_xcoms(self, trigger: FlinkPollingTrigger) -> dict[str, str] | None:
        return {"return_value": "state"}

    def execute_complete(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        state = self.completed(event).state
        self.report_lineage(context, {str(self.job_id): ""}, ["ABORT"], started_here=False)
        return state
