"""Proven links between residents and their partner accounts (DESIGN section 5, "Account
links"): the resident asks for a short single-use code, enters it in the partner's own app,
and the partner confirms it with a signed call naming the account. Only confirmed links
route events (`service._look_up`); nobody can claim an account by typing its number.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.audit import service as audit
from backend.clock import utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from points.partner.models import PartnerClient, PartnerResidentLink
from points.partner.service import partner_by_key

# Letters and digits a resident cannot misread when typing the code in another app.
LINK_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
LINK_CODE_LENGTH = 8


def _link_code_hash(partner_id: int, code: str) -> str:
    """A keyed hash: a short code must not be found again from a copy of the database."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"partner-link:{partner_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


@dataclass(frozen=True)
class LinkCode:
    """A link code as the resident is told it, once: never stored in the clear."""

    link: PartnerResidentLink
    link_code: str
    expires_in: int


def request_link_code(
    resident_id: int, partner_key: str, external_id: str | None = None
) -> LinkCode:
    """A new code the resident enters in the partner's app to prove the account is theirs.

    One open code per resident and partner: asking again replaces the code (the earlier
    one no longer confirms anything). Refused while the resident has a confirmed link at
    this partner (unlink it first). Typing an external id is refused: it proved nothing.
    """
    if external_id is not None:
        raise ValidationFailed(
            _l(
                "Partner accounts are linked with a link code now: ask for a code and enter "
                "it in the partner's app."
            ),
            code="partner_link_code_required",
            fields={"external_id": [_l("Not accepted: use a link code.")]},
        )
    partner = partner_by_key(partner_key)
    link = db.session.scalar(
        select(PartnerResidentLink)
        .where(
            PartnerResidentLink.partner_id == partner.id,
            PartnerResidentLink.resident_id == resident_id,
        )
        .with_for_update()
    )
    if link is not None and link.confirmed_at is not None:
        raise Conflict(
            _l("Your account at this partner is already linked; unlink it first."),
            code="partner_link_exists",
        )
    code = "".join(secrets.choice(LINK_CODE_ALPHABET) for _ in range(LINK_CODE_LENGTH))
    ttl = current_app.config["PARTNER_LINK_CODE_TTL_SECONDS"]
    now = utcnow()
    fresh = {"code_hash": _link_code_hash(partner.id, code), "created_at": now}
    fresh["code_expires_at"] = now + timedelta(seconds=ttl)
    if link is None:
        link = PartnerResidentLink(partner_id=partner.id, resident_id=resident_id, **fresh)
        try:
            with db.session.begin_nested():
                db.session.add(link)
        except IntegrityError as exc:  # a concurrent request of this resident won
            raise Conflict(
                _l("A link code for this partner was just issued; try again."),
                code="partner_link_code_race",
            ) from exc
    else:
        for name, value in fresh.items():
            setattr(link, name, value)
        db.session.flush()
    return LinkCode(link, code, ttl)


def confirm_link(partner: PartnerClient, link_code: str, external_id: str) -> PartnerResidentLink:
    """The partner, where the resident is signed in, confirms the code for the account.

    Confirming the same code for the same account again gives the same link (a retry);
    a code unknown to this partner is 404, an expired or used one 422, and an account
    already linked to another resident 409.
    """
    link = db.session.scalar(
        select(PartnerResidentLink)
        .where(
            PartnerResidentLink.partner_id == partner.id,
            PartnerResidentLink.code_hash
            == _link_code_hash(partner.id, _normalise_code(link_code)),
        )
        .with_for_update()
    )
    if link is None:
        raise NotFound(_l("No such link code at this partner."), code="link_code_unknown")
    if link.confirmed_at is not None:
        if link.external_id == external_id:
            return link
        raise ValidationFailed(_l("This link code was already used."), code="link_code_used")
    if link.code_expires_at <= utcnow():
        raise ValidationFailed(
            _l("This link code has expired; the resident can ask for a new one."),
            code="link_code_expired",
        )
    taken = db.session.scalar(
        select(PartnerResidentLink.id).where(
            PartnerResidentLink.partner_id == partner.id,
            PartnerResidentLink.external_id == external_id,
        )
    )
    already = Conflict(
        _l("This partner account is already linked to another resident."),
        code="partner_link_exists",
    )
    if taken is not None:
        raise already
    before = _link_record(link)
    link.external_id = external_id
    link.confirmed_at = utcnow()
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:  # another code confirmed the same account first
        raise already from exc
    audit.record(
        "partner_link.confirm", "partner_resident_link", link.id, before, _link_record(link)
    )
    return link


def _link_record(link: PartnerResidentLink) -> dict:
    """What the audit log keeps of a link: never its code's hash."""
    return {
        "partner_id": link.partner_id,
        "resident_id": link.resident_id,
        "external_id": link.external_id,
        "confirmed_at": audit.plain(link.confirmed_at),
    }
