"""The figures of the statistics endpoints and leaderboards, computed from raw actions.

Each function answers what one endpoint answers with its default arguments (the current
month and verified actions; the current week, month or all time), but by GROUP BY over the
`action` table instead of the read models: what the benchmark compares the endpoints
against. Suppression and wording are left out; the figures are the same, and the bench
tests compare them.
"""

from __future__ import annotations

import calendar
import statistics
import time
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import and_, case, distinct, func, or_, select

from backend.clock import local_day, utcnow
from backend.districts.models import District
from backend.extensions import db
from backend.residents.models import Resident
from campaigns.leaderboards.service import competition_ranks, fallback_nickname
from campaigns.organizations.models import STAFF_KINDS, Membership, Organization
from points.actions.models import ACTION_TYPES, VERIFIED, Action
from points.methodology.service import current_methodology

BOARD_SIZE = 20
APPROVED = Action.status == "approved"
COUNTED = APPROVED & Action.verification.in_(VERIFIED)  # the statistics' co2e_g: verified
MEASURES = ("participants", "actions", "co2e_g", "points_awarded")


def default_range(today: date | None = None) -> tuple[date, date]:
    """The statistics endpoints' default: the current calendar month."""
    return period_range("month", today)


def period_range(period: str, today: date | None = None) -> tuple[date, date] | None:
    """The days of the current ISO week or month; None for all time."""
    today = today or local_day(utcnow())
    if period == "week":
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=6)
    if period == "month":
        last = calendar.monthrange(today.year, today.month)[1]
        return today.replace(day=1), today.replace(day=last)
    return None


def _cell(participants=0, actions=0, co2e_g=0, points=0) -> dict:
    return dict(zip(MEASURES, map(int, (participants, actions, co2e_g, points)), strict=True))


# Statistics


def summary() -> dict:
    start, end = default_range()
    where = (COUNTED, Action.local_day.between(start, end))
    by_type = {kind: _cell() for kind in ACTION_TYPES}
    for kind, people, count, grams, points in db.session.execute(
        select(
            Action.type,
            func.count(distinct(Action.resident_id)),
            func.count(),
            func.sum(Action.co2e_g),
            func.sum(Action.points),
        )
        .where(*where)
        .group_by(Action.type)
    ):
        by_type[kind] = _cell(people, count, grams, points)
    people = db.session.scalar(select(func.count(distinct(Action.resident_id))).where(*where))
    total = _cell(people, *(sum(cell[m] for cell in by_type.values()) for m in MEASURES[1:]))
    return {**total, "by_type": by_type}


def timeseries(group_by: str = "type") -> dict:
    """Per day and in total, by action type or by district (None: no district chosen)."""
    start, end = default_range()
    column = Action.type if group_by == "type" else Action.district_code
    if group_by == "type":
        values = list(ACTION_TYPES)
    else:
        values = [*db.session.scalars(select(District.code).order_by(District.sort_order)), None]
    where = (COUNTED, Action.local_day.between(start, end))
    people = func.count(distinct(Action.resident_id))
    sums = (func.count(), func.sum(Action.co2e_g), func.sum(Action.points))
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
    cells: dict[tuple, dict] = {}
    for day in [*days, None]:
        for value in ["*", *values]:
            cells[(day, value)] = _cell()
    for day, value, n, *figures in db.session.execute(
        select(Action.local_day, column, people, *sums)
        .where(*where)
        .group_by(Action.local_day, column)
    ):
        cells[(day, value)] = _cell(n, *figures)
    for day, n, *figures in db.session.execute(
        select(Action.local_day, people, *sums).where(*where).group_by(Action.local_day)
    ):
        cells[(day, "*")] = _cell(n, *figures)
    for value, n, *figures in db.session.execute(
        select(column, people, *sums).where(*where).group_by(column)
    ):
        cells[(None, value)] = _cell(n, *figures)
    n, *figures = db.session.execute(select(people, *sums).where(*where)).one()
    cells[(None, "*")] = _cell(n, *(f or 0 for f in figures))

    def row(day: date | None) -> dict:
        return {
            "period": day.isoformat() if day else "total",
            "total": cells[(day, "*")],
            "groups": {value: cells[(day, value)] for value in values},
        }

    return {"items": [row(day) for day in days], "totals": row(None)}


