"""The soak's figures (faults/soak/figures.py): availability and recoveries from samples."""

from __future__ import annotations

from faults.soak.figures import Fault, availability, figures, markdown, recoveries


def _samples(
    pattern: dict[str, str], start: float = 100.0
) -> list[tuple[float, dict[str, tuple[bool, str | None]] | None]]:
    """One sample a second: per deployment "u" up, "d" down, "?" Flink did not answer (all)."""
    length = len(next(iter(pattern.values())))
    found: list[tuple[float, dict[str, tuple[bool, str | None]] | None]] = []
    for i in range(length):
        if any(p[i] == "?" for p in pattern.values()):
            found.append((start + i, None))
        else:
            found.append(
                (start + i, {dep: (p[i] == "u", "j" if p[i] == "u" else None) for dep, p in pattern.items()})
            )
    return found


def test_availability_counts_from_the_first_up_sample_and_an_unanswered_one_as_down() -> None:
    samples = _samples({"a": "ddduuuu?uu", "b": "dddddddddd"})
    assert availability(samples, ["a", "b"]) == {"a": 6 / 7, "b": 0.0}


def test_a_recovery_runs_from_the_fault_to_the_first_up_sample_after_the_deployment_went_down() -> None:
    samples = _samples({"a": "uuuuudddduuuu", "b": "uuuuuuuuuuuuu"})
    faults = [Fault("cancel", 104.5, ["a"]), Fault("tm-kill", 104.5, [])]
    found = recoveries(samples, faults, ["a", "b"])
    # the cancel: down at 105, up at 109: 4.5 s; the TaskManager's: b never went down (no recovery)
    assert [(r.kind, r.deployment, r.down_at, r.seconds) for r in found] == [
        ("cancel", "a", 105.0, 4.5),
        ("tm-kill", "a", 105.0, 4.5),
    ]


def test_a_deployment_still_down_at_the_end_is_not_recovered_and_a_late_failure_is_not_the_faults() -> None:
    samples = _samples({"a": "uuuddddddd" + "u" * 20 + "d" * 5})
    found = recoveries(samples, [Fault("jm-kill", 102.0, []), Fault("cancel", 110.0, ["a"])], ["a"])
    assert [(r.kind, r.seconds) for r in found] == [("jm-kill", 8.0)]
    down = recoveries(samples, [Fault("cancel", 129.5, ["a"])], ["a"])
    assert [(r.kind, r.seconds) for r in down] == [("cancel", None)]
    # a fault that meets the deployment already down: the earlier fault's recovery, not its own
    assert recoveries(samples, [Fault("jm-kill", 102.0, []), Fault("cancel", 104.5, ["a"])], ["a"])[1:] == []


def test_figures_by_kind_against_flinks_own_restart() -> None:
    samples = _samples({"a": "uuddduuuuuuuuuuuuuuuuuuudddddddduuuu"})
    faults = [Fault("job-fail", 101.5, ["a"]), Fault("cancel", 123.5, ["a"])]
    result = figures(samples, faults, ["a"])
    assert result.by_kind["job-fail"] == {
        "dealt": 1,
        "faults": 1,
        "recoveries": 1,
        "not_recovered": 0,
        "median": 3.5,
        "worst": 3.5,
        "median_share": 3.5,
        "worst_share": 3.5,
        "phases": {},
        "goal": "Flink's",
    }
    assert result.by_kind["cancel"]["median"] == 8.5
    assert result.flink_own == 3.5
    # down 3 + 8 samples of 1 s from its first up one, over the 2 faults aimed at it
    assert result.downtime_per_fault == {"a": 5.5}
    assert result.hourly_availability == {"a": 1 - 5.5 / 3600}
    table = markdown(result, 1, "2.3.0")
    assert "| cancel | 1 | 1 | 1 | 8.5 s | 8.5 s | 8.5 s (8.5 s) | 0 | within | Flink alone |" in table
    assert "Flink's own restart (job-fail, median): 3.5 s" in table
    assert (
        "a: 5.5 s down per fault it was exposed to: 99.847 % available at one fault per hour; "
        "from the recovery times alone 6 s: 99.833 %"
    ) in table  # the recoveries: 3.5 s and 8.5 s, from the faults (the samples: 3 and 8 s down)


