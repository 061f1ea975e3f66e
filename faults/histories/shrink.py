"""Shorten a failing history to the fewest operations that still fail (delta debugging).

ddmin over the operation list: try dropping chunks (halves, then quarters, ...), keep any
shorter list that still fails, stop at single operations or when the replay budget is spent.
A replay that fails for another reason still counts as failing: a shorter history that breaks
an invariant is what a reader wants, whichever one.
"""

from __future__ import annotations

from collections.abc import Callable

from faults.histories.generate import Op


def shrink(ops: list[Op], fails: Callable[[list[Op]], bool], budget: int = 12) -> tuple[list[Op], int]:
    """The shortest failing list of operations found within ``budget`` replays, and the replays used."""
    # The first operation (the first deploy) stays: without it nothing runs and nothing can fail.
    head, rest = ops[:1], ops[1:]
    used, chunks = 0, 2
    while len(rest) >= 1 and used < budget:
        size = max(1, len(rest) // chunks)
        shortened = False
        for start in range(0, len(rest), size):
            if used >= budget:
                break
            candidate = rest[:start] + rest[start + size :]
            used += 1
            if fails(head + candidate):
                rest, chunks, shortened = candidate, max(chunks - 1, 2), True
                break
        if not shortened:
            if size == 1:
                break
            chunks = min(len(rest), chunks * 2)
    return head + rest, used
