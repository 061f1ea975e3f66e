"""Which snapshot a deployment restores from: Flink's storage is the arbiter (I7).

Flink continues the checkpoint counter of the snapshot a job restores from (a job restored from
checkpoint or savepoint N takes N+1 next; a savepoint takes the next id too). Along a deployment's
jobs since its last fresh start (a job started without state: the first deploy, a stateless
upgrade), the completed snapshot with the **highest checkpoint id** is its newest state, whatever
a record remembers. So a restore gathers every completed snapshot of the deployment:

* on storage, listed through Airflow's ``ObjectStoragePath`` (file://, s3://, gs://, abfs:// ...
  with the matching provider): the retained checkpoints of every job of the deployment,
  ``<checkpoint dir>/<job id>/chk-<n>/_metadata`` (job ids begin with the deployment's prefix), and
  the deployment's own savepoint directory ``<savepoint dir>/<name>/savepoint-*/_metadata`` (every
  savepoint the reconcile takes goes there, so one a run did not live to file is still found);
* in the record: the savepoints it filed, and the snapshot its latest job was started from;
* in Flink's REST, for the ended jobs Flink still knows: their latest checkpoint and savepoint.

Each snapshot's checkpoint id comes from Flink, from its ``chk-<n>`` name, or from its own
``_metadata`` (a 4-byte magic number, a 4-byte version, then the 8-byte checkpoint id). Snapshots
completed before the deployment's last fresh start belong to an earlier lineage (their ids are not
comparable) and are left out. The newest must still be on storage: when it is gone (Flink's
default retention deletes a cancelled job's checkpoints) the restore refuses and says so rather
than restore an older one silently. A checkpoint older than the spec's
``max_checkpoint_age_minutes`` is never used silently either.
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_provider_flink.client import FlinkApiError, FlinkError
from airflow_provider_flink.deployments.records import DeploymentRecord
from airflow_provider_flink.deployments.spec import DeploymentSpec
from airflow_provider_flink.exceptions import ReconcileError
from airflow_provider_flink.hooks.flink import FlinkHook

log = logging.getLogger(__name__)
_CHK = re.compile(r"^chk-(\d+)$")
METADATA_MAGIC = 0x4960672D  # Flink's checkpoint metadata files begin with it
UNKNOWN = -1  # a checkpoint id that could not be read: ordered below every known one


@dataclass(frozen=True)
class Candidate:
    """One completed snapshot of the deployment, wherever it was found."""

    path: str
    taken_at: float  # seconds since the epoch (0 when nobody said)
    what: str  # "checkpoint 37 of job ...", for the log and the report
    checkpoint: bool  # a checkpoint (subject to the age guard), not a savepoint
    checkpoint_id: int = UNKNOWN
    on_storage: bool | None = None  # None: not looked at yet (known from Flink or the record only)
    # The snapshot the deployment's latest job was started from: of its lineage by definition.
    started_from: bool = False
    job_id: str | None = None  # the job that took it, where known

    def describe(self) -> str:
        return (
            self.what
            if self.checkpoint_id == UNKNOWN
            else f"{self.what} (checkpoint id {self.checkpoint_id})"
        )


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


# ------------------------------------------------------------------------------ storage
def checkpoint_dir(config: dict[str, str]) -> str | None:
    """Where a job's checkpoints go: Flink 2.x's key, else 1.x's."""
    return config.get("execution.checkpointing.dir") or config.get("state.checkpoints.dir")


def savepoint_base(config: dict[str, str]) -> str | None:
    """The cluster's default savepoint directory: Flink 2.x's key, else 1.x's."""
    return config.get("execution.checkpointing.savepoint-dir") or config.get("state.savepoints.dir")


def deployment_savepoint_dir(spec: DeploymentSpec, cluster_config: dict[str, str] | None) -> str | None:
    """``<spec's savepoint_dir, else the cluster's>/<deployment name>``: where the reconcile puts
    the deployment's savepoints, so listing it finds each of them (one a run did not live to file
    too) and no other deployment's. None when neither directory is known (Flink then refuses)."""
    base = spec.savepoint_dir or savepoint_base(cluster_config or {})
    return f"{base.rstrip('/')}/{spec.name}" if base else None