def green_travel() -> dict:
    """Green and all trips of central-city residents: in all, by district, by month."""
    start, end = default_range()
    rules = current_methodology().green_travel
    central, green = list(rules["central_city_districts"]), set(rules["green_modes"])
    where = (
        COUNTED,
        Action.type == "trip",
        Action.local_day.between(start, end),
        Action.district_code.in_(central),
        Action.variant.in_(rules["all_modes"]),
    )
    empty = {"green_trips": 0, "total_trips": 0, "green_distance_m": 0, "total_distance_m": 0}
    result = {"total": dict(empty), "by_district": {}, "trend": {}}
    result["by_district"] = {code: dict(empty) for code in central}
    for day, mode, district, count, metres in db.session.execute(
        select(
            Action.local_day,
            Action.variant,
            Action.district_code,
            func.count(),
            func.sum(func.coalesce(Action.distance_m, 0)),
        )
        .where(*where)
        .group_by(Action.local_day, Action.variant, Action.district_code)
    ):
        count, metres = int(count), int(metres)
        label = f"{day:%Y-%m}"
        for figures in (
            result["total"],
            result["by_district"][district],
            result["trend"].setdefault(label, dict(empty)),
        ):
            figures["total_trips"] += count
            figures["total_distance_m"] += metres
            if mode in green:
                figures["green_trips"] += count
                figures["green_distance_m"] += metres
    people = func.count(distinct(Action.resident_id))
    result["residents"] = {
        "total": db.session.scalar(select(people).where(*where)),
        "by_district": dict(
            db.session.execute(
                select(Action.district_code, people).where(*where).group_by(Action.district_code)
            ).all()
        ),
        "trend": {},
    }
    for label, first, last in _months(start, end):
        result["residents"]["trend"][label] = db.session.scalar(
            select(people).where(*where, Action.local_day.between(first, last))
        )
    return result


def _months(start: date, end: date) -> list[tuple[str, date, date]]:
    """(YYYY-MM, first day, last day) of each month the range touches, clipped to it."""
    months, day = [], start
    while day <= end:
        last = min(day.replace(day=calendar.monthrange(day.year, day.month)[1]), end)
        months.append((f"{day:%Y-%m}", day, last))
        day = last + timedelta(days=1)
    return months


# Leaderboards


def _totals(period: str):
    where = [APPROVED, Action.co2e_g > 0]
    days = period_range(period)
    if days is not None:
        where.append(Action.local_day.between(*days))
    return where


def resident_board(period: str, caller_id: int) -> dict:
    """The top residents by CO2e in the period, and the caller's rank and total."""
    where = _totals(period)
    total = func.sum(Action.co2e_g).label("total")
    top = db.session.execute(
        select(
            Action.resident_id,
            func.max(Action.district_code),
            total,
            Resident.nickname,
            Resident.status,
        )
        .join(Resident, Resident.id == Action.resident_id)
        .where(*where)
        .group_by(Action.resident_id, Resident.nickname, Resident.status)
        .order_by(total.desc(), Action.resident_id.desc())
        .limit(BOARD_SIZE)
    ).all()
    ranks = competition_ranks([int(row.total) for row in top])
    items = [
        {
            "rank": rank,
            "nickname": nickname if nickname and status == "active" else fallback_nickname(rid),
            "district_code": district,
            "co2e_g": int(grams),
            "is_me": rid == caller_id,
        }
        for rank, (rid, district, grams, nickname, status) in zip(ranks, top, strict=True)
    ]
    mine = db.session.scalar(
        select(func.sum(Action.co2e_g)).where(*where, Action.resident_id == caller_id)
    )
    me = {"rank": None, "co2e_g": 0}
    if mine:
        per_resident = (
            select(Action.resident_id)
            .where(*where)
            .group_by(Action.resident_id)
            .having(func.sum(Action.co2e_g) > mine)
            .subquery()
        )
        above = db.session.scalar(select(func.count()).select_from(per_resident))
        me = {"rank": 1 + above, "co2e_g": int(mine)}
    return {"items": items, "me": me}


