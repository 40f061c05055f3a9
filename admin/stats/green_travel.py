"""The green-travel share: green trips over all trips recorded by residents of the
central-city districts, against the target, by district and by month; verified trips
give the share, self-declared trips a separate part.

Modes, districts and the target come from the methodology in force, so the share follows
a new methodology without rebuilding: the rollups keep every trip mode and district. The
share is offered for whole months (a month, quarter, year or range of months); a
district's cell is shown when its trip cell is (see `suppression`), and the central
city's total is the sum of the districts shown.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from admin.stats import periods
from admin.stats.figures import Cube
from admin.stats.models import ALL_ACTIONS
from admin.stats.periods import Period
from admin.stats.service import meta, resolve_period
from backend.districts.service import get_district
from backend.errors import ValidationFailed
from points.methodology.service import current_methodology

GREEN_FIELDS = (
    "share",
    "green_trips",
    "total_trips",
    "distance_weighted_share",
    "green_distance_m",
    "total_distance_m",
)


def green_travel(
    period: Period | str | None = None, start: str | None = None, end: str | None = None
) -> dict:
    """Green trips over all trips of central-city residents' verified actions, against
    the target; self-declared trips apart."""
    period = resolve_period(period, start, end)
    if not period.whole_months:
        message = _l(
            "The green-travel share is given for whole months: a month, quarter, year or "
            "range of months."
        )
        raise ValidationFailed(message, code="period_not_aligned", fields={"period": [message]})
    rules = current_methodology().green_travel
    central, green = list(rules["central_city_districts"]), set(rules["green_modes"])
    every = set(rules["all_modes"])
    verified, declared = Cube(ALL_ACTIONS, True), Cube(ALL_ACTIONS, False)
    months = periods.subperiods(period, "month")

    def share(cube: Cube, span: Period, districts: list[str]) -> dict:
        """The share over the districts whose trips may be shown in the span (a total is
        the sum of its shown districts, so it says nothing they do not)."""
        shown = [code for code in districts if cube.shown(span, code, "trip")]
        green_trips, green_m = cube.trips(span, shown, green)
        trips, metres = cube.trips(span, shown, every)
        if not trips and cube.trips_seen(span, districts):
            return {name: None for name in GREEN_FIELDS} | {"suppressed": True}
        values = (
            _ratio(green_trips, trips),
            green_trips,
            trips,
            _ratio(green_m, metres),
            green_m,
            metres,
        )
        return dict(zip(GREEN_FIELDS, values, strict=True)) | {"suppressed": False}

    english = str(get_locale()) == "en"
    about = meta(period, ALL_ACTIONS)
    about.update(
        measures=_l(
            "Of the verified trips that participating residents of the central-city "
            "districts recorded in the app (approved, every mode), the share made on foot, "
            "by bike, bus or rail; distance_weighted_share weighs each trip by its distance. "
            "Self-declared trips are counted apart."
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
        **share(verified, period, central),
        "target": rules["target_share"],
        "self_declared": share(declared, period, central),
        "by_district": [
            {
                "district_code": code,
                "name": (districts[code].name_en if english else districts[code].name)
                if districts[code]
                else code,
                **share(verified, period, [code]),
            }
            for code in central
        ],
        "trend": [
            {"month": m.label, "start": m.start, "end": m.end, **share(verified, m, central)}
            for m in months
        ],
        "meta": about,
    }


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
