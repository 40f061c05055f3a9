"""Partner batches: verify the signature, check every event, record them in groups.

One bad event never sinks the batch: each gets its own result. The events that pass the
checks are recorded together (`actions.record_verified`: caps, actions, ledger entries and
balances in a few statements), `PARTNER_EVENTS_PER_TRANSACTION` per transaction, each
committed by `db.committed_now`, so a batch holds SQLite's write lock for one group at a
time and takes PostgreSQL's row locks in one order (caps, then accounts, by resident).
What the approvals derive (campaigns, badges, leaderboards, statistics) is applied by the
worker from the outbox.

A fault (an unexpected error) fails the batch at that group: the groups before it are kept
whole, nothing of it is, and resending the batch is safe, since a resent event id is a
duplicate ((partner, event id) is a unique key).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace

import marshmallow as ma
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend import encryption
from backend.clock import utcnow
from backend.errors import AppError, NotFound, Unauthorized
from backend.extensions import db
from backend.residents.models import Resident
from backend.residents.phone import InvalidPhone, normalise_phone, phone_hmac
from points.actions import service as actions
from points.actions.kinds import KINDS, kind_of
from points.partner.models import PartnerClient, PartnerEvent, PartnerResidentLink


class PartnerError(ValueError):
    """A partner management command cannot be carried out."""


# --- management -------------------------------------------------------------------------


def create_partner(name: str, allowed: list[str]) -> tuple[PartnerClient, str]:
    """A new partner with a fresh key and secret; the secret is returned only now."""
    for entry in allowed:
        if entry.split(":", 1)[0] not in KINDS:
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
    index: int | None = None  # the event's position in the batch


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
    external_ids: set[str]  # references that are no phone number: partner ids


def _usable(value: object) -> bool:
    # No text column holds NUL (PostgreSQL refuses it even as a parameter).
    return isinstance(value, str) and "\x00" not in value


def _look_up(partner: PartnerClient, events: list) -> _Known:
    sent = [event for event in events if isinstance(event, dict)]
    event_ids = {e.get("event_id") for e in sent if _usable(e.get("event_id"))}
    recorded = _recorded(partner, event_ids)
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
            PartnerResidentLink.confirmed_at.is_not(None),
        )
    )
    residents.update(linked.all())
    return _Known(recorded, residents, external_ids)


def _check_event(partner: PartnerClient, event: object, known: _Known, first: dict[str, int]):
    """The event's result if it is decided without recording it, else (its id, resident, body).

    `first` holds the ids of this batch's earlier events that are to be recorded: a repeat
    of one is a duplicate (whose action is filled in once the first is recorded).
    """
    if not isinstance(event, dict):
        return _rejected(None, "event_not_object", _l("Each event must be a JSON object."))
    event_id = event.get("event_id")
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
    if event_id in first:
        return EventResult(event_id, "duplicate")
    reference = event.get("resident")
    body = {k: v for k, v in event.items() if k not in ("event_id", "resident")}
    kind = kind_of(body)
    if kind is None or not kind.partner_reportable:
        return _rejected(
            event_id,
            "validation_error",
            _l("Some fields are not valid."),
            {"type": [_l("Not an action type partners can report.")]},
        )
    try:
        parsed = kind.schema().load(body)
    except ma.ValidationError as exc:
        return _rejected(
            event_id, "validation_error", _l("Some fields are not valid."), exc.messages
        )
    if not _allows(partner, parsed):
        return _rejected(
            event_id, "type_not_allowed", _l("This partner may not report this action.")
        )
    resident = known.residents.get(reference) if _usable(reference) else None
    if resident is None and _usable(reference) and reference in known.external_ids:
        return _rejected(
            event_id,
            "partner_link_unconfirmed",
            _l("No resident has confirmed a link to this partner account."),
        )
    if resident is None or resident.status != "active":
        return _rejected(event_id, "resident_unknown", _l("No active resident matches this event."))
    return event_id, resident, parsed


def _recorded(partner: PartnerClient, event_ids: list[str]) -> dict[str, int]:
    return dict(
        db.session.execute(
            select(PartnerEvent.event_id, PartnerEvent.action_id).where(
                PartnerEvent.partner_id == partner.id, PartnerEvent.event_id.in_(event_ids)
            )
        ).all()
    )


def _record(partner: PartnerClient, chunk: list[tuple[int, str, Resident, dict]], results):
    """Record one transaction's events and commit; fill in their results."""
    try:
        with db.committed_now():
            _record_once(partner, chunk, results)
    except IntegrityError:
        recorded = _recorded(partner, [event_id for _, event_id, _, _ in chunk])
        if not recorded:
            # Not a concurrent copy of these events: another partner's event for the same
            # EV session, committed first. Recorded again, the group now finds that key
            # taken (a duplicate or outranked, event by event). Only a second collision,
            # a fault, fails the batch: nothing of this group is kept, the partner resends.
            with db.committed_now():
                _record_once(partner, chunk, results)
            return
        # A concurrent copy of some of these events was committed first: they are
        # duplicates, and the rest are recorded again.
        rest = []
        for index, event_id, resident, body in chunk:
            if event_id in recorded:
                results[index] = EventResult(event_id, "duplicate", action_id=recorded[event_id])
            else:
                rest.append((index, event_id, resident, body))
        with db.committed_now():
            _record_once(partner, rest, results)


