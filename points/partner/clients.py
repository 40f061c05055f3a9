"""Partner clients as staff manage them (the console's API clients page, `flask partner`):
creating and revoking a key, each recorded once in the audit log.

The rules are the management functions of `service`; this module adds only the record,
and can move into that section whole.
"""

from __future__ import annotations

from sqlalchemy import select

from backend.audit import service as audit
from backend.extensions import db
from points.partner import service
from points.partner.models import PartnerClient


def create_partner(name: str, allowed: list[str]) -> tuple[PartnerClient, str]:
    """A new partner and its secret (returned only now, never logged)."""
    partner, secret = service.create_partner(name, allowed)
    audit.record("partner.create", "partner_client", partner.id, None, audit.snapshot(partner))
    return partner, secret


def revoke_partner(key: str) -> PartnerClient:
    """Refuse the partner's requests from now on; revoking again changes (and logs) nothing."""
    before = audit.snapshot(
        db.session.scalar(select(PartnerClient).where(PartnerClient.key == key))
    )
    partner = service.revoke_partner(key)
    if before is not None and before["active"]:
        audit.record(
            "partner.revoke", "partner_client", partner.id, before, audit.snapshot(partner)
        )
    return partner