def test_a_recoverys_phases_come_from_the_reconcile_run_that_made_it() -> None:
    from faults.soak.figures import Recovery, limits

    recovery = Recovery("cancel", "a", at=1_800_000_000.0, down_at=1_800_000_001.0, seconds=9.0)

    def run(queued: int, start: int, end: int, acted: dict[str, list[str]]) -> dict[str, object]:
        """Seconds after 2027-01-15T08:00:00Z (1_800_000_000), as Airflow's API writes times."""
        at = {k: f"2027-01-15T07:59:{60 + v:02d}+00:00" if v < 0 else f"2027-01-15T08:00:{v:02d}+00:00"
              for k, v in (("queued_at", queued), ("start_date", start), ("end_date", end))}  # fmt: skip
        return {**at, "acted": acted}

    restarted = run(2, 3, 5, {"a": ["restart"]})
    assert limits(recovery, [restarted]) == {"detect": 2.0, "schedule": 1.0, "act": 2.0, "health": 4.0}
    # a run queued before the fault, and one that only marked the deployment healthy: neither made it
    earlier = run(-1, 1, 2, {"a": ["restart"]})
    other = run(2, 3, 5, {"b": ["restart"], "a": ["mark-stable"]})
    assert limits(recovery, [earlier, other]) is None
    # a run whose end Airflow wrote after the job was up (9 s): its act ends there, no health wait
    late = run(2, 3, 11, {"a": ["resume"]})
    assert limits(recovery, [late]) == {"detect": 2.0, "schedule": 1.0, "act": 6.0, "health": 0.0}
    # one that started after the deployment was up did not make the recovery
    assert limits(recovery, [run(2, 10, 11, {"a": ["resume"]})]) is None


def test_a_recoverys_share_leaves_out_the_time_the_faulted_part_did_not_answer() -> None:
    """A JobManager back 6 s after its kill: of a 14.5 s recovery, 8.5 s are the provider's (and
    Flink's restart of the job), held to Flink's own restart + 5 s; a bound on the share is a
    problem per recovery beyond it."""
    from faults.soak.figures import beyond

    samples = _samples({"a": "uuddduuuuuuuuuuuuuuuuuuudddddddddddddduuuu"})
    faults = [Fault("job-fail", 101.5, ["a"]), Fault("jm-kill", 123.5, [], back_at=129.5)]
    result = figures(samples, faults, ["a"])
    (jm,) = [r for r in result.recoveries if r.kind == "jm-kill"]
    assert (jm.seconds, jm.outage, jm.share) == (14.5, 6.0, 8.5)
    row = result.by_kind["jm-kill"]
    assert (row["median"], row["median_share"], row["worst_share"], row["goal"]) == (14.5, 8.5, 8.5, "within")
    # one second slower once Flink answered: over Flink's own 3.5 s + 5 s
    late = figures(samples, [faults[0], Fault("jm-kill", 123.5, [], back_at=128.5)], ["a"])
    assert late.by_kind["jm-kill"]["goal"] == "OVER"
    assert beyond(result, 8.5) == []
    assert beyond(late, 9.0) == [
        "jm-kill at 124: a took 9.5 s once the faulted part answered (of 14.5 s), over the bound of 9 s"
    ]
    # without Flink's own restart measured there is nothing to hold a kind to; Flink's kinds have no goal
    alone = figures(samples, faults[1:], ["a"])
    assert alone.by_kind["jm-kill"]["goal"] == ""
    assert result.by_kind["job-fail"]["goal"] == "Flink's"


def test_downtime_per_fault_counts_every_fault_a_deployment_was_exposed_to() -> None:
    """A whole-stack fault that did not take ``b`` down still counts as one it endured; a fault
    aimed at ``a`` does not count for ``b``; downtime no fault explains counts all the same."""
    samples = _samples({"a": "uuuddduuuuuuuu", "b": "uuuuuuuuuddduu"})
    faults = [Fault("cancel", 102.5, ["a"]), Fault("rest-outage", 104.0, []), Fault("jm-kill", 108.5, ["b"])]
    result = figures(samples, faults, ["a", "b"])
    assert result.downtime_per_fault == {"a": 1.5, "b": 1.5}  # a: 3 s over 2 faults; b: 3 s over 2
    assert result.hourly_availability["a"] == 1 - 1.5 / 3600


def test_a_failure_recovered_by_a_new_job_is_not_flinks_own_restart_and_kinds_that_took_none_down_are_counted() -> (
    None
):
    """Flink's restart strategy gave up (its attempts used): the reconcile started a new job. That
    recovery is the provider's and not the reference the other kinds are held to; a REST outage
    that took nothing down is dealt, with no recovery."""

    def sample(t: float, up: bool, job: str) -> tuple[float, dict[str, tuple[bool, str | None]]]:
        return (t, {"a": (up, job if up else None)})

    samples = [sample(100, True, "j1"), sample(101, False, ""), sample(104, True, "j1")]
    samples += [
        sample(105, True, "j1"),
        sample(106, False, ""),
        sample(115, True, "j2"),
        sample(116, True, "j2"),
    ]
    samples += [sample(117, True, "j2"), sample(118, True, "j2")]
    faults = [
        Fault("job-fail", 100.5, ["a"]),
        Fault("job-fail", 105.5, ["a"]),
        Fault("rest-outage", 116.5, []),
    ]
    result = figures(samples, faults, ["a"])
    assert [(r.seconds, r.same_job) for r in result.recoveries] == [(3.5, True), (9.5, False)]
    assert result.flink_own == 3.5  # not the median of 3.5 and 9.5
    assert result.by_kind["job-fail"]["median"] == 6.5
    assert (result.by_kind["rest-outage"]["dealt"], result.by_kind["rest-outage"]["recoveries"]) == (1, 0)
