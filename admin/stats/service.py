"""DRB figures from the rollups: summary, time series and the green-travel share.

Additive figures (actions, CO2e, points, trips, distance) are sums of `stats_day` rows.
Participants of a whole day, ISO week or month are read from the counters; for any other
range they are a count of distinct residents over the per-day first-seen rows. Every
answer passes through suppression before it leaves.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from admin.stats import suppression
from admin.stats.models import (
    ALL,
    ALL_ACTIONS,
    NO_DISTRICT,
    StatsDay,
    StatsParticipantCount,
    StatsParticipantPrevious,
)
from admin.stats.rollups import day_period_key, period_keys
from backend.clock import local_day, utcnow
from backend.districts.service import get_district, list_districts
from backend.errors import ValidationFailed
from backend.extensions import db
from campaigns.models import Campaign
from points.actions.models import ACTION_TYPES
from points.methodology.service import current_methodology

MAX_SPAN_DAYS = 366
DEFAULT_SPAN_DAYS = 30
EARLIEST_DAY = date(2020, 1, 1)  # before the programme: also keeps date arithmetic in range
GRANULARITIES = ("day", "week", "month")
GROUP_BYS = ("type", "district")
MEASURES = ("participants", "actions", "co2e_g", "points_awarded")
TOTAL = "total"


@dataclass(frozen=True)
class Span:
    """A run of days answered as one cell row: a period of the series, or the whole range."""

    label: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def whole_key(self) -> str | None:
        """The counters' key when the span is exactly one day, ISO week or calendar month."""
        day, week, month = period_keys(self.start)
        if self.start == self.end:
            return day
        if self.start.weekday() == 0 and self.end == self.start + timedelta(days=6):
            return week
        if self.start.day == 1 and self.end == _month_end(self.start):
            return month
        return None


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def spans(start: date, end: date, granularity: str) -> list[Span]:
    """The days, ISO weeks or months from start to end; the first and last are clipped."""
    result = []
    day = start
    while day <= end:
        if granularity == "day":
            last, label = day, day.isoformat()
        elif granularity == "week":
            year, week, _ = day.isocalendar()
            last, label = day + timedelta(days=6 - day.weekday()), f"{year}-W{week:02d}"
        else:
            last, label = _month_end(day), f"{day:%Y-%m}"
        last = min(last, end)
        result.append(Span(label, day, last))
        day = last + timedelta(days=1)
    return result


# Arguments


def check_range(start: date | None, end: date | None) -> tuple[date, date]:
    """From and to, inclusive Asia/Shanghai days; by default the last 30 days."""
    end = end or local_day(utcnow())
    too_early = _l("No statistics before %(day)s.", day=EARLIEST_DAY.isoformat())
    if end < EARLIEST_DAY:
        raise ValidationFailed(fields={"to": [too_early]})
    start = start or max(end - timedelta(days=DEFAULT_SPAN_DAYS - 1), EARLIEST_DAY)
    if start < EARLIEST_DAY:
        raise ValidationFailed(fields={"from": [too_early]})
    if end < start:
        raise ValidationFailed(fields={"to": [_l("Must be on or after from.")]})
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        message = _l("At most %(days)s days, from and to included.", days=MAX_SPAN_DAYS)
        raise ValidationFailed(fields={"to": [message]})
    return start, end


def _district_filter(district_code: str | None) -> str:
    if district_code is None:
        return ALL
    if get_district(district_code) is None:
        raise ValidationFailed(fields={"district_code": [_l("Unknown district.")]})
    return district_code


def _campaign_filter(campaign_id: int | None) -> int:
    if campaign_id is None:
        return ALL_ACTIONS
    if db.session.get(Campaign, campaign_id) is None:
        raise ValidationFailed(fields={"campaign_id": [_l("Unknown campaign.")]})
    return campaign_id


def min_residents() -> int:
    return current_app.config["STATS_MIN_RESIDENTS"]


# Reading the rollups


def _day_sums(start: date, end: date, campaign_id: int, district: str):
    """(day, type, district, actions, grams, points) over the range, variants summed."""
    row = StatsDay
    query = (
        select(
            row.local_day,
            row.action_type,
            row.district_code,
            func.sum(row.actions),
            func.sum(row.co2e_g),
            func.sum(row.points),
        )
        .where(row.local_day.between(start, end), row.campaign_id == campaign_id)
        .group_by(row.local_day, row.action_type, row.district_code)
    )
    if district != ALL:
        query = query.where(row.district_code == district)
    # PostgreSQL sums bigints as numeric: back to int before any arithmetic.
    return [
        (day, kind, where, *map(int, sums)) for day, kind, where, *sums in db.session.execute(query)
    ]


