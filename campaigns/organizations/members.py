"""What members and admins see and do: an organisation's page with its totals and member
board (nicknames only), the admin's member list, removal and invite renewal, and the staff
detail. The membership rules themselves are `service`'s."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select

from backend.clock import local_day, period_keys, utcnow
from backend.errors import Conflict, Forbidden, NotFound
from backend.extensions import db
from backend.pagination import decode_key, encode_key, paginate
from backend.residents.models import Resident
from campaigns.graphics.poster import qr_image
from campaigns.leaderboards.service import fallback_nickname
from campaigns.organizations import service
from campaigns.organizations.models import (
    ALL_TYPES,
    Membership,
    Organization,
    OrganizationMemberTotal,
    OrganizationPeriodTotal,
)
from campaigns.organizations.service import (
    INVITE_QR_PX,
    get_organization,
    membership_of,
    remove_member,
    rotate_invite_code,
)

# What members see


@dataclass(frozen=True)
class Totals:
    members: int
    participants: int
    co2e_g: int
    points: int
    actions: int
    green_trips: int
    trips: int
    green_share: float | None


@dataclass(frozen=True)
class BoardRow:
    rank: int
    nickname: str
    co2e_g: int
    points: int
    actions: int
    me: bool


@dataclass(frozen=True)
class OrganizationView:
    organization: Organization
    role: str
    period: str
    as_of: datetime
    totals: Totals
    board: list[BoardRow]
    next_cursor: str | None
    me: BoardRow


def shown_nickname(resident_id: int, nickname: str | None, status: str) -> str:
    """A member as other members see them: the nickname, or the leaderboards' pseudonym
    (never a phone or an id); a deleted or suspended resident's name is not shown."""
    return nickname if nickname and status == "active" else fallback_nickname(resident_id)


def _period_totals(organization: Organization, key: str) -> Totals:
    row = db.session.get(OrganizationPeriodTotal, (organization.id, key, ALL_TYPES))
    trips = row.trips if row else 0
    green_trips = row.green_trips if row else 0
    return Totals(
        members=organization.member_count,
        participants=row.participants if row else 0,
        co2e_g=row.co2e_g if row else 0,
        points=row.points if row else 0,
        actions=row.actions if row else 0,
        green_trips=green_trips,
        trips=trips,
        green_share=round(green_trips / trips, 4) if trips else None,
    )


def _board_query(organization_id: int, key: str):
    """The current members with their figures of period `key` (0 without a row)."""
    total = OrganizationMemberTotal
    co2e = func.coalesce(total.co2e_g, 0)
    query = (
        select(
            Membership.id,
            Membership.resident_id,
            Resident.nickname,
            Resident.status,
            co2e.label("co2e_g"),
            func.coalesce(total.points, 0).label("points"),
            func.coalesce(total.actions, 0).label("actions"),
        )
        .join(Resident, Resident.id == Membership.resident_id)
        .outerjoin(
            total,
            and_(
                total.organization_id == Membership.organization_id,
                total.period_key == key,
                total.action_type == ALL_TYPES,
                total.resident_id == Membership.resident_id,
            ),
        )
        .where(Membership.organization_id == organization_id, Membership.left_at.is_(None))
    )
    return query, co2e


def _rank_above(organization_id: int, key: str, co2e_g: int) -> int:
    """1 + the current members with more CO2e in the period: ties share a rank."""
    query, co2e = _board_query(organization_id, key)
    return 1 + _count(query.where(co2e > co2e_g))


def _count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def organization_view(
    resident: Resident, organization_id: int, period: str, *, limit: int, cursor: str | None
) -> OrganizationView:
    """A member's page of their organisation: its figures in the period and the member
    board (CO2e, most first; paged by `cursor`), the caller's own row marked."""
    membership = membership_of(resident, organization_id)
    organization = membership.organization
    db.session.refresh(organization, ["member_count"])
    now = utcnow()
    key = period_keys(local_day(now))[period]
    query, co2e = _board_query(organization_id, key)
    if cursor:
        after_co2e, after_id = decode_key(cursor, 2)
        query = query.where(
            or_(co2e < after_co2e, and_(co2e == after_co2e, Membership.id > after_id))
        )
    rows = db.session.execute(query.order_by(co2e.desc(), Membership.id).limit(limit + 1)).all()
    page = rows[:limit]
    next_cursor = encode_key((page[-1].co2e_g, page[-1].id)) if len(rows) > limit else None
    # Members before this page: those with more CO2e than the cursor's, and its equals
    # already shown. A row not tied with the one above it ranks after all of them.
    before = 0
    if cursor:
        before = _rank_above(organization_id, key, after_co2e) - 1
        equals, _ = _board_query(organization_id, key)
        before += _count(equals.where(co2e == after_co2e, Membership.id <= after_id))
    board: list[BoardRow] = []
    for position, row in enumerate(page):
        if position == 0:
            rank = _rank_above(organization_id, key, row.co2e_g) if cursor else 1
        elif row.co2e_g == page[position - 1].co2e_g:
            rank = board[-1].rank
        else:
            rank = before + position + 1
        board.append(
            BoardRow(
                rank=rank,
                nickname=shown_nickname(row.resident_id, row.nickname, row.status),
                co2e_g=row.co2e_g,
                points=row.points,
                actions=row.actions,
                me=row.id == membership.id,
            )
        )
    mine_query, _ = _board_query(organization_id, key)
    mine = db.session.execute(mine_query.where(Membership.id == membership.id)).one()
    me = BoardRow(
        rank=_rank_above(organization_id, key, mine.co2e_g),
        nickname=shown_nickname(resident.id, resident.nickname, resident.status),
        co2e_g=mine.co2e_g,
        points=mine.points,
        actions=mine.actions,
        me=True,
    )
    return OrganizationView(
        organization=organization,
        role=membership.role,
        period=key,
        as_of=now,
        totals=_period_totals(organization, key),
        board=board,
        next_cursor=next_cursor,
        me=me,
    )


