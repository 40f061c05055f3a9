"""DRB figures from the rollups: summary and time series, verified and self-declared apart.

A query names a calendar-aligned period (`periods`). Every figure counts verified actions
(partner, trace, reviewed) only; self-declared actions are reported apart, never in
`co2e_g`. Cells come from `figures.Cube`, which leaves out withheld month groups and says
which day and week cells are null (`suppression` explains both).
"""

from __future__ import annotations

from datetime import date

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from admin.stats import periods
from admin.stats.figures import Cube, min_residents
from admin.stats.models import ALL, ALL_ACTIONS, NO_DISTRICT, StatsDay
from admin.stats.periods import Period
from backend.clock import utcnow
from backend.districts.service import get_district, list_districts
from backend.errors import ValidationFailed
from backend.extensions import db
from campaigns.models import Campaign
from points.actions.models import ACTION_TYPES, VERIFIED
from points.methodology.service import current_methodology

GRANULARITIES = ("day", "week", "month")
GROUP_BYS = ("type", "district")
MEASURES = ("participants", "actions", "co2e_g", "points_awarded")
CLAIMED = ("participants", "actions", "co2e_g_claimed", "points_awarded")
TOTAL = "total"


# Arguments


def resolve_period(period: Period | str | None = None, start=None, end=None) -> Period:
    if isinstance(period, Period):
        return period
    return periods.resolve(period, start, end)


def _district_filter(district_code: str | None) -> str:
    if district_code is None:
        return ALL
    if get_district(district_code) is None:
        raise ValidationFailed(fields={"district_code": [_l("Unknown district.")]})
    return district_code


def _campaign_filter(campaign_id: int | None, period: Period, granularity: str = "month") -> int:
    if campaign_id is None:
        return ALL_ACTIONS
    if db.session.get(Campaign, campaign_id) is None:
        raise ValidationFailed(fields={"campaign_id": [_l("Unknown campaign.")]})
    if not period.whole_months or granularity != "month":
        message = _l(
            "A campaign's figures are given for whole months: a month, quarter, year or "
            "range of months, with granularity=month."
        )
        raise ValidationFailed(
            message, code="campaign_needs_months", fields={"campaign_id": [message]}
        )
    return campaign_id


# Cells


def cell(cube: Cube, period: Period, district: str, kind: str, residents: dict) -> dict:
    """One cell's figures, or nulls with "suppressed": true."""
    sums, raw = cube.sums(period, district, kind)
    people = residents.get((district, kind), 0)
    small = 0 < people < cube.k
    if small or (raw and people == 0) or not cube.shown(period, district, kind):
        return {name: None for name in MEASURES} | {"suppressed": True}
    values = (people, sums[0], sums[1], sums[2])
    return dict(zip(MEASURES, values, strict=True)) | {"suppressed": False}


def claimed(figures: dict) -> dict:
    """A self-declared cell: its grams are claimed, not verified."""
    result = dict(figures)
    result["co2e_g_claimed"] = result.pop("co2e_g")
    return result


def _factor_versions(period: Period, campaign_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(StatsDay.factor_version)
            .where(
                StatsDay.local_day.between(period.start, period.end),
                StatsDay.campaign_id == campaign_id,
            )
            .distinct()
            .order_by(StatsDay.factor_version)
        )
    )


def meta(period: Period, campaign_id: int, **filters) -> dict:
    k = min_residents()
    return {
        "period": {
            "label": period.label,
            "kind": period.kind,
            "start": period.start,
            "end": period.end,
        },
        **filters,
        "campaign_id": campaign_id or None,
        "methodology_version": current_methodology().version,
        "factor_versions": _factor_versions(period, campaign_id),
        "suppression": {
            "min_residents": k,
            "rule": _l(
                "Periods are calendar-aligned (day, ISO week, month, quarter, year, or whole "
                "months). A month's group of one district, one action type and one "
                "verification class behind fewer than %(count)s distinct residents is left "
                "out of every figure; totals are the sums of what is counted. A day or week "
                'cell behind fewer than %(count)s residents is null with "suppressed": true, '
                "with further cells of its month, so that no sum or difference of published "
                "figures gives the figures of fewer than %(count)s residents.",
                count=k,
            ),
        },
        "definitions": {
            "participants": _l("Distinct residents with at least one counted action."),
            "actions": _l("Approved actions; pending and rejected actions are not counted."),
            "co2e_g": _l(
                "Grams CO2e avoided by verified actions (a partner's signed event, a trip "
                "with a checked GPS trace, or evidence a reviewer approved), each by the "
                "factor version it used."
            ),
            "self_declared": _l(
                "Actions on the resident's word alone: reported apart, their grams as "
                "claimed; they are never in co2e_g."
            ),
            "points_awarded": _l(
                "Base points paid for the actions, after daily caps. Campaign bonuses and "
                "join, check-in and badge points are not included."
            ),
            "district": _l("The resident's district when the action happened; null: none chosen."),
            "days": _l("Asia/Shanghai calendar days; weeks are ISO weeks, Monday to Sunday."),
        },
        "freshness": _l(
            "Rollups are updated by the worker from the approval outbox: the figures include "
            "every action approved and applied before this request."
        ),
        "generated_at": utcnow(),
    }


