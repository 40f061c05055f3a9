"""Demo organisations: schools, communities, an employer, an agency and families, with
members who joined a month ago (a few last week), so that boards and creation reports are
filled as soon as the demo's history has been applied.

The demo people joined before their history starts; a few joined part-way, so the figures
show that what a member did before joining does not count. Kept idempotent: a re-seed
finds its organisations by name and its members by their open memberships.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from backend.clock import utcnow
from backend.extensions import db
from backend.residents.models import Resident
from campaigns import service as campaigns
from campaigns.models import Campaign
from campaigns.organizations import service as organizations
from campaigns.organizations.models import Membership, Organization

# (kind, name, district, street): staff organisations of the 绿色创建 campaign.
DEMO_ORGANIZATIONS = (
    ("school", "肇庆市第一小学（演示）", "441202", None),
    ("school", "鼎湖区实验中学（演示）", "441203", None),
    ("community", "城东社区（演示）", "441202", "城东街道"),
    ("community", "鼎湖山社区（演示）", "441203", "坑口街道"),
    ("employer", "星湖科技有限公司（演示）", "441202", None),
    ("agency", "肇庆市发展和改革局（演示）", "441202", None),
)
# 全国节能宣传周's school challenge: each school's parents aim at a team goal together.
SCHOOL_CHALLENGE = "全国节能宣传周 · 校园低碳挑战赛（演示）"
SCHOOL_TEAM_GOAL_G = 700_000  # the demo: one school reaches it, one nearly
SCHOOL_TEAM_BONUS = 100
JOINED_DAYS_AGO = 30  # before the demo's history begins (HISTORY_DAYS)
LATE_JOINERS_DAYS_AGO = 7  # every LATE_EVERY-th member joined last week
LATE_EVERY = 7
FAMILY_SIZE = 3


def _staff_organization(kind: str, name: str, district: str, street: str | None) -> Organization:
    found = db.session.scalar(
        select(Organization).where(Organization.name == name, Organization.kind == kind)
    )
    if found is not None:
        return found
    return organizations.create_organization(
        kind=kind, name=name, district_code=district, street=street, staff_id=None
    )


def _join(organization: Organization, resident: Resident, days_ago: int) -> Membership | None:
    """Join with the organisation's code, dated `days_ago` (as if they had then)."""
    if organizations.open_membership(resident.id, organization.id) is not None:
        return None
    for membership in organizations.open_memberships(resident.id):
        if membership.kind == organization.kind:
            return None  # a re-seed after changes: a member of another of this kind stays
    membership = organizations.join(resident, organization.invite_code)
    membership.joined_at = utcnow() - timedelta(days=days_ago)
    return membership


def _joined_days_ago(index: int) -> int:
    return LATE_JOINERS_DAYS_AGO if index % LATE_EVERY == LATE_EVERY - 1 else JOINED_DAYS_AGO


def seed_organizations(people: list[Resident]) -> None:
    """Members for each demo organisation, from the demo residents (each in one
    organisation of a kind at most), and families of three with a household each."""
    made = {
        name: _staff_organization(kind, name, district, street)
        for kind, name, district, street in DEMO_ORGANIZATIONS
    }
    schools = [made[name] for kind, name, *_ in DEMO_ORGANIZATIONS if kind == "school"]
    communities = {
        district: made[name]
        for kind, name, district, _ in DEMO_ORGANIZATIONS
        if kind == "community"
    }
    employer = next(made[name] for kind, name, *_ in DEMO_ORGANIZATIONS if kind == "employer")
    agency = next(made[name] for kind, name, *_ in DEMO_ORGANIZATIONS if kind == "agency")
    for index, resident in enumerate(people):
        days = _joined_days_ago(index)
        # Parents of the two schools' pupils: the families are the members, not the children.
        if index < 2 * 16:
            _join(schools[index % 2], resident, days)
        community = communities.get(resident.district_code)
        if community is not None:
            _join(community, resident, days)
        if 30 <= index < 44:
            _join(employer, resident, days)
        elif 44 <= index < 58:
            _join(agency, resident, days)
    for index, first in enumerate(people[::FAMILY_SIZE]):
        family = people[index * FAMILY_SIZE : (index + 1) * FAMILY_SIZE]
        if any(m.kind == "household" for m in organizations.open_memberships(first.id)):
            continue
        household = organizations.create_household(first, f"{first.nickname}的家")
        membership = organizations.open_membership(first.id, household.id)
        membership.joined_at = utcnow() - timedelta(days=JOINED_DAYS_AGO)
        for relative in family[1:]:
            _join(household, relative, JOINED_DAYS_AGO)
    for organization in made.values():
        # Staff made each organisation's longest-standing member its admin.
        first = db.session.scalar(
            select(Membership)
            .where(Membership.organization_id == organization.id, Membership.left_at.is_(None))
            .order_by(Membership.joined_at, Membership.id)
            .limit(1)
        )
        if first is not None and first.role != "admin":
            organizations.set_member_role(
                organization.id, first.resident_id, "admin", staff_id=None
            )
    db.session.flush()


def seed_school_challenge(window_days: int, lasts_days: int) -> Campaign:
    """Energy Saving Week's challenge for the demo schools: their members' verified CO2e
    toward a team goal each, a team bonus to every enrolled member when their school
    reaches it. Every demo school member has joined."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.title == SCHOOL_CHALLENGE))
    if campaign is None:
        now = utcnow()
        campaign = campaigns.create_campaign(
            {
                "title": SCHOOL_CHALLENGE,
                "description": (
                    "节能宣传周期间，各校家长绿色出行、垃圾分类，以学校为单位累计减排量；"
                    "学校达到团队目标后，参加活动的成员每人获得团队奖励积分。"
                ),
                "event_key": "energy_saving_week",
                "starts_at": now - timedelta(days=window_days),
                "ends_at": now + timedelta(days=lasts_days),
                "organization_kinds": ["school"],
                "team_goal_co2e_g": SCHOOL_TEAM_GOAL_G,
                "team_bonus_points": SCHOOL_TEAM_BONUS,
            },
            staff_id=None,
        )
        campaigns.publish_campaign(campaign.id)
    members = db.session.scalars(
        select(Membership.resident_id).where(
            Membership.kind == "school", Membership.left_at.is_(None)
        )
    )
    for resident_id in members:
        campaigns.ensure_enrolled(campaign, resident_id)
    return campaign
