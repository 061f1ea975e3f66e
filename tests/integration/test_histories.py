"""Random histories with an independent checker: the CI sample (the full run:
``python -m faults.histories``, figures in docs/reliability.md).

Each history is drawn from its seed (reconcile runs killed at random moments and at crash points,
two at once, a person's cancel and stop, JobManager and TaskManager kills, lost and late answers,
spec edits), played on the session's cluster, settled, and judged by ``faults.histories.checker``
from Flink's REST, its JobManager log, storage and the raw records (the SQL store on PostgreSQL,
with the database's own audit of every lease change and record write): code that shares nothing
with the product. The sample spreads its seeds over the Flink versions under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from faults.histories.checker import check
from faults.histories.generate import History, generate
from faults.histories.run import play
from tests.integration.conftest import VERSIONS, Cluster

ROOT = Path(__file__).resolve().parents[2]
# (seed, operations): one history per entry, spread over the versions (10-30 s each here).
CI_HISTORIES = [(249523, 15), (5, 15), (474354, 20)]


def test_checker_imports_nothing_of_the_product() -> None:
    """The checker must not share a mistake with what it judges: not even through an import."""
    code = (
        "import sys, faults.histories.checker, faults.histories.sampler, faults.histories.rest\n"
        "print([m for m in sys.modules if m.startswith(('airflow_provider_flink', 'airflow', 'faults.campaign'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_lost_and_late_submission_answers_reach_both_routes() -> None:
    """A submission goes through /jars/{id}/run-application where Flink has applications (2.3):
    the histories and the campaign lose and delay its answers there as on /jars/{id}/run."""
    import re

    from faults.campaign import RUN
    from faults.histories.generate import ANSWERS

    for pattern in (RUN, *(path for method, path in ANSWERS if method == "POST" and "jars" in path)):
        for path in ("/jars/1_job.jar/run", "/jars/1_job.jar/run-application"):
            assert re.fullmatch(pattern, path), (pattern, path)
        assert not re.fullmatch(pattern, "/jars/1_job.jar/plan")


def test_the_example_histories_are_playable() -> None:
    """The hand-written histories of docs/reliability.md's mutation table (``--file``) load, start
    with the first deploy and use only operations the player knows."""
    known = {
        "reconcile",
        "cancel",
        "stop",
        "jm-kill",
        "tm-kill",
        "jm-start",
        "tm-start",
        "answer",
        "edit",
        "sleep",
        "approval",
        "program",
    }
    examples = sorted((ROOT / "faults" / "histories" / "examples").glob("*.json"))
    assert examples
    for path in examples:
        history = History.from_json(json.loads(path.read_text()))
        assert history.ops[0] == {"op": "reconcile", "health": True}, path.name
        assert {op["op"] for op in history.ops} <= known, path.name


def _evidence(log: list[str], final: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A tiny history's evidence: one deployment "d", declared once, its jobs in the log."""
    declare = {
        "t": 0.0,
        "event": "declare",
        "dep": "d",
        "gen": 1,
        "parallelism": 1,
        "entry": "counter",
        "mode": "savepoint",
    }
    return {
        "deployments": ["d"],
        "journal": [declare],
        "observed": {"samples": [{"t": 0.0, "live": []}], "jobs": {}, "storage": []},
        "log": log,
        "records": {"flink_deployment.flink_default.d": json.dumps({"current_job_id": "b" * 32})},
        "final": final if final is not None else [{"jid": "b" * 32, "name": "d.g1", "state": "RUNNING"}],
    }


def _log(restored_from: int) -> list[str]:
    a, b = "a" * 32, "b" * 32
    return [
        f"10:00:00,000 INFO x - Submitting job 'd.g1' ({a}) with associated application ({a}).",
        f"10:00:00,100 INFO x - Job d.g1 ({a}) switched from state CREATED to RUNNING.",
        f"10:00:01,000 INFO x - Completed checkpoint 1 for job {a} (1 bytes, checkpointDuration=5 ms, finalizationTime=0 ms).",
        f"10:00:02,000 INFO x - Completed checkpoint 2 for job {a} (1 bytes, checkpointDuration=5 ms, finalizationTime=0 ms).",
        f"10:00:02,100 INFO x - Job d.g1 ({a}) switched from state RUNNING to CANCELED.",
        f"10:00:03,000 INFO x - Submitting job 'd.g1' ({b}) with associated application ({b}).",
        f"10:00:03,010 INFO x - Restoring job {b} from Checkpoint {restored_from} @ 1 for {b} located at file:/c/{a}/chk-{restored_from}.",
        f"10:00:03,100 INFO x - Job d.g1 ({b}) switched from state CREATED to RUNNING.",
    ]


