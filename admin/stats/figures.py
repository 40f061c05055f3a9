"""Reading the rollups into cells that may be published (see `suppression` for the rules).

A cell is (period, district or ALL, action type or ALL) of one cube: a campaign (or all
actions) and a verification class (verified, or self-declared). Its figures sum the days
of the period, leaving out the month groups (one action type city-wide, or one district's
every type) that are withheld; its residents are the distinct residents with an action
it counts. Which cells are null is worked out once for a whole year (months, quarters,
the year) and once for a whole month (its days and weeks), whatever the query, so that
two queries never show two sides of one cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app, g, has_request_context
from sqlalchemy import func, select

from admin.stats import periods, suppression
from admin.stats.models import (
    ALL,
    ALL_ACTIONS,
    StatsDay,
    StatsParticipant,
    StatsParticipantCount,
    StatsParticipantPrevious,
)
from admin.stats.periods import Period
from admin.stats.rollups import day_period_key
from backend.extensions import db
from points.actions.models import ACTION_TYPES, VERIFIED

SUMS = ("actions", "co2e_g", "points", "distance_m")
Cell = tuple[Period, str, str]  # (period, district or ALL, type or ALL)


def min_residents() -> int:
    return current_app.config["STATS_MIN_RESIDENTS"]


def period_key(period: Period) -> str | None:
    """The counters' key of a day, a whole ISO week or a month; None for other spans."""
    if period.start == period.end:
        return day_period_key(period.start)
    whole = periods.week(period.start)
    if (whole.start, whole.end) == (period.start, period.end):
        year, number = whole.label.split("-W")
        return f"w{year}-{number}"
    if (period.start, period.end) == (periods.month(period.start).start, period.end) and (
        period.end == periods.month_end(period.start)
    ):
        return f"m{period.start:%Y-%m}"
    return None


def _levels(verified: bool) -> tuple[str, ...]:
    return VERIFIED if verified else ("self_declared",)


@dataclass
class Month:
    """One month of one cube: day sums, month groups and who is behind the withheld ones."""

    month: Period
    campaign_id: int
    verified: bool
    # (day, district, type) -> [actions, grams, points, metres]
    sums: dict[tuple[date, str, str], list[int]] = field(default_factory=dict)
    # (day, district, mode) -> [trips, metres], trips only (the green-travel share)
    trips: dict[tuple[date, str, str], list[int]] = field(default_factory=dict)
    # Residents per month group: ("type", action type) city-wide, ("district", code) of
    # every type; the groups behind 1 to k-1 residents are withheld.
    groups: dict[tuple[str, str], int] = field(default_factory=dict)
    withheld: set[tuple[str, str]] = field(default_factory=set)
    # resident -> the (day, district, type) they acted on, for residents of withheld groups
    sightings: dict[int, set[tuple[date, str, str]]] = field(default_factory=dict)
    sighted: set[int] = field(default_factory=set)  # residents whose sightings are loaded
    hidden: set | None = None  # day and week cells to show as null (campaign 0 only)

    @property
    def districts(self) -> list[str]:
        return sorted({district for (_, district, _), values in self.sums.items() if values[0]})

    def counts(self, district: str, kind: str) -> bool:
        return ("type", kind) not in self.withheld and ("district", district) not in self.withheld


