"""Accounts (one per resident, the balance for fast reads) and ledger entries."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base, BigId

ENTRY_KINDS = (
    "earn",
    "campaign_bonus",
    "checkin",
    "badge",
    "redeem",
    "refund",
    "adjustment",
    "expire",
)


class Account(Base):
    __tablename__ = "account"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # Lifetime CO2e of approved actions, capped ones included: the avoided grams are real.
    co2e_g_total: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class LedgerEntry(Base):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("kind", "ref", name="uq_ledger_entry_cause"),
        CheckConstraint(
            "kind IN ('earn', 'campaign_bonus', 'checkin', 'badge', 'redeem', 'refund', "
            "'adjustment', 'expire')",
            name="kind_known",
        ),
        Index("ix_ledger_entry_resident_id_id", "resident_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # The cause, e.g. "action:42" or "campaign:3/action:42": unique with the kind.
    ref: Mapped[str] = mapped_column(String(96))
    delta: Mapped[int] = mapped_column(BigInteger)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DailyPoints(Base):
    """Points earned from actions per resident, local day and action type: the daily caps."""

    __tablename__ = "daily_points"

    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    local_day: Mapped[date] = mapped_column(primary_key=True)
    action_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    points: Mapped[int] = mapped_column(default=0)


class LedgerAllocation(Base):
    """Which earlier credits a debit used up, oldest first: every spend is traceable."""

    __tablename__ = "ledger_allocation"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    debit_entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"), primary_key=True)
    credit_entry_id: Mapped[int] = mapped_column(
        ForeignKey("ledger_entry.id"), primary_key=True, index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