def _location(path: str) -> Any:
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(path.rstrip("/"))


def exists(path: str) -> bool:
    """Whether a snapshot's ``_metadata`` is still on storage (any ``ObjectStoragePath`` scheme).
    A location that cannot be checked (no filesystem for its scheme here) counts as present:
    Flink, which can read it, then decides."""
    try:
        location = _location(path)
        return bool((location / "_metadata").exists() or location.is_file())
    except (OSError, ValueError, ImportError) as err:
        log.info("Cannot check %s on storage here (%s): leaving it to Flink", path, err)
        return True


def read_checkpoint_id(path: str) -> int:
    """The checkpoint id written in the snapshot's own ``_metadata``, or :data:`UNKNOWN`."""
    try:
        location = _location(path)
        metadata = location / "_metadata" if not location.is_file() else location
        with metadata.open("rb") as handle:
            head = handle.read(16)
    except (OSError, ValueError, ImportError) as err:
        log.info("Cannot read the checkpoint id of %s (%s)", path, err)
        return UNKNOWN
    if len(head) < 16:
        return UNKNOWN
    magic, _version, checkpoint_id = struct.unpack(">IIq", head)
    return checkpoint_id if magic == METADATA_MAGIC and checkpoint_id >= 0 else UNKNOWN


def known_checkpoint_id(path: str) -> int | None:
    """The snapshot's checkpoint id from its own metadata, None when it cannot be read here."""
    found = read_checkpoint_id(path)
    return None if found == UNKNOWN else found


def _modified(entry: Any) -> float:
    """When a snapshot's ``_metadata`` was written (storage's clock), 0 when storage does not say."""
    try:
        return float((entry / "_metadata").stat().st_mtime)
    except (OSError, ValueError, AttributeError, TypeError):
        return 0.0


def _listed(directory: str) -> Iterator[Any]:
    """The entries of ``directory``; nothing when it does not exist or cannot be listed."""
    try:
        base = _location(directory)
        if base.exists():
            yield from base.iterdir()
    except (OSError, ValueError, ImportError) as err:
        log.warning("Cannot list %s: %s", directory, err)


def retained_checkpoints(job_dirs: Iterable[Any], prefix: str) -> Iterator[Candidate]:
    """Every complete checkpoint (with ``_metadata``) of the jobs whose id begins with ``prefix``
    (``job_dirs``: the checkpoint directory's entries, one per job)."""
    for job_dir in job_dirs:
        if not job_dir.name.startswith(prefix):
            continue
        for entry in _listed(str(job_dir)):
            match = _CHK.match(entry.name)
            if match and (entry / "_metadata").exists():
                yield Candidate(
                    str(entry),
                    _modified(entry),
                    f"retained checkpoint {entry.name} of job {job_dir.name}",
                    True,
                    int(match.group(1)),
                    on_storage=True,
                    job_id=job_dir.name,
                )


def stored_savepoints(directory: str, job_prefix: str = "", outside: bool = False) -> Iterator[Candidate]:
    """Every complete savepoint in ``directory``: the deployment's own directory (all of them), or
    (``outside``) a shared one, where Flink names a savepoint a person took without a target
    directory ``savepoint-<first 6 hex of the job id>-<random>`` (``job_prefix``: those 6 hex)."""
    start = f"savepoint-{job_prefix}-" if job_prefix else "savepoint-"
    for entry in _listed(directory):
        if entry.name.startswith(start) and (entry / "_metadata").exists():
            yield Candidate(
                str(entry),
                _modified(entry),
                f"savepoint {entry}" + (" (taken outside the reconcile)" if outside else ""),
                False,
                read_checkpoint_id(str(entry)),
                on_storage=True,
            )


# ------------------------------------------------------------------------------ gathering
def _key(path: str) -> str:
    """One spelling per location: ``file:/x``, ``file:///x`` and ``/x`` are the same directory."""
    path = path.rstrip("/")
    if path.startswith("file:"):
        return "/" + path[5:].lstrip("/")
    return path if "://" in path else "/" + path.lstrip("/")


