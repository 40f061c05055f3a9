"""Leaderboards: totals kept as awards happen, boards and ranks read through indexes.

A resident counts in a period (all time, ISO week, month of the action's Asia/Shanghai
day) and in the district of their latest counted action in that period. Ties share a
rank: rank = 1 + the number of strictly greater totals on the same board.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from backend.clock import local_day, utcnow
from backend.districts.models import District
from backend.districts.service import get_district
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from campaigns.leaderboards.models import CountedAction, DistrictPeriodTotal, ResidentPeriodTotal
from points.signals import ActionApproved

PERIODS = ("week", "month", "all")


# Periods


def period_keys(day: date) -> dict[str, str]:
    """The keys of the periods a local day belongs to: all time, its ISO week, its month."""
    iso_year, iso_week, _ = day.isocalendar()
    return {"all": "all", "week": f"w{iso_year}-{iso_week:02d}", "month": f"m{day:%Y-%m}"}


def current_period_key(period: str, now: datetime | None = None) -> str:
    return period_keys(local_day(now or utcnow()))[period]


# Keeping totals


def on_action_approved(sender, event: ActionApproved, **_extra) -> None:
    """Listener of `points.signals.action_approved`: add the action's CO2e to the boards.

    Runs in the approving transaction. Actions without CO2e (car, taxi, motorbike trips)
    make no rows; an action already counted (a repeated signal) is skipped.
    """
    if event.co2e_g <= 0:
        return
    if not db.insert_ignoring_conflict(CountedAction, action_id=event.action_id):
        return
    resident_id, district_code, grams = event.resident_id, event.district_code, event.co2e_g
    keys = sorted(period_keys(event.local_day).values())
    row = ResidentPeriodTotal
    # Usual case, one statement for the three periods: same district as before, the
    # totals grow in place.
    grown = set(
        db.session.connection().scalars(
            update(row)
            .where(
                row.period_key.in_(keys),
                row.resident_id == resident_id,
                row.district_code.is_not_distinct_from(district_code),
            )
            .values(co2e_g=row.co2e_g + grams, updated_at=utcnow())
            .returning(row.period_key)
        )
    )
    changes: dict[tuple[str, str], tuple[int, int]] = {}
    for key in keys:
        if key in grown:
            district_changes = [(district_code, (grams, 0))]
        else:
            district_changes = _first_or_moved(key, resident_id, district_code, grams)
        for code, change in district_changes:
            if code is not None:  # residents without a district add to no district row
                changes[key, code] = change
    _add_to_districts(changes)


def _first_or_moved(
    key: str, resident_id: int, district_code: str | None, grams: int
) -> list[tuple[str | None, tuple[int, int]]]:
    """A period the resident has no row in yet, or one whose district has changed.

    Returns the (grams, participants) changes of the district rows.
    """
    session = db.session
    row = ResidentPeriodTotal
    mine = (row.period_key == key) & (row.resident_id == resident_id)
    # The unique key settles a race with a concurrent first action of the same resident:
    # the loser finds the row and moves it or adds to it.
    created = db.insert_ignoring_conflict(
        ResidentPeriodTotal,
        period_key=key,
        resident_id=resident_id,
        district_code=district_code,
        co2e_g=grams,
        updated_at=utcnow(),
    )
    if created:
        return [(district_code, (grams, 1))]
    previous_district, previous_total = session.execute(
        select(row.district_code, row.co2e_g).where(mine).with_for_update()
    ).one()
    moving = previous_district != district_code
    session.execute(
        update(row)
        .where(mine)
        .values(co2e_g=row.co2e_g + grams, district_code=district_code, updated_at=utcnow())
    )
    if not moving:  # the concurrent first action was in this district
        return [(district_code, (grams, 0))]
    # The resident moved: their whole period total moves with them to the new district.
    return [
        (previous_district, (-previous_total, -1)),
        (district_code, (previous_total + grams, 1)),
    ]


def _add_to_districts(changes: dict[tuple[str, str], tuple[int, int]]) -> None:
    """Add (grams, participants) to district rows, when the transaction commits: every
    approval of the district shares them (`db.add_at_commit` keeps them in one order)."""
    now = utcnow()
    db.add_at_commit(
        DistrictPeriodTotal,
        ("period_key", "district_code"),
        ("co2e_g", "participants"),
        [
            dict(
                period_key=key,
                district_code=code,
                co2e_g=grams,
                participants=participants,
                updated_at=now,
            )
            for (key, code), (grams, participants) in changes.items()
        ],
        replaced=("updated_at",),
    )


# Reading boards


@dataclass(frozen=True)
class ResidentPlace:
    rank: int
    nickname: str
    district_code: str | None
    co2e_g: int
    is_me: bool


@dataclass(frozen=True)
class MyPlace:
    rank: int | None
    co2e_g: int


@dataclass(frozen=True)
class ResidentBoard:
    period: str
    as_of: datetime
    district_code: str | None
    items: list[ResidentPlace]
    me: MyPlace


def fallback_nickname(resident_id: int) -> str:
    """A stable pseudonym for residents without a nickname; it reveals neither id nor phone."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"leaderboard:{resident_id}".encode(), hashlib.sha256)
    return str(_l("Green resident %(suffix)s", suffix=digest.hexdigest()[:4].upper()))