def _record_once(partner: PartnerClient, chunk, results) -> None:
    outcomes = actions.record_verified(
        [(resident, body) for _, _, resident, body in chunk],
        source="partner",
        partner_id=partner.id,
    )
    for (index, event_id, _, _), outcome in zip(chunk, outcomes, strict=True):
        if isinstance(outcome, AppError):
            if outcome.code == "duplicate_action":
                results[index] = EventResult(event_id, "duplicate")
            else:
                results[index] = _rejected(event_id, outcome.code, outcome.message, outcome.fields)
            continue
        db.session.add(PartnerEvent(partner_id=partner.id, event_id=event_id, action_id=outcome.id))
        results[index] = EventResult(
            event_id, "accepted", outcome.id, outcome.co2e_g, outcome.points, outcome.capped
        )
    db.session.flush()


def ingest_batch(partner: PartnerClient, events: list) -> list[EventResult]:
    """Each event's result, in order: accepted, duplicate or rejected.

    Events are checked first, then recorded `PARTNER_EVENTS_PER_TRANSACTION` at a time
    (`actions.record_verified`), each group committed on its own. An event id repeated in
    the batch gets its first occurrence's verdict (a duplicate of its action if accepted).
    """
    known = _look_up(partner, events)
    results: list[EventResult | None] = [None] * len(events)
    candidates = []
    first: dict[str, int] = {}  # event id -> index of the event to record under it
    for index, event in enumerate(events):
        checked = _check_event(partner, event, known, first)
        if isinstance(checked, EventResult):
            results[index] = checked
        else:
            first[checked[0]] = index
            candidates.append((index, *checked))
    size = current_app.config["PARTNER_EVENTS_PER_TRANSACTION"]
    for start in range(0, len(candidates), size):
        _record(partner, candidates[start : start + size], results)
    for index, result in enumerate(results):
        recorder = first.get(result.event_id, index)
        if recorder != index and result.status == "duplicate" and result.action_id is None:
            # A repeat gets its first occurrence's verdict.
            earlier = results[recorder]
            if earlier.status == "accepted":
                result.action_id = earlier.action_id
            else:
                results[index] = replace(earlier)
    for index, result in enumerate(results):
        result.index = index
    return results


# --- residents' links -------------------------------------------------------------------


def partner_by_key(key: str) -> PartnerClient:
    partner = db.session.scalar(
        select(PartnerClient).where(PartnerClient.key == key, PartnerClient.active.is_(True))
    )
    if partner is None:
        raise NotFound(_l("No such partner."))
    return partner


def links_of(resident_id: int) -> list[PartnerResidentLink]:
    return list(
        db.session.scalars(
            select(PartnerResidentLink)
            .where(PartnerResidentLink.resident_id == resident_id)
            .order_by(PartnerResidentLink.id)
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