def _from_flink(hook: FlinkHook, job_ids: Iterable[str]) -> Iterator[Candidate]:
    """The latest checkpoint and savepoint of each ended job Flink still knows."""
    for job_id in job_ids:
        history = hook.checkpoint_history(job_id)
        if history is None:
            continue
        latest = history.latest
        for info, kind in ((latest.completed, "checkpoint"), (latest.savepoint, "savepoint")):
            if info is not None and info.external_path:
                yield Candidate(
                    info.external_path,
                    (info.trigger_timestamp or 0) / 1000,
                    f"{kind} {info.id} of job {job_id}",
                    kind == "checkpoint",
                    info.id,
                    job_id=job_id,
                )


def _from_record(record: DeploymentRecord) -> Iterator[Candidate]:
    for saved in record.savepoints:
        yield Candidate(
            saved.path,
            saved.taken_at,
            f"savepoint {saved.path} ({saved.reason})",
            False,
            saved.checkpoint_id if saved.checkpoint_id is not None else UNKNOWN,
            job_id=saved.job_id,
        )
    in_flight = record.submission
    for start in (record.started, in_flight if in_flight != record.started else None):
        if start is not None and start.restore_from:
            yield Candidate(
                start.restore_from,
                0.0,
                f"{start.restore_from}, which job {start.job_id} was started from",
                "/chk-" in start.restore_from,
                started_from=True,
            )


def gather(
    hook: FlinkHook,
    spec: DeploymentSpec,
    record: DeploymentRecord,
    prefix: str,
    ended_jobs: Iterable[str] = (),
    neighbours: Iterable[str] = (),
) -> list[Candidate]:
    """Every completed snapshot of the deployment that Flink, its storage or the record knows,
    each once (the same location found twice is merged), with its checkpoint id and whether it is
    still on storage. ``neighbours``: the other deployments' prefixes on the cluster (a savepoint
    named by 6 hex of a job id is the deployment's only when no neighbour shares those 6)."""
    config: dict[str, str] | None = None

    def cluster_config() -> dict[str, str]:
        nonlocal config
        if config is None:
            try:
                config = hook.cluster_config()
            except FlinkError as err:
                log.warning(
                    "Cannot read the cluster's configuration (%s): its directories are not listed", err
                )
                config = {}
        return config

    found: dict[str, Candidate] = {}

    def add(candidate: Candidate) -> None:
        key = _key(candidate.path)
        known = found.get(key)
        if known is None:
            found[key] = candidate
            return
        # Merge: the id and time whoever knows them, Flink's or the record's spelling of the path.
        found[key] = replace(
            known,
            checkpoint_id=max(known.checkpoint_id, candidate.checkpoint_id),
            taken_at=known.taken_at or candidate.taken_at,
            started_from=known.started_from or candidate.started_from,
            on_storage=known.on_storage or candidate.on_storage,
        )

    for candidate in (*_from_flink(hook, ended_jobs), *_from_record(record)):
        add(candidate)
    checkpoints = checkpoint_dir(spec.flink_config) or checkpoint_dir(cluster_config())
    job_dirs = list(_listed(checkpoints)) if checkpoints else []
    for candidate in retained_checkpoints(job_dirs, prefix):
        add(candidate)
    savepoints = deployment_savepoint_dir(spec, None if spec.savepoint_dir else cluster_config())
    if savepoints:
        for candidate in stored_savepoints(savepoints):
            add(candidate)
    short = prefix[:6]
    others = [
        p for p in (*neighbours, *(d.name for d in job_dirs)) if p.startswith(short) and p[:12] != prefix
    ]
    if others:
        log.warning(
            "Deployment %s: savepoints named savepoint-%s-* in the shared directory may be another's "
            "(job %s shares the 6 hex): not counted",
            spec.name,
            short,
            others[0],
        )
    else:
        for base in {b for b in (spec.savepoint_dir, savepoint_base(cluster_config())) if b}:
            for candidate in stored_savepoints(base, short, outside=True):
                add(candidate)
    settled = []
    for candidate in found.values():
        if candidate.on_storage is None:  # known from Flink or the record only: is it still there?
            candidate = replace(candidate, on_storage=exists(candidate.path))
        if candidate.checkpoint_id == UNKNOWN and candidate.on_storage:
            candidate = replace(candidate, checkpoint_id=read_checkpoint_id(candidate.path))
        settled.append(candidate)
    return settled


