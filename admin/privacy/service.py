"""Export and deletion of a resident's data, and the retention job.

Deletion removes or irreversibly pseudonymises what identifies a person (phone, openid,
nickname, community, photos, GPS traces, partner links, sign-in codes and sessions), ends
their memberships of organisations ("deleted": the history stays) and keeps the
rows money and statistics stand on: actions, ledger entries and rollups keep pointing at
a resident id that no longer leads to anyone.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from backend.audit.service import snapshot
from backend.auth import service as auth
from backend.auth.models import ResidentSession
from backend.clock import local_moment, utcnow
from backend.consent.models import ResidentConsent
from backend.extensions import db
from backend.residents import service as residents
from backend.residents import tombstones
from backend.residents.models import KeptLimit, Resident
from backend.residents.phone import decrypt_phone
from campaigns import service as campaigns
from campaigns.badges import service as badges
from campaigns.badges.models import BadgeAward
from campaigns.models import Checkin, Enrolment
from campaigns.organizations import children
from campaigns.organizations import service as organizations
from points.actions import service as actions
from points.actions.models import Action
from points.ledger import service as ledger
from points.ledger.adjustments import PointsAdjustment
from points.ledger.models import LedgerEntry
from points.ledger.service import account_summary
from points.partner import service as partners
from points.partner.models import PartnerResidentLink
from points.photos import service as photos
from points.photos.models import Photo
from points.rewards import service as rewards
from points.rewards.models import Redemption

# Columns that are ours to keep, not the resident's data (hashes, keys, ciphertext).
NOT_EXPORTED = frozenset(
    {
        "phone_hmac",
        "phone_encrypted",
        "wechat_openid_hmac",
        "storage_key",
        "thumbnail_key",
        "dhash",
        "dhash_band0",
        "dhash_band1",
        "dhash_band2",
        "dhash_band3",
        "access_token_hash",
        "refresh_token_hash",
        "previous_refresh_hash",
        "code_hash",
    }
)
# Which staff member reviewed, adjusted or accepted something is the city's record (the
# audit log), not the resident's data: the export says only that staff did it.
STAFF = "staff"
# Columns that point at another resident's data, exported as whether they are set: a photo
# flagged as a duplicate of an earlier photo (perhaps someone else's) says only that.
OTHER_RESIDENTS = {"duplicate_of_id": "flagged_duplicate"}


def _names_staff(column) -> bool:
    return any(key.column.table.name == "staff_user" for key in column.foreign_keys)


def _exported(row) -> dict:
    """A row as its resident sees it: no keys or hashes, no staff member, no other resident."""
    values = snapshot(row)
    exported = {}
    for column in row.__table__.columns:
        key = column.key
        if key not in values or key in NOT_EXPORTED:
            continue
        if key in OTHER_RESIDENTS:
            exported[OTHER_RESIDENTS[key]] = values[key] is not None
        elif _names_staff(column):
            exported[key] = STAFF if values[key] is not None else None
        elif isinstance(getattr(row, key), datetime):
            exported[key] = local_moment(getattr(row, key)).isoformat()
        else:
            exported[key] = values[key]
    return exported


def _rows(model, *where, order=None) -> list[dict]:
    query = select(model).where(*where).order_by(order if order is not None else model.id)
    return [_exported(row) for row in db.session.scalars(query)]


def _memberships(resident_id: int) -> list[dict]:
    """The resident's memberships, open and ended; not who ended one (an admin is another
    resident)."""
    return [
        {
            "organization_name": membership.organization.name,
            "kind": membership.kind,
            "role": membership.role,
            "joined_at": local_moment(membership.joined_at).isoformat(),
            "left_at": local_moment(membership.left_at).isoformat() if membership.left_at else None,
            "end_reason": membership.end_reason,
        }
        for membership in organizations.membership_history(resident_id)
    ]


def export(resident: Resident) -> dict:
    """Everything the system holds about one resident, readable by them."""
    rid = resident.id
    profile = _exported(resident)
    profile["phone"] = decrypt_phone(resident.phone_encrypted) if resident.phone_encrypted else None
    profile["wechat_linked"] = resident.wechat_linked
    account = account_summary(rid)
    return {
        "generated_at": local_moment(utcnow()).isoformat(),
        "profile": profile,
        "account": {
            "balance": account.balance,
            "co2e_g_total": account.co2e_g_total,
            "points_earned_total": account.points_earned_total,
        },
        "actions": _rows(Action, Action.resident_id == rid),
        "ledger": _rows(LedgerEntry, LedgerEntry.resident_id == rid),
        "points_adjustments": _rows(PointsAdjustment, PointsAdjustment.resident_id == rid),
        "photos": _rows(Photo, Photo.resident_id == rid, order=Photo.created_at),
        "redemptions": _rows(Redemption, Redemption.resident_id == rid),
        "campaign_enrolments": _rows(
            Enrolment, Enrolment.resident_id == rid, order=Enrolment.enrolled_at
        ),
        "checkins": _rows(Checkin, Checkin.resident_id == rid),
        "organizations": _memberships(rid),
        "badges": _rows(BadgeAward, BadgeAward.resident_id == rid),
        "partner_links": _rows(PartnerResidentLink, PartnerResidentLink.resident_id == rid),
        "sessions": _rows(ResidentSession, ResidentSession.resident_id == rid),
        # limits a deleted account of the same phone / WeChat used, counted as this one's
        "consents": _rows(ResidentConsent, ResidentConsent.resident_id == rid),
        "kept_limits": _rows(KeptLimit, KeptLimit.resident_id == rid, order=KeptLimit.kind),
        # the data of the children under 14 the resident is the guardian of
        "children": [_child_export(child) for child in children.children_of(rid)],
    }


def _child_export(child: Resident) -> dict:
    exported = export(child)
    for key in ("generated_at", "sessions", "kept_limits", "partner_links", "children"):
        exported.pop(key)
    return exported


def delete_account(resident: Resident, code: str) -> None:
    """The resident's right to erasure: nothing left that leads back to them, but for a
    while the tombstones of their phone / WeChat identity (keyed hashes) holding the limits
    they used, so that signing up again starts where they stood (backend.residents.
    tombstones). Unused redemption codes are void at once. The balance stays on the
    deleted account, which nobody can sign in to: those points are gone. A fresh code
    (`auth.confirm_identity`) re-confirms who asks first."""
    auth.confirm_identity(resident, code)
    children.erase_children_of(resident)
    now = utcnow()
    rewards.void_codes_of(resident.id)
    kept = [
        *rewards.limits_kept(resident.id, now),
        *campaigns.joins_kept(resident.id, now),
        *badges.bonuses_kept(resident.id, now),
    ]
    tombstones.lay(resident, kept, ledger.caps_kept_until(resident.id, now), now)
    photos.erase_photos_of(resident.id)
    actions.erase_traces_of(resident.id)
    partners.unlink_all(resident.id)
    organizations.end_memberships_of(resident.id, "deleted")
    auth.end_all_sessions(resident.id)
    phone_digest = residents.pseudonymise(resident)
    if phone_digest is not None:
        auth.forget_codes(phone_digest=phone_digest)
    db.session.flush()


def apply_retention() -> dict[str, int]:
    """Erase evidence photos and one-time code records past their keeping time."""
    now = utcnow()
    config = current_app.config
    return {
        "photos": photos.erase_photos_older_than(
            now - timedelta(days=config["PHOTO_RETENTION_DAYS"])
        ),
        "otp_challenges": auth.forget_codes(
            before=now - timedelta(days=config["OTP_RETENTION_DAYS"])
        ),
    }


def forget_tombstones() -> dict[str, int]:
    """Delete deleted accounts' tombstones and kept limits past their keep_until."""
    return tombstones.forget_expired(utcnow())
