"""Every id the provider gives Flink, minted here and nowhere else.

Flink honours a caller-chosen 32-hex job id and savepoint/checkpoint trigger id, and refuses a job
id it has seen (even of an ended job). The provider chooses each id *before* the request and
records it (I4), so a retry sends the same one and Flink runs the operation once (I1, I8):

* **random** ids (:func:`new_id`) for one-off operations a task stores before acting;
* **derived** ids (:func:`derived_id`) for operations every actor must name alike: two reconciles
  planning the same transition, or two tries of one task instance on Airflow < 3.3;
* a deployment's **job ids** (:func:`transition_id`): ``<12 hex of the name's digest><12 hex of the
  spec hash><8 hex of the transition>``, so one ``/jobs/overview`` tells which deployment each job
  belongs to and which spec it runs.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Collection

PREFIX_LENGTH = 12


def new_id() -> str:
    """A fresh 32-hex id, Flink's format for job ids and savepoint/stop trigger ids."""
    return secrets.token_hex(16)


def derived_id(*parts: str) -> str:
    """A 32-hex id that is the same for every caller naming the same parts: two actors that mean
    the same operation (stop job X for an upgrade) send the same trigger id, and Flink runs it once."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


# ------------------------------------------------------------------------------ deployments' jobs
def deployment_prefix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:PREFIX_LENGTH]


def random_nonce() -> str:
    """8 random hex: for ids that need not converge (tests, examples)."""
    return secrets.token_hex(4)


def new_job_id(name: str, spec_hash: str, nonce: Callable[[], str] = random_nonce) -> str:
    return deployment_prefix(name) + spec_hash[:12] + nonce()


def transition_id(name: str, spec_hash: str, replaces: str | None, taken: Collection[str] = ()) -> str:
    """The job id of one transition: "replace job ``replaces`` (None: the first job) by a job of
    spec ``spec_hash``".

    Every actor that plans the same transition derives the same id (I8): two reconciles racing on
    one deployment submit the same job id, Flink accepts it once and refuses the other, which adopts
    it, so they converge on one job instead of two. ``taken`` are the ids Flink already shows for
    the deployment (it refuses an id it has seen, even of an ended job): the next attempt's id is
    used then, again the same for every actor that sees the same jobs.
    """
    attempt = 0
    while True:
        nonce = derived_id("job", replaces or "-", spec_hash, str(attempt))[:8]
        candidate = deployment_prefix(name) + spec_hash[:12] + nonce
        if candidate not in taken:
            return candidate
        attempt += 1


def application_id(job_id: str, attempt: int = 0) -> str:
    """The application id of a job's submission on a Flink with applications (2.3+): the job's own
    id, so either settles a lost answer or a race. Flink never accepts an application id twice; when
    an earlier submission's application ended without starting the job (its ``main`` failed, or it
    was cancelled first), the job id is still free and the next attempt's application id is derived
    from it, the same for every actor."""
    return job_id if attempt == 0 else derived_id("application", job_id, str(attempt))


def spec_part(job_id: str) -> str:
    """The 12 hex of the spec a deployment's job was submitted with."""
    return job_id[12:24]


# ------------------------------------------------------------------------------ triggers
def savepoint_trigger_id(job_id: str, purpose: str, failed: Collection[str] = ()) -> str:
    """The savepoint (or stop) trigger id of one purpose on one job, the same for every actor (I8):
    a racing run sends the same id and Flink runs the operation once. One that ``failed`` is not
    reused (Flink would answer with the old failure for minutes): the next attempt's id is."""
    attempt = 0
    while (trigger := derived_id("savepoint", job_id, purpose, str(attempt))) in failed:
        attempt += 1
    return trigger


def checkpoint_trigger_id(job_id: str, to_hash: str) -> str:
    """The checkpoint taken right before a rescale in place of ``job_id`` to spec ``to_hash``."""
    return derived_id("checkpoint", job_id, to_hash)


def task_try_id(key: str, identity: Collection[str], try_number: int) -> str:
    """The id a task instance's try uses for ``key`` when nothing can be stored (Airflow < 3.3)."""
    return derived_id("task-instance", key, *identity, str(try_number))