def test_checker_passes_a_restore_from_the_newest_snapshot() -> None:
    assert check(_evidence(_log(2))) == []


def test_checker_leaves_flinks_own_failover_to_flink() -> None:
    """A job's own failover (RESTARTING -> RUNNING, restoring its latest checkpoint, not the
    savepoint taken after it: Flink keeps savepoints out of its recovery store) is no restore the
    provider chose (seed 720136 of the 2027 run); the provider's next restore is judged again."""
    b = "b" * 32
    log = [
        *_log(2),
        f"10:00:04,000 INFO x - Completed checkpoint 3 for job {b} (1 bytes, checkpointDuration=5 ms, finalizationTime=0 ms).",
        f"10:00:05,000 INFO x - Completed checkpoint 4 for job {b} (1 bytes, checkpointDuration=5 ms, finalizationTime=0 ms).",
        f"10:00:06,000 INFO x - Job d.g1 ({b}) switched from state RUNNING to RESTARTING.",
        f"10:00:07,000 INFO x - Job d.g1 ({b}) switched from state RESTARTING to RUNNING.",
        f"10:00:07,000 INFO x - Restoring job {b} from Checkpoint 3 @ 1 for {b} located at file:/c/{b}/chk-3.",
    ]
    assert check(_evidence(log)) == []
    # Not a failover: the JobManager restarted (no HA) and the provider submitted the id again.
    again = [
        *log[:-2],
        "10:00:08,000 INFO x - Starting StandaloneSessionClusterEntrypoint (Version: 2.3.0)",
        f"10:00:09,000 INFO x - Submitting job 'd.g1' ({b}) with associated application ({b}).",
        f"10:00:09,010 INFO x - Restoring job {b} from Checkpoint 3 @ 1 for {b} located at file:/c/{b}/chk-3.",
    ]
    assert any("state went back" in v for v in check(_evidence(again)))


def test_checker_accepts_the_refusal_to_start_a_job_lost_before_any_snapshot() -> None:
    """A job lost before its first checkpoint is left to a person by design (seed 14223 of the 2027
    run); the same refusal after a completed snapshot is a violation."""
    a = "a" * 32
    refusal = f"job {a} is gone and neither a retained checkpoint nor a savepoint of it is known: ..."
    report = {
        "deployments": [
            {
                "deployment": "d",
                "actions": ["recover d"],
                "skipped": None,
                "done": [{"ok": False, "detail": refusal}],
            }
        ]
    }
    log = [
        f"10:00:00,000 INFO x - Submitting job 'd.g1' ({a}) with associated application ({a}).",
        f"10:00:00,100 INFO x - Job d.g1 ({a}) switched from state CREATED to RUNNING.",
        "10:00:01,000 INFO x - Starting StandaloneSessionClusterEntrypoint (Version: 2.3.0)",
    ]
    evidence = _evidence(log, final=[])
    evidence["journal"].append({"t": 1.0, "event": "not-settled", "report": report})
    assert check(evidence) == []
    log.insert(
        2,
        f"10:00:00,900 INFO x - Completed checkpoint 1 for job {a} (1 bytes, checkpointDuration=5 ms, finalizationTime=0 ms).",
    )
    assert any("no quiescence" in v for v in check(evidence))


def test_checker_takes_the_last_good_spec_flink_ran_for_the_rollback_target() -> None:
    """A good edit that never ran (its upgrade could not take a savepoint), then a failing edit:
    the rollback to g1, which Flink ran only briefly, is right (seed 353992 of the 2027 run)."""
    a, c = "a" * 32, "c" * 32
    log = [
        f"10:00:00,000 INFO x - Submitting job 'd.g1' ({a}) with associated application ({a}).",
        f"10:00:00,100 INFO x - Job d.g1 ({a}) switched from state CREATED to RUNNING.",
        f"10:00:02,100 INFO x - Job d.g1 ({a}) switched from state RUNNING to CANCELED.",
        f"10:00:03,000 INFO x - Submitting job 'd.g1' ({c}) with associated application ({c}).",
        f"10:00:03,100 INFO x - Job d.g1 ({c}) switched from state CREATED to RUNNING.",
    ]
    evidence = _evidence(log, final=[{"jid": c, "name": "d.g1", "state": "RUNNING"}])
    evidence["records"]["flink_deployment.flink_default.d"] = json.dumps({"current_job_id": c})
    first = evidence["journal"][0]
    evidence["journal"] += [{**first, "t": 0.5, "gen": 2}, {**first, "t": 0.6, "gen": 3, "entry": "failing"}]
    evidence["observed"]["jobs"] = {
        a: {"healthy": [1.0, 2.0], "parallelism": 1},
        c: {"healthy": [], "parallelism": 1},
    }
    assert check(evidence) == []


