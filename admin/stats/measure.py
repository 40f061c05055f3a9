"""What suppression costs: the share of verified CO2e the typical queries do not show.

For each month and each ISO week that holds verified actions, and each breakdown (by
action type, by district), the grams of every cell as raw has them are compared with the
grams the published cells show: withheld month groups and null cells both count as hidden.
"""

from __future__ import annotations

from sqlalchemy import func, select

from admin.stats import periods, service
from admin.stats.models import ALL_ACTIONS, StatsDay
from backend.extensions import db
from points.actions.models import VERIFIED


def _raw(period, column: str) -> dict:
    """Verified grams per action type or district over the period, straight from the rollups."""
    key = getattr(StatsDay, column)
    rows = db.session.execute(
        select(key, func.sum(StatsDay.co2e_g))
        .where(
            StatsDay.local_day.between(period.start, period.end),
            StatsDay.campaign_id == ALL_ACTIONS,
            StatsDay.verification.in_(VERIFIED),
        )
        .group_by(key)
    )
    return {value or None: int(grams) for value, grams in rows}


def hidden_share(first: str | None = None, last: str | None = None) -> list[dict]:
    days = db.session.execute(
        select(func.min(StatsDay.local_day), func.max(StatsDay.local_day)).where(
            StatsDay.verification.in_(VERIFIED)
        )
    ).one()
    if days[0] is None:
        return []
    start = periods.parse(first).start if first else days[0]
    end = periods.parse(last).end if last else days[1]
    months = periods.subperiods(periods.Period("months", "", start, end), "month")
    weeks, seen = [], set()
    for month in months:
        for part in periods.subperiods(month, "week"):
            whole = periods.week(part.start)
            if whole.label not in seen:
                seen.add(whole.label)
                weeks.append(whole)
    results = []
    for label, spans in (("each month", months), ("each ISO week", weeks)):
        for group_by, column in (("type", "action_type"), ("district", "district_code")):
            cells = null = raw_g = shown_g = 0
            for span in spans:
                raw = _raw(span, column)
                if not raw:
                    continue
                granularity = "day" if span.kind == "week" else "month"
                table = service.timeseries(span, granularity=granularity, group_by=group_by)
                for group in table["totals"]["groups"]:
                    grams = raw.get(group["key"], 0)
                    if not grams:
                        continue
                    cells += 1
                    raw_g += grams
                    if group["suppressed"]:
                        null += 1
                    else:
                        shown_g += group["co2e_g"]
            results.append(
                {
                    "query": f"{label} by {group_by}",
                    "cells": cells,
                    "null": null,
                    "raw_g": raw_g,
                    "hidden_g": raw_g - shown_g,
                    "share": (raw_g - shown_g) / raw_g if raw_g else 0.0,
                }
            )
    return results