class Cube:
    """The cells of one campaign (ALL_ACTIONS: every action) and one verification class.

    Its months are read once per request (a page asks for several reports)."""

    def __init__(self, campaign_id: int, verified: bool) -> None:
        self.campaign_id = campaign_id
        self.verified = verified
        self.k = min_residents()
        self._months: dict[date, Month] = {}
        self._years: dict[date, set] = {}  # null months, quarters and years, by year
        self._counted: dict[tuple, dict] = {}  # residents of a span, read once
        if has_request_context():
            shared = g.setdefault("stats_months", {})
            self._months, self._years, self._counted = shared.setdefault(
                (campaign_id, verified, self.k), (self._months, self._years, self._counted)
            )

    # Months

    def month(self, day: date) -> Month:
        first = day.replace(day=1)
        if first not in self._months:
            self._months[first] = self._load(periods.month(first))
        return self._months[first]

    def _load(self, month: Period) -> Month:
        result = Month(month, self.campaign_id, self.verified)
        row = StatsDay
        query = (
            select(
                row.local_day,
                row.district_code,
                row.action_type,
                row.variant,
                *(func.sum(getattr(row, name)) for name in SUMS),
            )
            .where(
                row.local_day.between(month.start, month.end),
                row.campaign_id == self.campaign_id,
                row.verification.in_(_levels(self.verified)),
            )
            .group_by(row.local_day, row.district_code, row.action_type, row.variant)
        )
        for day, district, kind, variant, *sums in db.session.execute(query):
            sums = [int(value) for value in sums]  # numeric sums on PostgreSQL
            cell = result.sums.setdefault((day, district, kind), [0, 0, 0, 0])
            for index, value in enumerate(sums):
                cell[index] += value
            if kind == "trip":
                trip = result.trips.setdefault((day, district, variant), [0, 0])
                trip[0] += sums[0]
                trip[1] += sums[3]
        key = period_key(month)
        counter = StatsParticipantCount
        for district, kind, count in db.session.execute(
            select(counter.district_code, counter.action_type, counter.participants).where(
                counter.campaign_id == self.campaign_id,
                counter.verified == self.verified,
                counter.period_key == key,
                (counter.district_code == ALL) != (counter.action_type == ALL),
                counter.participants > 0,
            )
        ):
            group = ("type", kind) if district == ALL else ("district", district)
            result.groups[group] = count
        result.withheld = suppression.withheld(result.groups, self.k)
        if self.campaign_id != ALL_ACTIONS:
            result.withheld |= self._unsafe_beside_all(result)
        if result.withheld:
            self._sightings(result)
        return result

    def _unsafe_beside_all(self, month: Month) -> set[tuple[str, str]]:
        """A campaign's group is also withheld when the same group over all actions less
        it (what the campaign did not count) would be a group of 1 to k-1 residents."""
        everyone = Cube(ALL_ACTIONS, self.verified).month(month.month.start)
        unsafe = set()
        for group, residents in month.groups.items():
            if group in everyone.withheld:
                unsafe.add(group)
                continue
            position = 2 if group[0] == "type" else 1

            def actions(of: Month, group=group, position=position) -> int:
                return sum(v[0] for key, v in of.sums.items() if key[position] == group[1])

            mine, all_actions = actions(month), actions(everyone)
            others = everyone.groups.get(group, 0) - residents
            if all_actions != mine and others < self.k:
                unsafe.add(group)
        return unsafe

    def _sightings(self, month: Month) -> None:
        seen = StatsParticipant
        residents = select(seen.resident_id).where(
            seen.campaign_id == self.campaign_id,
            seen.verified == self.verified,
            seen.period_key == period_key(month.month),
        )
        kinds = sorted(kind for what, kind in month.withheld if what == "type")
        codes = sorted(code for what, code in month.withheld if what == "district")
        ids = set(
            db.session.scalars(
                residents.where(seen.district_code == ALL, seen.action_type.in_(kinds))
            )
        )
        ids.update(
            db.session.scalars(
                residents.where(seen.district_code.in_(codes), seen.action_type == ALL)
            )
        )
        self._sight(month, ids)

    def _sight(self, month: Month, ids: set[int]) -> None:
        """Load the day cells the residents acted on in the month (once per resident)."""
        ids = ids - month.sighted
        if not ids:
            return
        month.sighted |= ids
        seen = StatsParticipant
        rows = db.session.execute(
            select(seen.resident_id, seen.period_key, seen.district_code, seen.action_type).where(
                seen.campaign_id == self.campaign_id,
                seen.verified == self.verified,
                seen.resident_id.in_(sorted(ids)),
                seen.period_key.between(
                    day_period_key(month.month.start), day_period_key(month.month.end)
                ),
                seen.district_code != ALL,
                seen.action_type != ALL,
            )
        )
        for resident_id, key, district, kind in rows:
            day = date.fromisoformat(key[1:])
            month.sightings.setdefault(resident_id, set()).add((day, district, kind))

    # Cells

    def sums(self, period: Period, district: str, kind: str) -> tuple[list[int], bool]:
        """The cell's figures without withheld groups, and whether raw has any action."""
        total, raw = [0, 0, 0, 0], False
        for month in self._span_months(period):
            for (day, where, what), values in month.sums.items():
                if not (period.start <= day <= period.end):
                    continue
                if district not in (ALL, where) or kind not in (ALL, what) or not values[0]:
                    continue
                raw = True
                if month.counts(where, what):
                    for index, value in enumerate(values):
                        total[index] += value
        return total, raw

    def trips(self, period: Period, districts: list[str], modes: set[str]) -> list[int]:
        """[trips, metres] of the modes in the districts, without withheld groups."""
        total = [0, 0]
        for month in self._span_months(period):
            for (day, where, mode), (count, metres) in month.trips.items():
                if (
                    period.start <= day <= period.end
                    and where in districts
                    and mode in modes
                    and month.counts(where, "trip")
                ):
                    total[0] += count
                    total[1] += metres
        return total

    def trips_seen(self, period: Period, districts: list[str]) -> bool:
        return any(
            period.start <= day <= period.end and where in districts and count
            for month in self._span_months(period)
            for (day, where, _mode), (count, _metres) in month.trips.items()
        )

    def _span_months(self, period: Period) -> list[Month]:
        return [self.month(m.start) for m in period.months]

    def residents(self, period: Period, cells: list[tuple[str, str]]) -> dict:
        """Distinct residents of each (district, type) cell over the period, counting only
        actions outside withheld groups."""
        counted = self._raw_residents(period, cells)
        months = self._span_months(period)
        sighted = {r for m in months for r in m.sightings}
        # A resident of a withheld group in one month may have counted actions in another
        # month of the span: every month's cells of them are needed before taking them out.
        for m in months:
            self._sight(m, sighted)
        for resident_id in sighted:
            seen = [
                (day, where, what, m.counts(where, what))
                for m in months
                for day, where, what in m.sightings.get(resident_id, ())
                if period.start <= day <= period.end
            ]
            for district, kind in cells:
                mine = [
                    counts
                    for _day, where, what, counts in seen
                    if district in (ALL, where) and kind in (ALL, what)
                ]
                if mine and not any(mine):
                    counted[(district, kind)] -= 1  # only withheld actions in this cell
        return counted

    def _raw_residents(self, period: Period, cells: list[tuple[str, str]]) -> dict:
        key = period_key(period)
        if key is not None:
            if key not in self._counted:
                counter = StatsParticipantCount
                self._counted[key] = {
                    (district, kind): count
                    for district, kind, count in db.session.execute(
                        select(
                            counter.district_code, counter.action_type, counter.participants
                        ).where(
                            counter.campaign_id == self.campaign_id,
                            counter.verified == self.verified,
                            counter.period_key == key,
                        )
                    )
                }
            found = self._counted[key]
            return {cell: found.get(cell, 0) for cell in cells}
        result = {}
        for district in sorted({district for district, _ in cells}):
            span = (period.start, period.end, district)
            if span not in self._counted:
                self._counted[span] = first_days(
                    period.start,
                    period.end,
                    self.campaign_id,
                    self.verified,
                    ("district_code", district),
                    "action_type",
                    [ALL, *ACTION_TYPES],
                )
            for cell_district, kind in cells:
                if cell_district == district:
                    result[(district, kind)] = self._counted[span].get(kind, 0)
        return result

    # Null cells: a year's months, quarters and the year; a month's days and weeks

    def hidden_in_year(self, day: date) -> set:
        year = periods.year(day)
        if year.start not in self._years:
            self._years[year.start] = self._protect_year(year)
        return self._years[year.start]

    def _protect_year(self, year: Period) -> set:
        months = periods.subperiods(year, "month")
        quarters = [periods.quarter(m.start) for m in months[::3]]
        present = sorted({d for m in months for d in self.month(m.start).districts})
        districts, kinds = [ALL, *present], [ALL, *ACTION_TYPES]
        residents: dict = {}
        for time in (*months, *quarters, year):
            found = self.residents(time, [(d, t) for d in districts for t in kinds])
            for (district, kind), count in found.items():
                residents[(time, district, kind)] = count
        families = []
        for district in districts:
            for kind in kinds:

                def cells(times, district=district, kind=kind) -> tuple:
                    return tuple((time, district, kind) for time in times)

                families.append(suppression.Group((year, district, kind), cells(quarters)))
                families.append(suppression.Group((year, district, kind), cells(months)))
                for quarter in quarters:
                    inside = [m for m in months if quarter.start <= m.start <= quarter.end]
                    families.append(suppression.Group((quarter, district, kind), cells(inside)))
        families += _breakdowns((*months, *quarters, year), present)
        return suppression.protect(residents, families, self.k)

    def hidden_in_month(self, day: date) -> set:
        month = self.month(day)
        if month.hidden is None:
            month.hidden = self._protect(month)
        return month.hidden

    def _protect(self, month: Month) -> set:
        whole = month.month
        days = periods.subperiods(whole, "day")
        weeks = periods.subperiods(whole, "week")
        times = [*days, *weeks, whole]
        districts = [ALL, *month.districts]
        kinds = [ALL, *ACTION_TYPES]
        residents: dict = {}
        for time in times:
            found = self.residents(time, [(d, t) for d in districts for t in kinds])
            for (district, kind), count in found.items():
                residents[(time, district, kind)] = count
        families = []
        for district in districts:
            for kind in kinds:

                def cells(times: list[Period], district=district, kind=kind) -> tuple:
                    return tuple((time, district, kind) for time in times)

                top = (whole, district, kind)
                families.append(suppression.Group(top, cells(days)))
                families.append(suppression.Group(top, cells(weeks)))
                for week in weeks:
                    inside = [d for d in days if week.start <= d.start <= week.end]
                    families.append(suppression.Group((week, district, kind), cells(inside)))
        families += _breakdowns(times, month.districts)
        # The month's own cells are decided with its year: null or shown, they stay so.
        year = self.hidden_in_year(whole.start)
        tops = [(whole, d, t) for d in districts for t in kinds]
        null = {cell for cell in tops if cell in year}
        fixed = frozenset(cell for cell in tops if cell not in null)
        return suppression.protect(residents, families, self.k, fixed=fixed, hidden=null)

    def shown(self, period: Period, district: str, kind: str) -> bool:
        """Whether a cell's figures may be published: a month, quarter or year as its
        year's suppression says; a range of months when each month is shown (it is their
        sum); a day or week when the suppression of each month it touches shows its part
        (a week across two months is the sum of two parts)."""
        if period.kind in ("month", "quarter", "year"):
            return (period, district, kind) not in self.hidden_in_year(period.start)
        if period.kind == "months":
            return all(self.shown(m, district, kind) for m in period.months)
        for m in period.months:
            month = self.month(m.start)
            part = Period(
                period.kind, period.label, max(period.start, m.start), min(period.end, m.end)
            )
            if (_as_cell(part, month.month), district, kind) in self.hidden_in_month(part.start):
                return False
        return True


