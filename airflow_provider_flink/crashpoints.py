"""Named step boundaries where the fault campaign (``python -m faults.campaign``) kills the process.

``reach("upgrade:stop-requested")`` does nothing unless the environment variable
``FLINK_PROVIDER_CRASH_AT`` names that step: then the process ends at once with SIGKILL, as a
worker killed by the OOM killer or a node failure would, with no cleanup and no exception
handler running. The campaign selects one step per trial, runs the next reconcile or retry, and
checks the invariants against Flink. Without the variable this costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "FLINK_PROVIDER_CRASH_AT"


def reach(step: str) -> None:
    if os.environ.get(ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)
