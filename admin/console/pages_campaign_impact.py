"""A campaign's impact page (效果评估): the latest computation of what the campaign
changed (admin.impact.report, the same figures the DRB's
`/api/v1/stats/campaigns/<id>/impact` answers), for staff who may read statistics.

Reached from the campaign's page; no menu entry of its own.
"""

from __future__ import annotations

from flask import abort, render_template
from flask_babel import lazy_gettext as _l

from admin.console import charts
from admin.console.auth import console_page
from admin.console.views import console
from admin.impact.report import impact_report
from backend.extensions import db
from backend.staff.permissions import READ_STATS
from campaigns.models import Campaign

STATUS_NAMES = {
    "estimated": _l("Estimated"),
    "refused": _l("No estimate"),
    "pending": _l("Not computed yet"),
}
METHOD_NAMES = {
    "baseline": _l("Own baseline"),
    "comparison": _l("Against comparable non-participants (difference in differences)"),
}
METRIC_NAMES = {
    "green_trips_per_day": _l("Green trips per day"),
    "green_share": _l("Green share of trips"),
    "co2e_g_per_day": _l("Verified CO2e reduction per day"),
}
UNIT_NAMES = {
    "green_trips_per_day": _l("trips a resident a day"),
    "green_share": _l("percent of trips; changes in percentage points"),
    "co2e_g_per_day": _l("g CO2e a resident a day"),
}
# Decimals shown: as the figures are published (admin.impact.report.DIGITS), the share
# in percentage points.
DIGITS = {"green_trips_per_day": 3, "green_share": 2, "co2e_g_per_day": 1}
SCALE = {"green_trips_per_day": 1, "green_share": 100, "co2e_g_per_day": 1}


def _number(metric: str, value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    shown = value * SCALE[metric]
    return f"{shown:{'+' if signed else ''},.{DIGITS[metric]}f}"


def _level(metric: str, value: float | None) -> str:
    text = _number(metric, value)
    return f"{text}%" if metric == "green_share" and value is not None else text


def _row(entry: dict) -> dict:
    metric = entry["metric"]
    row = {
        "id": f"impact-{entry['method']}-{metric}".replace("_", "-"),
        "method": str(METHOD_NAMES[entry["method"]]),
        "metric": str(METRIC_NAMES[metric]),
        "unit": str(UNIT_NAMES[metric]),
        "status": entry["status"],
        "message": entry.get("message"),
        "residents": entry.get("residents"),
        "days_before": entry.get("resident_days_before"),
        "days_during": entry.get("resident_days_during"),
    }
    if entry["status"] == "estimated":
        row.update(
            participants_before=_level(metric, entry["participants_before"]),
            participants_during=_level(metric, entry["participants_during"]),
            comparison_before=_level(metric, entry["comparison_before"]),
            comparison_during=_level(metric, entry["comparison_during"]),
            change=_number(metric, entry["change"], signed=True),
            interval=f"{_number(metric, entry['low'])} – {_number(metric, entry['high'])}",
            sentence=entry["sentence"],
        )
    return row


@console.route("/campaigns/<int:campaign_id>/impact")
@console_page(READ_STATS)
def campaign_impact(campaign_id: int):
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status == "draft":
        abort(404)  # as the API: a draft has no impact to speak of
    report = impact_report(campaign)
    series = report.get("series")
    context = {
        "campaign": campaign,
        "report": report,
        "status_name": str(STATUS_NAMES[report["status"]]),
        "rows": [_row(entry) for entry in report["estimates"]],
        "trips_chart": charts.campaign_impact(series, "green_trips"),
        "co2e_chart": charts.campaign_impact(series, "co2e_g"),
        "method_names": {name: str(text) for name, text in METHOD_NAMES.items()},
    }
    return render_template("console/campaigns/impact.html", **context)