def _breakdowns(times, districts: list[str]) -> list:
    """Types in each total and districts in the city, at each time."""
    families = []
    for time in times:
        for district in [ALL, *districts]:
            families.append(
                suppression.Group(
                    (time, district, ALL), tuple((time, district, t) for t in ACTION_TYPES)
                )
            )
        for kind in [ALL, *ACTION_TYPES]:
            families.append(
                suppression.Group((time, ALL, kind), tuple((time, d, kind) for d in districts))
            )
    return families


def _as_cell(part: Period, month: Period) -> Period:
    """The period as the month's suppression knows it: a day, a week clipped to the
    month, or the month."""
    if part.start == part.end:
        return periods.day_period(part.start)
    if (part.start, part.end) == (month.start, month.end):
        return month
    return periods.Period("week", periods.week(part.start).label, part.start, part.end)


def first_days(
    start: date,
    end: date,
    campaign_id: int,
    verified: bool,
    fixed: tuple[str, str],
    column: str,
    values: list,
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
            first.verified == verified,
            getattr(first, fixed_column) == fixed_value,
            getattr(first, column).in_(values),
            first.period_key.between(first_key, day_period_key(end)),
            first.previous_key < first_key,
        )
        .group_by(getattr(first, column))
    )
    return {value: int(count) for value, count in rows if count}
