"""Finding, creating and updating residents."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, literal, select
from sqlalchemy.exc import IntegrityError

from backend.audit import service as audit
from backend.clock import utcnow
from backend.db import Base
from backend.districts.service import get_district
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents import tombstones
from backend.residents.models import Resident
from backend.residents.phone import (
    InvalidPhone,
    encrypt_phone,
    mask_phone,
    normalise_phone,
    phone_hmac,
)


def _find_or_create(column, value: str, make: Callable[[], Resident]) -> Resident:
    session = db.session
    resident = session.scalar(select(Resident).where(column == value))
    if resident is not None:
        return resident
    # Two first sign-ins of the same person can race: the unique key decides. The loser's
    # savepoint takes its copy of a deleted account's limits with it.
    try:
        with session.begin_nested():
            resident = make()
            session.add(resident)
            session.flush()
            tombstones.succeed(value, resident, utcnow())
    except IntegrityError:
        resident = session.scalar(select(Resident).where(column == value))
        if resident is None:
            raise
    return resident


def find_by_phone(phone: str) -> Resident | None:
    return db.session.scalar(select(Resident).where(Resident.phone_hmac == phone_hmac(phone)))


def find_by_wechat(openid_hmac: str) -> Resident | None:
    return db.session.scalar(select(Resident).where(Resident.wechat_openid_hmac == openid_hmac))


# Rows that say how a resident signs in, not what they did: an account holding only these
# is still empty (a phone's resident may take its WeChat identity over).
SIGN_IN_TABLES = frozenset({"resident_session", "resident_consent", "resident_tombstone"})


def holds_data(resident_id: int) -> bool:
    """Whether anything but sign-in state refers to the resident: an action, a ledger entry,
    a photo, an enrolment, a check-in, a badge, a redemption, a partner link, a limit taken
    over from a deleted account... Read from the schema (every foreign key to `resident`),
    so that a table added later counts without being listed here."""
    for table in Base.metadata.sorted_tables:
        if table.name in SIGN_IN_TABLES:
            continue
        for column in table.columns:
            if any(key.column.table.name == "resident" for key in column.foreign_keys):
                found = db.session.execute(
                    select(literal(1)).select_from(table).where(column == resident_id).limit(1)
                ).first()
                if found is not None:
                    return True
    return False


def find_or_create_by_phone(phone: str) -> Resident:
    digest = phone_hmac(phone)
    return _find_or_create(
        Resident.phone_hmac,
        digest,
        lambda: Resident(
            phone_hmac=digest, phone_encrypted=encrypt_phone(phone), phone_masked=mask_phone(phone)
        ),
    )


def find_or_create_by_wechat(openid_hmac: str) -> Resident:
    return _find_or_create(
        Resident.wechat_openid_hmac,
        openid_hmac,
        lambda: Resident(wechat_openid_hmac=openid_hmac),
    )


def ensure_may_sign_in(resident: Resident) -> None:
    if resident.guardian_id is not None:
        # A child has no identity to sign in with; should a token ever name one, it is
        # refused here, on every request and refresh (campaigns.organizations.children).
        raise Forbidden(_l("A child takes part through their guardian."), code="child_account")
    if resident.status != "active":
        raise Forbidden(_l("This account is suspended."), code="account_suspended")


def bind_phone(resident: Resident, phone: str) -> Resident:
    """Give a resident without a phone this (free) phone; if a deleted account of the phone
    left a tombstone, the resident takes its limits over, as a sign-up would."""
    digest = phone_hmac(phone)
    try:
        with db.session.begin_nested():
            resident.phone_hmac = digest
            resident.phone_encrypted = encrypt_phone(phone)
            resident.phone_masked = mask_phone(phone)
            db.session.flush()
            tombstones.succeed(digest, resident, utcnow())
    except IntegrityError:  # another account took the phone meanwhile
        db.session.refresh(resident)
        raise phone_in_use() from None
    return resident


def phone_in_use() -> Conflict:
    return Conflict(
        _l("This phone already belongs to an account with its own data."), code="phone_in_use"
    )


def join_wechat_to(empty: Resident, target: Resident) -> None:
    """Move the WeChat identity of an empty account onto `target` and close the empty one
    (it held nothing: no tombstone). Audited without naming the phone."""
    openid = empty.wechat_openid_hmac
    empty.wechat_openid_hmac = None
    db.session.flush()
    target.wechat_openid_hmac = openid
    pseudonymise(empty)
    audit.record(
        "resident.join_wechat",
        "resident",
        target.id,
        {"wechat_linked": False},
        {"wechat_linked": True, "closed_resident_id": empty.id},
    )


def update_profile(resident: Resident, changes: dict[str, Any]) -> Resident:
    district_code = changes.get("district_code")
    if district_code is not None and get_district(district_code) is None:
        raise ValidationFailed(fields={"district_code": [_l("Unknown district.")]})
    for name in ("nickname", "district_code", "community"):
        if name in changes:
            setattr(resident, name, changes[name] or None)
    db.session.flush()
    return resident


# --- staff: look-up, suspension ---------------------------------------------------------

_MASKED_PHONE = re.compile(r"^1\d{2}\*{4}\d{4}$")


@dataclass(frozen=True)
class ResidentSearch:
    query: Select
    shown: str  # the text as a page may show it again: a full number only masked
    by_phone: bool  # a full number, matched through its HMAC: one resident at most


def search_residents(text: str) -> ResidentSearch:
    """Residents by masked phone ("138****1234", exact), by full phone number (normalised
    and matched through the HMAC, never stored or shown), or by nickname (a substring)."""
    text = (text or "").strip()
    query = select(Resident)
    if not text:
        return ResidentSearch(query, "", False)
    if _MASKED_PHONE.match(text):
        return ResidentSearch(query.where(Resident.phone_masked == text), text, False)
    try:
        phone = normalise_phone(text)
    except InvalidPhone:
        nickname = func.lower(Resident.nickname)
        return ResidentSearch(
            query.where(nickname.contains(text.lower(), autoescape=True)), text, False
        )
    return ResidentSearch(
        query.where(Resident.phone_hmac == phone_hmac(phone)), mask_phone(phone), True
    )


def get_resident(resident_id: int) -> Resident:
    resident = db.session.get(Resident, resident_id)
    if resident is None:
        raise NotFound(_l("No such resident."))
    return resident


STATUS_REASON_MAX_LENGTH = 200


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            _l("Give the reason for this change."),
            code="reason_required",
            fields={"reason": [_l("Give the reason for this change.")]},
        )
    if len(reason) > STATUS_REASON_MAX_LENGTH:
        raise ValidationFailed(
            fields={
                "reason": [_l("At most %(count)s characters.", count=STATUS_REASON_MAX_LENGTH)]
            },
            code="reason_too_long",
        )
    return reason


def _set_status(resident_id: int, status: str, action: str, reason: str | None) -> Resident:
    """The log keeps the status and the staff member's reason alone: a resident's name and
    number stay out of it, and out of reach once the account is deleted."""
    reason = _reason(reason)
    resident = get_resident(resident_id)
    if resident.status == "deleted":
        raise Conflict(_l("This resident's account is deleted."), code="resident_deleted")
    before = resident.status
    resident.status = status
    db.session.flush()
    if status != before:
        after = {"status": status, "reason": reason}
        audit.record(action, "resident", resident.id, {"status": before}, after)
    return resident


def suspend_resident(resident_id: int, reason: str | None) -> Resident:
    """Suspend, for a reason the log keeps: sign-in is refused and every token of the
    resident stops working at once (`ensure_may_sign_in` runs on each request), until the
    account is restored."""
    return _set_status(resident_id, "suspended", "resident.suspend", reason)


def restore_resident(resident_id: int, reason: str | None) -> Resident:
    return _set_status(resident_id, "active", "resident.restore", reason)


def pseudonymise(resident: Resident) -> str | None:
    """Remove what identifies a person, irreversibly; the row (and the ledger, actions and
    aggregates that refer to it) stays. Returns the phone HMAC it had, for cleaning up."""
    phone_digest = resident.phone_hmac
    resident.phone_hmac = resident.phone_encrypted = resident.phone_masked = None
    resident.wechat_openid_hmac = None
    resident.nickname = resident.community = None
    resident.status = "deleted"
    db.session.flush()
    return phone_digest
