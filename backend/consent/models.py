"""The consent history: one row per acceptance, closed by its withdrawal; never rewritten
otherwise. A resident's current consent to a scope is its latest row still open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base

CONSENT_SCOPES = ("privacy", "location")


class ResidentConsent(Base):
    __tablename__ = "resident_consent"
    __table_args__ = (
        CheckConstraint("scope IN ('privacy', 'location')", name="scope_known"),
        Index("ix_resident_consent_resident_scope", "resident_id", "scope", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    scope: Mapped[str] = mapped_column(String(16))
    # the privacy notice's version the resident read (location: the notice that explains it)
    version: Mapped[str] = mapped_column(String(32))
    accepted_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
