"""What a deployment is doing, in one word, derived in one place.

The Flink Kubernetes Operator keeps one derived ``ResourceLifecycleState`` beside its status; kopf
keeps an enum with its named sets. Here :func:`lifecycle` derives a :class:`Lifecycle` from the
deployment record (what Flink cannot tell), what the file declares, and the deployment's jobs as
one ``/jobs/overview`` shows them. The planner names it in every plan (and the run's report), the
Flink page shows it and filters by it: "suspended", for one, has one source, not three.

Nothing is stored: a lifecycle is always derived again from what is recorded and what Flink shows
now, so it cannot disagree with either.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from airflow_provider_flink.client import models
from airflow_provider_flink.deployments.records import DeploymentRecord, Submitting
from airflow_provider_flink.triggers.conditions import is_healthy


class Lifecycle(str, enum.Enum):
    NEW = "new"  # declared; nothing submitted yet
    DEPLOYING = "deploying"  # a job submitted that never ran healthy (a first deploy, or the record says it is about to be)
    UPGRADING = "upgrading"  # an operation in flight: an upgrade, a rescale or a savepoint not yet settled
    STABLE = "stable"  # a job runs healthy the spec recorded as the last stable one
    ROLLED_BACK = "rolled-back"  # the declared spec failed and was rolled back: the last stable spec runs
    UNHEALTHY = "unhealthy"  # a job of a spec that ran healthy before runs, but not healthy now
    SUSPENDED = "suspended"  # declared or held suspended: no job runs, its state in a savepoint
    STOPPED = "stopped"  # no job runs though it should (ended outside, failed, lost): the next run starts it
    UNKNOWN = "unknown"  # the cluster could not be observed (I3: nothing is judged, nothing is done)

    def __str__(self) -> str:
        return self.value


# A job runs (or is about to), whatever its health.
ACTIVE = frozenset(
    {Lifecycle.DEPLOYING, Lifecycle.UPGRADING, Lifecycle.STABLE, Lifecycle.ROLLED_BACK, Lifecycle.UNHEALTHY}
)
# Something is under way that a later run finishes or judges.
IN_FLIGHT = frozenset({Lifecycle.DEPLOYING, Lifecycle.UPGRADING})
# Nothing to do but housekeeping, unless the file changes.
AT_REST = frozenset({Lifecycle.STABLE, Lifecycle.ROLLED_BACK, Lifecycle.SUSPENDED})
# A person may want to look (the page's "attention" filter starts from these).
TROUBLED = frozenset({Lifecycle.ROLLED_BACK, Lifecycle.UNHEALTHY, Lifecycle.STOPPED, Lifecycle.UNKNOWN})


def lifecycle(
    record: DeploymentRecord | None,
    declared_suspended: bool,
    jobs: Sequence[models.JobOverview] | None,
) -> Lifecycle:
    """The deployment's lifecycle. ``jobs``: its jobs, oldest first (None: the cluster could not be
    observed); ``declared_suspended``: its file says ``state: suspended``."""
    if jobs is None:
        return Lifecycle.UNKNOWN
    live = [j for j in jobs if not j.state.is_globally_terminal]
    if record is None:  # nothing recorded (or unreadable): only what Flink shows
        if not live:
            return Lifecycle.NEW if not jobs else Lifecycle.STOPPED
        return Lifecycle.STABLE if is_healthy(live[-1]) else Lifecycle.DEPLOYING
    suspended = declared_suspended or record.hold is not None or record.status == "suspended"
    submission = record.submission
    intended = submission is not None
    if not live:
        if suspended:
            return Lifecycle.SUSPENDED
        if record.current_job_id is None and not jobs:
            return Lifecycle.DEPLOYING if intended else Lifecycle.NEW
        return Lifecycle.DEPLOYING if intended and record.last_stable_hash is None else Lifecycle.STOPPED
    job = live[-1]
    if record.operation is not None and not isinstance(record.operation, Submitting):
        return Lifecycle.UPGRADING  # an upgrade, a rescale, a savepoint (or a stop) in flight
    if record.last_stable_hash is None or (
        submission is not None and job.jid == submission.job_id and not is_healthy(job)
    ):
        return Lifecycle.DEPLOYING
    if not is_healthy(job):
        return Lifecycle.UNHEALTHY
    return Lifecycle.ROLLED_BACK if record.failed_spec is not None else Lifecycle.STABLE