def _participants(
    runs: list[Span], campaign_id: int, fixed: tuple[str, str], column: str, values: list[str]
) -> dict[tuple[str, str], int]:
    """Distinct residents per (span label, value of `column`); ALL among the values is all."""
    fixed_column, fixed_value = fixed
    result: dict[tuple[str, str], int] = {}
    whole: dict[str, list[str]] = defaultdict(list)
    for run in runs:
        if run.whole_key is not None:
            whole[run.whole_key].append(run.label)
    if whole:
        counter = StatsParticipantCount
        rows = db.session.execute(
            select(counter.period_key, getattr(counter, column), counter.participants).where(
                counter.campaign_id == campaign_id,
                getattr(counter, fixed_column) == fixed_value,
                getattr(counter, column).in_(values),
                counter.period_key.in_(list(whole)),
            )
        )
        for key, value, count in rows:
            for label in whole[key]:
                result[(label, value)] = count
    for run in runs:
        if run.whole_key is not None:
            continue
        for value, count in first_days(
            run.start, run.end, campaign_id, fixed, column, values
        ).items():
            result[(run.label, value)] = count
    return result


def first_days(
    start: date, end: date, campaign_id: int, fixed: tuple[str, str], column: str, values: list
) -> dict[str, int]:
    """Distinct residents from start to end per value of `column`: those whose first active
    day in the range it is (their previous one is earlier), a few rows per day."""
    fixed_column, fixed_value = fixed
    first = StatsParticipantPrevious
    first_key = day_period_key(start)
    rows = db.session.execute(
        select(getattr(first, column), func.sum(first.residents))
        .where(
            first.campaign_id == campaign_id,
            getattr(first, fixed_column) == fixed_value,
            getattr(first, column).in_(values),
            first.period_key.between(first_key, day_period_key(end)),
            first.previous_key < first_key,
        )
        .group_by(getattr(first, column))
    )
    return {value: int(count) for value, count in rows if count}


def _factor_versions(start: date, end: date, campaign_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(StatsDay.factor_version)
            .where(StatsDay.local_day.between(start, end), StatsDay.campaign_id == campaign_id)
            .distinct()
            .order_by(StatsDay.factor_version)
        )
    )


# Cells


def _measures(participants: int, sums: list[int]) -> dict[str, int]:
    return dict(zip(MEASURES, (participants, *sums), strict=True))


def _shown(measures: dict, hidden: bool) -> dict:
    if hidden:
        return {name: None for name in measures} | {"suppressed": True}
    return {**measures, "suppressed": False}


def meta(start: date, end: date, campaign_id: int, **filters) -> dict:
    return {
        "period": {"start": start, "end": end},
        **filters,
        "campaign_id": campaign_id or None,
        "methodology_version": current_methodology().version,
        "factor_versions": _factor_versions(start, end, campaign_id),
        "suppression": {
            "min_residents": min_residents(),
            "rule": _l(
                'A cell behind fewer than %(count)s distinct residents is null with "suppressed": '
                "true; further cells are suppressed so that no suppressed value can be "
                "recovered from the totals in the same response.",
                count=min_residents(),
            ),
        },
        "definitions": {
            "participants": _l("Distinct residents with at least one approved action."),
            "actions": _l("Approved actions; pending and rejected actions are not counted."),
            "co2e_g": _l("Grams CO2e avoided, each action by the factor version it used."),
            "points_awarded": _l(
                "Base points paid for the actions, after daily caps. Campaign bonuses and "
                "join, check-in and badge points are not included."
            ),
            "district": _l("The resident's district when the action happened; null: none chosen."),
            "days": _l("Asia/Shanghai calendar days; weeks are ISO weeks, Monday to Sunday."),
        },
        "freshness": _l(
            "Rollups are updated in the transaction that approves each action: the figures "
            "include every action approved before this request."
        ),
        "generated_at": utcnow(),
    }


# Answers


