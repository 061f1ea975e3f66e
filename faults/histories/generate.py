"""Histories drawn from a seed: lists of operations (plain JSON) that :mod:`.run` plays.

An operation is a dict with ``op`` and its parameters; a history is replayable from its JSON
alone (``--replay`` draws it again from the seed; a shortened one is printed as JSON).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

Op = dict[str, Any]

# Named steps of the reconcile (airflow_provider_flink/crashpoints.py), copied as plain strings:
# the generator and the checker share nothing with the product.
CRASH_POINTS = [
    "submit:intent-recorded",
    "submit:requested",
    "submit:recorded",
    "stop:requested",
    "stop:recorded",
    "savepoint:requested",
    "savepoint:recorded",
    "cancel:intent-recorded",
    "cancel:requested",
    "rollback:intent-recorded",
    "dispose:requested",
]
ASKS = ["savepoint_now", "suspend", "resume", "retry_failed"]
# Drawn from a stream of its own (added later: a seed's other draws stay what they were): a person
# clears the restart limit (the Flink page's "clear the restart limit"), then the run restarts.
CLEAR_RESTARTS_SHARE = 0.2
# Steps a run may be held at (its intent recorded, the request not sent yet), and what happens
# while it is held: frozen past its lease while another run acts ("freeze"), or a person's stop
# or cancel of the deployment's job between the run's look at Flink and its act.
PAUSES = ["submit:intent-recorded", "savepoint:id-recorded", "stop:id-recorded", "cancel:intent-recorded"]
WHILE_PAUSED = ["freeze", "freeze", "stop", "cancel"]
PAUSED_SHARE = 0.25  # of the plain reconcile runs
# Drawn from a stream of their own (added with approvals before risk): in half the histories the
# deployments require a person's approval of a stateless upgrade; a person then answers the
# pending request now and then (approves it, rejects it, or lets it expire), and more edits are
# stateless ones.
APPROVAL_SHARE = 0.5
ANSWER_SHARE = 0.2
ANSWERS_GIVEN = ["approve", "approve", "reject", "expire"]
STATELESS_EDIT_SHARE = 0.4
EDITS = ["good", "good", "failing", "parallelism", "stateless"]
# Drawn from a stream of its own (added with Python jobs): in half the histories one deployment is
# a Python (PyFlink) program, submitted through Flink's PythonDriver with its files staged; its
# "failing" edit is a program whose main raises (the submission is refused: no job at all).
PYTHON_SHARE = 0.5
# Drawn from a stream of its own (added with programs of several jobs): in half the histories of two
# deployments, a program of two jobs (one Flink 2.3 application) runs beside them, deployed and
# upgraded by the application operators (stop every job with a savepoint, deploy from them) as Airflow
# tasks, killed now and then at one of their steps (the retry finishes it). Played on 2.3 only: a
# Flink without applications refuses the program (the campaign checks that refusal).
PROGRAM_SHARE = 0.5
PROGRAM_OP_SHARE = 0.2  # after each operation, an upgrade of the program
PROGRAM_CRASH_POINTS = [
    None,
    None,
    "stop-application-task:id-recorded",
    "stop-application-task:requested",
    "deploy-application-task:id-recorded",
    "deploy-application-task:requested",
]
# Requests whose answer the fault proxy loses or delays: (method, path pattern).
ANSWERS = [
    ("POST", r"/jars/[^/]+/run(?:-application)?"),
    ("POST", r"/jobs/[0-9a-f]{32}/stop"),
    ("POST", r"/jobs/[0-9a-f]{32}/savepoints"),
    ("PATCH", r"/jobs/[0-9a-f]{32}"),
    ("GET", r"/jobs/overview"),
    ("GET", r"/jobs/[0-9a-f]{32}/checkpoints"),
]
REQUEST_TIMEOUT = 3.0  # the reconcile's connection: a delay past it is a late answer

# What each kind of operation weighs in a draw (the rest of the weight is short reconcile runs).
WEIGHTS: dict[str, float] = {
    "reconcile": 26,
    "reconcile-health": 7,
    "reconcile-killed": 9,
    "reconcile-crash": 8,
    "reconcile-twin": 6,
    "reconcile-asked": 9,
    "cancel": 5,
    "stop": 5,
    "jm-kill": 3,
    "tm-kill": 3,
    "answer": 8,
    "edit": 14,
    "sleep": 5,
}


@dataclass
class History:
    seed: int
    deployments: list[str]  # short names ("a", "b", "c"); the run adds a unique prefix
    ops: list[Op] = field(default_factory=list)
    approvals: bool = False  # the deployments require a person's approval of a stateless upgrade
    python: list[str] = field(default_factory=list)  # the deployments that are Python programs
    program: bool = False  # a program of two jobs (one application) runs beside the deployments

    def as_json(self) -> dict[str, Any]:
        raw: dict[str, Any] = {"seed": self.seed, "deployments": self.deployments, "ops": self.ops}
        if self.approvals:
            raw["approvals"] = True
        if self.python:
            raw["python"] = self.python
        if self.program:
            raw["program"] = True
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> History:
        return cls(
            int(raw["seed"]),
            list(raw["deployments"]),
            list(raw["ops"]),
            bool(raw.get("approvals")),
            list(raw.get("python", [])),
            bool(raw.get("program")),
        )


def generate(seed: int, ops: int = 15, deployments: int | None = None) -> History:
    """``ops`` operations (at least) drawn from ``seed``; a killed component is started again
    one to three operations later (or by the run at the end)."""
    rng = random.Random(seed)
    # Draws added later come from their own stream, so a seed's operations stay what they were.
    side = random.Random(f"{seed}-side")
    pauses = random.Random(f"{seed}-pauses")
    asks = random.Random(f"{seed}-asks")
    answers = random.Random(f"{seed}-answers")
    count = deployments or rng.choice([2, 2, 3])
    python = random.Random(f"{seed}-python")
    history = History(seed, ["abc"[i] for i in range(count)], approvals=answers.random() < APPROVAL_SHARE)
    if python.random() < PYTHON_SHARE:
        history.python = [python.choice(history.deployments)]
    program = random.Random(f"{seed}-program")
    # Two deployments at most beside it: the cluster's 4 slots hold them and the program's 2 jobs.
    history.program = program.random() < PROGRAM_SHARE and count == 2
    history.ops.append({"op": "reconcile", "health": True})  # the first deploy, waited for
    down: dict[str, int] = {}  # component -> operations left until it is started again
    kinds, weights = list(WEIGHTS), list(WEIGHTS.values())
    while len(history.ops) < ops:
        for component in list(down):
            down[component] -= 1
            if down[component] <= 0:
                history.ops.append({"op": f"{component}-start"})
                del down[component]
        kind = rng.choices(kinds, weights)[0]
        if kind in ("jm-kill", "tm-kill"):
            component = kind.split("-")[0]
            if component in down:
                continue
            down[component] = rng.randint(1, 3)
        op = _draw(rng, kind, history.deployments, side)
        if op.get("asked") and asks.random() < CLEAR_RESTARTS_SHARE:
            op["asked"] = "clear_restarts"
        plain = op["op"] == "reconcile" and not {"crash_at", "kill_after", "twin"} & op.keys()
        if plain and pauses.random() < PAUSED_SHARE:
            op.pop("background", None)
            op.update(
                pause_at=pauses.choice(PAUSES),
                then=pauses.choice(WHILE_PAUSED),
                dep=op.get("dep") or pauses.choice(history.deployments),
            )
        if history.approvals and op["op"] == "edit" and answers.random() < STATELESS_EDIT_SHARE:
            op["change"] = "stateless"
        history.ops.append(op)
        if history.program and program.random() < PROGRAM_OP_SHARE:
            history.ops.append({"op": "program", "crash_at": program.choice(PROGRAM_CRASH_POINTS)})
        if history.approvals and answers.random() < ANSWER_SHARE:
            history.ops.append(
                {
                    "op": "approval",
                    "dep": answers.choice(history.deployments),
                    "answer": answers.choice(ANSWERS_GIVEN),
                }
            )
    history.ops.extend({"op": f"{component}-start"} for component in down)
    return history


def _draw(rng: random.Random, kind: str, deployments: list[str], side: random.Random) -> Op:
    dep = rng.choice(deployments)
    if kind.startswith("reconcile"):
        return _reconcile(rng, kind, dep)
    if kind in ("cancel", "stop"):
        return {"op": kind, "dep": dep}
    if kind in ("jm-kill", "tm-kill"):
        return {"op": kind}
    if kind == "answer":
        method, path = rng.choice(ANSWERS)
        late = rng.random() < 0.6
        delay = round(rng.uniform(REQUEST_TIMEOUT + 1, REQUEST_TIMEOUT + 6), 1) if late else None
        if not late and rng.random() < 0.3:  # slow but within the timeout
            delay = round(rng.uniform(0.5, REQUEST_TIMEOUT - 1), 1)
        op: Op = {"op": "answer", "method": method, "path": path, "delay": delay}
        # Half the late answers stay late on every retry of the request (same body): the client
        # gives up without an answer though Flink acted (a submission that may run: I3). One late
        # answer alone is recovered by the retry (Flink refuses the duplicate id: adopted).
        if late and side.random() < 0.5:
            op["retries"] = True
        return op
    if kind == "edit":
        return {"op": "edit", "dep": dep, "change": rng.choice(EDITS)}
    return {"op": "sleep", "seconds": round(rng.uniform(0.5, 3.0), 1)}


def _reconcile(rng: random.Random, kind: str, dep: str) -> Op:
    op: Op = {"op": "reconcile", "health": kind == "reconcile-health" or rng.random() < 0.1}
    if kind == "reconcile-killed":
        op["kill_after"] = round(rng.uniform(0.1, 4.0), 2)
    elif kind == "reconcile-crash":
        op["crash_at"] = rng.choice(CRASH_POINTS)
    elif kind == "reconcile-twin":
        op["twin"] = round(rng.uniform(0.0, 2.0), 2)  # the second run starts this much later
    elif kind == "reconcile-asked":
        op["asked"] = rng.choice(ASKS)
        op["dep"] = dep
    # Some runs go on in the background while the next operations happen (a person acts, a
    # component dies, while the reconcile is in the middle of something).
    if rng.random() < 0.25 and "twin" not in op:
        op["background"] = True
    return op
