"""Rewards (catalogue and stock) and redemptions (a code a merchant scans once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.clock import utcnow
from backend.db import Base, BigId

# void: issued to an account that was then deleted; never handed over, stock returned
REDEMPTION_STATUSES = ("issued", "used", "cancelled", "void")


class Reward(Base):
    __tablename__ = "reward"
    __table_args__ = (
        CheckConstraint("stock_left >= 0", name="stock_not_negative"),
        CheckConstraint("stock_left <= stock_total", name="stock_within_total"),
        CheckConstraint("cost_points > 0", name="cost_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str | None] = mapped_column(String(512))
    merchant_name: Mapped[str] = mapped_column(String(80))
    cost_points: Mapped[int]
    # stock_total counts every unit ever put on offer; stock_left + live redemptions = total
    stock_total: Mapped[int]
    stock_left: Mapped[int]
    per_resident_limit: Mapped[int | None]
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Redemption(Base):
    __tablename__ = "redemption"
    __table_args__ = (
        CheckConstraint("status IN ('issued', 'used', 'cancelled', 'void')", name="status_known"),
        Index("ix_redemption_resident_id_id", "resident_id", "id"),
        Index("ix_redemption_reward_id_resident_id", "reward_id", "resident_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("reward.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    code: Mapped[str] = mapped_column(String(16), unique=True)  # unguessable, scanned once
    points: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default="issued")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    cancelled_at: Mapped[datetime | None]  # cancelled, or void (its account deleted)

    reward: Mapped[Reward] = relationship(lazy="joined", innerjoin=True)
