"""Partner clients, residents' links to partner accounts, and every event received."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.clock import utcnow
from backend.db import Base, BigId


class PartnerClient(Base):
    __tablename__ = "partner_client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(40), unique=True)  # public, sent as X-Partner-Key
    # The HMAC secret must be readable to verify signatures: encrypted at rest.
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    # What this partner may report: "trip:bus", "ev_charging", ... ("type" allows every variant)
    allowed: Mapped[list] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class PartnerResidentLink(Base):
    """A resident's account at a partner (card number, member id), proven by a link code.

    The resident asks for a code (kept only as a keyed hash, valid a few minutes, one per
    resident and partner) and enters it in the partner's own app; the partner confirms it
    with a signed call naming the account. Only a confirmed link routes events: nobody
    can claim an external id by typing it.
    """

    __tablename__ = "partner_resident_link"
    __table_args__ = (
        UniqueConstraint("partner_id", "external_id"),
        UniqueConstraint("partner_id", "resident_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_client.id"))
    external_id: Mapped[str | None] = mapped_column(String(64))  # set when confirmed
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The link code's keyed hash, kept after use so that a reused code is told apart
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]

    partner: Mapped[PartnerClient] = relationship(lazy="joined", innerjoin=True)

    @property
    def status(self) -> str:
        """confirmed, pending (its code still valid) or expired."""
        if self.confirmed_at is not None:
            return "confirmed"
        if self.code_expires_at is not None and self.code_expires_at > utcnow():
            return "pending"
        return "expired"


class PartnerEvent(Base):
    """An event id a partner sent: unique per partner, so a resend is a duplicate."""

    __tablename__ = "partner_event"
    __table_args__ = (UniqueConstraint("partner_id", "event_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partner_client.id"))
    event_id: Mapped[str] = mapped_column(String(64))
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id"), unique=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
