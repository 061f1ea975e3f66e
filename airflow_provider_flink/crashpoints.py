"""Named step boundaries where the fault campaign (``python -m faults.campaign``) crashes or pauses
the acting process.

``reach("stop:requested")`` does nothing unless the environment names that step:

* ``FLINK_PROVIDER_CRASH_AT=<step>``: the process ends at once with SIGKILL, as a worker killed by
  the OOM killer or a node failure would, with no cleanup and no exception handler running;
* ``FLINK_PROVIDER_PAUSE_AT=<step>@<directory>[,<step>@<directory>...]``: the process writes its pid
  to ``<directory>/paused`` and waits until ``<directory>/resume`` exists (once per step per
  process). The campaign runs a second reconcile in that window: a race whose interleaving is
  chosen, not left to timing. A test may also freeze the paused process (SIGSTOP) to stand for a
  worker that stops answering.

Steps: the reconcile's ``submit:intent-recorded|requested|recorded``,
``stop|savepoint:id-recorded|requested|recorded``, ``cancel:intent-recorded|requested``,
``rollback:intent-recorded``, ``dispose:requested``; the operators' ``deploy-task:id-recorded|requested``,
``stop-task:id-recorded|requested`` and ``savepoint-task:id-recorded|requested``.

The campaign selects one step per trial, runs the next reconcile or retry, and checks the
invariants against Flink. Without the variables this costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

ENV = "FLINK_PROVIDER_CRASH_AT"
PAUSE_ENV = "FLINK_PROVIDER_PAUSE_AT"


_paused: set[str] = set()


def reach(step: str) -> None:
    if os.environ.get(ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
    pauses = os.environ.get(PAUSE_ENV)
    if not pauses:
        return
    for pause in pauses.split(","):
        where, _, directory = pause.partition("@")
        if where != step or step in _paused:
            continue
        _paused.add(step)  # once: a step reached again later runs through
        gate = Path(directory)
        # The pid tells a test which process to kill while it waits (a worker dying mid-step).
        (gate / "paused").write_text(str(os.getpid()))
        while not (gate / "resume").exists():
            time.sleep(0.05)
