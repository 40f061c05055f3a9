"""The organisation board: organisations of one kind ranked by CO2e avoided per member
in this week, month or all time, city-wide or in a district, with the caller's own.

Fair between sizes: per_member_g = co2e_g // max(members, participants), where members
are the organisation's open memberships now and participants everyone who took part in
the period. A big school does not win by size, and members who leave after acting
cannot raise the figure (they stay among the period's participants).

Only active organisations with a participant in the period are ranked (as the district
and community boards leave out those without any); one with no figures yet has no rank.
Ties share a rank: 1 + the number of organisations with a strictly greater per-member
figure. The ranking is read ordered in SQL and kept a short while (`_ranking`); the
caller's rank is a bisection of it.

Households are families: the board names only the caller's own household; others are
shown by a stable pseudonym (from the server's secret, not their id), without their id.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select

from backend.clock import utcnow
from backend.districts.service import get_district
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from campaigns.leaderboards.service import competition_ranks, current_period_key
from campaigns.organizations import service
from campaigns.organizations.models import ALL_TYPES, Organization, OrganizationPeriodTotal

PRIVATE_KINDS = ("household",)  # names not shown to other residents


@dataclass(frozen=True)
class OrganizationPlace:
    rank: int
    id: int | None
    name: str
    kind: str
    district_code: str | None
    members: int
    participants: int
    co2e_g: int
    per_member_g: int
    is_mine: bool


@dataclass(frozen=True)
class MyOrganization:
    id: int
    name: str
    rank: int | None
    members: int
    participants: int
    co2e_g: int
    per_member_g: int


@dataclass(frozen=True)
class OrganizationBoard:
    kind: str
    period: str
    as_of: datetime
    district_code: str | None
    items: list[OrganizationPlace]
    me: MyOrganization | None


def household_pseudonym(organization_id: int) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"household:{organization_id}".encode(), hashlib.sha256)
    return str(_l("Green household %(suffix)s", suffix=digest.hexdigest()[:4].upper()))


def _columns():
    t, o = OrganizationPeriodTotal, Organization
    members = case((o.member_count > t.participants, o.member_count), else_=t.participants)
    per_member = (t.co2e_g // members).label("per_member_g")
    return t, o, per_member


def _board_filters(kind: str, key: str, district_code: str | None) -> list:
    t, o, _ = _columns()
    where = [
        t.period_key == key,
        t.action_type == ALL_TYPES,
        t.participants > 0,
        o.kind == kind,
        o.status == "active",
    ]
    if district_code is not None:
        where.append(o.district_code == district_code)
    return where


def organization_board(
    caller: Resident, kind: str, period: str, district_code: str | None = None, limit: int = 20
) -> OrganizationBoard:
    if district_code is not None and get_district(district_code) is None:
        raise ValidationFailed(fields={"district_code": [_l("Unknown district.")]})
    now = utcnow()
    key = current_period_key(period, now)
    ranking, _ = _ranking(kind, key, district_code)
    top = ranking[:limit]
    mine = next(
        (m.organization for m in service.open_memberships(caller.id) if m.kind == kind), None
    )
    private = kind in PRIVATE_KINDS
    items = []
    for rank, entry in zip(competition_ranks([e.per_member_g for e in top]), top, strict=True):
        is_mine = mine is not None and entry.id == mine.id
        hidden = private and not is_mine
        items.append(
            OrganizationPlace(
                rank=rank,
                id=None if hidden else entry.id,
                name=household_pseudonym(entry.id) if hidden else entry.name,
                kind=kind,
                district_code=entry.district_code,
                members=entry.member_count,
                participants=entry.participants,
                co2e_g=entry.co2e_g,
                per_member_g=entry.per_member_g,
                is_mine=is_mine,
            )
        )
    me = None
    if mine is not None:
        me = _my_place(mine, kind, key, items, district_code)
    return OrganizationBoard(
        kind=kind, period=key, as_of=now, district_code=district_code, items=items, me=me
    )


def _ranking(kind: str, key: str, district_code: str | None) -> tuple[list, list[int]]:
    """Every ranked organisation of the board, best first, and their per-member figures
    negated (ascending, for bisect): read at most every ORGANIZATION_BOARD_CACHE_SECONDS
    per process. A city's households are tens of thousands of rows: sorting them for each
    resident's look took 120 ms on the 10M-action database, twice (top and rank)."""
    ttl = current_app.config["ORGANIZATION_BOARD_CACHE_SECONDS"]
    kept = current_app.extensions.setdefault("organization_boards", {})
    now = utcnow()
    with _reading:
        found = kept.get((kind, key, district_code))
        if found is None or (now - found[0]).total_seconds() >= ttl:
            t, o, per_member = _columns()
            rows = db.session.execute(
                select(
                    o.id,
                    o.name,
                    o.district_code,
                    o.member_count,
                    t.participants,
                    t.co2e_g,
                    per_member,
                )
                .join(o, o.id == t.organization_id)
                .where(*_board_filters(kind, key, district_code))
                .order_by(per_member.desc(), t.co2e_g.desc(), o.id)
            ).all()
            found = (now, rows, [-row.per_member_g for row in rows])
            if ttl > 0:
                kept[(kind, key, district_code)] = found
    return found[1], found[2]


_reading = threading.Lock()  # one read of a board at a time per process


def _my_place(
    mine: Organization,
    kind: str,
    key: str,
    items: list[OrganizationPlace],
    district_code: str | None,
) -> MyOrganization:
    t, o, per_member = _columns()
    row = db.session.execute(
        select(t.participants, t.co2e_g, per_member)
        .join(o, o.id == t.organization_id)
        .where(t.organization_id == mine.id, t.period_key == key, t.action_type == ALL_TYPES)
    ).one_or_none()
    participants, co2e_g, value = (
        (row.participants, row.co2e_g, row.per_member_g) if row else (0, 0, 0)
    )
    rank = None
    on_board = (
        participants > 0
        and mine.status == "active"
        and (district_code is None or mine.district_code == district_code)
    )
    if on_board:
        listed = next((item.rank for item in items if item.is_mine), None)
        _, negated = _ranking(kind, key, district_code)
        rank = listed or 1 + bisect_left(negated, -value)
    return MyOrganization(
        id=mine.id,
        name=mine.name,
        rank=rank,
        members=mine.member_count,
        participants=participants,
        co2e_g=co2e_g,
        per_member_g=value,
    )
