"""Leaderboard read models: running CO2e totals per period for residents, districts and
communities.

They are written by the worker from the approval outbox (`service.add_to_boards`) and read
through their indexes, so a board or a rank never sorts or scans the actions.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base, BigId


class ResidentPeriodTotal(Base):
    """A resident's CO2e in one period: "all", an ISO week "w2026-48" or a month "m2026-11"."""

    __tablename__ = "leaderboard_resident"
    __table_args__ = (
        # Top N is a backward scan of these; a rank counts the entries above a total.
        # resident_id last makes the order of ties part of the index (no sort step).
        Index("ix_leaderboard_resident_period_co2e", "period_key", "co2e_g", "resident_id"),
        Index(
            "ix_leaderboard_resident_period_district_co2e",
            "period_key",
            "district_code",
            "co2e_g",
            "resident_id",
        ),
    )

    period_key: Mapped[str] = mapped_column(String(8), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    # The district of the resident's latest counted action in the period.
    district_code: Mapped[str | None] = mapped_column(String(16))
    # The community of the resident's profile when their latest counted action of the
    # period was added (a profile field: free text, within the district above).
    community: Mapped[str | None] = mapped_column(String(64))
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DistrictPeriodTotal(Base):
    """A district's CO2e in one period and how many residents it comes from.

    Always the sum and the count of the resident rows of that period and district.
    """

    __tablename__ = "leaderboard_district"

    period_key: Mapped[str] = mapped_column(String(8), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    participants: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CommunityPeriodTotal(Base):
    """A community's CO2e in one period and how many residents it comes from.

    A community is a name within a district. Always the sum and the count of the resident
    rows of that period, district and community.
    """

    __tablename__ = "leaderboard_community"
    __table_args__ = (
        Index("ix_leaderboard_community_period_co2e", "period_key", "co2e_g"),
        Index(
            "ix_leaderboard_community_period_district_co2e", "period_key", "district_code", "co2e_g"
        ),
    )

    period_key: Mapped[str] = mapped_column(String(8), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    community: Mapped[str] = mapped_column(String(64), primary_key=True)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    participants: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CountedAction(Base):
    """Actions already added to the boards: a repeated signal is counted once."""

    __tablename__ = "leaderboard_action"

    action_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("action.id"), primary_key=True, autoincrement=False
    )
