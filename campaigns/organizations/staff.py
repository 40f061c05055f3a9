"""What staff do to an organisation in the console, each audited: renew its invite code,
remove a member, change a member's role, and read its members and their history.

The rules are service.py's; these add the audit entry staff changes need (service.py's own
audited functions, create_organization and set_member_role, are called as they are).
Removing a member who is no longer one is not an error here: a second click, from another
tab or after a colleague, finds the work done.
"""

from __future__ import annotations

from sqlalchemy import select

from backend.audit import service as audit
from backend.extensions import db
from backend.residents.models import Resident
from campaigns.organizations import service
from campaigns.organizations.models import Membership, Organization

# What the log keeps of a renewal: when, and until when the new code works (not the codes:
# the old one is dead, the new one is on the organisation's page).
ROTATION_FIELDS = ("invite_rotated_at", "invite_expires_at")
HISTORY_LIMIT = 50


def _rotation(organization: Organization) -> dict:
    snapshot = audit.snapshot(organization) or {}
    return {name: snapshot.get(name) for name in ROTATION_FIELDS}


def rotate_code(organization_id: int) -> Organization:
    """A new invite code; the old one stops working at once. Audited."""
    organization = service.get_organization(organization_id)
    before = _rotation(organization)
    service.rotate_invite_code(organization)
    audit.record(
        "organization.rotate_code", "organization", organization.id, before, _rotation(organization)
    )
    return organization


def remove(organization_id: int, resident_id: int, *, staff_id: int | None) -> bool:
    """End the member's open membership as removed by staff; audited. False when there was
    none (already removed, or left)."""
    service.get_organization(organization_id)
    membership = service.open_membership(resident_id, organization_id)
    if membership is None:
        return False
    before = audit.snapshot(membership)
    service.remove_member(organization_id, resident_id, by_staff_id=staff_id)
    audit.record(
        "organization.member_remove",
        "organization_member",
        membership.id,
        before,
        audit.snapshot(membership),
    )
    return True


def set_role(organization_id: int, resident_id: int, role: str, *, staff_id: int | None) -> bool:
    """Make a member an admin or a member again (audited by the service); False when the
    member already has that role (nothing is changed or logged)."""
    membership = service.open_membership(resident_id, organization_id)
    if membership is not None and membership.role == role:
        return False
    service.set_member_role(organization_id, resident_id, role, staff_id=staff_id)
    return True


def nicknames(resident_ids: set[int]) -> dict[int, str | None]:
    if not resident_ids:
        return {}
    rows = db.session.execute(
        select(Resident.id, Resident.nickname).where(Resident.id.in_(resident_ids))
    )
    return {resident_id: nickname for resident_id, nickname in rows}


def ended_memberships(organization_id: int, limit: int = HISTORY_LIMIT) -> list[Membership]:
    """The latest ended memberships (left, removed...), most recently ended first."""
    return list(
        db.session.scalars(
            select(Membership)
            .where(Membership.organization_id == organization_id, Membership.left_at.is_not(None))
            .order_by(Membership.left_at.desc(), Membership.id.desc())
            .limit(limit)
        )
    )
