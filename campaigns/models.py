"""Campaigns, their rules (versioned once published), enrolments and what each counted.

Rules of a published campaign are never edited: a change is a new rules row effective
from now, so actions keep the bonus of the rules in force when they happened.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.clock import utcnow
from backend.db import Base, BigId

CAMPAIGN_STATUSES = ("draft", "published", "ended")
PROGRESS_SHARDS = 8  # concurrent awards spread their goal-progress updates over rows


class Campaign(Base):
    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'ended')", name="status_known"),
        CheckConstraint("ends_at > starts_at", name="window_positive"),
        Index("ix_campaign_status_starts_at", "status", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    description: Mapped[str] = mapped_column(Text, default="")
    event_key: Mapped[str | None] = mapped_column(String(32))  # from districts.json events
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    district_codes: Mapped[list] = mapped_column(JSON, default=list)  # empty: every district
    goal_co2e_g: Mapped[int | None] = mapped_column(BigInteger)
    # Limited to members of organisations: of these kinds (empty: any kind) and, when
    # named, of these organisations only (empty: any of those kinds). Both empty: anyone.
    organization_kinds: Mapped[list] = mapped_column(JSON, default=list)
    organization_ids: Mapped[list] = mapped_column(JSON, default=list)
    # The goal each qualifying organisation's members reach together (verified grams); its
    # bonus is in the rules (`CampaignRules.team_bonus_points`). Only a limited campaign
    # has one.
    team_goal_co2e_g: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]

    rules_history: Mapped[list[CampaignRules]] = relationship(
        back_populates="campaign", order_by="CampaignRules.effective_from", lazy="selectin"
    )

    def rules_at(self, moment: datetime) -> CampaignRules:
        """The rules in force at `moment` (the first rules before the first change)."""
        current = self.rules_history[0]
        for rules in self.rules_history:
            if rules.effective_from <= moment:
                current = rules
        return current

    @property
    def rules(self) -> CampaignRules:
        return self.rules_history[-1]

    def targets(self, district_code: str | None) -> bool:
        return not self.district_codes or district_code in self.district_codes

    @property
    def for_organizations(self) -> bool:
        return bool(self.organization_kinds or self.organization_ids)

    def qualifies(self, organization_id: int, kind: str) -> bool:
        """Whether members of this organisation are who a limited campaign is for."""
        if self.organization_kinds and kind not in self.organization_kinds:
            return False
        return not self.organization_ids or organization_id in self.organization_ids


class CampaignRules(Base):
    __tablename__ = "campaign_rules"
    __table_args__ = (UniqueConstraint("campaign_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    effective_from: Mapped[datetime]
    # {"trip:bus": 200, "garbage_sorting": 150}: percent of the base points; a
    # type:variant entry wins over its type.
    multipliers: Mapped[dict] = mapped_column(JSON, default=dict)
    join_bonus: Mapped[int] = mapped_column(default=0)
    checkin_points: Mapped[int] = mapped_column(default=0)
    # Paid to each enrolled member of an organisation when it reaches the team goal
    team_bonus_points: Mapped[int] = mapped_column(default=0)

    campaign: Mapped[Campaign] = relationship(back_populates="rules_history")

    def multiplier_percent(self, action_type: str, variant: str) -> int:
        specific = self.multipliers.get(f"{action_type}:{variant}")
        return specific if specific is not None else self.multipliers.get(action_type, 100)


class Enrolment(Base):
    __tablename__ = "enrolment"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("resident.id"), primary_key=True, index=True
    )
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignAction(Base):
    """An approved action a campaign counted: at most once, whatever the signal does."""

    __tablename__ = "campaign_action"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("action.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    co2e_g: Mapped[int] = mapped_column(BigInteger)
    bonus_points: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignProgress(Base):
    """The collective CO2e, split over a few rows so concurrent awards do not queue on one."""

    __tablename__ = "campaign_progress"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    shard: Mapped[int] = mapped_column(primary_key=True)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)


class CampaignOrganizationProgress(Base):
    """An organisation's verified grams in a limited campaign: what its members, enrolled,
    did while members. `reached_at` is set once, by the statement that finds the team goal
    reached: the one that pays the team bonus."""

    __tablename__ = "campaign_organization_progress"
    __table_args__ = (Index("ix_campaign_organization_progress_board", "campaign_id", "co2e_g"),)

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    reached_at: Mapped[datetime | None]


class CampaignOrganizationAction(Base):
    """(campaign, organisation, action) triples counted: a superseded action is taken back
    from exactly the organisations it was added to."""

    __tablename__ = "campaign_organization_action"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    action_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("action.id"), primary_key=True, autoincrement=False
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organization.id"), primary_key=True)
    co2e_g: Mapped[int] = mapped_column(BigInteger)


CHECKIN_MODES = ("poster", "rotating")


class CheckinPoint(Base):
    """A place residents check in at. `poster`: the printed, signed token works while the
    device is within `radius_m` of the point; `rotating`: only the short-lived token of an
    event screen works (and the location too, where the point has one)."""

    __tablename__ = "checkin_point"
    __table_args__ = (
        CheckConstraint("mode IN ('poster', 'rotating')", name="mode_known"),
        CheckConstraint(
            "(latitude IS NULL AND longitude IS NULL AND radius_m IS NULL)"
            " OR (latitude IS NOT NULL AND longitude IS NOT NULL AND radius_m IS NOT NULL)",
            name="location_whole",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    place: Mapped[str] = mapped_column(String(128))
    points: Mapped[int]
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    # Part of the signed token: rotating it invalidates every printed code at once.
    token_nonce: Mapped[str] = mapped_column(String(32))
    rotated_at: Mapped[datetime | None]
    # WGS-84 degrees and metres. A point made before locations were asked for has none: as
    # a poster point it refuses check-ins until staff set one.
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    radius_m: Mapped[int | None]
    mode: Mapped[str] = mapped_column(String(16), default="poster")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    campaign: Mapped[Campaign] = relationship(lazy="joined", innerjoin=True)

    @property
    def located(self) -> bool:
        return self.latitude is not None


class Checkin(Base):
    __tablename__ = "checkin"
    __table_args__ = (UniqueConstraint("point_id", "resident_id", "local_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    point_id: Mapped[int] = mapped_column(ForeignKey("checkin_point.id"))
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    local_day: Mapped[date]
    points: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    point: Mapped[CheckinPoint] = relationship(lazy="joined", innerjoin=True)
