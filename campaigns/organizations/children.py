"""Children under 14 (PIPL art. 31): they take part only through a guardian's household.

A child is a resident row with a `guardian_id` and no sign-in identity (a database check),
so no sign-in path can find one, and `residents.ensure_may_sign_in` refuses one anyway.
The guardian, a member of a household, adds the child with a nickname alone (adding them
is the guardian's word that the child is under 14: no age, birth date or school is asked);
the child becomes a member of the guardian's household and counts against its size. The
guardian records the child's actions under the same rules as their own, with their own
consents (a trace needs the guardian's location consent), sees them, exports them with
their own data and can erase them at any time; erasing the guardian's account erases the
children's data too. A child is never on a public board (campaigns.leaderboards), and is
a member of no school, community, employer or agency: their families are.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from backend.clock import utcnow
from backend.consent import service as consent
from backend.consent.models import ResidentConsent
from backend.errors import Conflict, NotFound
from backend.extensions import db
from backend.residents import service as residents
from backend.residents.models import Resident
from campaigns.organizations import service as organizations
from campaigns.organizations.models import Membership
from points.actions import service as actions
from points.actions.models import Action
from points.photos import service as photos
from points.photos.models import Photo
from points.rewards import service as rewards

HOUSEHOLD = "household"


def _household_of(resident_id: int) -> Membership | None:
    return db.session.scalar(
        select(Membership).where(
            Membership.resident_id == resident_id,
            Membership.kind == HOUSEHOLD,
            Membership.left_at.is_(None),
        )
    )


def _guardians_household(guardian: Resident) -> Membership:
    membership = _household_of(guardian.id)
    if membership is None:
        raise Conflict(
            _l("Make or join a household first: children take part through it."),
            code="household_required",
        )
    return membership


def children_of(guardian_id: int) -> list[Resident]:
    """The guardian's children whose data is not erased, oldest first."""
    return list(
        db.session.scalars(
            select(Resident)
            .where(Resident.guardian_id == guardian_id, Resident.status != "deleted")
            .order_by(Resident.id)
        )
    )


def child_of(guardian: Resident, child_id: int) -> Resident:
    """The guardian's own child; anyone else's (or anyone who is no child) is the same 404."""
    child = db.session.get(Resident, child_id)
    if child is None or child.guardian_id != guardian.id or child.status == "deleted":
        raise NotFound(_l("No such child."), code="child_not_found")
    return child


def add_child(guardian: Resident, nickname: str) -> Resident:
    """The guardian adds a child under 14 to their household, by nickname alone. The
    guardian's acceptance of the privacy notice is recorded as covering the child."""
    household = _guardians_household(guardian)
    limit = current_app.config["CHILDREN_MAX_PER_GUARDIAN"]
    count = db.session.scalar(
        select(func.count())
        .select_from(Resident)
        .where(Resident.guardian_id == guardian.id, Resident.status != "deleted")
    )
    if count >= limit:
        raise Conflict(
            _l("You can add at most %(count)s children.", count=limit), code="too_many_children"
        )
    now = utcnow()
    child = Resident(
        nickname=nickname,
        guardian_id=guardian.id,
        district_code=guardian.district_code,
        created_at=now,
    )
    db.session.add(child)
    db.session.flush()
    # Counted against the household's size: refused (and the child not made) when full.
    organizations.add_member(household.organization, child.id, role="member", now=now)
    # The guardian's acceptance of the notice covers the child: recorded for the child too.
    # (Location is the guardian's own consent, asked whenever a child's trace is sent.)
    accepted = consent.state(guardian.id).privacy
    if accepted is not None:
        db.session.add(
            ResidentConsent(
                resident_id=child.id, scope="privacy", version=accepted.version, accepted_at=now
            )
        )
    db.session.flush()
    return child


def household_id(child: Resident) -> int | None:
    membership = _household_of(child.id)
    return membership.organization_id if membership else None


def _with_guardian(guardian: Resident, child: Resident) -> None:
    """The child belongs to the guardian's current household. Leaving one takes the
    children along (`service.end_membership`); joining another brings them here, the
    next time the guardian records for them."""
    household = _guardians_household(guardian)
    current = _household_of(child.id)
    if current is not None and current.organization_id == household.organization_id:
        return
    if current is not None:
        organizations.end_membership(current, "left", by_resident_id=guardian.id)
    organizations.add_member(household.organization, child.id, role="member", now=utcnow())


def record_for(guardian: Resident, child_id: int, body: dict) -> Action:
    """The guardian records the child's action: the rules of the resident's own, with the
    guardian's consents (and photos)."""
    child = child_of(guardian, child_id)
    _with_guardian(guardian, child)
    return actions.record_action(child, body, guardian=guardian)


def erase_child(child: Resident) -> None:
    """Erase a child's data as an account deletion erases a resident's: nickname, evidence
    photos, traces; the actions and ledger stay under a number that leads to nobody (the
    row keeps its guardian link, so it never signs in nor appears on a board)."""
    membership = _household_of(child.id)
    if membership is not None:
        organizations.end_membership(membership, "deleted")
    rewards.void_codes_of(child.id)
    # The evidence photos of the child's actions (uploaded by the guardian) go too.
    evidence = select(Action.photo_id).where(
        Action.resident_id == child.id, Action.photo_id.is_not(None)
    )
    for photo in db.session.scalars(select(Photo).where(Photo.id.in_(evidence))):
        photos.erase(photo)
    photos.erase_photos_of(child.id)
    actions.erase_traces_of(child.id)
    residents.pseudonymise(child)


def delete_child(guardian: Resident, child_id: int) -> None:
    erase_child(child_of(guardian, child_id))


def erase_children_of(guardian: Resident) -> None:
    """The guardian's account is being deleted: their children's data goes with it."""
    for child in children_of(guardian.id):
        erase_child(child)
