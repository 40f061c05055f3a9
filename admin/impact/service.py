"""When a campaign's impact is computed, and how each computation is kept.

The worker's daily job (`impact`) recomputes every running campaign through yesterday
and each ended campaign once through its last day; `flask stats impact` does the same on
demand. Each computation is one `CampaignImpact` row per campaign and last day of data,
with the figures and what they were computed from: a page view reads the latest row.

Participants are those enrolled before the day after the last day of data, with one
exception that keeps consecutive computations from being differenced down to a few
residents: if fewer than the small-cell number have enrolled since the last computation,
the last computation's participants are kept until that many more have.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from admin.impact.estimate import Settings, estimate
from admin.impact.models import CampaignImpact
from admin.impact.panel import Window, load_panel
from backend.clock import LOCAL_TZ, local_day, utcnow
from backend.config import Config
from backend.extensions import db
from campaigns.models import Campaign, Enrolment


def last_day(campaign: Campaign) -> date:
    """The campaign's last local day (a campaign ending at midnight ends the day before)."""
    return local_day(campaign.ends_at - timedelta(microseconds=1))


def midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=LOCAL_TZ)


def latest(campaign_id: int) -> CampaignImpact | None:
    return db.session.scalars(
        select(CampaignImpact)
        .where(CampaignImpact.campaign_id == campaign_id)
        .order_by(CampaignImpact.through.desc())
        .limit(1)
    ).first()


def _enrolled_count(campaign_id: int, before: datetime) -> int:
    return db.session.scalar(
        select(func.count()).where(
            Enrolment.campaign_id == campaign_id, Enrolment.enrolled_at < before
        )
    )


def participants_cutoff(campaign: Campaign, through: date) -> tuple[datetime, int]:
    """Enrolments before this moment are the participants (see the module's note), and
    how many they are."""
    cutoff = midnight(through + timedelta(days=1))
    count = _enrolled_count(campaign.id, cutoff)
    previous = latest(campaign.id)
    if previous is not None and previous.through < through:
        joined_since = count - previous.inputs.get("enrolled", 0)
        if 0 < joined_since < current_app.config["STATS_MIN_RESIDENTS"]:
            return previous.enrolled_before, previous.inputs.get("enrolled", 0)
    return cutoff, count


def settings_for(campaign: Campaign, through: date) -> Settings:
    config = current_app.config
    return Settings(
        baseline_days=config["IMPACT_BASELINE_DAYS"],
        bands=Config.bands_of(config["IMPACT_MATCH_BANDS"]),
        min_residents=config["STATS_MIN_RESIDENTS"],
        resamples=config["IMPACT_BOOTSTRAP_RESAMPLES"],
        # The same data gives the same interval: the seed is the campaign and its day
        seed=campaign.id * 1_000_000 + through.toordinal(),
    )


def compute(campaign: Campaign, now: datetime | None = None) -> CampaignImpact | None:
    """Compute and keep the campaign's impact through the last day with data; None if it
    has no whole day yet. Commits."""
    now = now or utcnow()
    today = local_day(now)
    first, last = local_day(campaign.starts_at), last_day(campaign)
    through = min(last, today - timedelta(days=1))
    if campaign.status == "draft" or through < first:
        return None
    settings = settings_for(campaign, through)
    window = Window(first, through, settings.baseline_days)
    started = time.perf_counter()
    with db.read_only():
        enrolled_before, enrolled = participants_cutoff(campaign, through)
        panel, read = load_panel(campaign, window, enrolled_before)
        db.session.rollback()
    loaded = time.perf_counter()
    result = estimate(panel, settings)
    finished = time.perf_counter()
    inputs = {
        "first_day": first.isoformat(),
        "last_day": last.isoformat(),
        "through": through.isoformat(),
        "baseline_days": settings.baseline_days,
        "match_bands": list(settings.bands),
        "min_residents": settings.min_residents,
        "resamples": settings.resamples,
        "seed": settings.seed,
        "level": settings.level,
        "enrolled": enrolled,
        **read,
        "seconds": {
            "read": round(loaded - started, 3),
            "estimate": round(finished - loaded, 3),
        },
    }
    with db.write_intent():
        row = db.session.scalars(
            select(CampaignImpact).where(
                CampaignImpact.campaign_id == campaign.id, CampaignImpact.through == through
            )
        ).first()
        if row is None:
            row = CampaignImpact(campaign_id=campaign.id, through=through)
            db.session.add(row)
        row.enrolled_before = enrolled_before
        row.computed_at = now
        row.final = through == last
        row.status = result.status
        row.reason = result.reason
        row.participants = result.baseline.residents
        row.figures = result.as_dict()
        row.inputs = inputs
        db.session.commit()
    return row


def due(now: datetime | None = None) -> list[Campaign]:
    """Running campaigns with a day of data, and ended ones not yet computed after their
    last day."""
    today = local_day(now or utcnow())
    campaigns = db.session.scalars(
        select(Campaign)
        .where(Campaign.status != "draft", Campaign.starts_at < midnight(today))
        .order_by(Campaign.id)
    ).all()
    finals = set(
        db.session.scalars(select(CampaignImpact.campaign_id).where(CampaignImpact.final.is_(True)))
    )
    return [
        campaign
        for campaign in campaigns
        if last_day(campaign) >= today - timedelta(days=1) or campaign.id not in finals
    ]


def compute_due(now: datetime | None = None) -> str:
    """The worker's daily job: every due campaign, each committed on its own."""
    rows = [compute(campaign, now) for campaign in due(now)]
    done = [row for row in rows if row is not None]
    return f"{len(done)} campaign impacts computed"
