"""Methodology versions and their factors; factors in milligrams so arithmetic stays exact."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.clock import utcnow
from backend.db import Base


class MethodologyVersion(Base):
    __tablename__ = "methodology_version"

    version: Mapped[str] = mapped_column(String(32), primary_key=True)
    published: Mapped[date]
    grams_per_point: Mapped[int]
    # daily_point_caps, plausibility, review, green_travel and note, as published (the
    # rules read them through service.Methodology)
    rules: Mapped[dict] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    in_force_since: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    factors: Mapped[list[Factor]] = relationship(back_populates="methodology", lazy="selectin")


class Factor(Base):
    __tablename__ = "factor"
    __table_args__ = (UniqueConstraint("version", "action_type", "variant"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(ForeignKey("methodology_version.version"))
    action_type: Mapped[str] = mapped_column(String(32))
    variant: Mapped[str] = mapped_column(String(32))
    unit: Mapped[str] = mapped_column(String(16))
    avoided_mg_per_unit: Mapped[int]
    source: Mapped[str] = mapped_column(Text)

    methodology: Mapped[MethodologyVersion] = relationship(back_populates="factors")

    @property
    def avoided_g_per_unit(self) -> Decimal:
        return Decimal(self.avoided_mg_per_unit) / 1000
