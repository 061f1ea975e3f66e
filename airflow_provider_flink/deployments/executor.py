"""The reconcile executor: applies a deployment's planned actions with the safety rules.

* I1: every submission uses a job id recorded before the request; Flink refuses a duplicate, which
  is read as "already submitted" and adopted.
* I2: a stateful upgrade stops the old job *with* a savepoint and restores from the location Flink
  returned; a failed savepoint leaves the old job running and the upgrade fails, never falling back
  to stateless. Savepoints are disposed through Flink before they leave the history.
* I4: intent (job id, the state restored from, the spec) is written to the record before acting,
  also before a cancel, so a run killed anywhere is finished the same way by the next one.
* I7: resume, restart and recovery restore from the newest snapshot Flink can prove that still
  exists; nothing is cancelled unless its state is safe (a completed savepoint, or a checkpoint
  that Flink keeps after the cancel); a checkpoint older than the spec allows is not used.
* I8: job ids and savepoint trigger ids are derived from the transition, so two actors that race
  send the same requests and Flink runs them once; every record write is a compare-and-set on the
  revision this run read, under the deployment's lease (:mod:`.stores.leased`), and a run whose
  write lost (another actor's revision, its lease taken over or run out) stops acting on the
  deployment. A write the store could not make is a failure, reported after what was done.

Every change to the cluster goes through the hook's verbs; waits reuse the triggers (run
in-process), so "healthy" and "savepoint done" mean what they mean everywhere else in the provider.

Short runs (``wait_for_health=False``, the reconcile operator's default): a submitted job is
recorded and the run moves on; the next run marks it stable or rolls it back (the planner's rules),
so no worker waits ``health_timeout_seconds``. Savepoints and cancels are still waited for: the
state they produce is what the next step (or the next run) restores from.

Every action, as it ends, is added to the deployment's history (the Flink page shows it).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Literal

from airflow_provider_flink import crashpoints, ids
from airflow_provider_flink.artifacts import PreparedArtifact, prepare_job
from airflow_provider_flink.artifacts.submission import PythonProgramError, submit_prepared
from airflow_provider_flink.client import (
    FlinkApiError,
    FlinkCircuitOpenError,
    FlinkOutcomeUnknownError,
    FlinkUnreachableError,
)
from airflow_provider_flink.client.models import JobState
from airflow_provider_flink.deployments import transitions
from airflow_provider_flink.deployments.planner import (
    ACTION_TYPES,
    Action,
    Adopt,
    AskApproval,
    ClearRestarts,
    ClusterView,
    Deploy,
    DeploymentPlan,
    Dispose,
    Hold,
    MarkStable,
    Recover,
    Release,
    Rescale,
    Restart,
    Resubmit,
    Resume,
    Rollback,
    Savepoint,
    StartFromNewest,
    Suspend,
    Upgrade,
)
from airflow_provider_flink.deployments.records import (
    DeploymentRecord,
    HistoryEntry,
    Rescaling,
    SavepointEntry,
    Start,
    summary,
)
from airflow_provider_flink.deployments.report import ActionResult
from airflow_provider_flink.deployments.snapshots import (
    Snapshot,
    deployment_savepoint_dir,
    exists,
    known_checkpoint_id,
    newest_snapshot,
    surviving_checkpoint,
)
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.deployments.stores import RecordStore, RunRecords, holder_of
from airflow_provider_flink.exceptions import (
    ArtifactError,
    DeploymentBusyError,
    LimitError,
    ReconcileError,
    RecordStoreError,
    RescaleNotPossibleError,
)
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.ids import deployment_prefix, transition_id
from airflow_provider_flink.triggers import (
    FlinkCheckpointTrigger,
    FlinkDisposalTrigger,
    FlinkJobTrigger,
    FlinkSavepointTrigger,
    WaitEvent,
    run_inline,
)
from airflow_provider_flink.triggers.conditions import is_healthy
from airflow_provider_flink.triggers.steps import begin_savepoint, checkpoint_first

__all__ = ["Executor", "ReconcileError", "prepare_spec_artifact"]

log = logging.getLogger(__name__)
SAVEPOINT_TIMEOUT = 600.0


class SubmissionRefusedError(ReconcileError):
    """Flink refused a submission: it answered, and no job of it exists (I3 is about no answer)."""


def prepare_spec_artifact(spec: DeploymentSpec, hook: FlinkHook) -> PreparedArtifact:
    """The spec's verified jar (a Python job's staged program) under the cluster's caps and policy (I6)."""
    try:
        return prepare_job(hook, spec.definition())
    except (ArtifactError, LimitError) as err:
        raise ReconcileError(str(err)) from None


def _applied_parallelism(record: DeploymentRecord) -> int | None:
    value = (record.applied.spec or {}).get("parallelism") if record.applied else None
    return value if isinstance(value, int) else None


