"""The moments the suite pins the clock at: an ordinary one that every test starts from,
and the Beijing midnights (16:00 UTC the day before) where a day, an ISO week, a month or
a year begins, each with the leaderboard periods either side of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest

from backend.clock import LOCAL_TZ


def beijing(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Beijing (Asia/Shanghai, UTC+8 all year)."""
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


# Every test starts here unless it asks for another moment: a Wednesday in the middle of
# November, mid-morning in Beijing, hours from the day's end and days from a week's or a
# month's. Test data "five minutes ago" or "three days ago" stays in this week and month.
ORDINARY = beijing(2026, 11, 18, 10)

# The session's database is migrated and its reference data loaded here, before every
# moment a test pins: the methodology in force is the one published last.
SETUP = beijing(2026, 1, 1, 9)


@dataclass(frozen=True)
class Boundary:
    """A Beijing midnight and the ISO week and month (leaderboard keys) either side of it."""

    midnight: datetime
    weeks: tuple[str, str]
    months: tuple[str, str]

    @property
    def last_second(self) -> datetime:
        """23:59:59 in Beijing the day before: 15:59:59 UTC, the same UTC day as midnight."""
        return self.midnight - timedelta(seconds=1)

    @property
    def day_before(self) -> date:
        return self.last_second.date()

    @property
    def day(self) -> date:
        return self.midnight.date()

    @property
    def new_week(self) -> bool:
        return self.weeks[0] != self.weeks[1]

    @property
    def new_month(self) -> bool:
        return self.months[0] != self.months[1]


# Every rule kept per Beijing day, week or month is tested at each of these.
BOUNDARIES = [
    pytest.param(
        Boundary(beijing(2026, 11, 19), ("w2026-47", "w2026-47"), ("m2026-11", "m2026-11")),
        id="thu-19-nov-2026-a-day",
    ),
    pytest.param(
        Boundary(beijing(2026, 11, 23), ("w2026-47", "w2026-48"), ("m2026-11", "m2026-11")),
        id="mon-23-nov-2026-a-week-not-a-month",
    ),
    pytest.param(
        Boundary(beijing(2026, 10, 1), ("w2026-40", "w2026-40"), ("m2026-09", "m2026-10")),
        id="thu-1-oct-2026-a-month-mid-week",
    ),
    pytest.param(
        Boundary(beijing(2027, 2, 1), ("w2027-04", "w2027-05"), ("m2027-01", "m2027-02")),
        id="mon-1-feb-2027-a-week-and-a-month",
    ),
    pytest.param(
        # ISO week 53 of 2026 runs on into January
        Boundary(beijing(2027, 1, 1), ("w2026-53", "w2026-53"), ("m2026-12", "m2027-01")),
        id="fri-1-jan-2027-a-year",
    ),
    pytest.param(
        Boundary(beijing(2027, 1, 4), ("w2026-53", "w2027-01"), ("m2027-01", "m2027-01")),
        id="mon-4-jan-2027-an-iso-year",
    ),
]
