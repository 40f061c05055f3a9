"""Organisations and membership: making one, joining with its invite code, leaving,
removal, rotating the code. The rules live here; the resident API, the staff API and the
console call them.

A household is made by a resident, who becomes its admin; the other kinds are made by
staff. Joining checks the code, the kind's one-open-membership rule (a database index) and
the household's size (one conditional update of its member count), all in the request's
transaction.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from backend.audit import service as audit
from backend.clock import utcnow
from backend.districts.service import get_district
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from campaigns.organizations.models import (
    STAFF_KINDS,
    Membership,
    Organization,
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


def open_members_query(organization_id: int):
    """The open memberships of an organisation (to page by Membership.id)."""
    return select(Membership).where(
        Membership.organization_id == organization_id, Membership.left_at.is_(None)
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
