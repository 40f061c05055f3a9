"""Campaign rules: creating, editing, publishing and ending; enrolment; bonuses; progress.

Bonuses are written when points announces an approved action: one `campaign_bonus` entry
per action per campaign (a unique cause), never a change to the base award. A bonus is
the campaign's multiplier applied to the base points actually paid, after the daily cap.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.audit import service as audit
from backend.clock import utcnow
from backend.districts.service import get_district
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents import tombstones
from backend.residents.models import Resident
from campaigns.badges import service as badges
from campaigns.models import (
    Campaign,
    CampaignAction,
    CampaignOrganizationProgress,
    CampaignProgress,
    CampaignRules,
    Checkin,
    CheckinPoint,
    Enrolment,
)
from campaigns.organizations import service as organizations
from campaigns.organizations.models import Membership, Organization
from points.actions.models import ACTION_TYPES
from points.ledger import service as ledger
from points.ledger.models import LedgerEntry
from points.methodology.service import current_methodology

RULE_FIELDS = ("multipliers", "join_bonus", "checkin_points", "team_bonus_points")
# Who a campaign is for and its team goal: fixed once published (residents joined for them)
ORGANIZATION_FIELDS = ("organization_kinds", "organization_ids", "team_goal_co2e_g")
ORGANIZATIONS_SHOWN = 20  # organisations on a staff campaign's detail, most grams first
JOIN_BADGE = "campaign_participant"  # awarded on joining a first campaign


def _percent_multipliers(multipliers: dict[str, float]) -> dict[str, int]:
    """{"trip:bus": 2} -> {"trip:bus": 200}; keys must name a known type (and a variant of
    the methodology in force: one staff published since is as good as a packaged one)."""
    variants = {(f.action_type, f.variant) for f in current_methodology().factors}
    percents = {}
    for key, factor in multipliers.items():
        action_type, _, variant = key.partition(":")
        if action_type not in ACTION_TYPES or (variant and (action_type, variant) not in variants):
            raise ValidationFailed(
                fields={"multipliers": {key: [_l("Not an action type or type:variant.")]}}
            )
        percents[key] = int((Decimal(str(factor)) * 100).to_integral_value(ROUND_HALF_UP))
    return percents


def _check_districts(codes: list[str]) -> None:
    unknown = [code for code in codes if get_district(code) is None]
    if unknown:
        raise ValidationFailed(fields={"district_codes": [_l("Unknown district.")]})


def _check_organizations(campaign: Campaign) -> None:
    """Named organisations exist and are of the listed kinds; a team goal (and its bonus)
    needs the campaign limited to organisations: the goal is per organisation."""
    ids = campaign.organization_ids
    if ids:
        kinds = dict(
            db.session.execute(
                select(Organization.id, Organization.kind).where(Organization.id.in_(ids))
            ).all()
        )
        if len(kinds) != len(ids):
            raise ValidationFailed(fields={"organization_ids": [_l("Unknown organisation.")]})
        if campaign.organization_kinds and not set(kinds.values()) <= set(
            campaign.organization_kinds
        ):
            raise ValidationFailed(
                fields={"organization_ids": [_l("Not of the campaign's organisation kinds.")]}
            )
    if campaign.team_goal_co2e_g is not None and not campaign.for_organizations:
        message = _l("A team goal needs the campaign limited to organisations.")
        raise ValidationFailed(fields={"team_goal_co2e_g": [message]})
    if campaign.rules.team_bonus_points and campaign.team_goal_co2e_g is None:
        message = _l("A team bonus needs a team goal.")
        raise ValidationFailed(fields={"team_bonus_points": [message]})


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise ValidationFailed(fields={"ends_at": [_l("Must be after starts_at.")]})


def _normal(value):
    return sorted(set(value)) if isinstance(value, list) else value


def _factor(percent: int) -> int | float:
    return percent // 100 if percent % 100 == 0 else percent / 100


def _audit_values(campaign: Campaign) -> dict:
    """A campaign as the audit log keeps it: its columns and its latest rules, which live
    in rows of their own (a published campaign's rules edit adds one), as factors."""
    rules = campaign.rules
    return {
        **audit.snapshot(campaign),
        "multipliers": {key: _factor(rules.multipliers[key]) for key in sorted(rules.multipliers)},
        "join_bonus": rules.join_bonus,
        "checkin_points": rules.checkin_points,
        "team_bonus_points": rules.team_bonus_points,
        "rules_effective_from": audit.plain(rules.effective_from),
    }


def create_campaign(data: dict, staff_id: int | None) -> Campaign:
    _check_window(data["starts_at"], data["ends_at"])
    _check_districts(data.get("district_codes", []))
    campaign = Campaign(
        title=data["title"],
        description=data.get("description", ""),
        event_key=data.get("event_key"),
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        district_codes=sorted(set(data.get("district_codes", []))),
        goal_co2e_g=data.get("goal_co2e_g"),
        organization_kinds=sorted(set(data.get("organization_kinds", []))),
        organization_ids=sorted(set(data.get("organization_ids", []))),
        team_goal_co2e_g=data.get("team_goal_co2e_g"),
        created_by=staff_id,
    )
    campaign.rules_history.append(
        CampaignRules(
            effective_from=data["starts_at"],
            multipliers=_percent_multipliers(data.get("multipliers", {})),
            join_bonus=data.get("join_bonus", 0),
            checkin_points=data.get("checkin_points", 0),
            team_bonus_points=data.get("team_bonus_points", 0),
        )
    )
    _check_organizations(campaign)
    db.session.add(campaign)
    db.session.flush()
    audit.record("campaign.create", "campaign", campaign.id, None, _audit_values(campaign))
    return campaign


def get_campaign(campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound()
    return campaign


def edit_campaign(campaign_id: int, changes: dict) -> Campaign:
    """Drafts change freely; a published campaign's rule changes apply from now on only."""
    campaign = get_campaign(campaign_id)
    if campaign.status == "ended":
        raise Conflict(_l("An ended campaign cannot change."), code="campaign_ended")
    before = _audit_values(campaign)
    published = campaign.status == "published"
    if published and {"starts_at", "district_codes"} & changes.keys():
        raise Conflict(
            _l("A published campaign's start and districts cannot change."),
            code="campaign_published",
        )
    if published and any(
        name in changes and _normal(changes[name]) != _normal(getattr(campaign, name))
        for name in ORGANIZATION_FIELDS
    ):
        raise Conflict(
            _l("A published campaign's organisations and team goal cannot change."),
            code="campaign_published",
        )
    starts_at = changes.get("starts_at", campaign.starts_at)
    ends_at = changes.get("ends_at", campaign.ends_at)
    _check_window(starts_at, ends_at)
    if "district_codes" in changes:
        _check_districts(changes["district_codes"])
        campaign.district_codes = sorted(set(changes["district_codes"]))
    for name in ("title", "description", "event_key", "goal_co2e_g", "team_goal_co2e_g"):
        if name in changes:
            setattr(campaign, name, changes[name])
    for name in ("organization_kinds", "organization_ids"):
        if name in changes:
            setattr(campaign, name, sorted(set(changes[name])))
    campaign.starts_at, campaign.ends_at = starts_at, ends_at

    rule_changes = {name: changes[name] for name in RULE_FIELDS if name in changes}
    if "multipliers" in rule_changes:
        rule_changes["multipliers"] = _percent_multipliers(rule_changes["multipliers"])
    if rule_changes:
        current = campaign.rules
        # Before a published campaign starts nothing has counted under its rules: they
        # change in place (a new row would share their start).
        if published and utcnow() > current.effective_from:
            new = CampaignRules(
                effective_from=max(utcnow(), campaign.starts_at),
                multipliers=current.multipliers,
                join_bonus=current.join_bonus,
                checkin_points=current.checkin_points,
                team_bonus_points=current.team_bonus_points,
            )
            campaign.rules_history.append(new)
            current = new
        else:
            current.effective_from = starts_at
        for name, value in rule_changes.items():
            setattr(current, name, value)
    elif not published:
        campaign.rules.effective_from = starts_at
    _check_organizations(campaign)
    db.session.flush()
    after = _audit_values(campaign)
    if after != before:
        audit.record("campaign.edit", "campaign", campaign.id, before, after)
    return campaign


def publish_campaign(campaign_id: int) -> Campaign:
    campaign = get_campaign(campaign_id)
    if campaign.status != "draft":
        raise Conflict(_l("Only a draft can be published."), code="campaign_not_draft")
    if campaign.ends_at <= utcnow():
        raise ValidationFailed(fields={"ends_at": [_l("The campaign would already be over.")]})
    before = _audit_values(campaign)
    campaign.status = "published"
    campaign.published_at = utcnow()
    db.session.flush()
    audit.record("campaign.publish", "campaign", campaign.id, before, _audit_values(campaign))
    return campaign


def end_campaign(campaign_id: int) -> Campaign:
    campaign = get_campaign(campaign_id)
    if campaign.status != "published":
        raise Conflict(_l("Only a published campaign can be ended."), code="campaign_not_published")
    before = _audit_values(campaign)
    now = utcnow()
    campaign.status = "ended"
    campaign.closed_at = now
    campaign.ends_at = min(campaign.ends_at, now) if now > campaign.starts_at else campaign.ends_at
    db.session.flush()
    audit.record("campaign.end", "campaign", campaign.id, before, _audit_values(campaign))
    return campaign


def staff_campaigns_query(status: str | None = None):
    query = select(Campaign)
    return query.where(Campaign.status == status) if status else query


def visible_campaigns(resident: Resident) -> list[Campaign]:
    """Published campaigns not yet over that target the resident's district."""
    rows = db.session.scalars(
        select(Campaign)
        .where(Campaign.status == "published", Campaign.ends_at > utcnow())
        .order_by(Campaign.starts_at)
    )
    return [c for c in rows if c.targets(resident.district_code)]


def visible_campaign(resident: Resident, campaign_id: int) -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if (
        campaign is None
        or campaign.status == "draft"
        or not campaign.targets(resident.district_code)
    ):
        raise NotFound()
    return campaign


# Campaigns for organisations. A limited campaign is shown to everyone in its districts,
# with `eligible` and the kinds it is for, so a resident learns what to join; only a
# resident holding an open membership of a qualifying organisation may enrol (or check in,
# which enrols): others are refused with 403 `campaign_for_organizations`.


def qualifying_memberships(campaign: Campaign, resident_id: int) -> list[Membership]:
    """The resident's open memberships of organisations the campaign is for."""
    if not campaign.for_organizations:
        return []
    return [
        m
        for m in organizations.open_memberships(resident_id)
        if campaign.qualifies(m.organization_id, m.organization.kind)
    ]


def eligible(campaign: Campaign, resident_id: int) -> bool:
    return not campaign.for_organizations or bool(qualifying_memberships(campaign, resident_id))


def organization_progress(campaign_id: int, organization_ids) -> dict[int, tuple[int, bool]]:
    """Grams and whether the team goal was reached, per organisation that has a row."""
    if not organization_ids:
        return {}
    rows = db.session.execute(
        select(
            CampaignOrganizationProgress.organization_id,
            CampaignOrganizationProgress.co2e_g,
            CampaignOrganizationProgress.reached_at,
        ).where(
            CampaignOrganizationProgress.campaign_id == campaign_id,
            CampaignOrganizationProgress.organization_id.in_(list(organization_ids)),
        )
    )
    return {oid: (int(grams), reached is not None) for oid, grams, reached in rows}


def organization_board(campaign: Campaign, limit: int) -> list[dict]:
    """The campaign's organisations with the most grams first (ties: the older first)."""
    rows = db.session.execute(
        select(Organization, CampaignOrganizationProgress)
        .join(Organization, Organization.id == CampaignOrganizationProgress.organization_id)
        .where(CampaignOrganizationProgress.campaign_id == campaign.id)
        .order_by(CampaignOrganizationProgress.co2e_g.desc(), Organization.id)
        .limit(limit)
    )
    return [
        {
            "id": organization.id,
            "kind": organization.kind,
            "name": organization.name,
            "co2e_g": int(progress.co2e_g),
            "goal_co2e_g": campaign.team_goal_co2e_g,
            "reached": progress.reached_at is not None,
            "reached_at": progress.reached_at,
        }
        for organization, progress in rows
    ]


def resident_board(campaign: Campaign, resident_id: int, limit: int) -> list[dict]:
    """The board residents see: households keep their names to their own members."""
    mine = {m.organization_id for m in organizations.open_memberships(resident_id)}
    board = organization_board(campaign, limit)
    for row in board:
        if row["kind"] == "household" and row["id"] not in mine:
            row["name"] = None
    return board


def _my_organizations(campaign: Campaign, resident_id: int) -> list[dict]:
    memberships = qualifying_memberships(campaign, resident_id)
    progress = organization_progress(campaign.id, {m.organization_id for m in memberships})
    described = []
    for membership in memberships:
        grams, reached = progress.get(membership.organization_id, (0, False))
        described.append(
            {
                "id": membership.organization_id,
                "kind": membership.organization.kind,
                "name": membership.organization.name,
                "co2e_g": grams,
                "goal_co2e_g": campaign.team_goal_co2e_g,
                "reached": reached,
            }
        )
    return described


def progress_g(campaign_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(CampaignProgress.co2e_g), 0)).where(
            CampaignProgress.campaign_id == campaign_id
        )
    )


