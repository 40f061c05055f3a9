"""What the shell adds to the app: database, errors, i18n, limits, the API and its
security schemes, residents' and staff sign-in, reference data, the worker command."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from backend import i18n, idempotency, metrics, ratelimit, security_headers, worker
from backend.api import OPENAPI_SETTINGS
from backend.auth.api import blp as auth_blp
from backend.auth.captcha import verifier_from_config
from backend.auth.sms import sender_from_config
from backend.auth.wechat import login_from_config
from backend.cli import refdata_cli, register_reference_loader
from backend.consent.api import blp as consent_blp
from backend.districts.api import blp as districts_blp
from backend.districts.service import load_districts
from backend.errors import register_error_handlers
from backend.extensions import api, db, migrate
from backend.health import blp as health_blp
from backend.legal import notice
from backend.legal.api import blp as legal_blp
from backend.residents.api import blp as me_blp
from backend.staff import throttle as staff_throttle
from backend.staff.api import blp as staff_blp
from backend.staff.cli import staff_cli

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

SECURITY_SCHEMES = {
    "resident": "resident access token",
    "staff": "staff access token",
    "drb": "DRB API key (scope stats)",
}


def init_app(app: Flask) -> None:
    app.config.update(OPENAPI_SETTINGS)
    db.init_app(app)
    idempotency.init_app(app)
    staff_throttle.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    i18n.init_app(app)
    ratelimit.init_app(app)
    api.init_app(app)
    for name, description in SECURITY_SCHEMES.items():
        api.spec.components.security_scheme(
            name, {"type": "http", "scheme": "bearer", "description": description}
        )
    register_error_handlers(app)
    security_headers.init_app(app)
    # The console checks CSRF on its own forms; the JSON API authenticates by bearer token.
    app.config.update(
        WTF_CSRF_CHECK_DEFAULT=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["APP_ENV"] == "production",
        PERMANENT_SESSION_LIFETIME=app.config["STAFF_TOKEN_TTL_SECONDS"],
    )
    app.extensions["sms_sender"] = sender_from_config(app.config)
    app.extensions["wechat_login"] = login_from_config(app.config)
    app.extensions["captcha_verifier"] = verifier_from_config(app.config)
    notice.init_app(app)
    for blueprint in (
        health_blp,
        districts_blp,
        legal_blp,
        auth_blp,
        me_blp,
        consent_blp,
        staff_blp,
    ):
        api.register_blueprint(blueprint)
    register_reference_loader(app, lambda: f"districts: {load_districts()}")
    worker.init_app(app)
    metrics.init_app(app)
    app.cli.add_command(refdata_cli)
    app.cli.add_command(staff_cli)
