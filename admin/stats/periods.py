"""Calendar-aligned periods: the only spans the DRB statistics answer.

A query names one period (`2026-11-30` a day, `2026-W48` an ISO week, `2026-11` a month,
`2026-Q4` a quarter, `2026` a year) or a range of whole months (`from=2026-09&to=2026-11`).
Arbitrary day ranges are not offered: the difference of two overlapping ranges would be
a single day, published by subtraction whatever the suppression of that day's own cell.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import lazy_gettext as _l

from backend.clock import local_day, utcnow
from backend.errors import ValidationFailed

EARLIEST_DAY = date(2020, 1, 1)  # before the programme: also keeps date arithmetic in range
MAX_MONTHS = 12  # a range of whole months, both included
KINDS = ("day", "week", "month", "quarter", "year", "months")
SUB_MONTH = ("day", "week")

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")

OFFERED = _l(
    "Periods are calendar-aligned: period=2026-11-30 (a day), 2026-W48 (an ISO week), "
    "2026-11 (a month), 2026-Q4 (a quarter) or 2026 (a year), or from=2026-09&to=2026-11 "
    "(whole months, %(months)s at most). Arbitrary day ranges are not offered.",
    months=MAX_MONTHS,
)


@dataclass(frozen=True)
class Period:
    """A run of Asia/Shanghai days with its label ("2026-W48", "2026-Q4", "2026-09..2026-11")."""

    kind: str
    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def months(self) -> list[Period]:
        """The calendar months the period touches (a week may touch two)."""
        result, first = [], self.start.replace(day=1)
        while first <= self.end:
            result.append(month(first))
            first = month_end(first) + timedelta(days=1)
        return result

    @property
    def whole_months(self) -> bool:
        return self.kind not in SUB_MONTH


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def day_period(day: date) -> Period:
    return Period("day", day.isoformat(), day, day)


def week(day: date) -> Period:
    """The ISO week of a day."""
    year, number, _ = day.isocalendar()
    monday = day - timedelta(days=day.weekday())
    return Period("week", f"{year}-W{number:02d}", monday, monday + timedelta(days=6))


def month(day: date) -> Period:
    first = day.replace(day=1)
    return Period("month", f"{first:%Y-%m}", first, month_end(first))


def quarter(day: date) -> Period:
    number = (day.month - 1) // 3 + 1
    first = date(day.year, 3 * number - 2, 1)
    last = month_end(date(day.year, 3 * number, 1))
    return Period("quarter", f"{day.year}-Q{number}", first, last)


def year(day: date) -> Period:
    return Period("year", str(day.year), date(day.year, 1, 1), date(day.year, 12, 31))


def months_range(first: date, last: date) -> Period:
    first, last = first.replace(day=1), month_end(last)
    if first.replace(day=1) == last.replace(day=1):
        return month(first)
    return Period("months", f"{first:%Y-%m}..{last:%Y-%m}", first, last)


def parse(text: str) -> Period:
    """One named period; ValueError when the text names none."""
    if match := _DAY.match(text):
        return day_period(date(*map(int, match.groups())))
    if match := _WEEK.match(text):
        iso_year, number = map(int, match.groups())
        return week(date.fromisocalendar(iso_year, number, 1))
    if match := _MONTH.match(text):
        return month(date(int(match[1]), int(match[2]), 1))
    if match := _QUARTER.match(text):
        return quarter(date(int(match[1]), 3 * int(match[2]), 1))
    if match := _YEAR.match(text):
        return year(date(int(match[1]), 1, 1))
    raise ValueError(text)


def _month_arg(text: str) -> date:
    match = _MONTH.match(text)
    if not match:
        raise ValueError(text)
    return date(int(match[1]), int(match[2]), 1)


def not_aligned(field: str) -> ValidationFailed:
    return ValidationFailed(OFFERED, code="period_not_aligned", fields={field: [OFFERED]})


def resolve(period: str | None = None, start: str | None = None, end: str | None = None) -> Period:
    """The period a query names; by default the current month. 422 `period_not_aligned`
    for anything else (a day range, a malformed or impossible period)."""
    if period is not None and (start is not None or end is not None):
        raise not_aligned("period")
    if period is not None:
        try:
            result = parse(period)
        except ValueError:
            raise not_aligned("period") from None
    elif start is not None or end is not None:
        try:
            first = _month_arg(start) if start is not None else None
            last = _month_arg(end) if end is not None else None
        except ValueError:
            field = "from" if start is not None and not _MONTH.match(start) else "to"
            raise not_aligned(field) from None
        first, last = first or last, last or first
        if last < first:
            raise ValidationFailed(
                OFFERED, code="period_not_aligned", fields={"to": [_l("Must be on or after from.")]}
            )
        count = (last.year - first.year) * 12 + last.month - first.month + 1
        if count > MAX_MONTHS:
            raise not_aligned("to")
        result = months_range(first, last)
    else:
        result = month(local_day(utcnow()))
    if result.start < EARLIEST_DAY:
        message = _l("No statistics before %(day)s.", day=EARLIEST_DAY.isoformat())
        raise ValidationFailed(message, fields={"period" if period else "from": [message]})
    return result


def subperiods(period: Period, granularity: str) -> list[Period]:
    """The days, ISO weeks or months inside a period; weeks are clipped to it (a week
    period is its own one week)."""
    result = []
    day = period.start
    while day <= period.end:
        if granularity == "day":
            part = day_period(day)
        elif granularity == "week":
            whole = week(day)
            start, end = max(whole.start, period.start), min(whole.end, period.end)
            part = Period("week", whole.label, start, end)
        else:
            part = month(day)
        result.append(part)
        day = part.end + timedelta(days=1)
    return result
