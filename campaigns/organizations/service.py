"""Organisations and membership: making one, joining with its invite code, leaving,
removal, rotating the code. The rules live here; the resident API, the staff API and the
console call them.

A household is made by a resident, who becomes its admin; the other kinds are made by
staff. Joining checks the code, the kind's one-open-membership rule (a database index) and
the household's size (one conditional update of its member count), all in the request's
transaction.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from backend.audit import service as audit
from backend.clock import local_day, period_keys, utcnow
from backend.districts.service import get_district
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.pagination import decode_key, encode_key, paginate
from backend.residents.models import Resident
from campaigns.graphics.poster import qr_image
from campaigns.leaderboards.service import fallback_nickname
from campaigns.organizations.models import (
    ALL_TYPES,
    STAFF_KINDS,
    Membership,
    Organization,
    OrganizationMemberTotal,
    OrganizationPeriodTotal,
)

# Typed from a poster or read aloud: no 0/O, 1/I/L.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_LENGTH = 8  # 31^8, about 8.5e11 codes, against a few dozen tries a day per resident
INVITE_QR_PX = 600  # the admin's invite QR: on a phone screen or printed for the fridge


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def normalise_invite_code(raw: str) -> str:
    """What a resident typed, as codes are stored: upper case, without spaces or dashes."""
    return "".join(raw.split()).replace("-", "").upper()


def _household_expiry(now: datetime) -> datetime:
    return now + timedelta(days=current_app.config["HOUSEHOLD_INVITE_DAYS"])


def _fresh_code(organization: Organization, now: datetime) -> None:
    organization.invite_code = new_invite_code()
    organization.invite_expires_at = (
        _household_expiry(now) if organization.kind == "household" else None
    )


# Making organisations


def create_household(resident: Resident, name: str) -> Organization:
    """A resident's family: they are its first member and its admin."""
    if any(m.kind == "household" for m in open_memberships(resident.id)):
        raise _already_member_of_kind("household")
    now = utcnow()
    household = Organization(
        kind="household",
        name=name,
        district_code=resident.district_code,
        member_limit=current_app.config["HOUSEHOLD_MAX_MEMBERS"],
        created_by_resident_id=resident.id,
        created_at=now,
    )
    _fresh_code(household, now)
    db.session.add(household)
    db.session.flush()
    add_member(household, resident.id, role="admin", now=now)
    return household


def create_organization(
    *, kind: str, name: str, district_code: str, street: str | None, staff_id: int | None
) -> Organization:
    """A school, community, employer or agency, made by staff; audited."""
    if kind not in STAFF_KINDS:
        raise ValidationFailed(
            _l("Staff make schools, communities, employers and agencies."),
            code="organization_kind_not_allowed",
            fields={"kind": [_l("Households are made by residents.")]},
        )
    if get_district(district_code) is None:
        raise ValidationFailed(
            _l("Unknown district."),
            code="unknown_district",
            fields={"district_code": [_l("Unknown district.")]},
        )
    if kind == "community" and not street:
        raise ValidationFailed(
            _l("A community needs its street."),
            code="street_required",
            fields={"street": [_l("A community needs its street.")]},
        )
    now = utcnow()
    organization = Organization(
        kind=kind,
        name=name,
        district_code=district_code,
        street=street or None,
        created_by_staff_id=staff_id,
        created_at=now,
    )
    _fresh_code(organization, now)
    db.session.add(organization)
    db.session.flush()
    audit.record(
        "organization.create", "organization", organization.id, None, audit.snapshot(organization)
    )
    return organization


def organizations_query(kind: str | None = None):
    query = select(Organization)
    return query.where(Organization.kind == kind) if kind else query


def get_organization(organization_id: int) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(_l("No such organisation."), code="organization_not_found")
    return organization


# Membership


def open_memberships(resident_id: int) -> list[Membership]:
    """A resident's current organisations, one per kind at most."""
    return list(
        db.session.scalars(
            select(Membership)
            .where(Membership.resident_id == resident_id, Membership.left_at.is_(None))
            .order_by(Membership.joined_at)
        )
    )


def open_membership(resident_id: int, organization_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.resident_id == resident_id,
            Membership.organization_id == organization_id,
            Membership.left_at.is_(None),
        )
    )


def membership_of(resident: Resident, organization_id: int) -> Membership:
    """The caller's open membership; another organisation is the same 404 as an unknown one."""
    membership = open_membership(resident.id, organization_id)
    if membership is None:
        raise NotFound(_l("No such organisation."), code="organization_not_found")
    return membership


