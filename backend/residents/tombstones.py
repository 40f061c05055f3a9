"""Tombstones: a deleted account's keyed identity hashes and the limits it had used, kept
only as long as those limits last, so that signing up again starts where it stood.

Nothing here names a person: a tombstone holds the HMAC sign-in already looks residents
up by (`PHONE_HMAC_KEY`), the deleted resident's internal id and a date; kept limits hold
counts. The link from a new account to the deleted one is never written anywhere else
(no audit entry): it lives in the tombstone, which goes when it is used or expires.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import case, delete, func, insert, select

from backend.extensions import db
from backend.residents.models import KeptLimit, Resident, ResidentTombstone

# (deleted resident id, new resident id, now): copies what a package keeps for itself
# (the day's points under the caps) from a deleted account to its successor.
Carrier = Callable[[int, int, datetime], None]


@dataclass(frozen=True)
class Kept:
    """One limit use to keep after deletion (see KeptLimit), until `keep_until`."""

    kind: str
    subject: str
    used: int
    keep_until: datetime


def register_carrier(app: Flask, name: str, carrier: Carrier) -> None:
    """A package's `init_app` registers what it copies to a successor account."""
    app.extensions.setdefault("tombstone_carriers", {})[name] = carrier


def ceiling(now: datetime) -> datetime:
    """No tombstone, and nothing it keeps, outlives this (TOMBSTONE_MAX_DAYS)."""
    return now + timedelta(days=current_app.config["TOMBSTONE_MAX_DAYS"])


def lay(resident: Resident, kept: list[Kept], other_until: datetime | None, now: datetime):
    """Leave tombstones of the resident's identities (before they are erased) holding
    `kept` and what the resident had itself taken over, until the last of them and
    `other_until` (limits kept by their package, the day's caps) end. Nothing to keep,
    no tombstone. Returns the tombstones' keep_until, or None."""
    limit = ceiling(now)
    merged: dict[tuple[str, str], Kept] = {}
    carried = db.session.scalars(
        select(KeptLimit).where(KeptLimit.resident_id == resident.id, KeptLimit.keep_until > now)
    )
    for item in [*kept, *(Kept(k.kind, k.subject, k.used, k.keep_until) for k in carried)]:
        key = (item.kind, item.subject)
        before = merged.get(key)
        if before is not None:
            item = Kept(
                item.kind,
                item.subject,
                before.used + item.used,
                max(before.keep_until, item.keep_until),
            )
        merged[key] = item
    rows = [
        {
            "resident_id": resident.id,
            "kind": item.kind,
            "subject": item.subject,
            "used": item.used,
            "keep_until": min(item.keep_until, limit),
        }
        for item in merged.values()
        if item.used > 0 and item.keep_until > now
    ]
    db.session.execute(delete(KeptLimit).where(KeptLimit.resident_id == resident.id))
    if rows:
        db.session.execute(insert(KeptLimit), rows)
    ends = [row["keep_until"] for row in rows]
    if other_until is not None and other_until > now:
        ends.append(min(other_until, limit))
    identities = [h for h in (resident.phone_hmac, resident.wechat_openid_hmac) if h]
    if not ends or not identities:
        db.session.execute(delete(KeptLimit).where(KeptLimit.resident_id == resident.id))
        return None
    keep_until = max(ends)
    for identity in identities:
        statement = db.upsert(ResidentTombstone).values(
            identity_hmac=identity, resident_id=resident.id, created_at=now, keep_until=keep_until
        )
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[ResidentTombstone.identity_hmac],
                set_={"resident_id": resident.id, "created_at": now, "keep_until": keep_until},
            )
        )
    db.session.flush()
    return keep_until


def succeed(identity_hmac: str, resident: Resident, now: datetime) -> int | None:
    """A new resident signed up with `identity_hmac` (or a resident bound it): if a live
    tombstone holds it, the resident takes over the deleted account's kept limits and what
    the packages carry, and the tombstone is used up. In the caller's transaction (the
    resident's creation: a lost race on the identity rolls this back with it). The deleted
    id, or None."""
    tombstone = db.session.get(ResidentTombstone, identity_hmac)
    if tombstone is None or tombstone.keep_until <= now:
        return None
    predecessor = tombstone.resident_id
    rows = [
        {
            "resident_id": resident.id,
            "kind": kept.kind,
            "subject": kept.subject,
            "used": kept.used,
            "keep_until": kept.keep_until,
        }
        for kept in db.session.scalars(
            select(KeptLimit).where(
                KeptLimit.resident_id == predecessor, KeptLimit.keep_until > now
            )
        )
    ]
    if rows:
        # A resident binding a phone may already hold limits of its own: the uses add up.
        statement = db.upsert(KeptLimit)
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=[KeptLimit.resident_id, KeptLimit.kind, KeptLimit.subject],
                set_={
                    "used": KeptLimit.used + statement.excluded.used,
                    "keep_until": case(
                        (
                            statement.excluded.keep_until > KeptLimit.keep_until,
                            statement.excluded.keep_until,
                        ),
                        else_=KeptLimit.keep_until,
                    ),
                },
            ),
            rows,
        )
    for carrier in current_app.extensions.get("tombstone_carriers", {}).values():
        carrier(predecessor, resident.id, now)
    db.session.execute(
        delete(ResidentTombstone).where(ResidentTombstone.identity_hmac == identity_hmac)
    )
    db.session.flush()
    return predecessor


def kept_used(resident_id: int, kind: str, subject: str) -> int:
    """How often the resident's predecessors used this limit (0 for most residents)."""
    return db.session.scalar(
        select(func.coalesce(func.sum(KeptLimit.used), 0)).where(
            KeptLimit.resident_id == resident_id,
            KeptLimit.kind == kind,
            KeptLimit.subject == subject,
        )
    )


def kept_subjects(resident_ids: list[int], kind: str) -> set[tuple[int, str]]:
    """(resident, subject) pairs of a kind that the residents took over."""
    if not resident_ids:
        return set()
    return set(
        db.session.execute(
            select(KeptLimit.resident_id, KeptLimit.subject).where(
                KeptLimit.resident_id.in_(resident_ids), KeptLimit.kind == kind
            )
        ).all()
    )


def forget_expired(now: datetime) -> dict[str, int]:
    """Delete tombstones and kept limits past their time, and the kept limits of deleted
    accounts no tombstone leads to any more (both identities used up)."""
    tombstones = db.session.execute(
        delete(ResidentTombstone).where(ResidentTombstone.keep_until <= now)
    ).rowcount
    expired = db.session.execute(delete(KeptLimit).where(KeptLimit.keep_until <= now)).rowcount
    orphaned = db.session.execute(
        delete(KeptLimit).where(
            KeptLimit.resident_id.in_(select(Resident.id).where(Resident.status == "deleted")),
            KeptLimit.resident_id.not_in(select(ResidentTombstone.resident_id)),
        )
    ).rowcount
    return {"tombstones": tombstones, "kept limits": expired + orphaned}
