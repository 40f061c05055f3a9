"""A campaign's latest impact as readers see it: the API, the console page and the DRB
export all show this, in the reader's language, with one sentence per figure.

Figures are published rounded (green trips per day to 0.001, the share to 0.01
percentage point, CO2e to 0.1 g a day): finer digits say nothing the interval allows.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from admin.impact import service
from admin.impact.estimate import METRICS
from admin.impact.models import CampaignImpact
from backend.extensions import db
from campaigns.models import Campaign

METHODS = ("baseline", "comparison")
UNITS = {
    "green_trips_per_day": "trips_per_resident_day",
    "green_share": "share",
    "co2e_g_per_day": "grams_per_resident_day",
}
DIGITS = {"green_trips_per_day": 3, "green_share": 4, "co2e_g_per_day": 1}

REASONS = {
    "pending": _l(
        "Not computed yet: the impact is computed every day from the day after the campaign starts."
    ),
    "too_few_residents": _l(
        "Fewer than %(k)s participants: no estimate is made for so few residents."
    ),
    "no_baseline": _l(
        "Fewer than %(k)s participants have an account for the whole %(days)s days before "
        "they took part: there is no usable baseline."
    ),
    "too_few_comparable": _l(
        "Fewer than %(k)s participants have comparable non-participants (same district, "
        "similar green travel before): no comparison is made."
    ),
    "too_few_trips": _l(
        "Fewer than %(k)s participants recorded verified trips both before and during: "
        "no green share is estimated."
    ),
}

SENTENCES = {
    ("baseline", "green_trips_per_day"): _l(
        "During the campaign, participants' green trips per day %(direction)s by "
        "%(value)s (95%% interval %(interval)s), compared with their own %(days)s days "
        "before."
    ),
    ("baseline", "green_share"): _l(
        "During the campaign, the green share of participants' trips %(direction)s by "
        "%(value)s percentage points (95%% interval %(interval)s), compared with their own "
        "%(days)s days before."
    ),
    ("baseline", "co2e_g_per_day"): _l(
        "During the campaign, participants' verified CO2e reduction per day %(direction)s by "
        "%(value)s g (95%% interval %(interval)s), compared with their own %(days)s days "
        "before."
    ),
    ("comparison", "green_trips_per_day"): _l(
        "Net of the change among comparable non-participants over the same days, "
        "participants' green trips per day %(direction)s by %(value)s (95%% interval "
        "%(interval)s)."
    ),
    ("comparison", "green_share"): _l(
        "Net of the change among comparable non-participants over the same days, the "
        "green share of participants' trips %(direction)s by %(value)s percentage points "
        "(95%% interval %(interval)s)."
    ),
    ("comparison", "co2e_g_per_day"): _l(
        "Net of the change among comparable non-participants over the same days, "
        "participants' verified CO2e reduction per day %(direction)s by %(value)s g (95%% "
        "interval %(interval)s)."
    ),
}
UNSURE = _l("The interval includes zero: no change can be told apart from chance.")
UP, DOWN = _l("rose"), _l("fell")

METHOD_TEXT = {
    "baseline": _l(
        "Own baseline: each participant's days during the campaign against their own "
        "%(days)s days before they took part."
    ),
    "comparison": _l(
        "Each participant is compared with non-participants of the same district whose "
        "green trips per day fell in the same band in the %(days)s days before the "
        "baseline, over the same days; non-participants are weighted so that each group "
        "weighs as many as its participants. The estimate is the participants' change "
        "less the weighted non-participants' change (difference in differences), with a "
        "95%% bootstrap interval over residents."
    ),
}


def _round(metric: str, value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS[metric])


def _shown(metric: str, value: float) -> str:
    """A figure as a sentence shows it: trips to 0.01, the share in percentage points to
    0.1, grams to 1."""
    if metric == "green_share":
        return f"{value * 100:.1f}"
    if metric == "co2e_g_per_day":
        return f"{value:.0f}"
    return f"{value:.2f}"


def sentence(method: str, metric: str, figure: dict, days: int) -> str:
    """One plain sentence: the direction and size of the change and its interval; when
    the interval holds zero, a second sentence says so."""
    change, low, high = figure["change"], figure["low"], figure["high"]
    same_side = low > 0 or high < 0
    if same_side:
        # Both ends on the change's side: shown as sizes ("0.2–0.6")
        ends = sorted((abs(low), abs(high)))
        interval = f"{_shown(metric, ends[0])}–{_shown(metric, ends[1])}"
    else:
        interval = f"{_shown(metric, low)} ~ {_shown(metric, high)}"
    text = str(SENTENCES[(method, metric)]) % {
        "direction": UP if change >= 0 else DOWN,
        "value": _shown(metric, abs(change)),
        "interval": interval,
        "days": days,
    }
    return text if same_side else f"{text} {UNSURE}"


def reason_text(reason: str | None, k: int, days: int) -> str | None:
    return None if reason is None else str(REASONS[reason]) % {"k": k, "days": days}


def _estimates(row: CampaignImpact) -> list[dict]:
    inputs, figures = row.inputs, row.figures
    k, days = inputs["min_residents"], inputs["baseline_days"]
    out = []
    for method in METHODS:
        found = figures["methods"][method]
        for metric in METRICS:
            entry = {
                "method": method,
                "metric": metric,
                "unit": UNITS[metric],
                "residents": found.get("residents", 0),
                "resident_days_before": found.get("resident_days", {}).get("before"),
                "resident_days_during": found.get("resident_days", {}).get("during"),
            }
            figure = found.get("metrics", {}).get(metric)
            if found["status"] != "estimated" or figure is None:
                reason = found.get("reason") or "too_few_residents"
            elif figure["status"] != "estimated":
                reason = figure["reason"]
            else:
                reason = None
            if reason is not None:
                entry.update(status="refused", reason=reason, message=reason_text(reason, k, days))
                out.append(entry)
                continue
            entry.update(
                status="estimated",
                reason=None,
                message=None,
                change=_round(metric, figure["change"]),
                low=_round(metric, figure["low"]),
                high=_round(metric, figure["high"]),
                participants_before=_round(metric, figure["participants"]["before"]),
                participants_during=_round(metric, figure["participants"]["during"]),
                comparison_before=_round(metric, figure.get("comparison", {}).get("before")),
                comparison_during=_round(metric, figure.get("comparison", {}).get("during")),
                sentence=sentence(method, metric, figure, days),
            )
            out.append(entry)
    return out


def _campaign(campaign: Campaign) -> dict:
    return {
        "id": campaign.id,
        "title": campaign.title,
        "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at,
        "status": campaign.status,
    }


def impact_report(campaign: Campaign) -> dict:
    """The latest computation of the campaign's impact, or `pending` before the first."""
    row = service.latest(campaign.id)
    if row is None:
        return {
            "campaign": _campaign(campaign),
            "status": "pending",
            "reason": "pending",
            "message": str(REASONS["pending"]),
            "estimates": [],
        }
    inputs, figures = row.inputs, row.figures
    k, days = inputs["min_residents"], inputs["baseline_days"]
    comparison = figures["methods"]["comparison"]
    return {
        "campaign": _campaign(campaign),
        "status": row.status,
        "reason": row.reason,
        "message": reason_text(row.reason, k, days),
        "computed_at": row.computed_at,
        "through": row.through,
        "final": row.final,
        "baseline_days": days,
        "participants": figures["counts"],
        "methods": {name: str(text) % {"days": days} for name, text in METHOD_TEXT.items()},
        "estimates": _estimates(row),
        "comparison_group": {
            "residents": comparison.get("comparison_residents"),
            "unmatched_participants": comparison.get("unmatched"),
            "groups": comparison.get("groups"),
        },
        "series": figures.get("series") or None,
        "inputs": {
            "enrolled_before": row.enrolled_before,
            "first_day": inputs["first_day"],
            "last_day": inputs["last_day"],
            "match_bands": inputs["match_bands"],
            "min_residents": k,
            "resamples": inputs["resamples"],
            "seed": inputs["seed"],
            "level": inputs["level"],
            "methodology_versions": inputs["methodology_versions"],
            "residents_read": inputs["residents_read"],
            "activity_rows_read": inputs["activity_rows_read"],
        },
    }