def participants(campaign_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Enrolment).where(Enrolment.campaign_id == campaign_id)
    )


def is_enrolled(campaign_id: int, resident_id: int) -> bool:
    return db.session.get(Enrolment, (campaign_id, resident_id)) is not None


def join_ref(campaign_id: int, resident_id: int) -> str:
    """The cause of a campaign's join bonus."""
    return f"campaign:{campaign_id}/join/resident:{resident_id}"


def enrol(resident: Resident, campaign_id: int) -> tuple[Enrolment, int]:
    """Join a campaign: once; pays the join bonus once. Returns the enrolment and the bonus."""
    campaign = visible_campaign(resident, campaign_id)
    if campaign.status != "published" or campaign.ends_at <= utcnow():
        raise Conflict(_l("This campaign is over."), code="campaign_over")
    return _enrol(campaign, resident.id, already_ok=False)


def ensure_enrolled(campaign: Campaign, resident_id: int) -> None:
    """Taking part (a check-in) enrols a resident who had not joined yet."""
    _enrol(campaign, resident_id, already_ok=True)


def _enrol(campaign: Campaign, resident_id: int, *, already_ok: bool) -> tuple[Enrolment, int]:
    existing = db.session.get(Enrolment, (campaign.id, resident_id))
    if existing is not None:
        if already_ok:
            return existing, 0
        raise Conflict(_l("You have already joined this campaign."), code="already_enrolled")
    if not eligible(campaign, resident_id):
        raise Forbidden(
            _l("This campaign is for members of certain organisations."),
            code="campaign_for_organizations",
        )
    try:
        with db.session.begin_nested():
            enrolment = Enrolment(campaign_id=campaign.id, resident_id=resident_id)
            db.session.add(enrolment)
    except IntegrityError as exc:
        if already_ok:
            return db.session.get(Enrolment, (campaign.id, resident_id)), 0
        raise Conflict(
            _l("You have already joined this campaign."), code="already_enrolled"
        ) from exc
    bonus = campaign.rules_at(utcnow()).join_bonus
    if bonus and tombstones.kept_used(resident_id, "campaign_join", str(campaign.id)):
        bonus = 0  # paid to a deleted account this resident signed up again as
    if bonus:
        ledger.credit(
            [
                ledger.Credit(
                    resident_id, "campaign_bonus", join_ref(campaign.id, resident_id), bonus
                )
            ]
        )
    badges.award_badge(resident_id, JOIN_BADGE)
    return enrolment, bonus