def test_checker_fails_state_going_back_and_two_live_jobs() -> None:
    """The checker can fail: a restore from an older checkpoint, a second live job, a record that
    names another job, and an empty history (nothing to judge)."""
    assert any("state went back" in v for v in check(_evidence(_log(1))))
    two = _log(2)
    two.insert(5, two.pop(4))  # the old job ends only after the new one was submitted ...
    two.append(two.pop(5))  # ... and after it runs
    assert any("two live jobs" in v for v in check(_evidence(two)))
    other = [{"jid": "c" * 32, "name": "d.g1", "state": "RUNNING"}]
    assert any("record names job" in v for v in check(_evidence(_log(2), other)))
    assert any("could not judge" in v for v in check(_evidence([])))


def _flink_run_event(kind: str, jid: str, run_id: str | None = None) -> dict[str, Any]:
    return {
        "eventType": kind,
        "run": {
            "runId": run_id or str(uuid.UUID(hex=jid)),
            "facets": {"externalQuery": {"externalQueryId": jid}},
        },
        "job": {"name": "flink.d", "facets": {"jobType": {"integration": "FLINK"}}},
    }


def test_checker_holds_lineage_to_what_flink_ran() -> None:
    """7: a Flink run's events name a job the play ran, under its id, and end only what Flink ended."""
    a, b = "a" * 32, "b" * 32
    task = {
        "eventType": "COMPLETE",
        "run": {"runId": "x"},
        "job": {"facets": {"jobType": {"integration": "AIRFLOW"}}},
    }

    def judged(*events: dict[str, Any]) -> list[str]:
        evidence = _evidence(_log(2))
        evidence["lineage"] = list(events)
        return [v for v in check(evidence) if v.startswith("lineage")]

    assert (
        judged(
            task, _flink_run_event("START", a), _flink_run_event("COMPLETE", a), _flink_run_event("START", b)
        )
        == []
    )
    stranger = "c" * 32
    assert judged(_flink_run_event("START", stranger)) == [
        f"lineage START of run {uuid.UUID(hex=stranger)} names job {stranger}, which no deployment of the play ran "
        "(JobManager log)"
    ]
    assert judged(_flink_run_event("START", a, run_id=str(uuid.UUID(hex=b)))) == [
        f"lineage START of run {uuid.UUID(hex=b)}: its run id is not its job {a}"
    ]
    assert judged(_flink_run_event("COMPLETE", b)) == [
        f"lineage COMPLETE of run {uuid.UUID(hex=b)} says job {b} ended, but Flink shows it RUNNING"
    ]


def test_checker_judges_a_programs_jobs_like_deployments_and_all_or_none_at_the_end() -> None:
    """A program's two jobs (no record): a restore of each from an older snapshot is state going
    back; at the end both run or neither does."""
    a, b, c = "1" * 32, "2" * 32, "3" * 32
    program = [
        f"10:00:00,000 INFO x - Submitting job 'p1.g1' ({a}) with associated application ({c}).",
        f"10:00:00,100 INFO x - Job p1.g1 ({a}) switched from state CREATED to RUNNING.",
        f"10:00:00,000 INFO x - Submitting job 'p2.g1' ({b}) with associated application ({c}).",
        f"10:00:00,100 INFO x - Job p2.g1 ({b}) switched from state CREATED to RUNNING.",
    ]
    both = [{"jid": a, "name": "p1.g1", "state": "RUNNING"}, {"jid": b, "name": "p2.g1", "state": "RUNNING"}]
    declared = [
        {
            "t": 0.0,
            "event": "declare",
            "dep": p,
            "gen": 1,
            "parallelism": 1,
            "entry": "counter",
            "mode": "savepoint",
        }
        for p in ("p1", "p2")
    ]

    def judged(log: list[str], final: list[dict[str, Any]]) -> list[str]:
        evidence = _evidence(
            [*_log(2), *log], [{"jid": "b" * 31 + "0", "name": "d.g1", "state": "RUNNING"}, *final]
        )
        evidence["records"]["flink_deployment.flink_default.d"] = json.dumps(
            {"current_job_id": "b" * 31 + "0"}
        )
        evidence["programs"] = ["p1", "p2"]
        evidence["journal"] += declared
        return [v for v in check(evidence) if "p1" in v or "p2" in v or "program" in v]

    assert judged(program, both) == []
    assert judged(program, both[:1]) == [
        f"after quiescence only part of the program runs: {{'p1': ['{a}'], 'p2': []}}"
    ]
    assert judged(program, [*both, {**both[0], "jid": "e" * 32}]) == [
        f"after quiescence the program's job p1 has 2 live jobs: ['{a}', '{'e' * 32}']"
    ]
    older = [
        *program[:2],
        f"10:00:01,000 INFO x - Completed checkpoint 4 for job {a} (1 bytes, checkpointDuration=5 ms, finalizationTime=0 ms).",
        f"10:00:01,500 INFO x - Job p1.g1 ({a}) switched from state RUNNING to FINISHED.",
        f"10:00:02,000 INFO x - Submitting job 'p1.g1' ({'f' * 32}) with associated application ({'4' * 32}).",
        f"10:00:02,010 INFO x - Restoring job {'f' * 32} from Savepoint 3 @ 1 for {'f' * 32} located at file:/s/sp-3.",
        *program[2:],
    ]
    assert any(v.startswith("state went back: p1's job") for v in judged(older, both))


