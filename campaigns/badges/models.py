"""Badges awarded (once per resident and badge, by a unique key) and each resident's streak."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base


class BadgeAward(Base):
    __tablename__ = "badge_award"
    __table_args__ = (UniqueConstraint("resident_id", "badge_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    # A key of campaigns/badges/badges.json.
    badge_key: Mapped[str] = mapped_column(String(32))
    awarded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Streak(Base):
    """Consecutive Asia/Shanghai days with CO2e avoided, as of `last_day`."""

    __tablename__ = "streak"

    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    current: Mapped[int] = mapped_column(default=0)
    best: Mapped[int] = mapped_column(default=0)
    last_day: Mapped[date]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