def joins_kept(resident_id: int, now: datetime) -> list[tombstones.Kept]:
    """A deleted account's joins of campaigns still running: their join bonus is not paid
    again to a successor, until the campaign ends."""
    rows = db.session.execute(
        select(Campaign.id, Campaign.ends_at)
        .join(Enrolment, Enrolment.campaign_id == Campaign.id)
        .where(
            Enrolment.resident_id == resident_id,
            Campaign.status == "published",
            Campaign.ends_at > now,
        )
    )
    return [tombstones.Kept("campaign_join", str(cid), 1, ends_at) for cid, ends_at in rows]


def describe(campaign: Campaign, resident_id: int | None = None) -> dict:
    """A campaign with its live figures, as residents (`resident_id`) and staff see it:
    a resident sees whether they may join and their own organisations' progress; staff
    see the organisations with the most progress."""
    described = {
        **{c.key: getattr(campaign, c.key) for c in Campaign.__table__.columns},
        "rules": campaign.rules,
        "rules_history": campaign.rules_history,
        "progress_co2e_g": progress_g(campaign.id),
        "participants": participants(campaign.id),
        "enrolled": resident_id is not None and is_enrolled(campaign.id, resident_id),
    }
    if resident_id is None:
        described["organizations"] = (
            organization_board(campaign, ORGANIZATIONS_SHOWN) if campaign.for_organizations else []
        )
    else:
        described["my_organizations"] = _my_organizations(campaign, resident_id)
        described["eligible"] = not campaign.for_organizations or bool(
            described["my_organizations"]
        )
    return described


