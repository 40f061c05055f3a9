"""Counting approved actions for campaigns: goal progress and bonuses, a batch at a time.

An action counts for every campaign the resident had joined that runs when it happened
and targets the resident's district, once (the `campaign_action` key). Its bonus is the
campaign's multiplier, in force when it happened, applied to the base points actually
paid after the daily cap: its own ledger entry, never a change to the base award. Goals
count verified grams only.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select

from backend.extensions import db
from campaigns.models import PROGRESS_SHARDS, Campaign, CampaignAction, CampaignProgress, Enrolment
from points.ledger import service as ledger
from points.signals import ApprovedAction


def bonus_points(base_points: int, percent: int) -> int:
    return base_points * (percent - 100) // 100 if percent > 100 else 0


def bonus_ref(campaign_id: int, action_id: int) -> str:
    """The cause of a campaign's bonus for one action."""
    return f"campaign:{campaign_id}/action:{action_id}"


def count_for_campaigns(batch: list[ApprovedAction]) -> list[ledger.Credit]:
    """Applier of approved actions: each campaign's count and progress; the bonuses.

    Only verified actions count (self-declared ones never did). One that comes back
    rejected (superseded by a partner's event) leaves the campaigns it counted for; the
    bonus it earned is taken back with its points (`points.actions.outranking`)."""
    _withdraw([a.action_id for a in batch if a.status == "rejected"])
    batch = [a for a in batch if a.counts_as_verified]
    if not batch:
        return []
    joined = _joined_campaigns(batch)
    rows = []
    for action in batch:
        for campaign in joined.get(action.resident_id, ()):
            if not (campaign.starts_at <= action.occurred_at < campaign.ends_at):
                continue
            if not campaign.targets(action.district_code):
                continue
            percent = campaign.rules_at(action.occurred_at).multiplier_percent(
                action.action_type, action.variant
            )
            rows.append(
                {
                    "campaign_id": campaign.id,
                    "action_id": action.action_id,
                    "resident_id": action.resident_id,
                    "co2e_g": action.co2e_g,
                    "bonus_points": bonus_points(action.points, percent),
                }
            )
    if not rows:
        return []
    rows.sort(key=lambda row: (row["campaign_id"], row["action_id"]))
    counted = db.session.connection().execute(
        db.upsert(CampaignAction)
        .on_conflict_do_nothing()
        .returning(CampaignAction.campaign_id, CampaignAction.action_id),
        rows,
    )
    first = set(map(tuple, counted))
    new = [row for row in rows if (row["campaign_id"], row["action_id"]) in first]
    progress = [
        {
            "campaign_id": row["campaign_id"],
            "shard": row["action_id"] % PROGRESS_SHARDS,
            "co2e_g": row["co2e_g"],
        }
        for row in new
        if row["co2e_g"]
    ]
    if progress:
        db.add_at_commit(CampaignProgress, ("campaign_id", "shard"), ("co2e_g",), progress)
    return [
        ledger.Credit(
            row["resident_id"],
            "campaign_bonus",
            bonus_ref(row["campaign_id"], row["action_id"]),
            row["bonus_points"],
        )
        for row in new
        if row["bonus_points"]
    ]


def _withdraw(action_ids: list[int]) -> None:
    """Take superseded actions out of the campaigns that counted them, and their grams out
    of the goals' progress."""
    if not action_ids:
        return
    gone = db.session.connection().execute(
        delete(CampaignAction)
        .where(CampaignAction.action_id.in_(action_ids))
        .returning(CampaignAction.campaign_id, CampaignAction.action_id, CampaignAction.co2e_g)
    )
    progress = [
        {"campaign_id": campaign_id, "shard": action_id % PROGRESS_SHARDS, "co2e_g": -grams}
        for campaign_id, action_id, grams in gone
        if grams
    ]
    if progress:
        db.add_at_commit(CampaignProgress, ("campaign_id", "shard"), ("co2e_g",), progress)


def _joined_campaigns(batch: list[ApprovedAction]) -> dict[int, list[Campaign]]:
    """Per resident, the campaigns they joined that ran at some time of the batch."""
    residents = {a.resident_id for a in batch}
    earliest = min(a.occurred_at for a in batch)
    latest = max(a.occurred_at for a in batch)
    pairs = db.session.execute(
        select(Enrolment.resident_id, Campaign)
        .join(Campaign, Campaign.id == Enrolment.campaign_id)
        .where(
            Enrolment.resident_id.in_(residents),
            Campaign.status.in_(("published", "ended")),
            Campaign.starts_at <= latest,
            Campaign.ends_at > earliest,
        )
        .order_by(Campaign.id)
    ).all()
    joined: dict[int, list[Campaign]] = defaultdict(list)
    for resident_id, campaign in pairs:
        joined[resident_id].append(campaign)
    return joined