def _audit(*rows: tuple[str, str, int, float]) -> dict[str, Any]:
    """An evidence with only the store's audit: (table, run, revision or token, at); a lease row
    ends 10 s after it was written."""
    audit = [
        {"tbl": t, "name": "d", "app": app, "at": at, "revision": n, "token": n, "expires_at": at + 10}
        for t, app, n, at in rows
    ]
    return {"audit": audit}


def test_checker_confirms_one_actor_per_deployment_from_the_stores_audit() -> None:
    from faults.histories.checker import Judgement, _one_actor

    def violations(evidence: dict[str, Any]) -> list[str]:
        judgement = Judgement(evidence)
        _one_actor(judgement)
        return judgement.violations

    clean = _audit(("leases", "run1", 1, 0.0), ("records", "run1", 1, 1.0), ("leases", "run2", 2, 12.0),
                   ("records", "run2", 2, 13.0))  # fmt: skip
    assert violations(clean) == []
    stolen = _audit(("leases", "run1", 1, 0.0), ("leases", "run2", 2, 11.0), ("records", "run1", 1, 12.0))
    assert violations(stolen) == ["d: revision 1 written by run1 while run2 held the lease (2)"]
    late = _audit(("leases", "run1", 1, 0.0), ("records", "run1", 1, 10.5))
    assert violations(late) == ["d: revision 1 written by run1 0.50 s after its lease ended"]
    lost = _audit(("leases", "run1", 1, 0.0), ("records", "run1", 1, 1.0), ("records", "run1", 1, 2.0))
    assert violations(lost) == ["d: revision 1 written where 2 was next (a lost update)"]
    assert violations({"audit": []}) == []  # a play on the file store has no audit


def test_checker_fails_state_dropped_without_a_persons_approval() -> None:
    """A stateless upgrade of a deployment that requires approval: the new spec's job starts
    without state in place of one that completed checkpoints; only an approval given after the
    spec was declared, before the job was submitted, allows it."""
    import datetime

    base = datetime.datetime.combine(datetime.date.today(), datetime.time(9, 59)).timestamp()
    a, b = "a" * 32, "b" * 32
    declares = [
        {"t": base, "event": "declare", "dep": "d", "gen": 1, "parallelism": 1, "entry": "counter",
         "mode": "savepoint", "approval": ["stateless-upgrade"]},
        {"t": base + 62, "event": "declare", "dep": "d", "gen": 2, "parallelism": 1, "entry": "counter",
         "mode": "stateless", "approval": ["stateless-upgrade"]},
    ]  # fmt: skip
    log = [
        f"10:00:00,000 INFO x - Submitting job 'd.g1' ({a}) with associated application ({a}).",
        f"10:00:00,100 INFO x - Job d.g1 ({a}) switched from state CREATED to RUNNING.",
        f"10:00:01,000 INFO x - Completed checkpoint 1 for job {a} (1 bytes, checkpointDuration=5 ms, finalizationTime=0 ms).",
        f"10:00:02,500 INFO x - Job d.g1 ({a}) switched from state RUNNING to FINISHED.",
        f"10:00:03,000 INFO x - Submitting job 'd.g2' ({b}) with associated application ({b}).",
        f"10:00:03,100 INFO x - Job d.g2 ({b}) switched from state CREATED to RUNNING.",
    ]

    def dropped(journal: list[dict[str, Any]]) -> list[str]:
        evidence = _evidence(log, [{"jid": b, "name": "d.g2", "state": "RUNNING"}])
        evidence["journal"] = journal
        return [v for v in check(evidence) if v.startswith("state dropped")]

    assert dropped(declares) == [
        f"state dropped without approval: d's g2 (stateless, approval required) started without state as {b} "
        f"in place of {a}, with no approval given since it was declared"
    ]
    approve = {"t": base + 62.5, "event": "approval", "dep": "d", "answer": "approve", "decision": "approved"}
    assert dropped([*declares, approve]) == []
    assert dropped([*declares, {**approve, "decision": "rejected"}]) != []  # a rejection allows nothing
    assert dropped([*declares, {**approve, "t": base + 61}]) != []  # given before this spec was declared
    without = [{**d, "approval": []} for d in declares]
    assert dropped(without) == []  # not required: a stateless upgrade is what was declared