# ------------------------------------------------------------------------------ choosing
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


def newest_first(candidates: Iterable[Candidate], lineage_since: float | None) -> list[Candidate]:
    """The snapshots of the current lineage, newest first: by checkpoint id, then by time.
    ``lineage_since``: when the deployment last started without state (None: not known, all count)."""
    mine = [
        c
        for c in candidates
        if c.started_from or lineage_since is None or not c.taken_at or c.taken_at >= lineage_since
    ]
    return sorted(mine, key=lambda c: (c.checkpoint_id, c.taken_at), reverse=True)


def choose(
    spec: DeploymentSpec,
    candidates: list[Candidate],
    lineage_since: float | None,
    now: float,
    forfeit: str | None = None,
) -> Snapshot:
    """The newest snapshot, if it is still on storage and within the age guard; else a refusal.
    ``forfeit``: a failing job being rolled back; what it left and Flink deleted is given up (a
    rollback returns to before it), the run says so."""
    snapshot = Snapshot()
    lost = [c for c in candidates if forfeit and c.job_id == forfeit and c.on_storage is False]
    snapshot.passed_over = [f"{c.describe()} of the failing job (gone from storage)" for c in lost]
    ordered = newest_first([c for c in candidates if c not in lost], lineage_since)
    if not ordered:
        return snapshot
    newest = ordered[0]
    older = [c for c in ordered[1:] if c.on_storage]
    # A snapshot whose id is not known (gone before anyone read it) but that is newer by time than
    # the best one still there may be the newest state: not restored past silently either.
    later_gone = [
        c
        for c in ordered
        if not c.on_storage
        and c.checkpoint_id == UNKNOWN
        and newest.on_storage
        and c.taken_at > newest.taken_at > 0
    ]
    if not newest.on_storage or later_gone:
        # What would be restored instead: the best one still there (the newest by id, when only a
        # snapshot of unknown id is the later one that is gone).
        gone, kept = (
            (newest, older[0] if older else None) if not newest.on_storage else (later_gone[0], newest)
        )
        instead = f" instead of {kept.describe()}" if kept is not None else ""
        snapshot.refusal = (
            f"the newest state of the deployment, {gone.describe()}, is gone from storage (deleted on cancel?): "
            f"not restoring older state{instead} silently; restore a snapshot by hand, or remove the "
            "deployment's record to start it without state"
        )
        return snapshot
    if (why := too_old(spec, newest, now)) is not None:
        snapshot.refusal = why
        return snapshot
    snapshot.path, snapshot.what = newest.path, newest.describe()
    also_gone = [c for c in ordered[1:] if not c.on_storage]
    snapshot.passed_over += [f"{c.describe()} (gone from storage)" for c in also_gone[:3]]
    return snapshot


def newest_snapshot(
    hook: FlinkHook,
    spec: DeploymentSpec,
    record: DeploymentRecord,
    prefix: str,
    ended_jobs: Iterable[str],
    now: float,
    forfeit: str | None = None,
    neighbours: Iterable[str] = (),
) -> Snapshot:
    """The newest completed snapshot of the deployment that still exists, or why none may be used."""
    found = gather(hook, spec, record, prefix, ended_jobs, neighbours)
    return choose(spec, found, record.lineage_since, now, forfeit)


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
        latest.external_path,
        (latest.trigger_timestamp or 0) / 1000,
        f"checkpoint {latest.id}",
        True,
        latest.id,
    )
    if (why := too_old(spec, candidate, now)) is not None:
        raise ReconcileError(f"{purpose}: {why}")
    return latest.external_path
