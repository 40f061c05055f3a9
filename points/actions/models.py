"""An action: what a resident did, the CO2e it avoided, the factor that said so, its status."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.clock import utcnow
from backend.db import Base, BigId
from points.methodology.models import Factor

ACTION_TYPES = ("trip", "garbage_sorting", "clean_plate", "ev_charging")
STATUSES = ("approved", "pending_review", "rejected")
# How an action was verified (DESIGN section 3, "Trust"): a signed partner event, a trip's
# GPS trace that passed its checks, a reviewer's approval of its evidence, or the
# resident's word alone. Only the first three are verified CO2e.
VERIFICATIONS = ("partner", "trace", "reviewed", "self_declared")
VERIFIED = ("partner", "trace", "reviewed")


class Action(Base):
    __tablename__ = "action"
    __table_args__ = (
        CheckConstraint(
            "status IN ('approved', 'pending_review', 'rejected')", name="status_known"
        ),
        CheckConstraint("co2e_g >= 0 AND points >= 0", name="amounts_not_negative"),
        CheckConstraint(
            "verification IN ('partner', 'trace', 'reviewed', 'self_declared')",
            name="verification_known",
        ),
        Index("ix_action_resident_id_id", "resident_id", "id"),
        Index("ix_action_resident_id_local_day_type", "resident_id", "local_day", "type"),
        Index("ix_action_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    type: Mapped[str] = mapped_column(String(24))
    variant: Mapped[str] = mapped_column(String(32))  # trip mode, garbage category, ...
    quantity_milli: Mapped[int]  # thousandths of `unit`: exact, no floats
    unit: Mapped[str] = mapped_column(String(16))
    distance_m: Mapped[int | None]  # trips: for plausibility and distance-weighted shares
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    occurred_at: Mapped[datetime]
    local_day: Mapped[date]  # Asia/Shanghai day of occurred_at: caps and statistics
    co2e_g: Mapped[int]
    points: Mapped[int] = mapped_column(default=0)  # base points paid (0 until approved)
    capped: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    factor_id: Mapped[int] = mapped_column(ForeignKey("factor.id"))
    factor_version: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # self_reported | partner
    verification: Mapped[str] = mapped_column(String(16))  # one of VERIFICATIONS
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partner_client.id"))
    # One real-world event, one action: "ev:<station>:<session>", "partner:<id>:<event>".
    dedup_key: Mapped[str | None] = mapped_column(String(160), unique=True)
    photo_id: Mapped[str | None] = mapped_column(ForeignKey("photo.id"), unique=True)
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    district_code: Mapped[str | None] = mapped_column(String(16))  # resident's, at the time
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    review_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    factor: Mapped[Factor] = relationship(lazy="joined", innerjoin=True)

    @property
    def quantity(self) -> float:
        return self.quantity_milli / 1000


class ApprovalOutbox(Base):
    """An approved action whose derived figures the worker has yet to apply.

    The approving transaction commits the action, its cap, ledger entry and balance (all
    the caller is told) with this row; the worker applies campaign progress and bonuses,
    streaks and badges, leaderboards and statistics in the transaction that deletes it.
    The unique action id is what makes an action count once.
    """

    __tablename__ = "approval_outbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)  # the order of application
    action_id: Mapped[int] = mapped_column(BigId, ForeignKey("action.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TripTrace(Base):
    """A trip's raw GPS points, kept for review and appeal until `erase_after`, then erased
    by the worker's daily job (location tracks are sensitive personal data). What the
    checks derived from them stays in the action's `details["trace"]`."""

    __tablename__ = "trip_trace"

    action_id: Mapped[int] = mapped_column(BigId, ForeignKey("action.id"), primary_key=True)
    points: Mapped[list] = mapped_column(JSON)  # [[lon, lat, unix seconds], ...]
    erase_after: Mapped[datetime] = mapped_column(index=True)