# The resident's own campaigns and check-ins


def enrolments_query(resident_id: int):
    """The resident's enrolments, for `backend.pagination.paginate` by campaign id."""
    return select(Enrolment).where(Enrolment.resident_id == resident_id)


def describe_enrolments(enrolments: list[Enrolment]) -> list[dict]:
    """A page of the resident's enrolments, each with its campaign and what the resident
    earned in it: grams and actions counted, bonuses (join and multipliers) and check-in
    points. One grouped statement per figure for the whole page."""
    if not enrolments:
        return []
    resident_id = enrolments[0].resident_id
    ids = [e.campaign_id for e in enrolments]
    campaigns = {c.id: c for c in db.session.scalars(select(Campaign).where(Campaign.id.in_(ids)))}
    progress = dict(
        db.session.execute(
            select(CampaignProgress.campaign_id, func.sum(CampaignProgress.co2e_g))
            .where(CampaignProgress.campaign_id.in_(ids))
            .group_by(CampaignProgress.campaign_id)
        ).all()
    )
    joined = dict(
        db.session.execute(
            select(Enrolment.campaign_id, func.count())
            .where(Enrolment.campaign_id.in_(ids))
            .group_by(Enrolment.campaign_id)
        ).all()
    )
    counted = {
        campaign_id: (grams, actions, bonus)
        for campaign_id, grams, actions, bonus in db.session.execute(
            select(
                CampaignAction.campaign_id,
                func.sum(CampaignAction.co2e_g),
                func.count(),
                func.sum(CampaignAction.bonus_points),
            )
            .where(CampaignAction.resident_id == resident_id, CampaignAction.campaign_id.in_(ids))
            .group_by(CampaignAction.campaign_id)
        )
    }
    refs = {join_ref(campaign_id, resident_id): campaign_id for campaign_id in ids}
    join_bonuses = {
        refs[ref]: delta
        for ref, delta in db.session.execute(
            select(LedgerEntry.ref, LedgerEntry.delta).where(
                LedgerEntry.resident_id == resident_id,
                LedgerEntry.kind == "campaign_bonus",
                LedgerEntry.ref.in_(refs),
            )
        )
    }
    checkin_points = dict(
        db.session.execute(
            select(CheckinPoint.campaign_id, func.sum(Checkin.points))
            .join(CheckinPoint, CheckinPoint.id == Checkin.point_id)
            .where(Checkin.resident_id == resident_id, CheckinPoint.campaign_id.in_(ids))
            .group_by(CheckinPoint.campaign_id)
        ).all()
    )
    described = []
    for enrolment in enrolments:
        campaign = campaigns[enrolment.campaign_id]
        grams, actions, action_bonus = counted.get(campaign.id, (0, 0, 0))
        join_bonus = join_bonuses.get(campaign.id, 0)
        described.append(
            {
                **{c.key: getattr(campaign, c.key) for c in Campaign.__table__.columns},
                "rules": campaign.rules,
                "progress_co2e_g": int(progress.get(campaign.id) or 0),
                "participants": joined.get(campaign.id, 0),
                "enrolled": True,
                "enrolled_at": enrolment.enrolled_at,
                "mine": {
                    "co2e_g": int(grams or 0),
                    "actions": actions,
                    "join_bonus": join_bonus,
                    "action_bonus": int(action_bonus or 0),
                    "checkin_points": int(checkin_points.get(campaign.id) or 0),
                    "bonus_points": join_bonus + int(action_bonus or 0),
                },
            }
        )
    return described


def checkins_query(resident_id: int):
    """The resident's check-ins, for `backend.pagination.paginate` by id."""
    return select(Checkin).where(Checkin.resident_id == resident_id)