@pytest.mark.integration
@pytest.mark.parametrize(("seed", "ops"), CI_HISTORIES)
def test_random_history(flink: Cluster, database: str, tmp_path: Path, seed: int, ops: int) -> None:
    position = CI_HISTORIES.index((seed, ops))
    if VERSIONS[position % len(VERSIONS)] != flink.flink.version:
        pytest.skip(
            f"CI sample: seed {seed} runs on Flink {VERSIONS[position % len(VERSIONS)]} in this suite"
        )
    history = generate(seed, ops)
    verdict = play(flink.flink, flink.jar, tmp_path, history, database)
    replay = (
        f"python -m faults.histories --versions {flink.flink.version} --replay {seed} --ops {ops} --shrink"
    )
    assert verdict.ok, f"{verdict.why}\nreplay: {replay}\nhistory: {json.dumps(history.as_json())}"


@pytest.mark.integration
def test_a_history_with_a_program_of_two_jobs(flink: Cluster, database: str, tmp_path: Path) -> None:
    """A program of two jobs (one Flink 2.3 application) beside two deployments, upgraded by the
    application operators as Airflow tasks, a step of them killed (seed 3: the upgrade's deploy
    killed after its application id was recorded), amid the history's other faults."""
    if flink.flink.version.startswith("1."):
        pytest.skip("a program of several jobs needs Flink 2.3 applications")
    history = generate(3, 10)
    assert history.program
    assert [op for op in history.ops if op["op"] == "program"]
    verdict = play(flink.flink, flink.jar, tmp_path, history, database)
    assert verdict.ok, f"{verdict.why}\nhistory: {json.dumps(history.as_json())}"


@pytest.mark.integration
def test_a_failing_edit_while_an_upgrade_is_in_flight_is_rolled_back(flink: Cluster, tmp_path: Path) -> None:
    """Found by the 100-history run (seed 188811, shortened by hand to 5 operations): a good edit
    submitted by a short run, then a failing edit and a person's cancel before any run judged the
    good one; the failing spec was restarted to the limit with an older upgrade still recorded, and
    nothing ran. Now the start of a never-stable spec is always the upgrade in flight."""
    if flink.flink.version != VERSIONS[0]:
        pytest.skip(f"runs on Flink {VERSIONS[0]} in this suite")
    path = ROOT / "faults" / "histories" / "examples" / "failing-edit-during-upgrade.json"
    history = History.from_json(json.loads(path.read_text()))
    verdict = play(flink.flink, flink.jar, tmp_path, history)
    assert verdict.ok, verdict.why


@pytest.mark.integration
@pytest.mark.parametrize("example", ["frozen-past-its-lease", "stopped-between-look-and-act"])
def test_a_run_held_between_its_look_and_its_act(
    flink: Cluster, database: str, tmp_path: Path, example: str
) -> None:
    """Held after recording an upgrade's stop, before sending it: frozen past its lease while
    another run upgrades (it yields, and the audit shows no write of its after the take-over); or
    the job stopped by a person meanwhile (it yields; the next run resumes from that savepoint)."""
    if flink.flink.version != VERSIONS[0]:
        pytest.skip(f"runs on Flink {VERSIONS[0]} in this suite")
    path = ROOT / "faults" / "histories" / "examples" / f"{example}.json"
    history = History.from_json(json.loads(path.read_text()))
    verdict = play(flink.flink, flink.jar, tmp_path, history, database)
    assert verdict.ok, verdict.why
    [played] = [p for p in tmp_path.iterdir() if p.is_dir()]
    journal = json.loads((played / "evidence.json").read_text())["journal"]
    held = "frozen" if example.startswith("frozen") else "resumed"
    assert [e["event"] for e in journal if e["event"] in ("frozen", "thawed", "resumed")][:1] == [held]
    second = json.loads((played / "run2.json").read_text())["deployments"][0]["done"]
    assert [(d["action"].split()[0], d["yielded"]) for d in second] == [("upgrade", True)], second
