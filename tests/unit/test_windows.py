"""Blackout windows: when they hold, until when, and the errors a bad window gets."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from airflow_provider_flink.deployments.windows import BlackoutWindow, active_window, until


def at(text: str, tz: str = "UTC") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


def test_a_daily_window_holds_inside_its_range_in_its_time_zone() -> None:
    peak = BlackoutWindow(daily="08:30-10:00", timezone="Europe/Berlin")
    # 2026-12-01 is a Tuesday; Berlin is UTC+1 in winter.
    assert active_window([peak], at("2026-12-01T07:29:59")) is None
    found = active_window([peak], at("2026-12-01T07:30:00"))
    assert found is not None
    assert until(*found) == "blackout window daily 08:30-10:00 (Europe/Berlin) until 2026-12-01 10:00 CET"
    assert active_window([peak], at("2026-12-01T09:00:00")) is None  # 10:00 in Berlin: over
    summer = active_window([peak], at("2026-07-01T06:45:00"))  # UTC+2: 08:45 local
    assert summer is not None
    assert summer[1].isoformat() == "2026-07-01T10:00:00+02:00"


def test_a_daily_window_past_midnight_belongs_to_the_day_it_starts() -> None:
    night = BlackoutWindow(daily="22:00-02:00", days=["fri"])
    found = active_window([night], at("2026-12-05T01:00:00"))  # Saturday 01:00: Friday's window
    assert found is not None
    assert found[1].isoformat() == "2026-12-05T02:00:00+00:00"
    assert active_window([night], at("2026-12-06T01:00:00")) is None  # Sunday 01:00: Saturday has none
    assert active_window([night], at("2026-12-03T23:00:00")) is None  # a Thursday


def test_a_cron_window_lasts_its_duration_and_overlapping_openings_extend_it() -> None:
    hourly = BlackoutWindow(cron="0 * * * *", duration_minutes=90)  # each opening overlaps the next
    found = active_window([hourly], at("2026-12-01T12:10:00"))
    assert found is not None  # they chain and never close: reported a week ahead, looked at again
    assert found[1] - datetime.fromisoformat("2026-12-01T12:10:00+00:00") >= timedelta(days=7)
    twice = BlackoutWindow(cron="0 9,10 * * *", duration_minutes=75)  # 09:00-10:15 and 10:00-11:15
    chained = active_window([twice], at("2026-12-01T09:30:00"))
    assert chained is not None
    assert chained[1].isoformat() == "2026-12-01T11:15:00+00:00"
    friday = BlackoutWindow(cron="0 18 * * FRI", duration_minutes=120, timezone="America/New_York")
    inside = active_window([friday], at("2026-12-04T19:30:00", "America/New_York"))
    assert inside is not None
    assert until(*inside) == (
        "blackout window cron '0 18 * * FRI' for 120 min (America/New_York) until 2026-12-04 20:00 EST"
    )
    assert active_window([friday], at("2026-12-04T20:00:00", "America/New_York")) is None
    assert active_window([friday], at("2026-12-04T17:59:00", "America/New_York")) is None


def test_the_latest_end_of_the_windows_that_hold_is_the_wait() -> None:
    short = BlackoutWindow(daily="09:00-09:30")
    long = BlackoutWindow(daily="08:00-11:00")
    found = active_window([short, long], at("2026-12-01T09:10:00"))
    assert found is not None
    assert (found[0], found[1].hour) == (long, 11)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, 'give either daily: "HH:MM-HH:MM" or cron: "<expression>" with duration_minutes'),
        ({"daily": "09:00-10:00", "cron": "0 9 * * *"}, "give either daily"),
        ({"cron": "0 9 * * *"}, "cron '0 9 * * *' needs duration_minutes: how long each window lasts"),
        ({"cron": "every day", "duration_minutes": 5}, "cron 'every day' is not a valid cron expression"),
        ({"daily": "25:00-26:00"}, "daily '25:00-26:00': 25:00 is not a time of day (00:00-23:59)"),
        ({"daily": "09:00-09:00"}, "daily '09:00-09:00' is empty: start and end are the same"),
        (
            {"daily": "09:00-10:00", "timezone": "Mars/Olympus"},
            "timezone 'Mars/Olympus' is not an IANA time zone",
        ),
        ({"cron": "0 9 * * *", "duration_minutes": 5, "days": ["mon"]}, "days belongs to a daily window"),
    ],
)
def test_a_bad_window_gets_one_clear_error(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        BlackoutWindow.model_validate(fields)
    assert message in str(info.value)