# Organisation admins (residents) and staff


@dataclass(frozen=True)
class MemberRow:
    id: int  # the membership's: admins name a member by it, never by a resident id
    resident_id: int  # staff only
    nickname: str
    role: str
    joined_at: datetime
    co2e_g: int  # all time, since joining
    points: int
    actions: int


def members_page(organization_id: int, limit: int, cursor: str | None) -> dict:
    """The current members, longest-standing first, with their all-time figures."""
    page = paginate(
        service.open_members_query(organization_id),
        Membership.id,
        limit,
        cursor,
        oldest_first=True,
    )
    resident_ids = [membership.resident_id for membership in page["items"]]
    residents = {
        resident.id: resident
        for resident in db.session.scalars(select(Resident).where(Resident.id.in_(resident_ids)))
    }
    totals = {
        total.resident_id: total
        for total in db.session.scalars(
            select(OrganizationMemberTotal).where(
                OrganizationMemberTotal.organization_id == organization_id,
                OrganizationMemberTotal.period_key == "all",
                OrganizationMemberTotal.action_type == ALL_TYPES,
                OrganizationMemberTotal.resident_id.in_(resident_ids),
            )
        )
    }
    items = []
    for membership in page["items"]:
        resident = residents[membership.resident_id]
        total = totals.get(membership.resident_id)
        items.append(
            MemberRow(
                id=membership.id,
                resident_id=resident.id,
                nickname=shown_nickname(resident.id, resident.nickname, resident.status),
                role=membership.role,
                joined_at=membership.joined_at,
                co2e_g=total.co2e_g if total else 0,
                points=total.points if total else 0,
                actions=total.actions if total else 0,
            )
        )
    return {"items": items, "next_cursor": page["next_cursor"]}


def admin_membership(resident: Resident, organization_id: int) -> Membership:
    """The caller's membership if they are an admin: a member gets 403, others 404."""
    membership = membership_of(resident, organization_id)
    if membership.role != "admin":
        raise Forbidden(
            _l("Only the organisation's admins may do this."), code="organization_admin_required"
        )
    return membership


def members_for_admin(
    admin: Resident, organization_id: int, limit: int, cursor: str | None
) -> dict:
    admin_membership(admin, organization_id)
    return members_page(organization_id, limit, cursor)


def remove_by_admin(admin: Resident, organization_id: int, membership_id: int) -> None:
    """An admin removes a member, named by the membership's id. Admins leave rather than
    remove themselves, and only staff remove another admin (after making them a member)."""
    mine = admin_membership(admin, organization_id)
    target = db.session.get(Membership, membership_id)
    if target is None or target.organization_id != organization_id or target.left_at is not None:
        raise NotFound(_l("No such member."), code="member_not_found")
    if target.id == mine.id:
        raise Conflict(
            _l("Admins leave the organisation; they cannot remove themselves."),
            code="cannot_remove_self",
        )
    if target.role == "admin":
        raise Conflict(
            _l("Another admin is removed by staff, not by an admin."), code="member_is_admin"
        )
    remove_member(organization_id, target.resident_id, by_resident_id=admin.id)


@dataclass(frozen=True)
class InviteCode:
    invite_code: str
    invite_expires_at: datetime | None
    join_url: str


def rotate_by_admin(admin: Resident, organization_id: int) -> InviteCode:
    """An admin's new code: the old one (and its QR) stops working at once."""
    organization = rotate_invite_code(admin_membership(admin, organization_id).organization)
    return InviteCode(
        organization.invite_code, organization.invite_expires_at, join_url(organization)
    )


def join_url(organization: Organization) -> str:
    return current_app.config["ORGANIZATION_JOIN_URL"].format(code=organization.invite_code)


def invite_png(admin: Resident, organization_id: int) -> bytes:
    """A QR of the organisation's join address with its current code, for an admin."""
    organization = admin_membership(admin, organization_id).organization
    image = qr_image(join_url(organization), INVITE_QR_PX)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def organization_detail(organization_id: int, limit: int, cursor: str | None) -> dict:
    """Staff's view of one organisation: its row and a page of its current members."""
    organization = get_organization(organization_id)
    page = members_page(organization_id, limit, cursor)
    return {
        "organization": organization,
        "members": page["items"],
        "next_cursor": page["next_cursor"],
    }
