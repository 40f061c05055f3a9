"""The composition root: the only module that knows every package.

Each package's `init_app` registers its blueprints, commands, worker queues, periodic
jobs and appliers; the order below is the order of the OpenAPI document's sections.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from admin import wiring as admin
from backend import json_bounds
from backend import wiring as backend
from backend.config import Config
from backend.logging import configure_logging
from campaigns import wiring as campaigns
from points import wiring as points


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    config.check()
    configure_logging(config.log_level)

    app = Flask(__name__, instance_path=config.instance_path)
    app.config.update(config.flask_settings())
    json_bounds.install(app)  # before anything reads a body or sets a JSON option
    app.json.ensure_ascii = False  # Chinese stays readable in responses
    if config.database_url.startswith("sqlite"):
        Path(config.instance_path).mkdir(parents=True, exist_ok=True)
    if config.trusted_proxy_count:
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=config.trusted_proxy_count, x_proto=config.trusted_proxy_count
        )
    for package in (backend, points, campaigns, admin):
        package.init_app(app)
    return app
