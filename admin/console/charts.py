"""The console's charts: the series are prepared here, on the server, and drawn in the
browser by ECharts (static/console-charts.js reads them from a `<script
type="application/json">` block; a table beside each chart is the text for readers
without JavaScript). The dashboard's green-travel gauge is a small SVG drawn here.

Suppressed cells are None: a line leaves a gap, and the tooltip says why (the privacy rule).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

from flask_babel import gettext as _

from admin.console.labels import organization_kind_label
from admin.stats.figures import min_residents

TYPE_COLOURS = {
    "trip": "#1e7a46",
    "garbage_sorting": "#2f6fb3",
    "clean_plate": "#d98324",
    "ev_charging": "#7b4fa8",
}


def hidden_reason() -> str:
    """Why a figure is not shown: the privacy threshold, in the reader's language."""
    return _(
        "Fewer than %(count)s residents: not shown under the privacy rule", count=min_residents()
    )


def _kg(grams: int | None) -> float | None:
    return None if grams is None else round(grams / 1000, 1)


def _labels(**extra) -> dict:
    return {"hidden": hidden_reason(), **extra}


def trend(timeseries: dict, names: Mapping[str, str], until: date | None = None) -> dict:
    """CO2e avoided (kg) per row of a time series (days, weeks or months), one line per
    group (action type or district); rows starting after `until` (days to come) left out."""
    items = [i for i in timeseries["items"] if until is None or i["start"] <= until]
    groups = (items[0] if items else timeseries["totals"])["groups"]
    series = []
    for index, group in enumerate(groups):
        key = group["key"]
        series.append(
            {
                "name": str(names.get(key, group["name"])),
                "colour": TYPE_COLOURS.get(key),
                "data": [_kg(item["groups"][index]["co2e_g"]) for item in items],
            }
        )
    return {
        "kind": "lines",
        "x": [item["period"] for item in items],
        "series": series,
        "labels": _labels(unit=_("kg CO2e")),
    }


def by_group(timeseries: dict, names: Mapping[str, str]) -> dict:
    """CO2e avoided (kg) over the whole period, one bar per group (e.g. per district)."""
    groups = timeseries["totals"]["groups"]
    return {
        "kind": "bars",
        "x": [str(names.get(g["key"], g["name"])) for g in groups],
        "series": [{"name": _("CO2e avoided"), "data": [_kg(g["co2e_g"]) for g in groups]}],
        "labels": _labels(unit=_("kg CO2e")),
    }


def green_share(green: dict) -> dict:
    """The green-travel share by month (percent), against the target line."""
    return {
        "kind": "share",
        "x": [month["month"] for month in green["trend"]],
        "series": [
            {
                "name": _("Green-travel share"),
                "data": [
                    None if m["share"] is None else round(m["share"] * 100, 1)
                    for m in green["trend"]
                ],
            }
        ],
        "target": round(green["target"] * 100, 1),
        "labels": _labels(unit="%", target=_("Target line")),
    }


def campaign_progress(days: list[tuple[str, int]], goal_g: int | None) -> dict:
    """A campaign's verified CO2e (kg), summed day by day, toward its goal."""
    running, data = 0, []
    for _day, grams in days:
        running += grams
        data.append(_kg(running))
    return {
        "kind": "progress",
        "x": [day for day, _grams in days],
        "series": [{"name": _("CO2e avoided, cumulative"), "data": data}],
        "target": _kg(goal_g) if goal_g else None,
        "labels": _labels(unit=_("kg CO2e"), target=_("Goal")),
    }


def gauge(share: float | None, target: float, radius: int = 90) -> dict:
    """A half-circle gauge: the arc end for `share` and the tick for `target` (0..1)."""

    def point(fraction: float) -> tuple[float, float]:
        angle = math.pi * (1 - max(0.0, min(1.0, fraction)))
        return 110 + radius * math.cos(angle), 110 - radius * math.sin(angle)

    end = point(share if share is not None else 0)
    tick = point(target)
    return {
        "share": share,
        "target": target,
        "arc_end": f"{end[0]:.1f},{end[1]:.1f}",
        "tick": f"{tick[0]:.1f},{tick[1]:.1f}",
        "radius": radius,
        "met": share is not None and share >= target,
    }


def organizations(report: dict, top: int = 10) -> dict:
    """The creation report's charts: verified CO2e and participation per kind, and the
    organisations with the most CO2e (hidden ones are gaps, as elsewhere)."""
    kinds = report["kinds"]
    shown = [row for row in report["organizations"] if not row["suppressed"]][:top]
    return {
        "kinds": {
            "kind": "bars",
            "x": [organization_kind_label(row["kind"]) for row in kinds],
            "series": [{"name": _("CO2e avoided"), "data": [_kg(r["co2e_g"]) for r in kinds]}],
            "labels": _labels(unit=_("kg CO2e")),
        },
        "participation": {
            "kind": "bars",
            "x": [organization_kind_label(row["kind"]) for row in kinds],
            "series": [
                {
                    "name": _("Participation rate"),
                    "data": [
                        None
                        if r["participation_rate"] is None
                        else round(r["participation_rate"] * 100, 1)
                        for r in kinds
                    ],
                }
            ],
            "labels": _labels(unit="%"),
        },
        "top": {
            "kind": "bars",
            "x": [row["name"] for row in shown],
            "series": [{"name": _("CO2e avoided"), "data": [_kg(r["co2e_g"]) for r in shown]}],
            "labels": _labels(unit=_("kg CO2e")),
        },
    }


def campaign_impact(series: dict | None, figure: str = "green_trips") -> dict | None:
    """A campaign's impact chart: participants and the weighted comparable
    non-participants per resident per day (`figure`: green_trips or co2e_g), from the
    baseline's first day to the last day computed, the campaign's days shaded. None when
    the computation gave no series (a refusal)."""
    if not series or not series.get("days"):
        return None
    lines = [
        (_("Campaign participants"), series.get("participants") or {}),
        (_("Comparable non-participants"), series.get("comparison") or {}),
    ]
    shown = [{"name": name, "data": daily[figure]} for name, daily in lines if daily.get(figure)]
    if not shown:
        return None
    trips = figure == "green_trips"
    return {
        "kind": "lines",
        "x": series["days"],
        "series": shown,
        "period": [series["first_day"], series["days"][-1]],
        "digits": 3 if trips else 1,
        "labels": _labels(
            unit=_("trips a resident a day") if trips else _("g CO2e a resident a day"),
            period=_("During the campaign"),
        ),
    }