def join(resident: Resident, invite_code: str) -> Membership:
    """Join the organisation whose current code this is."""
    now = utcnow()
    organization = db.session.scalar(
        select(Organization).where(
            Organization.invite_code == normalise_invite_code(invite_code),
            Organization.status == "active",
        )
    )
    if organization is None:
        # Unknown, rotated or of a closed organisation: the same answer for each.
        raise ValidationFailed(
            _l("This invite code is not valid."),
            code="invite_code_invalid",
            fields={"invite_code": [_l("This invite code is not valid.")]},
        )
    if organization.invite_expires_at is not None and organization.invite_expires_at <= now:
        raise ValidationFailed(
            _l("This invite code has expired; ask for a new one."),
            code="invite_code_expired",
            fields={"invite_code": [_l("This invite code has expired; ask for a new one.")]},
        )
    if open_membership(resident.id, organization.id) is not None:
        raise Conflict(_l("You are a member already."), code="already_member")
    return add_member(organization, resident.id, role="member", now=now)


def _already_member_of_kind(kind: str) -> Conflict:
    return Conflict(
        _l("You already belong to an organisation of this kind; leave it first."),
        code="already_member_of_kind",
        fields={"kind": [kind]},
    )


def add_member(
    organization: Organization, resident_id: int, *, role: str, now: datetime
) -> Membership:
    """Count the member in (refused when full) and open the membership (refused when the
    resident already has one of this kind): both or neither."""
    try:
        with db.session.begin_nested():
            counted = db.session.execute(
                update(Organization)
                .where(
                    Organization.id == organization.id,
                    Organization.status == "active",
                    or_(
                        Organization.member_limit.is_(None),
                        Organization.member_count < Organization.member_limit,
                    ),
                )
                .values(member_count=Organization.member_count + 1)
                .execution_options(synchronize_session=False)
            )
            if counted.rowcount == 0:
                raise Conflict(_l("This organisation is full."), code="organization_full")
            membership = Membership(
                organization_id=organization.id,
                resident_id=resident_id,
                kind=organization.kind,
                role=role,
                joined_at=now,
            )
            db.session.add(membership)
            db.session.flush()
    except IntegrityError as exc:
        raise _already_member_of_kind(organization.kind) from exc
    db.session.refresh(organization, ["member_count"])
    return membership


def leave(resident: Resident, organization_id: int) -> None:
    end_membership(membership_of(resident, organization_id), "left")


