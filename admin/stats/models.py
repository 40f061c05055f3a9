"""Statistics rollups and the DRB's API keys.

Rollups hold sums per Asia/Shanghai day and first-seen participant rows per period; they
are written by the worker from the approval outbox and `flask stats check` proves them
equal to raw.
Resident ids stay inside these tables: no statistics response carries one.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base, BigId

ALL = "*"  # a participant row or counter over every action type, or every district
NO_DISTRICT = ""  # actions of residents who had not chosen a district
ALL_ACTIONS = 0  # campaign_id of the rollups over every action, in a campaign or not
NO_PREVIOUS = ""  # previous_key of a resident's first active day in a cell (sorts first)


class StatsCountedAction(Base):
    """(action, campaign) pairs already in the rollups: a repeated event counts once."""

    __tablename__ = "stats_counted_action"

    action_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("action.id"), primary_key=True, autoincrement=False
    )
    # ALL_ACTIONS, or the campaign that counted the action (no foreign key: 0 is no row).
    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class StatsDay(Base):
    """Additive figures of approved actions on one day: any range, type or district sums them.

    The variant (trip mode) and the factor version are kept so the green-travel share and
    the methodology versions behind a figure come from here too; the verification level
    keeps verified grams apart from self-declared ones.
    """

    __tablename__ = "stats_day"

    local_day: Mapped[date] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    action_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    factor_version: Mapped[str] = mapped_column(String(32), primary_key=True)
    verification: Mapped[str] = mapped_column(String(16), primary_key=True)
    actions: Mapped[int] = mapped_column(BigInteger, default=0)
    co2e_g: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger, default=0)  # base points paid
    distance_m: Mapped[int] = mapped_column(BigInteger, default=0)  # trips only


class StatsParticipant(Base):
    """A resident first seen in a period ("d2026-11-24", "w2026-48", "m2026-11") and cell.

    A cell is an action type or ALL by a district, NO_DISTRICT or ALL. Day rows answer
    distinct counts over any range; every first sighting also bumps its counter.
    """

    __tablename__ = "stats_participant"
    __table_args__ = (
        # `flask stats check` compares one period at a time.
        Index("ix_stats_participant_period_key", "period_key"),
    )

    # Reads fix the campaign and one of type or district, then range over days: this order
    # makes them index range scans (the group's values are given as an IN list).
    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    action_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Verified (partner, trace, reviewed) and self-declared actions are counted apart.
    verified: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(12), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)


class StatsParticipantCount(Base):
    """Distinct residents of a whole period and cell: the count of its participant rows."""

    __tablename__ = "stats_participant_count"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    action_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Verified (partner, trace, reviewed) and self-declared actions are counted apart.
    verified: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(12), primary_key=True)
    participants: Mapped[int] = mapped_column(default=0)


class StatsParticipantPrevious(Base):
    """Residents first active on a day in a cell, counted by their previous active day.

    Distinct residents over days a..b = the sum over days of a..b of the rows whose
    previous day is before a (NO_PREVIOUS: none): each resident counts once, on their first
    day in the range. A range read sums a few rows per day instead of a row per resident.
    Always derivable from the day rows of `stats_participant`.
    """

    __tablename__ = "stats_participant_previous"

    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    action_type: Mapped[str] = mapped_column(String(24), primary_key=True)
    district_code: Mapped[str] = mapped_column(String(16), primary_key=True)
    verified: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    period_key: Mapped[str] = mapped_column(String(12), primary_key=True)  # a day's key
    previous_key: Mapped[str] = mapped_column(String(12), primary_key=True)
    residents: Mapped[int] = mapped_column(default=0)


class DrbApiKey(Base):
    """An API key of the DRB: shown once, stored as a digest, revocable."""

    __tablename__ = "drb_api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[str] = mapped_column(String(16), default="stats")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The key's first characters, so a list can tell keys apart without showing them.
    hint: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]  # to the minute: not a write per request