def _result(action: Action, ok: bool, detail: str, began: float, yielded: bool = False) -> ActionResult:
    return ActionResult(
        kind=action.kind,
        action=action.describe(),
        ok=ok,
        detail=detail,
        yielded=yielded,
        seconds=round(time.monotonic() - began, 3),
        job_id=getattr(action, "job_id", None),
        new_job_id=getattr(action, "new_job_id", None),
    )


def _dumped(spec: DeploymentSpec) -> dict[str, Any]:
    return spec.model_dump(mode="json")


# Configuration a run adds to every job it submits, by deployment name (the reconcile operator's
# OpenLineage parent run): a callable, so the deployments layer knows nothing of lineage.
JobConfig = Callable[[str], Mapping[str, str]]


class Executor:
    """``wait_for_health``: wait in the run for a submitted job to become healthy (and roll an
    upgrade back in the same run); False: record it and return (short runs). ``run``: the task
    that acts ("dag_id/run_id/task_id/try_number"), named in the history.

    While it applies a plan, ``record`` is the deployment's record as this run last wrote it: every
    change is a function of :mod:`~airflow_provider_flink.deployments.transitions`, stored at once
    with the revision check (:meth:`_write`)."""

    def __init__(
        self,
        hook: FlinkHook,
        store: RecordStore | RunRecords,
        clock: Callable[[], float] = time.time,
        wait_for_health: bool = True,
        run: str | None = None,
        job_config: JobConfig | None = None,
    ) -> None:
        self.hook = hook
        self.job_config = job_config
        # The run's reads and fenced writes; a bare store gets this executor's own.
        self.records = store if isinstance(store, RunRecords) else RunRecords(store, holder_of(run))
        self.clock = clock
        self.wait_for_health = wait_for_health
        self.run = run
        self._prepared: tuple[DeploymentSpec, PreparedArtifact] | None = None
        self._cluster_config: dict[str, str] | None = None
        self._record: DeploymentRecord | None = None
        # The prefixes of the deployments declared on this cluster (the reconcile sets them): a
        # savepoint in a shared directory, named by 6 hex of a job id, is told apart by them.
        self.neighbours: frozenset[str] = frozenset()

    @property
    def record(self) -> DeploymentRecord:
        if self._record is None:
            raise ReconcileError("internal error: no plan is being applied")
        return self._record

    # ------------------------------------------------------------------ entry point
    def apply(self, plan: DeploymentPlan, artifact: PreparedArtifact | None = None) -> list[ActionResult]:
        """Apply the plan's actions in order; stop at the first failure (later ones depend on it).
        The plan's record is what the run wrote last, when it returns.

        ``artifact`` is the spec's jar as verified at planning; without it the jar is prepared when
        an action first needs it.
        """
        self._prepared = (plan.spec, artifact) if artifact is not None else None
        self._record = plan.record
        results: list[ActionResult] = []
        try:
            if plan.record.rebuilt:
                # An unreadable record was warned of where it was read; a missing one with a live
                # job is worth a warning; none and no job is simply a new deployment.
                if plan.record.current_job_id:
                    log.warning(
                        "Deployment %s had no record: rebuilt from Flink, whose job %s runs",
                        plan.spec.name,
                        plan.record.current_job_id,
                    )
                else:
                    log.info("Deployment %s: its first record", plan.spec.name)
            first = plan.record.rebuilt
            if first and not plan.actions:
                self._write(plan.record)
            for action in plan.actions:
                began = time.monotonic()
                try:
                    if first:  # inside: a lost race or a failed write is the first action's outcome
                        first = False
                        self._write(plan.record)
                    detail = HANDLERS[type(action)](self, plan.spec, action)
                except DeploymentBusyError as err:  # a lost race, a lease taken over: not a failure
                    results.append(_result(action, False, str(err), began, yielded=True))
                    log.warning("%s: %s", action.describe(), err)
                    break  # another actor's: its history, not this run's
                except Exception as err:
                    results.append(_result(action, False, str(err), began))
                    log.error("%s failed: %s", action.describe(), err)
                    self._remember_failure(action, str(err))
                    break
                try:
                    done = self.record
                    if used := plan.approved.get(action.describe()):  # it covered this action only
                        done = transitions.approval_used(done, used)
                    self._write(transitions.remembered(done, self._entry(action, True, detail)))
                except DeploymentBusyError as err:
                    results.append(_result(action, True, detail, began))
                    log.warning("%s: done, then %s", action.describe(), err)
                    break
                except RecordStoreError as err:  # done on Flink; the store failed: red, with both
                    results.append(_result(action, False, f"done on Flink ({detail}), then {err}", began))
                    log.error("%s: done on Flink (%s), then %s", action.describe(), detail, err)
                    break
                results.append(_result(action, True, detail, began))
                log.info("%s: %s", action.describe(), detail)
        finally:
            plan.record, self._record = self.record, None
            self.records.release(plan.spec.cluster, plan.spec.name)
        return results

    # ------------------------------------------------------------------ history
    def _entry(self, action: Action, ok: bool, detail: str) -> HistoryEntry:
        return HistoryEntry(
            at=self.clock(),
            kind=action.kind,
            ok=ok,
            detail=detail[:500],
            job_id=getattr(action, "new_job_id", None) or getattr(action, "job_id", None),
            run=self.run,
        )

    def _remember_failure(self, action: Action, detail: str) -> None:
        """A failed action into the stored record's history. The run's copy may hold changes the
        failure left unsaved (a restart counted before its refusal): only the history is added to
        what is stored, and only if no other actor wrote since (I8). Best effort: the failure itself
        is what the run reports."""
        record = self.record
        try:
            stored = self.records.get(record.cluster, record.name)
            if stored is None or stored.revision != record.revision:
                return
            written = self.records.write(transitions.remembered(stored, self._entry(action, False, detail)))
            self._record = record.model_copy(
                update={"revision": written.revision, "history": written.history}
            )
        except Exception as err:
            log.warning("Could not add the failure to %s's history: %s", record.name, err)

    # ------------------------------------------------------------------ building blocks
    def _write(self, record: DeploymentRecord) -> DeploymentRecord:
        """Store ``record`` as the next revision (I8) and make it the run's record. A store that
        failed says what the record would have held: Flink has it, and the next run reads it there."""
        try:
            self._record = self.records.write(record)
        except RecordStoreError as err:
            raise RecordStoreError(f"{err}; it would have recorded {summary(record)}") from None
        return self._record

    def _savepoint_dir(self, spec: DeploymentSpec) -> str | None:
        """The deployment's own savepoint directory (the cluster's default asked once per run)."""
        if spec.savepoint_dir:
            return deployment_savepoint_dir(spec, None)
        if self._cluster_config is None:
            try:
                self._cluster_config = self.hook.cluster_config()
            except FlinkApiError as err:
                log.warning("Cannot read the cluster's savepoint directory (%s): Flink's default", err)
                self._cluster_config = {}
        return deployment_savepoint_dir(spec, self._cluster_config)

    def _newest(self, spec: DeploymentSpec, ended: str | None, forfeit: bool = False) -> Snapshot:
        """The deployment's newest snapshot on storage (I7), gathered now; ``ended``: its last job
        (``forfeit``: a failing job rolled back, whose deleted checkpoints are given up)."""
        return newest_snapshot(
            self.hook,
            spec,
            self.record,
            deployment_prefix(spec.name),
            [ended] if ended else [],
            self.clock(),
            forfeit=ended if forfeit else None,
            neighbours=self.neighbours,
        )

    def _artifact(self, spec: DeploymentSpec) -> PreparedArtifact:
        """The verified jar of ``spec``: the one prepared at planning, or (a rollback's older spec)
        prepared now under the same gate."""
        if self._prepared is not None and self._prepared[0] == spec:
            return self._prepared[1]
        prepared = prepare_spec_artifact(spec, self.hook)
        self._prepared = (spec, prepared)
        return prepared

    def _wait_healthy(self, spec: DeploymentSpec, job_id: str) -> WaitEvent:
        trigger = FlinkJobTrigger(
            spec.cluster,
            job_id,
            self.clock() + spec.health_timeout_seconds,
            target="running",
            poll_interval=1.0,
            # The reconcile judges an unhealthy new job by health_timeout_seconds (then rolls back),
            # the same rule for every run: a restart count would end this wait at another moment.
            max_restarts=None,
        )
        return run_inline(trigger)

    def _submit(self, spec: DeploymentSpec, start: Start) -> tuple[WaitEvent | None, bool]:
        """Record intent, upload (by digest), submit or adopt, wait until healthy; a healthy spec is
        recorded as the last stable one (the rollback target). Returns the wait's event (None in a
        short run: not waited for) and whether the job was adopted (an earlier run had submitted it)."""
        artifact = self._artifact(spec)
        origin = {"airflow.deployment": spec.name, "airflow.spec-hash": start.spec_hash[:12]}
        definition = spec.definition()
        if self.job_config is not None:  # e.g. the OpenLineage parent run; the spec's own keys win
            extra = self.job_config(spec.name)
            definition = dataclasses.replace(definition, flink_config={**extra, **definition.flink_config})
        request = definition.run_request(
            start.job_id, start.restore_from, origin=origin, staged=artifact.program
        )
        record = self.record
        if start.restore_from is None:
            # A new lineage: its checkpoint ids begin again at 1, so what came before is not newer
            # state (set here, after any cancel of the job it replaces has ended).
            record = transitions.new_lineage(record, self.clock())
        self._write(transitions.intended(record, start, self.clock()))
        crashpoints.reach("submit:intent-recorded")
        try:
            jar_id, adopted = submit_prepared(self.hook, artifact, request, definition.artifact.jar)
        except (FlinkApiError, PythonProgramError) as err:
            if isinstance(err, FlinkApiError) and (err.status >= 500 or self._job_lives(start.job_id)):
                raise  # not an answer, or the job runs after all: the next run looks again
            self._write(transitions.submission_refused(self.record, start, str(err), self.clock()))
            raise SubmissionRefusedError(str(err)) from None
        crashpoints.reach("submit:requested")
        self._write(transitions.submitted(self.record, start, _dumped(spec), jar_id))
        crashpoints.reach("submit:recorded")
        if not self.wait_for_health:
            return None, adopted
        event = self._wait_healthy(spec, start.job_id)
        if spec.bounded and event.state == JobState.FINISHED.value:
            # A bounded job may end before a poll sees it RUNNING: its end is its success.
            event = event.model_copy(
                update={"status": "success", "message": f"Job {start.job_id} ran to its end (FINISHED)"}
            )
        if event.ok:
            self._stable(spec, start.spec_hash)
        return event, adopted

    def _job_lives(self, job_id: str) -> bool:
        """Whether Flink runs (or may still run) the job: a refused program's job that Flink
        cancelled with its failed application (run-application) is no reason to look again."""
        job = self.hook.find_job(job_id)
        return job is not None and not job.state.is_globally_terminal

    def _stable(self, spec: DeploymentSpec, spec_hash: str) -> None:
        """The job of ``spec`` ran healthy: it becomes the rollback target, an upgrade is over."""
        self._write(transitions.stable(self.record, spec_hash, _dumped(spec)))
        self._prune_uploads()

    def _prune_uploads(self, keep: int = 2) -> None:
        """After a healthy deploy, delete older uploads of this deployment, keeping the previous jar
        for a rollback. A jar another deployment shares is simply uploaded again when it needs it."""
        record = self.record
        for jar_id in record.uploads[:-keep]:
            try:
                self.hook.delete_jar(jar_id)
            except FlinkApiError as err:
                if err.status >= 500:
                    log.warning("Could not delete old upload %s: %s", jar_id, err)
                    continue
            record = transitions.upload_dropped(record, jar_id)
        if record is not self.record:
            self._write(record)

    def _take_savepoint(
        self,
        spec: DeploymentSpec,
        job_id: str,
        reason: str,
        operation: Literal["savepoint", "stop"],
        purpose: str | None = None,
    ) -> str:
        """A savepoint (``stop``: and the job's end) under a trigger id recorded first; returns the
        location Flink reported. A failed savepoint raises and leaves the job as it was (I2)."""
        trigger_id = ids.savepoint_trigger_id(
            job_id, purpose or f"{operation}:{reason}", self.record.failed_triggers
        )

        def pending(trigger: str) -> None:
            self._write(transitions.savepoint_begun(self.record, job_id, trigger, reason, self.clock()))

        try:
            begin_savepoint(
                self.hook,
                job_id,
                trigger_id,
                operation=operation,
                record=pending,
                crash_prefix=f"{operation}:",
                target_directory=partial(self._savepoint_dir, spec),
            )
        except FlinkApiError as err:  # Flink refused: the job may have ended meanwhile
            self._yield_if_ended_outside(job_id, operation, str(err))
            raise
        event = run_inline(
            FlinkSavepointTrigger(
                spec.cluster,
                job_id,
                request_id=trigger_id,
                deadline=self.clock() + SAVEPOINT_TIMEOUT,
                operation=operation,
            )
        )
        if not event.ok or not event.location:
            # Flink said it failed: that id is not sent again; a time-out may still complete: same id again
            refused = trigger_id if event.status == "failed" else None
            self._write(transitions.savepoint_failed(self.record, refused))
            if refused:
                self._yield_if_ended_outside(job_id, operation, event.message)
            raise ReconcileError(f"{event.message}; job {job_id} was left as it is")
        entry = SavepointEntry(
            path=event.location,
            taken_at=self.clock(),
            reason=reason,
            job_id=job_id,
            checkpoint_id=known_checkpoint_id(event.location),
        )
        self._write(transitions.savepoint_filed(self.record, entry))
        crashpoints.reach(f"{operation}:recorded")
        return event.location

    def _yield_if_ended_outside(self, job_id: str, operation: str, why: str) -> None:
        """A savepoint or stop Flink refused because the job had ended (a person stopped or
        cancelled it between this run's look and its act) is not this run's failure: the next run,
        started by the watcher's event, starts the job from its newest snapshot (the person's
        savepoint). The task stayed red for it. Any other refusal stands."""
        try:
            job = self.hook.find_job(job_id)
        except Exception:  # not known: the refusal stands as it is
            return
        if job is not None and job.state in (JobState.FINISHED, JobState.CANCELED):
            raise DeploymentBusyError(
                f"job {job_id} ended {job.state.value} outside this run before its {operation} ({why}); "
                "the next run starts from its newest snapshot"
            )

    def _cancel(self, job_id: str) -> None:
        self.hook.cancel_job(job_id)  # an unknown or ended job is fine: it is not running
        crashpoints.reach("cancel:requested")
        run_inline(
            FlinkJobTrigger(
                self.hook.flink_conn_id,
                job_id,
                self.clock() + 120,
                target="states",
                states=[s.value for s in (JobState.CANCELED, JobState.FINISHED, JobState.FAILED)],
                poll_interval=0.5,
            )
        )

    def _healthy_or_raise(self, submitted: tuple[WaitEvent | None, bool], job_id: str) -> str:
        event, adopted = submitted
        how = " (adopted)" if adopted else ""
        if event is None:
            return f"job {job_id} submitted{how}; the next run judges its health"
        if not event.ok:
            raise ReconcileError(event.message)
        return f"{event.message}{how}"

    # ------------------------------------------------------------------ actions
    def _submit_or_roll_back(self, spec: DeploymentSpec, start: Start) -> tuple[WaitEvent | None, bool]:
        """Submit; a spec that never ran healthy and that Flink refuses is rolled back to the last
        stable spec in the same run (as a failed upgrade is): a refusal is an answer, and the next
        run would only be refused again (seed 32 of the histories: a recover of a Python program
        whose main raises, tried run after run while the deployment ran nothing)."""
        try:
            return self._submit(spec, start)
        except SubmissionRefusedError as err:
            record = self.record
            if not record.last_stable_spec or start.spec_hash == record.last_stable_hash:
                raise
            rollback = self._rollback_to_stable(
                spec, start.job_id, start.spec_hash, f"Flink refused its submission: {err}"
            )
            raise ReconcileError(f"{err}; {rollback}") from None

    def _deploy(self, spec: DeploymentSpec, action: Deploy) -> str:
        start = Start(job_id=action.new_job_id, spec_hash=action.spec_hash, restore_from=action.path)
        return self._healthy_or_raise(self._submit_or_roll_back(spec, start), action.new_job_id)

    def _resubmit(self, spec: DeploymentSpec, action: Resubmit) -> str:
        """Finish a submission an earlier run recorded, with the spec it recorded it for: the
        declared one, or the last stable one when the earlier run was rolling back."""
        record = self.record
        if action.spec_hash == record.last_stable_hash and record.last_stable_spec:
            spec = DeploymentSpec.model_validate(record.last_stable_spec)
        return self._deploy(spec, action)

    def _resume(self, spec: DeploymentSpec, action: Resume) -> str:
        return self._start_from_newest(spec, action)

    def _restart(self, spec: DeploymentSpec, action: Restart) -> str:
        self._record = transitions.restarted(self.record, self.clock())  # stored with the job's intent
        return self._start_from_newest(spec, action)

    def _recover(self, spec: DeploymentSpec, action: Recover) -> str:
        return self._start_from_newest(spec, action, lost=True)

    def _start_from_newest(self, spec: DeploymentSpec, action: StartFromNewest, lost: bool = False) -> str:
        """Start the deployment's next job from the newest snapshot Flink can prove (I7); with the
        last stable spec when the planner says so (the declared one failed and was rolled back)."""
        record = self.record
        if action.mode == "stable" and record.last_stable_spec:
            spec = DeploymentSpec.model_validate(record.last_stable_spec)
        # One index of the deployment's jobs, the planner's own (ClusterView.jobs_of).
        seen = ClusterView(spec.cluster, tuple(self.hook.jobs())).jobs_of(spec.name)
        live = [j.jid for j in seen if not j.state.is_globally_terminal]
        if live:
            # I1: the plan saw no live job, but the view is older than the record it read: a run
            # beside this one started one since (a resume here would be a second copy).
            raise DeploymentBusyError(
                f"job {live[0]} of the deployment runs now (started after this run looked): this run "
                "leaves it to the next look"
            )
        snapshot = self._newest(spec, action.job_id)
        if snapshot.refusal:
            raise ReconcileError(snapshot.refusal)
        if lost and snapshot.path is None:
            raise ReconcileError(
                f"job {action.job_id} is gone and neither a retained checkpoint nor a savepoint of it is "
                "known: not starting it without its state; deploy it by hand (or remove its record to start "
                "fresh)"
            )
        start = Start(job_id=action.new_job_id, spec_hash=action.spec_hash, restore_from=snapshot.path)
        upgrade = record.upgrading
        upgrading = upgrade is not None and upgrade.new_job_id == action.new_job_id
        if record.last_stable_hash and action.spec_hash != record.last_stable_hash and not upgrading:
            # A spec that never ran healthy, started again (an upgrade's run died after its stop, or
            # an earlier upgrade's job ended and the file changed since: seed 188811): an upgrade in
            # flight of this job, judged as one (FAILED or not healthy in time: rolled back to the
            # last stable spec and marked failed), never restarted until the limit.
            self._record = transitions.upgrade_of_never_stable(record, start, self.clock())
        started = self._healthy_or_raise(self._submit_or_roll_back(spec, start), action.new_job_id)
        return f"{started} ({snapshot.describe()})"

    def _upgrade(self, spec: DeploymentSpec, action: Upgrade) -> str:
        old, mode, new, new_hash = action.job_id, action.mode, action.new_job_id, action.spec_hash
        job = self.hook.find_job(old)
        if job is None:
            raise ReconcileError(
                f"job {old} is gone from the cluster: not upgrading; the next run recovers it"
            )
        if mode == "stateless" or (mode == "last-state" and not is_healthy(job)):
            # Stateless: the user asked to start without state, the one cancel that loses it. An
            # unhealthy job cannot take a savepoint: its latest checkpoint, only if it survives the
            # cancel (I7).
            state: str | None = None
            if mode == "last-state":
                state = surviving_checkpoint(self.hook, spec, old, self.clock(), "last-state upgrade")
            start = Start(job_id=new, spec_hash=new_hash, restore_from=state)
            # I4: the upgrade's intent, before the old job is cancelled or the new one submitted: a
            # run killed in between is finished by the next one with the same job id and state.
            self._write(transitions.upgrade_begun(self.record, start, self.clock()))
            crashpoints.reach("cancel:intent-recorded")
            self._cancel(old)
        else:
            state = self._take_savepoint(spec, old, "upgrade", "stop")  # raises, old job untouched
            start = Start(job_id=new, spec_hash=new_hash, restore_from=state)
            self._write(transitions.upgrade_begun(self.record, start, self.clock()))
        ended = None
        try:
            event, _ = self._submit(spec, start)
            problem = None if event is None or event.ok else event.message
            ended = event.state if event is not None else None
        except DeploymentBusyError:
            raise
        except (FlinkUnreachableError, FlinkOutcomeUnknownError, FlinkCircuitOpenError) as err:
            # I3: no answer is not a refusal. Flink may run the new job: no rollback, no failed mark;
            # the upgrade stays in flight and the next run adopts the job or submits the same id again.
            raise ReconcileError(
                f"the new job {new} may or may not run ({err}); the upgrade stays in flight: the next run "
                "adopts the job or submits it again with the same id"
            ) from None
        except Exception as err:
            problem = f"the new job could not be submitted: {err}"
        if problem is None:
            outcome = (
                event.message
                if event is not None
                else f"job {new} submitted; the next run marks it stable once healthy, or rolls it back "
                f"if it is not healthy within {spec.health_timeout_seconds:g} s"
            )
            return f"upgraded ({mode}) from {state or 'no state'}: {outcome}"
        if ended in (JobState.FINISHED.value, JobState.CANCELED.value):
            # Stopped or cancelled by someone else while it started: not a failure of the spec, and a
            # rollback would restore older state than the stop's savepoint. The next run starts the
            # declared spec again from the newest snapshot.
            raise ReconcileError(
                f"the new job {new} ended {ended} outside the provider while it started; the next "
                "run starts it again from its newest snapshot"
            )
        rollback = self._rollback_to_stable(spec, new, new_hash, problem)
        raise ReconcileError(f"upgrade failed ({problem}); {rollback}")

    def _rollback(self, spec: DeploymentSpec, action: Rollback) -> str:
        upgrade = self.record.upgrading
        failed = upgrade.to_hash if upgrade else None
        return self._rollback_to_stable(spec, action.job_id, failed, action.reason, action.new_job_id)

    def _rollback_to_stable(
        self,
        spec: DeploymentSpec,
        bad_job: str,
        failed_hash: str | None,
        why: str,
        job_id: str | None = None,
    ) -> str:
        """Replace the failing job by the last stable spec. Its state comes from the failing job
        itself (stop with a savepoint) when it runs; else from the deployment's newest snapshot on
        storage (I7: the upgrade's savepoint, or a checkpoint the failing job completed since);
        what the failing job left and Flink deleted is given up, and the result says so."""
        if failed_hash:  # written first: a crash during the rollback still keeps the spec from coming back
            self._write(transitions.failed(self.record, failed_hash, why, self.clock()))
        stable_hash, stable_spec = self.record.last_stable_hash, self.record.last_stable_spec
        if not stable_spec or not stable_hash:
            return (
                "no earlier healthy spec is recorded, so nothing to roll back to; the deployment needs a fix"
            )
        stable = DeploymentSpec.model_validate(stable_spec)
        job = self.hook.find_job(bad_job)
        state: str | None = None
        why_not_own = ""
        if job is not None and job.state is JobState.RUNNING:
            try:
                state = self._take_savepoint(spec, bad_job, "rollback", "stop")
            except DeploymentBusyError:
                raise
            except ReconcileError as err:
                why_not_own = f", because the failing job's savepoint failed ({err})"
        source = "the failing job's own savepoint"
        if state is None:
            # No savepoint of the failing job: it is ended (or ended now: its state is whatever it
            # left on storage), and the deployment's newest snapshot is what it rolls back from.
            self._cancel(bad_job)
            newest = self._newest(spec, bad_job, forfeit=True)
            if newest.refusal:
                raise ReconcileError(f"not rolling back: {newest.refusal}")
            state, source = newest.path, newest.describe() + why_not_own
        target = job_id or transition_id(spec.name, stable_hash, bad_job)
        start = Start(job_id=target, spec_hash=stable_hash, restore_from=state)
        self._write(transitions.intended(transitions.upgrade_over(self.record), start, self.clock()))
        crashpoints.reach("rollback:intent-recorded")
        self._cancel(bad_job)  # a no-op when the stop above ended it
        event, _ = self._submit(stable, start)
        if event is not None and not event.ok:
            raise ReconcileError(f"rollback to the last stable spec failed too: {event.message}")
        return f"rolled back to the last stable spec from {state or 'no state'} ({source}) as job {target}"

    def _suspend(self, spec: DeploymentSpec, action: Suspend) -> str:
        location = self._take_savepoint(spec, action.job_id, "suspend", "stop")
        self._write(transitions.suspended(self.record))
        return f"suspended; state in {location}"

    def _savepoint(self, spec: DeploymentSpec, action: Savepoint) -> str:
        if action.mode == "asked":
            # One savepoint per request: the run that carries it (a retry of it sends the same id),
            # else the minute (two runs racing on one request).
            slot = f"asked:{self.run or int(self.clock() // 60)}"
            reason = "asked"
        else:
            interval = (spec.savepoint_policy.interval_minutes or 60) * 60
            slot = f"periodic:{int(self.clock() // interval)}"  # one per interval, whoever asks
            reason = "periodic"
        location = self._take_savepoint(spec, action.job_id, reason, "savepoint", slot)
        return f"savepoint at {location}"

    def _rescale(self, spec: DeploymentSpec, action: Rescale) -> str:
        """Change the live job's parallelism in place (same job id; Flink restarts it from its
        latest checkpoint), wait until it runs at the new parallelism, and record which spec it now
        runs. Where Flink cannot (not the adaptive scheduler, ...): the savepoint upgrade, saying why.
        Not at the new parallelism within ``health_timeout_seconds``: the old parallelism is asked
        for again and the spec recorded as failed (as a rolled-back upgrade)."""
        job_id, to_hash = action.job_id, action.spec_hash
        flight = self.record.rescaling
        # Finishing an earlier run's rescale: its own target, whatever the file says now (a file
        # changed since is the next run's upgrade, never this job recorded as running it).
        finishing = flight is not None and flight.job_id == job_id and flight.to_hash == to_hash
        target = flight.to_parallelism if flight is not None and finishing else spec.parallelism
        if flight is None or not finishing:
            support = self.hook.supports_rescale(job_id, target)
            if not support.possible:
                return f"not in place ({support.reason}): {self._upgrade(spec, action)}"
            before = support.current or _applied_parallelism(self.record) or target
            flight = Rescaling(
                job_id=job_id,
                from_parallelism=before,
                to_parallelism=target,
                to_hash=to_hash,
                started_at=self.clock(),
            )
            self._write(transitions.rescale_begun(self.record, flight))  # I4: intent before the request
            crashpoints.reach("rescale:intent-recorded")
            if support.checkpoint_first:
                self._checkpoint_before_rescale(spec, job_id, to_hash)
        try:
            self.hook.rescale_job(job_id, target)
        except RescaleNotPossibleError as err:  # nothing was sent
            self._write(transitions.rescale_given_up(self.record))
            if finishing:  # the declared spec may have moved on: the next run plans from what runs
                return f"not in place ({err}): the earlier run's rescale is given up"
            return f"not in place ({err}): {self._upgrade(spec, action)}"
        crashpoints.reach("rescale:requested")
        event = run_inline(
            FlinkJobTrigger(
                spec.cluster,
                job_id,
                # From the request; a run finishing an earlier one's rescale still looks a while.
                max(flight.started_at + spec.health_timeout_seconds, self.clock() + 10),
                target="running",
                parallelism=target,
                poll_interval=1.0,
                max_restarts=None,
            )
        )
        if event.ok:
            # Healthy at the new parallelism: the spec it runs now, and the rollback target.
            applied = self.record.applied_spec
            ran = (
                {**applied.spec, "parallelism": target}
                if applied is not None and applied.spec
                else _dumped(spec)
            )
            self._write(transitions.rescaled(self.record, job_id, to_hash, ran))
            self._prune_uploads()
            crashpoints.reach("rescale:recorded")
            return (
                f"rescaled in place from parallelism {flight.from_parallelism} to {target}: {event.message}"
            )
        given_up = transitions.rescale_given_up(self.record)
        self._write(transitions.failed(given_up, to_hash, event.message, self.clock()))
        try:
            self.hook.rescale_job(job_id, flight.from_parallelism)
            back = f"asked Flink for parallelism {flight.from_parallelism} again"
        except Exception as err:
            back = f"asking Flink for parallelism {flight.from_parallelism} again failed too: {err}"
        raise ReconcileError(f"rescale to parallelism {target} failed ({event.message}); {back}")

    def _checkpoint_before_rescale(self, spec: DeploymentSpec, job_id: str, to_hash: str) -> None:
        """Flink 1.x rescales at once from the job's latest checkpoint and re-processes everything
        since (up to a checkpoint interval): a checkpoint right before keeps that short. Its id is
        derived from the transition (I8: a racing run sends the same one). A failed one only logs:
        the rescale then restarts from the latest periodic checkpoint, still the job's own state."""
        trigger_id = ids.checkpoint_trigger_id(job_id, to_hash)
        if not checkpoint_first(self.hook, job_id, trigger_id, log):
            return
        event = run_inline(FlinkCheckpointTrigger(spec.cluster, job_id, trigger_id, self.clock() + 60))
        if not event.ok:
            log.warning(
                "Job %s: no checkpoint before the rescale (%s): from its latest one", job_id, event.message
            )

    def _hold(self, spec: DeploymentSpec, action: Hold) -> str:
        self._write(transitions.held(self.record, self.clock(), self.run))
        return "held suspended until a resume is asked"

    def _release(self, spec: DeploymentSpec, action: Release) -> str:
        self._write(transitions.released(self.record))
        return "hold released: the deployment follows its file again"

    def _ask_approval(self, spec: DeploymentSpec, action: AskApproval) -> str:
        self._write(transitions.approval_asked(self.record, action.approval))
        return f"approval asked ({action.approval.key}): " + "; ".join(action.approval.risks)

    def _clear_restarts(self, spec: DeploymentSpec, action: ClearRestarts) -> str:
        forgotten = len(self.record.restarts)
        self._write(transitions.restarts_cleared(self.record))
        return f"restart limit cleared: {forgotten} restarts forgotten"

    def _dispose(self, spec: DeploymentSpec, action: Dispose) -> str:
        path = action.path
        if not exists(path):
            # Disposed by a run that died before it could drop it from the history (Flink then
            # fails a second disposal, "Could not dispose", on every later run), or deleted by
            # hand: nothing of it is left to dispose.
            self._write(transitions.disposed(self.record, path))
            return "already gone from storage: dropped from the history"
        request_id = self.hook.dispose_savepoint(path)
        crashpoints.reach("dispose:requested")
        event = run_inline(
            FlinkDisposalTrigger(spec.cluster, request_id, path, self.clock() + SAVEPOINT_TIMEOUT)
        )
        if not event.ok:
            raise ReconcileError(f"{event.message}; kept in the history")
        self._write(transitions.disposed(self.record, path))  # only after Flink disposed it
        return "disposed through Flink, then dropped from the history"

    def _adopt(self, spec: DeploymentSpec, action: Adopt) -> str:
        self._write(transitions.adopted(self.record, action.job_id))
        return "recorded as the deployment's job"

    def _mark_stable(self, spec: DeploymentSpec, action: MarkStable) -> str:
        applied = self.record.applied_spec
        if action.mode == "applied" and applied is not None and applied.spec_hash == action.spec_hash:
            # The running job's own spec (its file changed since): the target of the coming upgrade's rollback.
            self._stable(DeploymentSpec.model_validate(applied.spec), applied.spec_hash)
            return "the running job's spec recorded as the last stable one"
        self._stable(spec, action.spec_hash)
        return "spec recorded as the last stable one"


# Each handler takes the action class it is listed under (typed in its signature).
Handler = Callable[[Executor, DeploymentSpec, Any], str]

# One handler per action class, checked when the module is imported: a kind the planner can plan
# and the executor cannot apply is an import error, not a run that fails in production.
HANDLERS: dict[type[Action], Handler] = {
    Deploy: Executor._deploy,
    Resubmit: Executor._resubmit,
    Upgrade: Executor._upgrade,
    Rollback: Executor._rollback,
    Suspend: Executor._suspend,
    Resume: Executor._resume,
    Restart: Executor._restart,
    Recover: Executor._recover,
    Savepoint: Executor._savepoint,
    Dispose: Executor._dispose,
    Adopt: Executor._adopt,
    MarkStable: Executor._mark_stable,
    Hold: Executor._hold,
    Release: Executor._release,
    Rescale: Executor._rescale,
    ClearRestarts: Executor._clear_restarts,
    AskApproval: Executor._ask_approval,
}
if _unhandled := {t.kind for t in set(ACTION_TYPES) ^ set(HANDLERS)}:
    raise ImportError(f"action kinds without exactly one executor handler: {sorted(_unhandled)}")
