"""Partner batches: verify the signature, then take each event on its own.

One bad event never sinks the batch: each gets its own result and is committed on its
own, like a resident's request. A batch therefore never holds the rows of many residents
and districts at once (which deadlocked against residents' own actions on PostgreSQL and
held SQLite's write lock for seconds). A fault (an unexpected error) fails the batch at
that event: the events before it are kept whole, nothing of it is, and resending the
batch is safe, since a resent event id is a duplicate ((partner, event id) is a unique
key).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

import marshmallow as ma
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend import encryption
from backend.clock import utcnow
from backend.errors import AppError, Conflict, NotFound, Unauthorized
from backend.extensions import db
from backend.residents.models import Resident
from backend.residents.phone import InvalidPhone, normalise_phone, phone_hmac
from points.actions import service as actions
from points.actions.schemas import BODIES, body_schema
from points.partner.models import PartnerClient, PartnerEvent, PartnerResidentLink


class PartnerError(ValueError):
    """A partner management command cannot be carried out."""


# --- management -------------------------------------------------------------------------


def create_partner(name: str, allowed: list[str]) -> tuple[PartnerClient, str]:
    """A new partner with a fresh key and secret; the secret is returned only now."""
    for entry in allowed:
        if entry.split(":", 1)[0] not in BODIES:
            raise PartnerError(f"unknown action type in {entry!r}")
    if not allowed:
        raise PartnerError("a partner must be allowed at least one action type")
    secret = secrets.token_urlsafe(32)
    partner = PartnerClient(
        name=name,
        key="pk_" + secrets.token_hex(12),
        secret_encrypted=encryption.encrypt(secret),
        allowed=sorted(set(allowed)),
    )
    db.session.add(partner)
    db.session.flush()
    return partner, secret


def revoke_partner(key: str) -> PartnerClient:
    partner = db.session.scalar(select(PartnerClient).where(PartnerClient.key == key))
    if partner is None:
        raise PartnerError(f"no partner with key {key}")
    if partner.active:  # revoking again keeps the first revocation's time
        partner.active = False
        partner.revoked_at = utcnow()
        db.session.flush()
    return partner


def get_partner(partner_id: int) -> PartnerClient:
    partner = db.session.get(PartnerClient, partner_id)
    if partner is None:
        raise NotFound(_l("No such partner."))
    return partner


def all_partners() -> list[PartnerClient]:
    """Every partner, revoked ones too, newest first."""
    return list(db.session.scalars(select(PartnerClient).order_by(PartnerClient.id.desc())))


def active_partners() -> list[PartnerClient]:
    return list(
        db.session.scalars(
            select(PartnerClient).where(PartnerClient.active.is_(True)).order_by(PartnerClient.id)
        )
    )


# --- signatures -------------------------------------------------------------------------


def signature_for(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_request(key: str | None, timestamp: str | None, signature: str | None, body: bytes):
    """The partner behind a correctly signed, fresh request; 401 otherwise."""
    partner = None
    if key:
        partner = db.session.scalar(
            select(PartnerClient).where(PartnerClient.key == key, PartnerClient.active.is_(True))
        )
    if partner is None:
        raise Unauthorized(_l("Unknown or revoked partner key."), code="partner_unknown")
    try:
        sent_at = int(timestamp or "")
    except ValueError:
        sent_at = None
    window = current_app.config["PARTNER_SIGNATURE_WINDOW_SECONDS"]
    if sent_at is None or abs(utcnow().timestamp() - sent_at) > window:
        raise Unauthorized(
            _l("X-Timestamp is missing or more than %(seconds)s seconds off.", seconds=window),
            code="timestamp_stale",
        )
    expected = signature_for(encryption.decrypt(partner.secret_encrypted), timestamp, body)
    if not signature or not hmac.compare_digest(expected, signature.strip().lower()):
        raise Unauthorized(_l("The signature does not match."), code="signature_invalid")
    return partner


# --- events -----------------------------------------------------------------------------


@dataclass
class EventResult:
    event_id: str | None
    status: str  # accepted | duplicate | rejected
    action_id: int | None = None
    co2e_g: int | None = None
    points: int | None = None
    capped: bool | None = None
    error: dict | None = field(default=None)


def _rejected(event_id, code: str, message, fields=None) -> EventResult:
    error = {"code": code, "message": str(message), "fields": fields or {}}
    return EventResult(event_id, "rejected", error=error)


def _allows(partner: PartnerClient, body: dict) -> bool:
    variant = body.get("mode") or body.get("category")
    return body["type"] in partner.allowed or f"{body['type']}:{variant}" in partner.allowed


@dataclass
class _Known:
    """What a batch looks up once for all its events, instead of two reads per event."""

    recorded: dict[str, int | None]  # event id -> its action, for events already recorded
    residents: dict[str, Resident]  # reference (phone number or partner id) -> resident


def _usable(value: object) -> bool:
    # No text column holds NUL (PostgreSQL refuses it even as a parameter).
    return isinstance(value, str) and "\x00" not in value


def _look_up(partner: PartnerClient, events: list) -> _Known:
    sent = [event for event in events if isinstance(event, dict)]
    event_ids = {e.get("event_id") for e in sent if _usable(e.get("event_id"))}
    recorded = dict(
        db.session.execute(
            select(PartnerEvent.event_id, PartnerEvent.action_id).where(
                PartnerEvent.partner_id == partner.id, PartnerEvent.event_id.in_(event_ids)
            )
        ).all()
    )
    by_digest: dict[str, list[str]] = {}
    external_ids = set()
    for reference in {e.get("resident") for e in sent if _usable(e.get("resident"))}:
        try:
            by_digest.setdefault(phone_hmac(normalise_phone(reference)), []).append(reference)
        except InvalidPhone:
            external_ids.add(reference)
    residents = {}
    for resident in db.session.scalars(select(Resident).where(Resident.phone_hmac.in_(by_digest))):
        residents.update(dict.fromkeys(by_digest[resident.phone_hmac], resident))
    linked = db.session.execute(
        select(PartnerResidentLink.external_id, Resident)
        .join(Resident, PartnerResidentLink.resident_id == Resident.id)
        .where(
            PartnerResidentLink.partner_id == partner.id,
            PartnerResidentLink.external_id.in_(external_ids),
        )
    )
    residents.update(linked.all())
    return _Known(recorded, residents)


def _recorded_event(partner: PartnerClient, event_id: str) -> PartnerEvent | None:
    return db.session.scalar(
        select(PartnerEvent).where(
            PartnerEvent.partner_id == partner.id, PartnerEvent.event_id == event_id
        )
    )


def _ingest_event(partner: PartnerClient, event: dict, known: _Known) -> EventResult:
    event_id = event.get("event_id") if isinstance(event, dict) else None
    if not isinstance(event_id, str) or not 1 <= len(event_id) <= 64:
        return _rejected(
            None,
            "validation_error",
            _l("Some fields are not valid."),
            {"event_id": [_l("1 to 64 characters.")]},
        )
    if "\x00" in event_id:  # no text column holds NUL (PostgreSQL refuses it)
        return _rejected(
            None,
            "validation_error",
            _l("Some fields are not valid."),
            {"event_id": [_l("Must not contain the NUL character.")]},
        )
    if event_id in known.recorded:
        return EventResult(event_id, "duplicate", action_id=known.recorded[event_id])
    reference = event.get("resident")
    body = {k: v for k, v in event.items() if k not in ("event_id", "resident")}
    schema = body_schema(body)
    if schema is None or body["type"] == "clean_plate":
        # Clean Plate needs a resident's own photo: partners cannot send it.
        return _rejected(
            event_id,
            "validation_error",
            _l("Some fields are not valid."),
            {"type": [_l("Not an action type partners can report.")]},
        )
    try:
        parsed = schema().load(body)
    except ma.ValidationError as exc:
        return _rejected(
            event_id, "validation_error", _l("Some fields are not valid."), exc.messages
        )
    if not _allows(partner, parsed):
        return _rejected(
            event_id, "type_not_allowed", _l("This partner may not report this action.")
        )
    resident = known.residents.get(reference) if _usable(reference) else None
    if resident is None or resident.status != "active":
        return _rejected(event_id, "resident_unknown", _l("No active resident matches this event."))
    # The event is its own transaction (`ingest_batch` commits after each): a refusal rolls
    # back what the event wrote, without a savepoint.
    try:
        action = actions.record_action(resident, parsed, source="partner", partner_id=partner.id)
        db.session.add(PartnerEvent(partner_id=partner.id, event_id=event_id, action_id=action.id))
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        # A copy of this event recorded concurrently is a duplicate. Any other constraint
        # failing is a fault, not a verdict on the event: the batch fails (5xx, nothing
        # kept) and the partner resends it, instead of the event being dropped as seen.
        earlier = _recorded_event(partner, event_id)
        if earlier is None:
            raise
        return EventResult(event_id, "duplicate", action_id=earlier.action_id)
    except AppError as exc:
        db.session.rollback()
        if exc.code == "duplicate_action":
            return EventResult(event_id, "duplicate")
        return _rejected(event_id, exc.code, exc.message, exc.fields)
    known.recorded[event_id] = action.id  # the same id again in this batch is a duplicate
    return EventResult(event_id, "accepted", action.id, action.co2e_g, action.points, action.capped)


def ingest_batch(partner: PartnerClient, events: list) -> list[EventResult]:
    known = _look_up(partner, events)
    results = []
    for event in events:
        results.append(_ingest_event(partner, event, known))
        db.session.commit()
    return results


# --- residents' links -------------------------------------------------------------------


def partner_by_key(key: str) -> PartnerClient:
    partner = db.session.scalar(
        select(PartnerClient).where(PartnerClient.key == key, PartnerClient.active.is_(True))
    )
    if partner is None:
        raise NotFound(_l("No such partner."))
    return partner


def link_resident(resident_id: int, partner_key: str, external_id: str) -> PartnerResidentLink:
    partner = partner_by_key(partner_key)
    existing = db.session.scalar(
        select(PartnerResidentLink).where(
            PartnerResidentLink.partner_id == partner.id,
            (PartnerResidentLink.external_id == external_id)
            | (PartnerResidentLink.resident_id == resident_id),
        )
    )
    if existing is not None:
        raise Conflict(
            _l("This partner account, or your account at this partner, is already linked."),
            code="partner_link_exists",
        )
    link = PartnerResidentLink(
        partner_id=partner.id, external_id=external_id, resident_id=resident_id
    )
    try:
        with db.session.begin_nested():
            db.session.add(link)
    except IntegrityError as exc:
        raise Conflict(
            _l("This partner account, or your account at this partner, is already linked."),
            code="partner_link_exists",
        ) from exc
    return link


def links_of(resident_id: int) -> list[PartnerResidentLink]:
    return list(
        db.session.scalars(
            select(PartnerResidentLink).where(PartnerResidentLink.resident_id == resident_id)
        )
    )


def unlink(resident_id: int, link_id: int) -> None:
    link = db.session.get(PartnerResidentLink, link_id)
    if link is None or link.resident_id != resident_id:
        raise NotFound()
    db.session.delete(link)
    db.session.flush()


def unlink_all(resident_id: int) -> None:
    for link in links_of(resident_id):
        db.session.delete(link)
    db.session.flush()
