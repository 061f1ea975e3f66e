"""The reconcile use case: make every cluster match the deployments declared in a folder.

One run: load every spec file (a bad file is reported and skipped; the others still reconcile),
observe each cluster once (``GET /jobs/overview``), verify each deployment's jar under its
cluster's caps and policy, plan (pure), apply the actions, and return a
:class:`~airflow_provider_flink.deployments.report.ReconcileReport`.

The jar of a deployment is fetched, verified and hashed once per run, and deployments that name
the same jar under the same rules share that work.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from airflow_provider_flink.artifacts import JobDefinition, PreparedArtifact, prepare_job
from airflow_provider_flink.client import FlinkApiError
from airflow_provider_flink.client.models import LEFT_RUNNING, JobState
from airflow_provider_flink.deployments.approvals import cluster_risks, required_risks
from airflow_provider_flink.deployments.drift import only_parallelism_changed
from airflow_provider_flink.deployments.executor import Executor, JobConfig
from airflow_provider_flink.deployments.lifecycle import Lifecycle
from airflow_provider_flink.deployments.observe import catch_up, newest_state, observe
from airflow_provider_flink.deployments.planner import AskApproval, ClusterView, Request, plan_deployment
from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.report import DeploymentReport, ReconcileReport
from airflow_provider_flink.deployments.spec import (
    DeploymentSpec,
    SpecPath,
    load_specs,
    spec_folder,
    spec_hash,
)
from airflow_provider_flink.deployments.stores import DryRun, RecordStore, RunRecords, holder_of
from airflow_provider_flink.deployments.stores.base import LEASE_SECONDS
from airflow_provider_flink.exceptions import (
    ArtifactError,
    LimitError,
    RecordStoreError,
)
from airflow_provider_flink.hooks.flink import FlinkHook
from airflow_provider_flink.hooks.rescale import cluster_scheduler
from airflow_provider_flink.ids import deployment_prefix

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asked:
    """What a person asked of a run (the Flink page, a run's conf), by deployment name."""

    retry_failed: frozenset[str] = frozenset()  # apply a spec again whose upgrade failed
    savepoint_now: frozenset[str] = frozenset()  # a savepoint of the healthy job now
    suspend: frozenset[str] = frozenset()  # hold suspended (whatever the file says) until resumed
    resume: frozenset[str] = frozenset()  # release that hold
    clear_restarts: frozenset[str] = frozenset()  # forget the restarts counted against the limit

    def request(self, name: str) -> Request | None:
        if name in self.suspend and name in self.resume:
            return None  # contradicting: neither (the run's report names both lists)
        return "suspend" if name in self.suspend else "resume" if name in self.resume else None


def reconcile(
    folder: SpecPath | str,
    store: RecordStore,
    clusters: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    dry_run: bool = False,
    retry_failed: Sequence[str] = (),
    *,
    asked: Asked | None = None,
    wait_for_health: bool = True,
    run: str | None = None,
    lease_seconds: float = LEASE_SECONDS,
    job_config: JobConfig | None = None,
) -> ReconcileReport:
    """Load, observe, plan and (unless ``dry_run``) apply. ``retry_failed``: deployments whose
    failed spec may be applied again (a person asked; also in ``asked``). ``wait_for_health``:
    False for short runs (see :mod:`~airflow_provider_flink.deployments.executor`). ``run``: the
    task acting, for the deployments' history and its leases (``lease_seconds`` each).
    ``job_config``: configuration added to every job submitted (by deployment name).

    The records of a cluster's deployments are read in one request to the store; a store that
    cannot be read stops that cluster's share of the run (nothing is known of what it did before).
    ``folder``: a ``Path``, an ``ObjectStoragePath``, or a string of either (a path or a URI)."""
    if isinstance(folder, str):
        folder = spec_folder(folder)
    records = RunRecords(store, holder_of(run), lease_seconds)
    try:
        return _reconcile(
            folder, records, clusters, names, dry_run, retry_failed, asked, wait_for_health, run, job_config
        )
    finally:
        records.close()


def _reconcile(
    folder: SpecPath,
    records: RunRecords,
    clusters: Sequence[str] | None,
    names: Sequence[str] | None,
    dry_run: bool,
    retry_failed: Sequence[str],
    asked: Asked | None,
    wait_for_health: bool,
    run: str | None,
    job_config: JobConfig | None = None,
) -> ReconcileReport:
    asked = asked or Asked()
    asked = replace(asked, retry_failed=asked.retry_failed | frozenset(retry_failed))
    specs, problems = load_specs(folder)
    report = ReconcileReport(invalid=[str(p) for p in problems])
    # None: every deployment; a list (even empty: an event that named none) only those.
    declared = [s for s in specs if not clusters or s.cluster in clusters]
    specs = [s for s in declared if names is None or s.name in names]
    by_cluster: dict[str, list[DeploymentSpec]] = {}
    for spec in specs:
        by_cluster.setdefault(spec.cluster, []).append(spec)
    for cluster, members in by_cluster.items():
        try:
            stored = records.get_many(cluster, [s.name for s in members])
        except RecordStoreError as err:
            report.errors.append(f"cluster {cluster}: its records could not be read: no action taken ({err})")
            report.deployments += [_unread(spec, f"its record could not be read: {err}") for spec in members]
            continue
        hook = FlinkHook(cluster)
        try:
            view = observe(hook, cluster)
            try:  # read once the cluster answered (its connection was found)
                requires = cluster_risks(
                    hook.approval_required_for if view.jobs is not None else None,
                    cluster,
                )
            except ValueError as err:  # a person must fix the connection: acting without it is not safe
                report.errors.append(f"{err}: no action taken on this cluster")
                report.deployments += [_unread(spec, str(err)) for spec in members]
                continue
            if view.jobs is None:
                report.errors.append(
                    f"cluster {cluster} could not be observed: no action taken ({view.error})"
                )
            elif names is not None:
                members, stored = _with_unnamed_troubles(records, view, members, stored, declared)
            executor = Executor(
                hook, records, wait_for_health=wait_for_health, run=run, job_config=job_config
            )
            executor.neighbours = frozenset(deployment_prefix(s.name) for s in members)
            share = _ClusterRun(hook, records, stored, view, dry_run, asked, executor, requires)
            entries = [share.reconcile(spec) for spec in members]
        finally:
            hook.close()
        idle = sum(1 for entry in entries if not entry.actions and not entry.skipped)
        log.info("cluster %s: %d deployment(s), %d with nothing to do", cluster, len(entries), idle)
        report.deployments += entries
        report.errors += [f"{entry.deployment}: {error}" for entry in entries for error in entry.errors]
    return report


def _with_unnamed_troubles(
    records: RunRecords,
    view: ClusterView,
    members: list[DeploymentSpec],
    stored: dict[str, DeploymentRecord],
    declared: list[DeploymentSpec],
) -> tuple[list[DeploymentSpec], dict[str, DeploymentRecord]]:
    """A run started by events also takes in the cluster's other declared deployments whose newest
    job has left RUNNING (the same look, no extra call). Why: Airflow (3.3 here) can leave an event
    without a run of its own (apache/airflow#56050: while a run of a DAG at ``max_active_runs``
    waits, a second event of the same asset is queued behind the first and not consumed with it;
    it waits for a later event). The soak saw a job FAILED 3 s after another deployment's event
    restarted only 3.5 minutes later; the run queued meanwhile had looked at the cluster after the
    failure and passed it over, not named."""
    named = {spec.name for spec in members}
    extra = []
    for spec in declared:
        jobs = view.jobs_of(spec.name)
        if (
            spec.cluster != view.cluster
            or spec.name in named
            or not jobs
            or jobs[-1].state not in LEFT_RUNNING
        ):
            continue
        log.info(
            "Deployment %s is also reconciled: its job %s is %s (no event named it in this run)",
            spec.name, jobs[-1].jid, jobs[-1].state.value,
        )  # fmt: skip
        extra.append(spec)
    if not extra:
        return members, stored
    try:
        more = records.get_many(view.cluster, [spec.name for spec in extra])
    except RecordStoreError as err:
        log.warning(
            "The records of %s could not be read: left to the next run (%s)", [s.name for s in extra], err
        )
        return members, stored
    return [*members, *extra], {**stored, **more}


def _unread(spec: DeploymentSpec, skipped: str) -> DeploymentReport:
    """A deployment of a cluster the run takes no action on (``skipped`` says why)."""
    entry = DeploymentReport(deployment=spec.name, cluster=spec.cluster)
    entry.skipped = skipped
    entry.job_state = JobState.UNKNOWN.value
    entry.lifecycle = Lifecycle.UNKNOWN.value
    return entry


class _ClusterRun:
    """One cluster's share of a run: its view, its verified jars, its executor."""

    def __init__(
        self,
        hook: FlinkHook,
        records: RunRecords,
        stored: dict[str, DeploymentRecord],
        view: ClusterView,
        dry_run: bool,
        asked: Asked,
        executor: Executor,
        requires: frozenset[str] = frozenset(),
    ) -> None:
        self.requires = requires  # the risks the cluster's connection wants approved
        self.hook, self.records, self.view, self.dry_run, self.asked = hook, records, view, dry_run, asked
        self.stored = stored  # the cluster's records, read at once
        self.executor = executor
        self._adaptive: bool | None = None  # the cluster runs the adaptive scheduler (asked when needed)
        self._prepared: dict[tuple[object, ...], PreparedArtifact | str] = {}

    def _rescale_from(self, spec: DeploymentSpec, stored: DeploymentRecord | None, digest: str) -> int | None:
        """The running parallelism when only it changed and the cluster runs the adaptive scheduler
        (asked once per run, and only when some deployment's parallelism alone changed); else None,
        and the change is a savepoint upgrade as on any cluster."""
        before = only_parallelism_changed(spec, stored, digest)
        if before is None:
            return None
        if self._adaptive is None:
            try:
                self._adaptive = cluster_scheduler(self.hook.cluster_config()) is None
            except Exception as err:  # not known: the upgrade every cluster can do
                log.warning(
                    "cluster %s: its scheduler is not known (%s): no rescale in place", self.view.cluster, err
                )
                self._adaptive = False
        return before if self._adaptive else None

    def _stays_suspended(self, spec: DeploymentSpec, stored: DeploymentRecord | None) -> bool:
        """Nothing is restored this run (its snapshots need not be gathered): declared suspended,
        or held by a person who did not ask to resume."""
        held = stored is not None and stored.hold is not None
        return spec.state == "suspended" or (held and self.asked.request(spec.name) != "resume")

    def _artifact(self, definition: JobDefinition) -> PreparedArtifact | str:
        """The verified jar (a Python job's staged program), or why it may not run here (I6); once
        per distinct jar or program per run."""
        key = (definition.artifact, definition.python, definition.staging_dir)
        if key not in self._prepared:
            try:
                self._prepared[key] = prepare_job(self.hook, definition)
            except (ArtifactError, LimitError) as err:
                self._prepared[key] = str(err)
        return self._prepared[key]

    def reconcile(self, spec: DeploymentSpec) -> DeploymentReport:
        """Plan one deployment and (unless a dry run) apply the plan; its lease (taken at its first
        write) is released when it is done."""
        try:
            return self._reconcile(spec)
        finally:
            self.records.release(spec.cluster, spec.name)

    def _reconcile(self, spec: DeploymentSpec) -> DeploymentReport:
        entry = DeploymentReport(deployment=spec.name, cluster=spec.cluster)
        if self.view.jobs is None:  # nothing is planned for it, so nothing is fetched for it either
            entry.skipped = self.view.unobservable()
            entry.job_state = JobState.UNKNOWN.value
            entry.lifecycle = Lifecycle.UNKNOWN.value
            return entry
        jobs = self.view.jobs_of(spec.name)
        entry.job_state = jobs[-1].state.value if jobs else None
        artifact = self._artifact(spec.definition())
        if isinstance(artifact, str):
            entry.skipped = entry.refused = artifact
            return entry
        stored = self.stored.get(spec.name)
        if stored is not None:
            # I7: a record behind Flink is brought up to date first (a dry run writes nothing)
            stored = catch_up(self.hook, DryRun(self.records) if self.dry_run else self.records, stored)
        now = time.time()
        plan = plan_deployment(
            spec,
            spec_hash(spec, artifact.digest),
            self.view,
            stored,
            now,
            retry_failed=spec.name in self.asked.retry_failed,
            savepoint_now=spec.name in self.asked.savepoint_now,
            request=self.asked.request(spec.name),
            clear_restarts=spec.name in self.asked.clear_restarts,
            approvals=(required := required_risks(spec, self.requires)),
            checkpoint_age=self._checkpoint_age(spec, required, now),
            rescale_from=self._rescale_from(spec, stored, artifact.digest),
            restore=None
            if self._stays_suspended(spec, stored)
            else newest_state(self.hook, spec, stored, self.view, now, self.executor.neighbours),
        )
        entry.actions = [action.describe() for action in plan.actions]
        entry.lifecycle = plan.lifecycle.value
        entry.skipped = plan.skipped
        if plan.needs_human:
            entry.refused = plan.skipped
        # Only what needs attention: a thousand "nothing to do" lines would bury it.
        for line in entry.actions or ([f"{spec.name}: {plan.skipped}"] if plan.skipped else []):
            log.info("plan: %s", line)
        if self.dry_run or not plan.actions:
            return entry
        entry.done = self.executor.apply(plan, artifact)
        if any(done.kind == "ask-approval" and done.ok for done in entry.done):
            entry.approvals = [a.approval.key for a in plan.actions if isinstance(a, AskApproval)]
        return entry

    def _checkpoint_age(self, spec: DeploymentSpec, required: frozenset[str], now: float) -> float | None:
        """The age of the checkpoint a last-state upgrade would restore, asked only where a person
        must approve an old one (None: not asked, none, or Flink did not say: a request says so)."""
        if "old-checkpoint" not in required or spec.upgrade_mode != "last-state":
            return None
        live = [j for j in self.view.jobs_of(spec.name) if not j.state.is_globally_terminal]
        if len(live) != 1:
            return None
        try:
            latest = self.hook.latest_checkpoint(live[0].jid)
        except FlinkApiError as err:
            log.warning(
                "%s: the age of job %s's latest checkpoint is not known (%s)", spec.name, live[0].jid, err
            )
            return None
        stamp = latest.trigger_timestamp if latest is not None else None
        return max(0.0, now - stamp / 1000) if stamp else None
