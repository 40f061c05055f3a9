"""The composition root: the only module that knows every package."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from admin.campaigns.api import blp as staff_campaigns_blp
from admin.cli import demo_cli
from admin.console.site import console, csrf
from admin.privacy.api import blp as privacy_blp
from admin.privacy.cli import privacy_cli
from admin.review.api import blp as review_blp
from admin.rewards.api import blp as staff_rewards_blp
from admin.stats import rollups as stats_rollups
from admin.stats.api import blp as stats_blp
from admin.stats.cli import drb_key_cli, stats_cli
from backend import i18n, idempotency
from backend.api import OPENAPI_SETTINGS
from backend.auth.api import blp as auth_blp
from backend.auth.sms import sender_from_config
from backend.auth.wechat import login_from_config
from backend.cli import refdata_cli, register_reference_loader
from backend.config import Config
from backend.districts.api import blp as districts_blp
from backend.districts.service import load_districts
from backend.errors import register_error_handlers
from backend.extensions import api, db, limiter, migrate
from backend.health import blp as health_blp
from backend.logging import configure_logging
from backend.residents.api import blp as me_blp
from backend.staff.api import blp as staff_blp
from backend.staff.cli import staff_cli
from campaigns import service as campaigns_service
from campaigns.api import blp as campaigns_blp
from campaigns.badges import service as badges_service
from campaigns.badges.api import blp as badges_blp
from campaigns.leaderboards import service as leaderboards_service
from campaigns.leaderboards.api import blp as leaderboards_blp
from points.actions.api import blp as actions_blp
from points.ledger.api import blp as ledger_blp
from points.ledger.cli import points_cli
from points.methodology.api import blp as methodology_blp
from points.methodology.service import load_methodology
from points.partner.api import blp as partner_blp
from points.partner.cli import partner_cli
from points.photos.api import blp as photos_blp
from points.photos.storage import store_from_config
from points.rewards.api import blp as rewards_blp
from points.signals import action_approved

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Listeners of an approval, in the one order every process takes their row locks in:
# a fixed order is what keeps concurrent approvals from deadlocking on each other's rows.
APPROVAL_LISTENERS = (
    campaigns_service.on_action_approved,
    badges_service.on_action_approved,
    leaderboards_service.on_action_approved,
    stats_rollups.on_action_approved,
)


def _on_action_approved(sender, event) -> None:
    for listener in APPROVAL_LISTENERS:
        listener(sender, event=event)


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    config.check()
    configure_logging(config.log_level)

    app = Flask(__name__, instance_path=config.instance_path)
    app.config.update(config.flask_settings())
    app.config.update(OPENAPI_SETTINGS)
    app.json.ensure_ascii = False  # Chinese stays readable in responses
    if config.database_url.startswith("sqlite"):
        Path(config.instance_path).mkdir(parents=True, exist_ok=True)
    if config.trusted_proxy_count:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=config.trusted_proxy_count, x_proto=config.trusted_proxy_count
        )

    db.init_app(app)
    idempotency.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    i18n.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    api.spec.components.security_scheme(
        "resident", {"type": "http", "scheme": "bearer", "description": "resident access token"}
    )
    api.spec.components.security_scheme(
        "staff", {"type": "http", "scheme": "bearer", "description": "staff access token"}
    )
    api.spec.components.security_scheme(
        "drb", {"type": "http", "scheme": "bearer", "description": "DRB API key (scope stats)"}
    )
    register_error_handlers(app)
    # The console checks CSRF on its own forms; the JSON API authenticates by bearer token.
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.is_production,
        PERMANENT_SESSION_LIFETIME=config.staff_token_ttl_seconds,
    )
    csrf.init_app(app)
    app.register_blueprint(console)

    app.extensions["sms_sender"] = sender_from_config(app.config)
    app.extensions["wechat_login"] = login_from_config(app.config)
    app.extensions["photo_store"] = store_from_config(app.config)

    for blueprint in (
        health_blp,
        districts_blp,
        auth_blp,
        me_blp,
        staff_blp,
        methodology_blp,
        actions_blp,
        photos_blp,
        ledger_blp,
        partner_blp,
        rewards_blp,
        staff_rewards_blp,
        review_blp,
        privacy_blp,
        leaderboards_blp,
        badges_blp,
        campaigns_blp,
        staff_campaigns_blp,
        stats_blp,
    ):
        api.register_blueprint(blueprint)
    action_approved.connect(_on_action_approved)
    stats_rollups.count_campaign_actions()  # campaign_action inserts, whatever the order

    register_reference_loader(app, lambda: f"districts: {load_districts()}")
    register_reference_loader(app, load_methodology)
    app.cli.add_command(refdata_cli)
    app.cli.add_command(staff_cli)
    app.cli.add_command(partner_cli)
    app.cli.add_command(points_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(drb_key_cli)
    return app