def district_board(period: str) -> dict:
    """Districts by grams per participating resident in the period."""
    rows = db.session.execute(
        select(
            Action.district_code,
            func.sum(Action.co2e_g),
            func.count(distinct(Action.resident_id)),
        )
        .where(*_totals(period), Action.district_code.is_not(None))
        .group_by(Action.district_code)
    ).all()
    order = dict(db.session.execute(select(District.code, District.sort_order)).all())
    rows.sort(key=lambda r: order.get(r[0], 0))
    places = [(code, int(grams), int(n), int(grams) // int(n)) for code, grams, n in rows]
    places.sort(key=lambda p: p[3], reverse=True)
    ranks = competition_ranks([p[3] for p in places])
    return {
        "items": [
            {
                "rank": rank,
                "district_code": code,
                "co2e_g": grams,
                "participants": n,
                "co2e_g_per_participant": per,
            }
            for rank, (code, grams, n, per) in zip(ranks, places, strict=True)
        ]
    }


# The comparison set: one raw answer per endpoint (path with its query string).


# Organisations: an action counts where its resident's membership covered its moment.


COVERED = and_(
    Membership.resident_id == Action.resident_id,
    Membership.joined_at <= Action.occurred_at,
    or_(Membership.left_at.is_(None), Action.occurred_at < Membership.left_at),
)


def organization_board(kind: str, period: str) -> list[tuple]:
    """The organisations of a kind by verified CO2e per member (members now or, if more,
    the period's participants), top BOARD_SIZE."""
    membership, on = Membership, COVERED
    where = [COUNTED, membership.kind == kind]
    span = period_range(period)
    if span is not None:
        where.append(Action.local_day.between(*span))
    rows = db.session.execute(
        select(
            membership.organization_id,
            func.sum(Action.co2e_g),
            func.count(distinct(membership.resident_id)),
            Organization.member_count,
        )
        .join(membership, on)
        .join(Organization, Organization.id == membership.organization_id)
        .where(*where)
        .group_by(membership.organization_id, Organization.member_count)
    ).all()
    ranked = sorted(
        (
            (grams // max(members, participants, 1), org)
            for org, grams, participants, members in rows
        ),
        reverse=True,
    )
    return ranked[:BOARD_SIZE]


def organization_report() -> dict:
    """The current month's figures per organisation of the staff kinds: participants,
    approved actions, verified CO2e (the creation report's default)."""
    membership, on = Membership, COVERED
    start, end = default_range()
    rows = db.session.execute(
        select(
            membership.organization_id,
            func.count(distinct(membership.resident_id)),
            func.count(),
            func.sum(case((Action.verification.in_(VERIFIED), Action.co2e_g), else_=0)),
        )
        .join(membership, on)
        .where(APPROVED, Action.local_day.between(start, end), membership.kind.in_(STAFF_KINDS))
        .group_by(membership.organization_id)
    ).all()
    return {org: (participants, actions, int(grams)) for org, participants, actions, grams in rows}


def queries(caller_id: int) -> dict[str, tuple[str, Callable[[], dict]]]:
    return {
        "stats_summary": ("/api/v1/stats/summary", summary),
        "stats_timeseries_type": (
            "/api/v1/stats/timeseries?granularity=day&group_by=type",
            lambda: timeseries("type"),
        ),
        "stats_timeseries_district": (
            "/api/v1/stats/timeseries?granularity=day&group_by=district",
            lambda: timeseries("district"),
        ),
        "stats_green_travel": ("/api/v1/stats/green-travel", green_travel),
        "stats_export_csv": (
            "/api/v1/stats/export.csv?granularity=day&group_by=type",
            lambda: timeseries("type"),
        ),
        "stats_export_xlsx": (
            "/api/v1/stats/export.xlsx?granularity=day&group_by=type",
            lambda: timeseries("type"),
        ),
        **{
            f"leaderboard_residents_{period}": (
                f"/api/v1/leaderboards/residents?period={period}",
                lambda period=period: resident_board(period, caller_id),
            )
            for period in ("all", "week", "month")
        },
        **{
            f"leaderboard_districts_{period}": (
                f"/api/v1/leaderboards/districts?period={period}",
                lambda period=period: district_board(period),
            )
            for period in ("all", "week", "month")
        },
        **{
            f"leaderboard_organizations_{kind}_{period}": (
                f"/api/v1/leaderboards/organizations?kind={kind}&period={period}",
                lambda kind=kind, period=period: organization_board(kind, period),
            )
            for kind in ("school", "household")
            for period in ("all", "week", "month")
        },
        "stats_organizations_month": ("/api/v1/stats/organizations", organization_report),
    }


def milliseconds(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "runs": len(samples),
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p95_ms": round(p95 * 1000, 2),
    }


def time_raw(caller_id: int, runs: int, only: set[str] | None = None) -> dict[str, dict]:
    """Median and p95 of each raw query, run `runs` times (the figures are discarded)."""
    timings = {}
    for name, (path, query) in queries(caller_id).items():
        if only and name not in only:
            continue
        samples = []
        for _ in range(runs):
            started = time.perf_counter()
            query()
            samples.append(time.perf_counter() - started)
            db.session.rollback()
        timings[name] = {"path": path, **milliseconds(samples)}
    return timings
