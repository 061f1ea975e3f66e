"""Blackout windows: times when a deployment takes no periodic savepoint and is not upgraded.

A team that cannot afford a savepoint's pause (or an upgrade's restart) during its peak hour
declares the hour in the spec; the reconcile then waits and says until when::

    blackout_windows:
      - {daily: "08:30-10:00", timezone: Europe/Berlin, days: [mon, tue, wed, thu, fri]}
      - {cron: "0 18 * * FRI", duration_minutes: 120, timezone: America/New_York}

``daily``: a time range each day (or on ``days``; a range past midnight, "22:00-02:00", belongs
to the day it starts). ``cron``: a window opens at each time the expression names, for
``duration_minutes``. Times are wall-clock times in ``timezone`` (IANA name; UTC by default), so
a window follows daylight saving time.

Pure functions of the spec and a clock: the planner asks :func:`active_window` with its ``now``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, model_validator

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class BlackoutWindow(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    daily: str | None = Field(
        None, pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$", description='A time range each day, "HH:MM-HH:MM".'
    )
    days: list[Day] = Field(default_factory=list, description="Only on these days (default: every day).")
    cron: str | None = Field(None, description="A window opens at each time this cron expression names.")
    duration_minutes: float | None = Field(None, gt=0, description="How long a cron window lasts.")
    timezone: str = Field("UTC", description="IANA time zone of the times, e.g. Europe/Berlin.")

    @model_validator(mode="after")
    def _one_form(self) -> BlackoutWindow:
        if (self.daily is None) == (self.cron is None):
            raise ValueError('give either daily: "HH:MM-HH:MM" or cron: "<expression>" with duration_minutes')
        if self.cron is not None:
            if self.duration_minutes is None:
                raise ValueError(f"cron {self.cron!r} needs duration_minutes: how long each window lasts")
            if not croniter.is_valid(self.cron):
                raise ValueError(f"cron {self.cron!r} is not a valid cron expression (five fields)")
            if self.days:
                raise ValueError("days belongs to a daily window; a cron expression names its own days")
        if self.daily is not None:
            start, end = self.daily.split("-")
            for part in (start, end):
                hours, minutes = int(part[:2]), int(part[3:])
                if hours > 23 or minutes > 59:
                    raise ValueError(f"daily {self.daily!r}: {part} is not a time of day (00:00-23:59)")
            if start == end:
                raise ValueError(f"daily {self.daily!r} is empty: start and end are the same")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"timezone {self.timezone!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)"
            ) from None
        return self

    def describe(self) -> str:
        if self.daily is not None:
            on = f" on {','.join(self.days)}" if self.days else ""
            return f"daily {self.daily}{on} ({self.timezone})"
        return f"cron {self.cron!r} for {self.duration_minutes:g} min ({self.timezone})"

    def end_if_inside(self, now: datetime) -> datetime | None:
        """When the window that ``now`` falls in ends, or None when ``now`` is outside."""
        local = now.astimezone(ZoneInfo(self.timezone))
        if self.cron is not None:
            return self._cron_end(local)
        return self._daily_end(local)

    def _cron_end(self, local: datetime) -> datetime | None:
        expression = self.cron or ""
        length = timedelta(minutes=self.duration_minutes or 0)
        # The last opening at or before now (a second later: croniter's get_prev excludes "now").
        opened: datetime = croniter(expression, local + timedelta(seconds=1)).get_prev(datetime)
        end = opened + length
        if local >= end:
            return None
        # Windows that open before this one closes extend it; windows that never close (openings
        # closer together than their duration) are reported a week ahead: the next run looks again.
        horizon = local + timedelta(days=7)
        following = croniter(expression, opened)
        while (nxt := following.get_next(datetime)) < end and nxt < horizon:
            end = max(end, nxt + length)
        return end

    def _daily_end(self, local: datetime) -> datetime | None:
        assert self.daily is not None
        start_text, end_text = self.daily.split("-")
        for days_back in (0, 1):  # a range past midnight that began yesterday
            day = (local - timedelta(days=days_back)).date()
            if self.days and DAYS[day.weekday()] not in self.days:
                continue
            start = _at(day, start_text, local.tzinfo)
            end = _at(day, end_text, local.tzinfo)
            if end <= start:
                end = _at(day + timedelta(days=1), end_text, local.tzinfo)
            if start <= local < end:
                return end
        return None


def _at(day: date, hhmm: str, tz: tzinfo | None) -> datetime:
    """Wall-clock ``hhmm`` on ``day`` in ``tz`` (a time a DST change skips maps as zoneinfo does)."""
    return datetime(day.year, day.month, day.day, int(hhmm[:2]), int(hhmm[3:]), tzinfo=tz)


def active_window(windows: list[BlackoutWindow], now: float) -> tuple[BlackoutWindow, datetime] | None:
    """The window ``now`` (epoch seconds) falls in and when it ends (the latest end among those
    that hold now), or None."""
    moment = datetime.fromtimestamp(now, tz=ZoneInfo("UTC"))
    found: tuple[BlackoutWindow, datetime] | None = None
    for window in windows:
        end = window.end_if_inside(moment)
        if end is not None and (found is None or end > found[1]):
            found = (window, end)
    return found


def until(window: BlackoutWindow, end: datetime) -> str:
    """The words a run uses for a wait: which window, and until when (in its own time zone)."""
    return f"blackout window {window.describe()} until {end.strftime('%Y-%m-%d %H:%M %Z')}"