# Answers


def summary(
    period: Period | str | None = None,
    start: str | None = None,
    end: str | None = None,
    district_code: str | None = None,
    campaign_id: int | None = None,
) -> dict:
    """Verified participants, actions, CO2e and points over a period, in total and by
    action type; self-declared activity apart."""
    period = resolve_period(period, start, end)
    district = _district_filter(district_code)
    campaign = _campaign_filter(campaign_id, period)
    verified = Cube(campaign, True)
    cells = [(district, kind) for kind in (ALL, *ACTION_TYPES)]
    people = verified.residents(period, cells)
    answer = {
        **cell(verified, period, district, ALL, people),
        "by_type": {kind: cell(verified, period, district, kind, people) for kind in ACTION_TYPES},
        "self_declared": None,
        "meta": meta(period, campaign, district_code=district_code),
    }
    if campaign == ALL_ACTIONS:
        declared = Cube(campaign, False)
        answer["self_declared"] = claimed(
            cell(declared, period, district, ALL, declared.residents(period, [(district, ALL)]))
        )
    return answer


def _district_groups(extra: set[str]) -> dict[str, str]:
    """Group value -> name: every district, any unknown code found, and no district."""
    english = str(get_locale()) == "en"
    names = {d.code: d.name_en if english else d.name for d in list_districts()}
    names.update({code: code for code in sorted(extra - names.keys() - {NO_DISTRICT})})
    names[NO_DISTRICT] = str(_l("No district chosen"))
    return names


def timeseries(
    period: Period | str | None = None,
    start: str | None = None,
    end: str | None = None,
    granularity: str = "day",
    group_by: str = "type",
    district_code: str | None = None,
    campaign_id: int | None = None,
) -> dict:
    """Rows of days, ISO weeks or months inside the period x (action types or districts),
    with the period's own row as the totals; each row has its self-declared part."""
    period = resolve_period(period, start, end)
    if group_by == "district" and district_code is not None:
        raise ValidationFailed(
            fields={"district_code": [_l("Filter by district or group by district, not both.")]}
        )
    if granularity == "month" and not period.whole_months:
        message = _l("Months are offered inside a month, quarter, year or range of months.")
        raise ValidationFailed(
            message, code="period_not_aligned", fields={"granularity": [message]}
        )
    district = _district_filter(district_code)
    campaign = _campaign_filter(campaign_id, period, granularity)
    verified = Cube(campaign, True)
    declared = Cube(campaign, False) if campaign == ALL_ACTIONS else None
    if group_by == "type":
        names = {kind: kind for kind in ACTION_TYPES}
        cells = [(district, kind) for kind in (ALL, *ACTION_TYPES)]
    else:
        seen = {d for m in period.months for d in verified.month(m.start).districts}
        names = _district_groups(seen)
        cells = [(ALL, ALL), *((code, ALL) for code in names)]

    def row(span: Period, label: str) -> dict:
        people = verified.residents(span, cells)
        total_key = cells[0]
        groups = []
        for (where, what), value in zip(cells[1:], names, strict=True):
            groups.append(
                {
                    "key": value or None,
                    "name": names[value],
                    **cell(verified, span, where, what, people),
                }
            )
        result = {
            "period": label,
            "start": span.start,
            "end": span.end,
            "total": cell(verified, span, *total_key, people),
            "groups": groups,
            "self_declared": None,
        }
        if declared is not None:
            mine = declared.residents(span, [total_key])
            result["self_declared"] = claimed(cell(declared, span, *total_key, mine))
        return result

    return {
        "granularity": granularity,
        "group_by": group_by,
        "items": [row(span, span.label) for span in periods.subperiods(period, granularity)],
        "totals": row(period, TOTAL),
        "meta": meta(period, campaign, district_code=district_code),
    }


def campaign_days(campaign_id: int) -> list[tuple[date, int]]:
    """A campaign's verified grams CO2e by Asia/Shanghai day, from the rollups (the days
    with counted actions, in order): the console draws its progress toward the goal."""
    rows = db.session.execute(
        select(StatsDay.local_day, func.sum(StatsDay.co2e_g))
        .where(StatsDay.campaign_id == campaign_id, StatsDay.verification.in_(VERIFIED))
        .group_by(StatsDay.local_day)
        .order_by(StatsDay.local_day)
    )
    return [(day, int(grams or 0)) for day, grams in rows]
