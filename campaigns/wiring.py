"""What campaigns adds to the app: its endpoints and what it derives from approvals."""

from __future__ import annotations

from flask import Flask

from backend.extensions import api
from campaigns import descriptions
from campaigns.api import blp as campaigns_blp
from campaigns.badges.api import blp as badges_blp
from campaigns.badges.service import award_milestones
from campaigns.counting import count_for_campaigns
from campaigns.leaderboards.api import blp as leaderboards_blp
from campaigns.leaderboards.service import add_to_boards
from campaigns.organizations.api import blp as organizations_blp
from campaigns.organizations.children_api import blp as children_blp
from campaigns.organizations.figures import add_to_organizations
from points.ledger.descriptions import register_describer
from points.signals import register_applier


def init_app(app: Flask) -> None:
    for blueprint in (
        leaderboards_blp,
        badges_blp,
        campaigns_blp,
        organizations_blp,
        children_blp,
    ):
        api.register_blueprint(blueprint)
    register_applier(app, "campaigns", count_for_campaigns)
    register_applier(app, "badges", award_milestones)
    register_applier(app, "leaderboards", add_to_boards)
    register_applier(app, "organizations", add_to_organizations)
    register_describer(app, "campaign", descriptions.campaign_bonuses)
    register_describer(app, "checkin", descriptions.checkins)
    register_describer(app, "badge", descriptions.badges)
