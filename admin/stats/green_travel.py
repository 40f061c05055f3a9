"""The green-travel share: green trips over all trips recorded by residents of the
central-city districts, against the target, by district and by month.

Modes, districts and the target come from the methodology in force, so the share follows
a new methodology without rebuilding: the rollups keep every trip mode and district.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import distinct, func, select

from admin.stats import suppression
from admin.stats.models import ALL_ACTIONS, StatsDay, StatsParticipant
from admin.stats.rollups import day_period_key
from admin.stats.service import TOTAL, check_range, first_days, meta, min_residents, spans
from backend.districts.service import get_district
from backend.extensions import db
from points.methodology.service import current_methodology

GREEN_FIELDS = (
    "share",
    "green_trips",
    "total_trips",
    "distance_weighted_share",
    "green_distance_m",
    "total_distance_m",
)


def green_travel(start: date | None = None, end: date | None = None) -> dict:
    """Green trips over all trips of central-city residents' actions, against the target."""
    start, end = check_range(start, end)
    rules = current_methodology().green_travel
    central, green = list(rules["central_city_districts"]), set(rules["green_modes"])
    months = spans(start, end, "month")
    month_of = {p.start + timedelta(days=i): p.label for p in months for i in range(p.days)}
    row = StatsDay
    trips = db.session.execute(
        select(
            row.local_day,
            row.variant,
            row.district_code,
            func.sum(row.actions),
            func.sum(row.distance_m),
        )
        .where(
            row.local_day.between(start, end),
            row.campaign_id == ALL_ACTIONS,
            row.action_type == "trip",
            row.district_code.in_(central),
            row.variant.in_(rules["all_modes"]),
        )
        .group_by(row.local_day, row.variant, row.district_code)
    )
    keys = [TOTAL, *(("district", d) for d in central), *(("month", m.label) for m in months)]
    sums = {key: [0, 0, 0, 0] for key in keys}  # green trips, trips, green metres, metres
    for day, mode, district, count, metres in trips:
        count, metres = int(count), int(metres)  # numeric sums on PostgreSQL
        figures = [count, count, metres, metres] if mode in green else [0, count, 0, metres]
        for key in (TOTAL, ("district", district), ("month", month_of[day])):
            sums[key] = [a + b for a, b in zip(sums[key], figures, strict=True)]
    residents = _trip_makers(start, end, central, months)
    hidden = suppression.suppress(
        {key: residents.get(key, 0) for key in keys},
        [
            suppression.Group(TOTAL, tuple(("district", d) for d in central)),
            suppression.Group(TOTAL, tuple(("month", m.label) for m in months)),
        ],
        min_residents(),
    )
    english = str(get_locale()) == "en"
    about = meta(start, end, ALL_ACTIONS)
    about.update(
        measures=_l(
            "Of the trips that participating residents of the central-city districts recorded "
            "in the app (approved, every mode), the share made on foot, by bike, bus or rail; "
            "distance_weighted_share weighs each trip by its recorded distance."
        ),
        not_measured=_l(
            "Not a household travel survey of all residents: people who do not use the app and "
            "trips nobody records are missing, and the figures are not weighted to the "
            "population."
        ),
        green_modes=sorted(green),
        all_modes=list(rules["all_modes"]),
        central_city_districts=central,
        target_year=rules.get("target_year"),
        target_source=rules.get("source"),
    )
    districts = {code: get_district(code) for code in central}
    return {
        **_green(sums[TOTAL], TOTAL in hidden),
        "target": rules["target_share"],
        "by_district": [
            {
                "district_code": code,
                "name": (districts[code].name_en if english else districts[code].name)
                if districts[code]
                else code,
                **_green(sums[("district", code)], ("district", code) in hidden),
            }
            for code in central
        ],
        "trend": [
            {
                "month": m.label,
                "start": m.start,
                "end": m.end,
                **_green(sums[("month", m.label)], ("month", m.label) in hidden),
            }
            for m in months
        ],
        "meta": about,
    }


def _trip_makers(start: date, end: date, central: list[str], months: list) -> dict:
    """Distinct residents with a trip in the range: in all, by district and by month.

    Per district they are exact from the first-day counts. The total and the months span
    several districts, where a resident who moved would count twice in a sum; they only
    decide suppression, so the sum stands in while no cell can be suppressed (every cell
    empty or some district alone at the threshold), and the exact count is read otherwise.
    """
    k = min_residents()
    spans = [(TOTAL, start, end), *((("month", m.label), m.start, m.end) for m in months)]
    by_span = {
        key: first_days(first, last, ALL_ACTIONS, ("action_type", "trip"), "district_code", central)
        for key, first, last in spans
    }
    result = {("district", code): by_span[TOTAL].get(code, 0) for code in central}
    for key, counts in by_span.items():
        total, largest = sum(counts.values()), max(counts.values(), default=0)
        if total and largest < k:
            return _trip_makers_exact(start, end, central)
        result[key] = total
    if any(0 < count < k for count in result.values()):
        return _trip_makers_exact(start, end, central)
    return result


def _trip_makers_exact(start: date, end: date, central: list[str]) -> dict:
    """Distinct residents over the day rows: bounded by the span, read when it matters."""
    seen = StatsParticipant
    where = (
        seen.campaign_id == ALL_ACTIONS,
        seen.action_type == "trip",
        seen.district_code.in_(central),
        seen.period_key.between(day_period_key(start), day_period_key(end)),
    )
    people = func.count(distinct(seen.resident_id))
    month = func.substr(seen.period_key, 2, 7)  # "d2026-11-24" -> "2026-11"
    result = {TOTAL: db.session.scalar(select(people).where(*where))}
    for code, count in db.session.execute(
        select(seen.district_code, people).where(*where).group_by(seen.district_code)
    ):
        result[("district", code)] = count
    for label, count in db.session.execute(select(month, people).where(*where).group_by(month)):
        result[("month", label)] = count
    return result


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _green(figures: list[int], hidden: bool) -> dict:
    if hidden:
        return {name: None for name in GREEN_FIELDS} | {"suppressed": True}
    green_trips, trips, green_m, metres = figures
    values = (
        _ratio(green_trips, trips),
        green_trips,
        trips,
        _ratio(green_m, metres),
        green_m,
        metres,
    )
    return dict(zip(GREEN_FIELDS, values, strict=True)) | {"suppressed": False}
