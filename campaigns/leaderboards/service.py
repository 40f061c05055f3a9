"""Leaderboards: totals kept as awards happen, boards and ranks read through indexes.

A resident counts in a period (all time, ISO week, month of the action's Asia/Shanghai
day) and in the district of their latest counted action in that period. Ties share a
rank: rank = 1 + the number of strictly greater totals on the same board.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from backend.clock import local_day, period_keys, utcnow
from backend.districts.models import District
from backend.districts.service import get_district
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from campaigns.leaderboards.models import (
    CommunityPeriodTotal,
    CountedAction,
    DistrictPeriodTotal,
    ResidentPeriodTotal,
)
from points.signals import ApprovedAction

PERIODS = ("week", "month", "all")


# Periods


def current_period_key(period: str, now: datetime | None = None) -> str:
    return period_keys(local_day(now or utcnow()))[period]


# Keeping totals


_KEEP = object()  # no new district for the row: the batch only took grams back


def add_to_boards(batch: list[ApprovedAction]) -> list:
    """Applier of approved actions: add their CO2e to the boards, once each.

    Actions without CO2e (car, taxi, motorbike trips) and those not verified
    (self-declared) make no rows; one that comes back rejected (superseded by a partner's
    event) has its grams taken back. One statement per
    table: the counted keys, the residents' rows as they were, the residents' new rows;
    the district rows are added at commit.
    """
    candidates = [a for a in batch if a.co2e_g > 0 and a.counts_as_verified]
    withdrawn = [a for a in batch if a.co2e_g > 0 and a.status == "rejected"]
    if not candidates and not withdrawn:
        return []
    connection = db.session.connection()
    first = set()
    if candidates:
        first = set(
            connection.scalars(
                db.upsert(CountedAction)
                .on_conflict_do_nothing()
                .returning(CountedAction.action_id),
                [{"action_id": a.action_id} for a in candidates],
            )
        )
    if withdrawn:
        # A superseded action comes back rejected: what it added is taken back, once.
        counted = set(
            connection.scalars(
                delete(CountedAction)
                .where(CountedAction.action_id.in_([a.action_id for a in withdrawn]))
                .returning(CountedAction.action_id)
            )
        )
        first |= counted
    # Per (period, resident), in batch order: the grams added and the latest district.
    added: dict[tuple[str, int], list] = {}
    for action in candidates + withdrawn:
        if action.action_id not in first:
            continue
        approved = action.status == "approved"
        for key in period_keys(action.local_day).values():
            row = added.setdefault((key, action.resident_id), [0, _KEEP])
            row[0] += action.co2e_g if approved else -action.co2e_g
            if approved:
                row[1] = action.district_code
    if not added:
        return []
    # The community is a profile field: the one the resident has now, as their action counts.
    # A child (with a guardian) is on no board: their actions count in the statistics and
    # their household's figures only.
    communities = {}
    for resident_id, community, guardian_id in db.session.execute(
        select(Resident.id, Resident.community, Resident.guardian_id).where(
            Resident.id.in_({resident_id for _, resident_id in added})
        )
    ):
        if guardian_id is None:
            communities[resident_id] = community
    added = {place: change for place, change in added.items() if place[1] in communities}
    if not added:
        return []
    row = ResidentPeriodTotal
    resident_ids = {resident_id for _, resident_id in added}
    before = {
        (key, resident_id): (district, community, total)
        for key, resident_id, district, community, total in db.session.execute(
            select(
                row.period_key, row.resident_id, row.district_code, row.community, row.co2e_g
            ).where(
                row.resident_id.in_(resident_ids),
                row.period_key.in_({key for key, _ in added}),
            )
        )
    }
    now = utcnow()
    residents = []
    districts: dict[tuple[str, str], list[int]] = {}
    community_totals: dict[tuple[str, str, str], list[int]] = {}

    def to_boards(key: str, place: tuple, grams: int, participants: int) -> None:
        district, community = place
        if district is None:  # residents without a district add to no district row
            return
        change = districts.setdefault((key, district), [0, 0])
        change[0] += grams
        change[1] += participants
        if community:  # nor to a community without one
            change = community_totals.setdefault((key, district, community), [0, 0])
            change[0] += grams
            change[1] += participants

    for (key, resident_id), (grams, district) in sorted(added.items(), key=lambda i: i[0]):
        previous_district, previous_community, previous_total = before.get(
            (key, resident_id), (None, None, None)
        )
        if district is _KEEP:  # only taken back: the resident's row stays where it is
            district, community = previous_district, previous_community
        else:
            community = communities.get(resident_id)
        if previous_total is None:
            to_boards(key, (district, community), grams, 1)
        elif (previous_district, previous_community) == (district, community):
            to_boards(key, (district, community), grams, 0)
        else:
            # The resident moved: their whole period total moves with them. The district
            # and the community are counted apart, so a move of one alone nets out in the
            # other.
            to_boards(key, (previous_district, previous_community), -previous_total, -1)
            to_boards(key, (district, community), previous_total + grams, 1)
        residents.append(
            {
                "period_key": key,
                "resident_id": resident_id,
                "district_code": district,
                "community": community,
                "co2e_g": (previous_total or 0) + grams,
                "updated_at": now,
            }
        )
    statement = db.upsert(ResidentPeriodTotal)
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[row.period_key, row.resident_id],
            set_={
                name: statement.excluded[name]
                for name in ("district_code", "community", "co2e_g", "updated_at")
            },
        ),
        residents,
    )
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
            for (key, code), (grams, participants) in districts.items()
        ],
        replaced=("updated_at",),
    )
    db.add_at_commit(
        CommunityPeriodTotal,
        ("period_key", "district_code", "community"),
        ("co2e_g", "participants"),
        [
            dict(
                period_key=key,
                district_code=code,
                community=community,
                co2e_g=grams,
                participants=participants,
                updated_at=now,
            )
            for (key, code, community), (grams, participants) in community_totals.items()
            if grams or participants
        ],
        replaced=("updated_at",),
    )
    return []  # the boards credit nothing


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


@dataclass(frozen=True)
class CommunityPlace:
    rank: int
    district_code: str
    community: str
    co2e_g: int
    participants: int
    is_mine: bool


@dataclass(frozen=True)
class MyCommunity:
    district_code: str
    community: str
    rank: int | None
    co2e_g: int
    participants: int


@dataclass(frozen=True)
class CommunityBoard:
    period: str
    as_of: datetime
    district_code: str | None
    items: list[CommunityPlace]
    me: MyCommunity | None


def community_board(
    caller: Resident, period: str, district_code: str | None = None, limit: int = 20
) -> CommunityBoard:
    """The top `limit` communities of the current period by CO2e avoided, city-wide or in
    a district, and the place of the caller's community (their profile's district and
    community). Ties share a rank, as on the residents' board."""
    if district_code is not None and get_district(district_code) is None:
        raise ValidationFailed(fields={"district_code": [_l("Unknown district.")]})
    now = utcnow()
    key = current_period_key(period, now)
    table = CommunityPeriodTotal
    board = [table.period_key == key, table.participants > 0]
    if district_code is not None:
        board.append(table.district_code == district_code)
    top = db.session.execute(
        select(table.district_code, table.community, table.co2e_g, table.participants)
        .where(*board)
        .order_by(table.co2e_g.desc(), table.district_code, table.community)
        .limit(limit)
    ).all()
    mine_key = (caller.district_code, caller.community)
    items = [
        CommunityPlace(
            rank=rank,
            district_code=entry.district_code,
            community=entry.community,
            co2e_g=entry.co2e_g,
            participants=entry.participants,
            is_mine=(entry.district_code, entry.community) == mine_key,
        )
        for rank, entry in zip(competition_ranks([e.co2e_g for e in top]), top, strict=True)
    ]
    return CommunityBoard(
        period=key,
        as_of=now,
        district_code=district_code,
        items=items,
        me=_my_community(caller, key, district_code, board),
    )


def _my_community(
    caller: Resident, key: str, district_code: str | None, board: list
) -> MyCommunity | None:
    if not caller.district_code or not caller.community:
        return None
    table = CommunityPeriodTotal
    mine = db.session.execute(
        select(table.co2e_g, table.participants).where(
            table.period_key == key,
            table.district_code == caller.district_code,
            table.community == caller.community,
        )
    ).one_or_none()
    co2e_g, participants = (mine.co2e_g, mine.participants) if mine else (0, 0)
    rank = None
    on_board = district_code is None or district_code == caller.district_code
    if participants > 0 and on_board:
        # A range count on the board's index: bounded by the number of totals above mine.
        rank = 1 + db.session.scalar(
            select(func.count()).select_from(table).where(*board, table.co2e_g > co2e_g)
        )
    return MyCommunity(
        district_code=caller.district_code,
        community=caller.community,
        rank=rank,
        co2e_g=co2e_g,
        participants=participants,
    )
