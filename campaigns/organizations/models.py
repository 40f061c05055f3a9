"""Organisations, their memberships over time, and the figures kept for them.

A membership is a row from joining to leaving: leaving, removal and closing end it, and
joining again starts a new one, so the history of who belonged when stays. A resident
holds at most one open membership of each kind (a partial unique index, not a check).

The figures are written by the worker from the approval outbox: an action counts for the
organisations its resident belonged to when it happened, once (`organization_action`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.clock import utcnow
from backend.db import Base, BigId

ORGANIZATION_KINDS = ("household", "school", "community", "employer", "agency")
# Residents make households; staff make the others in the console.
STAFF_KINDS = ("school", "community", "employer", "agency")
MEMBER_ROLES = ("member", "admin")
END_REASONS = ("left", "removed", "closed", "deleted")
ALL_TYPES = "*"  # figures over every action type


class Organization(Base):
    __tablename__ = "organization"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('household', 'school', 'community', 'employer', 'agency')",
            name="kind_known",
        ),
        CheckConstraint("status IN ('active', 'closed')", name="status_known"),
        CheckConstraint("member_count >= 0", name="member_count_not_negative"),
        CheckConstraint(
            "member_limit IS NULL OR member_count <= member_limit", name="member_count_in_limit"
        ),
        Index("ix_organization_kind_district_code", "kind", "district_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(40))
    district_code: Mapped[str | None] = mapped_column(ForeignKey("district.code"))
    street: Mapped[str | None] = mapped_column(String(64))  # communities: their 街道/镇
    # Shown to the organisation's admins and on its poster; a rotated code stops working.
    invite_code: Mapped[str] = mapped_column(String(16), unique=True)
    invite_expires_at: Mapped[datetime | None]  # households' codes expire; staff ones don't
    invite_rotated_at: Mapped[datetime | None]
    # Open memberships, kept by the same statement that opens or ends one, so a full
    # household refuses the next join however many arrive at once.
    member_count: Mapped[int] = mapped_column(default=0)
    member_limit: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_by_resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class Membership(Base):
    __tablename__ = "organization_member"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'admin')", name="role_known"),
        CheckConstraint(
            "end_reason IS NULL OR end_reason IN ('left', 'removed', 'closed', 'deleted')",
            name="end_reason_known",
        ),
        CheckConstraint(
            "(left_at IS NULL AND end_reason IS NULL) OR "
            "(left_at IS NOT NULL AND end_reason IS NOT NULL)",
            name="ended_whole",
        ),
        # One open membership per resident and kind: the database refuses a second household.
        Index(
            "uq_organization_member_open_kind",
            "resident_id",
            "kind",
            unique=True,
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
        Index("ix_organization_member_org_left_at", "organization_id", "left_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # the organisation's, for the index above
    role: Mapped[str] = mapped_column(String(16), default="member")
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))
    # Who ended it when it was not the member: an admin (a resident) or a staff user.
    ended_by_resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    ended_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))

    organization: Mapped[Organization] = relationship(lazy="joined", innerjoin=True)

    def covers(self, moment: datetime) -> bool:
        return self.joined_at <= moment and (self.left_at is None or moment < self.left_at)


class OrganizationPeriodTotal(Base):
    """An organisation's figures in one period ("all", "y2026", "q2026-4", "m2026-11",
    "w2026-48") and action type (or ALL_TYPES): what its members did while members.

    Additive columns sum over types and months; `participants` (members with an approved
    action of the row's type in the period) always equals the count of the matching
    member rows.
    """

    __tablename__ = "organization_period"
    __table_args__ = (Index("ix_organization_period_period_type", "period_key", "action_type"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(8), primary_key=True)
    action_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    actions: Mapped[int] = mapped_column(BigInteger, default=0)  # approved, any verification
    verified_actions: Mapped[int] = mapped_column(BigInteger, default=0)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)  # verified only
    self_declared_co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)  # base points paid
    trips: Mapped[int] = mapped_column(BigInteger, default=0)  # verified trips, any mode
    green_trips: Mapped[int] = mapped_column(BigInteger, default=0)  # ... of green modes
    participants: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OrganizationMemberTotal(Base):
    """A member's part of an organisation's figures in one period and action type (or
    ALL_TYPES): the member board reads the ALL_TYPES rows; a row exists once the member
    took part, so the rows count the participants."""

    __tablename__ = "organization_member_period"
    __table_args__ = (
        Index(
            "ix_organization_member_period_board",
            "organization_id",
            "period_key",
            "action_type",
            "co2e_g",
        ),
    )

    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(8), primary_key=True)
    action_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    actions: Mapped[int] = mapped_column(BigInteger, default=0)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)


class OrganizationKindParticipant(Base):
    """A resident who took part, as a member of some organisation of `kind`, in a period
    and action type (or ALL_TYPES): the distinct residents behind a kind's figures (a
    resident who moved school within a month counts once), for the reports' small-cell
    rule. The count per (kind, period, type) is kept in OrganizationKindPeriod."""

    __tablename__ = "organization_kind_participant"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(8), primary_key=True)
    action_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)


class OrganizationKindPeriod(Base):
    """A kind's figures in a period and type: the sums of its organisations' rows (a
    resident holds one membership of a kind at a time, so an action counts once per kind),
    and its distinct participants, the count of the rows above."""

    __tablename__ = "organization_kind_period"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    period_key: Mapped[str] = mapped_column(String(8), primary_key=True)
    action_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    actions: Mapped[int] = mapped_column(BigInteger, default=0)
    verified_actions: Mapped[int] = mapped_column(BigInteger, default=0)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    self_declared_co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    trips: Mapped[int] = mapped_column(BigInteger, default=0)
    green_trips: Mapped[int] = mapped_column(BigInteger, default=0)
    participants: Mapped[int] = mapped_column(default=0)


class OrganizationAction(Base):
    """(action, organisation) pairs already counted: a repeated signal counts once, and a
    superseded action is taken back from exactly the organisations it was added to."""

    __tablename__ = "organization_action"

    action_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("action.id"), primary_key=True, autoincrement=False
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    # The member the action counts for (its resident; a child's guardian at a school).
    member_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