def end_membership(
    membership: Membership,
    reason: str,
    *,
    by_resident_id: int | None = None,
    by_staff_id: int | None = None,
) -> None:
    """Close a membership (left, removed, closed, deleted): its history stays, and what the
    member did while a member stays in the organisation's figures. A household keeps an
    admin (its longest-standing member takes over) and closes with its last member."""
    if membership.left_at is not None:
        return
    now = utcnow()
    membership.left_at = now
    membership.end_reason = reason
    membership.ended_by_resident_id = by_resident_id
    membership.ended_by_staff_id = by_staff_id
    db.session.execute(
        update(Organization)
        .where(Organization.id == membership.organization_id)
        .values(member_count=Organization.member_count - 1)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    if membership.kind == "household":
        # A guardian's children (who have no account) leave with them, for the same reason.
        children = select(Resident.id).where(Resident.guardian_id == membership.resident_id)
        for child in db.session.scalars(
            select(Membership).where(
                Membership.resident_id.in_(children),
                Membership.organization_id == membership.organization_id,
                Membership.left_at.is_(None),
            )
        ):
            end_membership(child, reason, by_resident_id=by_resident_id, by_staff_id=by_staff_id)
        _keep_household_whole(membership, now)


def _keep_household_whole(ended: Membership, now: datetime) -> None:
    """The admin is an adult member (a child has no account to act with)."""
    remaining = list(
        db.session.scalars(
            select(Membership)
            .join(Resident, Resident.id == Membership.resident_id)
            .where(
                Membership.organization_id == ended.organization_id,
                Membership.left_at.is_(None),
                Resident.guardian_id.is_(None),
            )
            .order_by(Membership.joined_at, Membership.id)
        )
    )
    if not remaining:
        household = ended.organization
        household.status = "closed"
        household.closed_at = now
    elif not any(member.role == "admin" for member in remaining):
        remaining[0].role = "admin"
    db.session.flush()


def rotate_invite_code(organization: Organization) -> Organization:
    """A new code: the old one stops working at once."""
    now = utcnow()
    _fresh_code(organization, now)
    organization.invite_rotated_at = now
    db.session.flush()
    return organization


def guardians_of(resident_ids: set[int]) -> dict[int, int]:
    """Child -> guardian among `resident_ids`: a child's action counts for their guardian's
    school, community, employer or agency, the guardian being its member."""
    if not resident_ids:
        return {}
    return dict(
        db.session.execute(
            select(Resident.id, Resident.guardian_id).where(
                Resident.id.in_(resident_ids), Resident.guardian_id.is_not(None)
            )
        ).all()
    )


def kinds_of(organization_ids: set[int]) -> dict[int, str]:
    if not organization_ids:
        return {}
    rows = db.session.execute(
        select(Organization.id, Organization.kind).where(Organization.id.in_(organization_ids))
    )
    return dict(rows.all())


def memberships_during(
    resident_ids: set[int], earliest: datetime, latest: datetime
) -> dict[int, list[Membership]]:
    """Per resident, the memberships open at some moment from `earliest` to `latest`:
    what an applier needs to know which organisations an action counted for."""
    rows = db.session.scalars(
        select(Membership)
        .where(
            Membership.resident_id.in_(resident_ids),
            Membership.joined_at <= latest,
            or_(Membership.left_at.is_(None), Membership.left_at > earliest),
        )
        .order_by(Membership.organization_id)
    )
    found: dict[int, list[Membership]] = {}
    for membership in rows:
        found.setdefault(membership.resident_id, []).append(membership)
    return found


# Roles and removal


def set_member_role(
    organization_id: int, resident_id: int, role: str, *, staff_id: int | None
) -> Membership:
    """Staff make a member an admin of a school, community, employer or agency (or a member
    again); audited. A household's admin is the resident who made it."""
    organization = get_organization(organization_id)
    if organization.kind not in STAFF_KINDS:
        raise ValidationFailed(
            _l("A household's admin is the resident who made it."),
            code="organization_kind_not_allowed",
            fields={"organization_id": [_l("A household's admin is the resident who made it.")]},
        )
    membership = open_membership(resident_id, organization_id)
    if membership is None:
        raise NotFound(_l("No such member."), code="member_not_found")
    before = audit.snapshot(membership)
    membership.role = role
    db.session.flush()
    audit.record(
        "organization.member_role",
        "organization_member",
        membership.id,
        before,
        audit.snapshot(membership),
    )
    return membership


def remove_member(
    organization_id: int,
    resident_id: int,
    *,
    by_resident_id: int | None = None,
    by_staff_id: int | None = None,
) -> None:
    """An admin (or staff) removes a member; the member's history stays."""
    membership = open_membership(resident_id, organization_id)
    if membership is None:
        raise NotFound(_l("No such member."), code="member_not_found")
    end_membership(membership, "removed", by_resident_id=by_resident_id, by_staff_id=by_staff_id)


def close_organization(organization_id: int, *, staff_id: int | None) -> Organization:
    """Staff close an organisation: every open membership ends ("closed"), its code stops
    working; its history and figures stay. Audited."""
    organization = get_organization(organization_id)
    if organization.status == "closed":
        raise Conflict(_l("This organisation is closed already."), code="organization_closed")
    db.session.refresh(organization)
    before = audit.snapshot(organization)
    now = utcnow()
    db.session.execute(
        update(Membership)
        .where(Membership.organization_id == organization.id, Membership.left_at.is_(None))
        .values(left_at=now, end_reason="closed", ended_by_staff_id=staff_id)
        .execution_options(synchronize_session=False)
    )
    organization.status = "closed"
    organization.closed_at = now
    organization.member_count = 0
    db.session.flush()
    audit.record(
        "organization.close", "organization", organization.id, before, audit.snapshot(organization)
    )
    return organization


def end_memberships_of(resident_id: int, reason: str) -> None:
    """End every open membership of a resident (an account deleted: "deleted")."""
    for membership in open_memberships(resident_id):
        end_membership(membership, reason)


def membership_history(resident_id: int) -> list[Membership]:
    """Every membership a resident had, open or ended, oldest first: their own record."""
    return list(
        db.session.scalars(
            select(Membership)
            .where(Membership.resident_id == resident_id)
            .order_by(Membership.joined_at, Membership.id)
        )
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
        select(Membership).where(
            Membership.organization_id == organization_id, Membership.left_at.is_(None)
        ),
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
