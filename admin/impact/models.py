"""A campaign's impact as computed on one day: the figures and the data they used."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.clock import utcnow
from backend.db import Base

IMPACT_STATUSES = ("estimated", "refused")


class CampaignImpact(Base):
    """One computation per campaign and last day of data: recomputing that day replaces
    it; each new day adds a row, so what was published on a day stays readable."""

    __tablename__ = "campaign_impact"
    __table_args__ = (
        UniqueConstraint("campaign_id", "through"),
        CheckConstraint("status IN ('estimated', 'refused')", name="status_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    # The last local day whose actions were used (yesterday, or the campaign's last day)
    through: Mapped[date]
    # Enrolments before this moment are the participants (see service.participants_cutoff)
    enrolled_before: Mapped[datetime]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
    final: Mapped[bool] = mapped_column(default=False)  # computed after the campaign ended
    status: Mapped[str] = mapped_column(String(16))  # one of IMPACT_STATUSES
    reason: Mapped[str | None] = mapped_column(String(32))
    participants: Mapped[int] = mapped_column(default=0)  # residents behind the figures
    # The figures (estimate.Estimate.as_dict) and the inputs: windows, settings, seed,
    # counts of residents and rows read, methodology versions
    figures: Mapped[dict] = mapped_column(JSON, default=dict)
    inputs: Mapped[dict] = mapped_column(JSON, default=dict)
