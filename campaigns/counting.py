"""Counting approved actions for campaigns: goal progress and bonuses, a batch at a time.

An action counts for every campaign the resident had joined that runs when it happened
and targets the resident's district, once (the `campaign_action` key). Its bonus is the
campaign's multiplier, in force when it happened, applied to the base points actually
paid after the daily cap: its own ledger entry, never a change to the base award. Goals
count verified grams only.

A campaign limited to organisations also keeps each qualifying organisation's grams: an
action counts for an organisation its resident was a member of when it happened (and the
campaign is for). When an organisation first reaches the campaign's team goal, every member
enrolled in the campaign and still a member at that moment is paid the team bonus, once:
the statement that sets `reached_at` (only where it was unset) is the one that pays, so a
requeued batch or a second worker finds it set and pays nothing. Members who enrol after
the goal was reached are not paid: the bonus rewards the team that reached it, and paying
late joiners would let anyone join a full team's campaign to collect it. Taking a
superseded action back lowers the grams but never unsets `reached_at` (what was paid
stays paid, as with a reached campaign goal).
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select, update

from backend.clock import utcnow
from backend.extensions import db
from campaigns.models import (
    PROGRESS_SHARDS,
    Campaign,
    CampaignAction,
    CampaignOrganizationAction,
    CampaignOrganizationProgress,
    CampaignProgress,
    Enrolment,
)
from campaigns.organizations import service as organizations
from campaigns.organizations.models import Membership
from points.ledger import service as ledger
from points.signals import ApprovedAction


def bonus_points(base_points: int, percent: int) -> int:
    return base_points * (percent - 100) // 100 if percent > 100 else 0


def bonus_ref(campaign_id: int, action_id: int) -> str:
    """The cause of a campaign's bonus for one action."""
    return f"campaign:{campaign_id}/action:{action_id}"


def team_bonus_ref(campaign_id: int, organization_id: int, resident_id: int) -> str:
    """The cause of a member's team bonus: one per member per organisation per campaign."""
    return f"campaign:{campaign_id}/team:{organization_id}/resident:{resident_id}"


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
    sources = {}
    for action in batch:
        for campaign in joined.get(action.resident_id, ()):
            if not (campaign.starts_at <= action.occurred_at < campaign.ends_at):
                continue
            if not campaign.targets(action.district_code):
                continue
            percent = campaign.rules_at(action.occurred_at).multiplier_percent(
                action.action_type, action.variant
            )
            sources[(campaign.id, action.action_id)] = (campaign, action)
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
    credits = [
        ledger.Credit(
            row["resident_id"],
            "campaign_bonus",
            bonus_ref(row["campaign_id"], row["action_id"]),
            row["bonus_points"],
        )
        for row in new
        if row["bonus_points"]
    ]
    teams = [sources[(row["campaign_id"], row["action_id"])] for row in new]
    return credits + _count_for_organizations(teams)


def _count_for_organizations(
    counted: list[tuple[Campaign, ApprovedAction]],
) -> list[ledger.Credit]:
    """Add newly counted actions of limited campaigns to their organisations' progress;
    the team bonuses of the organisations that reach their goal with them."""
    counted = [(c, a) for c, a in counted if c.for_organizations and a.co2e_g]
    if not counted:
        return []
    memberships = organizations.memberships_during(
        {a.resident_id for _, a in counted},
        min(a.occurred_at for _, a in counted),
        max(a.occurred_at for _, a in counted),
    )
    rows = [
        {
            "campaign_id": campaign.id,
            "action_id": action.action_id,
            "organization_id": membership.organization_id,
            "co2e_g": action.co2e_g,
        }
        for campaign, action in counted
        for membership in memberships.get(action.resident_id, ())
        if membership.covers(action.occurred_at)
        and campaign.qualifies(membership.organization_id, membership.kind)
    ]
    if not rows:
        return []
    rows.sort(key=lambda row: (row["campaign_id"], row["action_id"], row["organization_id"]))
    added = db.session.connection().execute(
        db.upsert(CampaignOrganizationAction)
        .on_conflict_do_nothing()
        .returning(
            CampaignOrganizationAction.campaign_id,
            CampaignOrganizationAction.organization_id,
            CampaignOrganizationAction.co2e_g,
        ),
        rows,
    )
    _add_organization_progress(added)
    campaigns = {campaign.id: campaign for campaign, _ in counted}
    return _team_bonuses(campaigns, {(row["campaign_id"], row["organization_id"]) for row in rows})


def _add_organization_progress(triples) -> None:
    """Add (campaign, organisation, grams) to the organisations' progress rows, now: the
    team goal is checked against them in this transaction."""
    totals: dict[tuple[int, int], int] = defaultdict(int)
    for campaign_id, organization_id, grams in triples:
        totals[(campaign_id, organization_id)] += grams
    if not totals:
        return
    statement = db.upsert(CampaignOrganizationProgress)
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "organization_id"],
        set_={"co2e_g": CampaignOrganizationProgress.co2e_g + statement.excluded.co2e_g},
    )
    db.session.connection().execute(
        statement,
        [
            {"campaign_id": cid, "organization_id": oid, "co2e_g": grams}
            for (cid, oid), grams in sorted(totals.items())
        ],
    )


def _team_bonuses(
    campaigns: dict[int, Campaign], touched: set[tuple[int, int]]
) -> list[ledger.Credit]:
    """Mark the organisations that reached their team goal (where not yet marked) and pay
    their enrolled members. Only the statement that marks one pays for it."""
    connection = db.session.connection()
    now = utcnow()
    credits = []
    for campaign_id in sorted({cid for cid, _ in touched}):
        campaign = campaigns[campaign_id]
        if campaign.team_goal_co2e_g is None:
            continue
        table = CampaignOrganizationProgress
        reached = [
            oid
            for (oid,) in connection.execute(
                update(table)
                .where(
                    table.campaign_id == campaign_id,
                    table.organization_id.in_(sorted(o for c, o in touched if c == campaign_id)),
                    table.reached_at.is_(None),
                    table.co2e_g >= campaign.team_goal_co2e_g,
                )
                .values(reached_at=now)
                .returning(table.organization_id)
            )
        ]
        points = campaign.rules_at(now).team_bonus_points
        if not reached or not points:
            continue
        members = connection.execute(
            select(Membership.organization_id, Membership.resident_id)
            .join(
                Enrolment,
                (Enrolment.resident_id == Membership.resident_id)
                & (Enrolment.campaign_id == campaign_id),
            )
            .where(Membership.organization_id.in_(reached), Membership.left_at.is_(None))
            .order_by(Membership.organization_id, Membership.resident_id)
        )
        credits.extend(
            ledger.Credit(rid, "campaign_bonus", team_bonus_ref(campaign_id, oid, rid), points)
            for oid, rid in members
        )
    return credits


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
    teams = db.session.connection().execute(
        delete(CampaignOrganizationAction)
        .where(CampaignOrganizationAction.action_id.in_(action_ids))
        .returning(
            CampaignOrganizationAction.campaign_id,
            CampaignOrganizationAction.organization_id,
            CampaignOrganizationAction.co2e_g,
        )
    )
    _add_organization_progress((cid, oid, -grams) for cid, oid, grams in teams)


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
