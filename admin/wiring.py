"""What admin adds to the app: the console, the staff API, reporting, and their jobs."""

from __future__ import annotations

from flask import Flask

from admin.campaigns.api import blp as staff_campaigns_blp
from admin.cli import demo_cli
from admin.console.site import console, csrf
from admin.impact.api import blp as impact_blp
from admin.impact.service import compute_due as compute_campaign_impacts
from admin.organizations.api import blp as staff_organizations_blp
from admin.organizations.report_api import blp as organization_reports_blp
from admin.privacy.api import blp as privacy_blp
from admin.privacy.cli import apply_retention, expire_tombstones, privacy_cli
from admin.residents.api import blp as staff_residents_blp
from admin.review.api import blp as review_blp
from admin.rewards.api import blp as staff_rewards_blp
from admin.stats.api import blp as stats_blp
from admin.stats.cli import drb_key_cli, stats_cli
from admin.stats.rollups import add_to_rollups
from backend.extensions import api
from backend.worker import register_periodic
from points.signals import register_applier


def init_app(app: Flask) -> None:
    csrf.init_app(app)
    app.register_blueprint(console)
    for blueprint in (
        staff_rewards_blp,
        review_blp,
        privacy_blp,
        staff_campaigns_blp,
        staff_organizations_blp,
        stats_blp,
        organization_reports_blp,
        impact_blp,
        staff_residents_blp,
    ):
        api.register_blueprint(blueprint)
    register_applier(app, "statistics", add_to_rollups)
    register_periodic(app, "retention", "daily", apply_retention)
    register_periodic(app, "tombstones", "daily", expire_tombstones)
    register_periodic(app, "campaign_impact", "daily", compute_campaign_impacts)
    for group in (privacy_cli, demo_cli, stats_cli, drb_key_cli):
        app.cli.add_command(group)
