"""Which snapshot a deployment restores from: the newest one Flink can prove that still exists (I7).

Candidates, asked at the moment of acting (never from a plan made earlier):

* the ended job's checkpoint history in Flink (``GET /jobs/{id}/checkpoints``): its latest
  completed checkpoint and its latest savepoint;
* when Flink no longer knows the job (a JobManager restart without HA): its retained checkpoints
  on storage, ``<checkpoint dir>/<job id>/chk-<n>/_metadata``, listed through Airflow's
  ``ObjectStoragePath`` (file://, s3://, gs://, abfs:// ... with the matching provider);
* the newest savepoint in the deployment's record (the provider filed it from a trigger status).

The newest candidate wins, but only if its ``_metadata`` is still on storage: Flink's default
retention deletes a job's checkpoints when it is cancelled, and a restore from a deleted path
fails after the old job is gone. A checkpoint older than the spec's
``max_checkpoint_age_minutes`` is never used silently: the action refuses and says why.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from airflow_provider_flink.client import FlinkApiError
from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.exceptions import ReconcileError
from airflow_provider_flink.hooks.flink import FlinkHook

log = logging.getLogger(__name__)
_CHK = re.compile(r"^chk-(\d+)$")


@dataclass(frozen=True)
class Candidate:
    path: str
    taken_at: float  # seconds since the epoch (0 when Flink did not say)
    what: str  # "checkpoint 37 of job ...", for the log and the report
    checkpoint: bool  # a checkpoint (subject to the age guard), not a savepoint


@dataclass
class Snapshot:
    """The restore point chosen, with what was passed over and why; ``refusal`` when none may be used."""

    path: str | None = None
    what: str = "no earlier state"
    passed_over: list[str] = field(default_factory=list)
    refusal: str | None = None

    def describe(self) -> str:
        text = f"state from {self.what}" if self.path else "started without state: none was ever taken"
        if self.passed_over:
            text += "; passed over: " + "; ".join(self.passed_over)
        return text


def checkpoint_dir(config: dict[str, str]) -> str | None:
    """Where a job's checkpoints go: Flink 2.x's key, else 1.x's."""
    return config.get("execution.checkpointing.dir") or config.get("state.checkpoints.dir")


def latest_retained_checkpoint(checkpoint_dir: str, job_id: str) -> str | None:
    """A job Flink forgot (JobManager restart without HA): the path of its highest-numbered complete
    checkpoint (with ``_metadata``) in ``<checkpoint dir>/<job id>/chk-<n>``, or None. Only that job's
    own directory is looked at: never "the newest directory" of some other job."""
    from airflow.sdk import ObjectStoragePath

    base = ObjectStoragePath(checkpoint_dir.rstrip("/")) / job_id
    try:
        if not base.exists():
            return None
        complete = []
        for entry in base.iterdir():
            match = _CHK.match(entry.name)
            if match and (entry / "_metadata").exists():
                complete.append((int(match.group(1)), entry))
    except OSError as err:
        log.warning("Cannot list checkpoints of job %s under %s: %s", job_id, checkpoint_dir, err)
        return None
    if not complete:
        return None
    number, path = max(complete, key=lambda c: c[0])
    log.info("Latest retained checkpoint of job %s: chk-%d at %s", job_id, number, path)
    return str(path)


def exists(path: str) -> bool:
    """Whether a snapshot's ``_metadata`` is still on storage (any ``ObjectStoragePath`` scheme).
    A location that cannot be checked (no filesystem for its scheme here) counts as present:
    Flink, which can read it, then decides."""
    from airflow.sdk import ObjectStoragePath

    try:
        location = ObjectStoragePath(path.rstrip("/"))
        return bool((location / "_metadata").exists() or location.is_file())
    except (OSError, ValueError, ImportError) as err:
        log.info("Cannot check %s on storage here (%s): leaving it to Flink", path, err)
        return True


