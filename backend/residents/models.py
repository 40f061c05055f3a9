"""The resident: an identity (phone HMAC or WeChat openid HMAC) and a profile."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base

RESIDENT_STATUSES = ("active", "suspended", "deleted")


class Resident(Base):
    __tablename__ = "resident"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended', 'deleted')", name="status_known"),
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
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def wechat_linked(self) -> bool:
        return self.wechat_openid_hmac is not None