def headline(report: dict) -> str:
    """The one sentence of an `impact_report` an export line or a list shows: the
    comparison's green trips if estimated, else the own baseline's, else why there is
    none."""
    by_key = {(e["method"], e["metric"]): e for e in report["estimates"]}
    for method in ("comparison", "baseline"):
        entry = by_key.get((method, "green_trips_per_day"))
        if entry and entry["status"] == "estimated":
            return entry["sentence"]
    first = report["estimates"][0] if report["estimates"] else report
    return first.get("message") or _("No estimate.")


def campaigns_of(start: date, end: date, campaign_id: int | None = None) -> list[dict]:
    """The campaigns that ran in the days `start`..`end` (or the one named) and have an
    impact computed: each with its last day of data and its headline."""
    query = select(Campaign).where(
        Campaign.status != "draft",
        Campaign.starts_at < service.midnight(end + timedelta(days=1)),
        Campaign.ends_at > service.midnight(start),
        Campaign.id.in_(select(CampaignImpact.campaign_id)),
    )
    if campaign_id is not None:
        query = query.where(Campaign.id == campaign_id)
    found = []
    for campaign in db.session.scalars(query.order_by(Campaign.starts_at, Campaign.id)):
        report = impact_report(campaign)  # one read of the latest computation
        found.append(
            {"campaign": campaign, "through": report["through"], "headline": headline(report)}
        )
    return found


def export_lines(start: date, end: date, campaign_id: int | None = None) -> list[str]:
    """For a DRB export of the days `start`..`end`: one line per campaign of `campaigns_of`."""
    return [
        _(
            "%(title)s (data through %(through)s): %(headline)s",
            title=found["campaign"].title,
            through=found["through"].isoformat(),
            headline=found["headline"],
        )
        for found in campaigns_of(start, end, campaign_id)
    ]
