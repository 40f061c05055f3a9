"""The resident: an identity (phone HMAC or WeChat openid HMAC) and a profile; and what a
deleted resident leaves behind for a while: a tombstone of each identity, and the limits
a re-registration with that identity must start from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base

RESIDENT_STATUSES = ("active", "suspended", "deleted")


class Resident(Base):
    __tablename__ = "resident"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'deleted')", name="status_known"),
        # A child (under 14, PIPL art. 31) has a guardian and no sign-in identity.
        CheckConstraint(
            "guardian_id IS NULL OR (phone_hmac IS NULL AND wechat_openid_hmac IS NULL)",
            name="child_without_identity",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # HMAC-SHA256 of the normalised number: lookup without keeping the number readable.
    phone_hmac: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Fernet ciphertext, for the rare case staff must contact a resident.
    phone_encrypted: Mapped[str | None] = mapped_column(String(255))
    phone_masked: Mapped[str | None] = mapped_column(String(16))
    wechat_openid_hmac: Mapped[str | None] = mapped_column(String(64), unique=True)
    nickname: Mapped[str | None] = mapped_column(String(32))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"))
    community: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # A child's guardian (campaigns.organizations.children): the child never signs in, takes
    # part through the guardian's household, and never appears on a public board.
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def wechat_linked(self) -> bool:
        return self.wechat_openid_hmac is not None


class ResidentTombstone(Base):
    """A deleted resident's identity, as the keyed hash sign-in looks it up by (phone or
    WeChat), until `keep_until`: a new resident of that identity starts where it stood."""

    __tablename__ = "resident_tombstone"
    __table_args__ = (Index("ix_resident_tombstone_keep_until", "keep_until"),)

    # resident.phone_hmac or resident.wechat_openid_hmac of the deleted resident
    identity_hmac: Mapped[str] = mapped_column(String(64), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    keep_until: Mapped[datetime]


KEPT_LIMIT_KINDS = ("reward", "campaign_join", "badge")


class KeptLimit(Base):
    """A limit use that outlives a deleted account: `used` times `subject` (a reward's
    redemptions, a campaign's join bonus, a badge's points), until `keep_until`.

    Rows of a deleted resident are what its tombstones carry; rows of a live resident are
    what it took over when it signed up with a tombstoned identity, and count against its
    own limits. No row names a person: the resident id is the only link.
    """

    __tablename__ = "kept_limit"
    __table_args__ = (
        CheckConstraint("kind IN ('reward', 'campaign_join', 'badge')", name="kind_known"),
        CheckConstraint("used > 0", name="used_positive"),
        Index("ix_kept_limit_keep_until", "keep_until"),
    )

    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(48), primary_key=True)
    used: Mapped[int]
    keep_until: Mapped[datetime]