def candidates(
    hook: FlinkHook, spec: DeploymentSpec, record: DeploymentRecord, job_id: str | None
) -> list[Candidate]:
    """Every snapshot the deployment could restore from, newest first."""
    found: list[Candidate] = []
    if job_id:
        history = hook.checkpoint_history(job_id)
        if history is not None:
            latest = history.latest
            for info, kind in ((latest.completed, "checkpoint"), (latest.savepoint, "savepoint")):
                if info is not None and info.external_path:
                    found.append(
                        Candidate(
                            info.external_path,
                            (info.trigger_timestamp or 0) / 1000,
                            f"{kind} {info.id} of job {job_id}",
                            kind == "checkpoint",
                        )
                    )
        else:  # Flink forgot the job: its retained checkpoints on storage
            directory = checkpoint_dir(spec.flink_config) or checkpoint_dir(hook.cluster_config())
            retained = latest_retained_checkpoint(directory, job_id) if directory else None
            if retained:
                # Newer than any savepoint of earlier jobs; no time is recorded on storage for it.
                found.append(Candidate(retained, float("inf"), f"retained checkpoint {retained}", True))
    saved = record.last_savepoint()
    if saved is not None and all(c.path != saved.path for c in found):
        found.append(Candidate(saved.path, saved.taken_at, f"savepoint {saved.path} ({saved.reason})", False))
    return sorted(found, key=lambda c: c.taken_at, reverse=True)


def too_old(spec: DeploymentSpec, candidate: Candidate, now: float) -> str | None:
    """Why a checkpoint may not be used (the age guard), or None."""
    limit = spec.max_checkpoint_age_minutes
    if not candidate.checkpoint or limit is None or candidate.taken_at in (0, float("inf")):
        return None
    age = now - candidate.taken_at
    if age <= limit * 60:
        return None
    return (
        f"the newest state is {candidate.what}, {age / 60:.1f} min old, older than "
        f"max_checkpoint_age_minutes={limit:g}: not restoring from it silently; restore it by hand, "
        "or raise the limit in the spec"
    )


def newest_snapshot(
    hook: FlinkHook, spec: DeploymentSpec, record: DeploymentRecord, job_id: str | None, now: float
) -> Snapshot:
    """The newest snapshot that still exists; a refusal when state existed but none survives, or
    the newest is a checkpoint older than the guard allows."""
    found = candidates(hook, spec, record, job_id)
    snapshot = Snapshot()
    for candidate in found:
        if not exists(candidate.path):
            snapshot.passed_over.append(f"{candidate.what} is gone from storage (deleted on cancel?)")
            continue
        if (why := too_old(spec, candidate, now)) is not None:
            snapshot.refusal = why
            return snapshot
        snapshot.path, snapshot.what = candidate.path, candidate.what
        return snapshot
    if found:
        snapshot.refusal = (
            "every snapshot of the deployment is gone from storage ("
            + "; ".join(snapshot.passed_over)
            + "): not starting it without its state; restore it by hand or remove its record to start fresh"
        )
    return snapshot


def surviving_checkpoint(hook: FlinkHook, spec: DeploymentSpec, job_id: str, now: float, purpose: str) -> str:
    """The running job's latest checkpoint, proven to survive a cancel of the job (I7), within the
    age guard; anything else raises and the job is left as it is."""
    try:
        latest = hook.latest_checkpoint(job_id)
        config = hook.checkpoint_config(job_id)
    except FlinkApiError as err:
        raise ReconcileError(
            f"{purpose}: cannot read job {job_id}'s checkpoints ({err}): not cancelling it"
        ) from None
    if latest is None or not latest.external_path:
        raise ReconcileError(
            f"{purpose}: job {job_id} is not healthy (no savepoint possible) and has no completed checkpoint: "
            "not cancelling it without its state"
        )
    if not config.survives_cancel:
        raise ReconcileError(
            f"{purpose}: job {job_id} is not healthy (no savepoint possible) and Flink deletes its checkpoints "
            "when it is cancelled (execution.checkpointing.externalized-checkpoint-retention is not "
            "RETAIN_ON_CANCELLATION): not cancelling it; let the job recover, or retain its checkpoints"
        )
    candidate = Candidate(
        latest.external_path, (latest.trigger_timestamp or 0) / 1000, f"checkpoint {latest.id}", True
    )
    if (why := too_old(spec, candidate, now)) is not None:
        raise ReconcileError(f"{purpose}: {why}")
    return latest.external_path