def _shown_name(resident_id: int, nickname: str | None, status: str) -> str:
    # A deleted or suspended resident's chosen name is no longer shown to others.
    return nickname if nickname and status == "active" else fallback_nickname(resident_id)


def competition_ranks(totals: list[int]) -> list[int]:
    """Ranks of a list sorted from the highest total down: 1, 2, 2, 4."""
    ranks: list[int] = []
    for position, total in enumerate(totals):
        tied = position > 0 and total == totals[position - 1]
        ranks.append(ranks[-1] if tied else position + 1)
    return ranks


def resident_board(
    caller_id: int, period: str, district_code: str | None = None, limit: int = 20
) -> ResidentBoard:
    """The top `limit` residents of the current period, city-wide or in a district."""
    if district_code is not None and get_district(district_code) is None:
        raise ValidationFailed(fields={"district_code": [_l("Unknown district.")]})
    now = utcnow()
    key = current_period_key(period, now)
    row = ResidentPeriodTotal
    board = [row.period_key == key]
    if district_code is not None:
        board.append(row.district_code == district_code)

    top = db.session.execute(
        select(row.resident_id, row.district_code, row.co2e_g, Resident.nickname, Resident.status)
        .join(Resident, Resident.id == row.resident_id)
        .where(*board)
        .order_by(row.co2e_g.desc(), row.resident_id.desc())
        .limit(limit)
    ).all()
    ranks = competition_ranks([entry.co2e_g for entry in top])
    items = [
        ResidentPlace(
            rank=rank,
            nickname=_shown_name(entry.resident_id, entry.nickname, entry.status),
            district_code=entry.district_code,
            co2e_g=entry.co2e_g,
            is_me=entry.resident_id == caller_id,
        )
        for rank, entry in zip(ranks, top, strict=True)
    ]
    return ResidentBoard(
        period=key,
        as_of=now,
        district_code=district_code,
        items=items,
        me=_my_place(caller_id, key, district_code, items),
    )


def _my_place(
    caller_id: int, key: str, district_code: str | None, items: list[ResidentPlace]
) -> MyPlace:
    row = ResidentPeriodTotal
    mine = db.session.execute(
        select(row.co2e_g, row.district_code).where(
            row.period_key == key, row.resident_id == caller_id
        )
    ).one_or_none()
    if mine is None:
        return MyPlace(rank=None, co2e_g=0)
    if district_code is not None and mine.district_code != district_code:
        return MyPlace(rank=None, co2e_g=mine.co2e_g)  # not on this district's board
    listed = next((item for item in items if item.is_me), None)
    if listed is not None:
        return MyPlace(rank=listed.rank, co2e_g=mine.co2e_g)
    # A range count on the board's index: bounded by the number of totals above mine.
    above = (
        select(func.count()).select_from(row).where(row.period_key == key, row.co2e_g > mine.co2e_g)
    )
    if district_code is not None:
        above = above.where(row.district_code == district_code)
    return MyPlace(rank=1 + db.session.scalar(above), co2e_g=mine.co2e_g)


@dataclass(frozen=True)
class DistrictPlace:
    rank: int
    district_code: str
    name: str
    co2e_g: int
    participants: int
    co2e_g_per_participant: int


@dataclass(frozen=True)
class MyDistrict:
    district_code: str
    rank: int | None


@dataclass(frozen=True)
class DistrictBoard:
    period: str
    as_of: datetime
    items: list[DistrictPlace]
    me: MyDistrict | None


def district_board(caller_district_code: str | None, period: str) -> DistrictBoard:
    """Districts of the current period by CO2e per participating resident (whole grams)."""
    now = utcnow()
    key = current_period_key(period, now)
    table = DistrictPeriodTotal
    # One row per district of the reference table at most: sorting it here is cheap.
    rows = db.session.execute(
        select(table.district_code, table.co2e_g, table.participants, District.name)
        .join(District, District.code == table.district_code)
        .where(table.period_key == key, table.participants > 0)
        .order_by(District.sort_order)
    ).all()
    rows.sort(key=lambda r: r.co2e_g // r.participants, reverse=True)
    per_participant = [r.co2e_g // r.participants for r in rows]
    items = [
        DistrictPlace(
            rank=rank,
            district_code=r.district_code,
            name=r.name,
            co2e_g=r.co2e_g,
            participants=r.participants,
            co2e_g_per_participant=value,
        )
        for rank, r, value in zip(
            competition_ranks(per_participant), rows, per_participant, strict=True
        )
    ]
    me = None
    if caller_district_code is not None:
        rank = next((i.rank for i in items if i.district_code == caller_district_code), None)
        me = MyDistrict(district_code=caller_district_code, rank=rank)
    return DistrictBoard(period=key, as_of=now, items=items, me=me)