def summary(
    start: date | None = None,
    end: date | None = None,
    district_code: str | None = None,
    campaign_id: int | None = None,
) -> dict:
    """Participants, actions, CO2e and points over a range, in total and by action type."""
    start, end = check_range(start, end)
    district, campaign = _district_filter(district_code), _campaign_filter(campaign_id)
    sums: dict[str, list[int]] = {kind: [0, 0, 0] for kind in (ALL, *ACTION_TYPES)}
    for _day, kind, _where, *values in _day_sums(start, end, campaign, district):
        for key in (ALL, kind):
            sums[key] = [a + b for a, b in zip(sums[key], values, strict=True)]
    people = _participants(
        [Span(TOTAL, start, end)],
        campaign,
        ("district_code", district),
        "action_type",
        [ALL, *ACTION_TYPES],
    )
    cells = {kind: _measures(people.get((TOTAL, kind), 0), sums[kind]) for kind in sums}
    hidden = suppression.suppress(
        {kind: cell["participants"] for kind, cell in cells.items()},
        [suppression.Group(ALL, ACTION_TYPES)],
        min_residents(),
    )
    return {
        **_shown(cells[ALL], ALL in hidden),
        "by_type": {kind: _shown(cells[kind], kind in hidden) for kind in ACTION_TYPES},
        "meta": meta(start, end, campaign, district_code=district_code),
    }


def _district_groups(extra: set[str]) -> dict[str, str]:
    """Group value -> name: every district, any unknown code found, and no district."""
    english = str(get_locale()) == "en"
    names = {d.code: d.name_en if english else d.name for d in list_districts()}
    names.update({code: code for code in sorted(extra - names.keys() - {NO_DISTRICT})})
    names[NO_DISTRICT] = str(_l("No district chosen"))
    return names


def timeseries(
    start: date | None = None,
    end: date | None = None,
    granularity: str = "day",
    group_by: str = "type",
    district_code: str | None = None,
    campaign_id: int | None = None,
) -> dict:
    """A table of periods x (action types or districts), with the totals of both."""
    start, end = check_range(start, end)
    if group_by == "district" and district_code is not None:
        raise ValidationFailed(
            fields={"district_code": [_l("Filter by district or group by district, not both.")]}
        )
    district, campaign = _district_filter(district_code), _campaign_filter(campaign_id)
    periods = spans(start, end, granularity)
    label_of = {p.start + timedelta(days=i): p.label for p in periods for i in range(p.days)}
    rows = _day_sums(start, end, campaign, district)
    if group_by == "type":
        column, fixed, names = (
            "action_type",
            ("district_code", district),
            {t: t for t in ACTION_TYPES},
        )
    else:
        column, fixed = "district_code", ("action_type", ALL)
        names = _district_groups({row[2] for row in rows})
    values = list(names)
    sums: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, kind, where, *figures in rows:
        value = kind if group_by == "type" else where
        for label in (label_of[day], TOTAL):
            for key in ((label, value), (label, ALL)):
                sums[key] = [a + b for a, b in zip(sums[key], figures, strict=True)]
    runs = [*periods, Span(TOTAL, start, end)]
    people = _participants(runs, campaign, fixed, column, [ALL, *values])
    keys = [(run.label, value) for run in runs for value in (ALL, *values)]
    cells = {key: _measures(people.get(key, 0), sums[key]) for key in keys}
    groups = [
        suppression.Group((run.label, ALL), tuple((run.label, v) for v in values)) for run in runs
    ] + [
        suppression.Group((TOTAL, v), tuple((p.label, v) for p in periods)) for v in (ALL, *values)
    ]
    hidden = suppression.suppress(
        {key: cell["participants"] for key, cell in cells.items()}, groups, min_residents()
    )

    def row(run: Span) -> dict:
        return {
            "period": run.label,
            "start": run.start,
            "end": run.end,
            "total": _shown(cells[(run.label, ALL)], (run.label, ALL) in hidden),
            "groups": [
                {
                    "key": value or None,
                    "name": names[value],
                    **_shown(cells[(run.label, value)], (run.label, value) in hidden),
                }
                for value in values
            ],
        }

    return {
        "granularity": granularity,
        "group_by": group_by,
        "items": [row(p) for p in periods],
        "totals": row(runs[-1]),
        "meta": meta(start, end, campaign, district_code=district_code),
    }
