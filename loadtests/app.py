"""The benchmark's app: the service's, plus the calibration write and `flask bench ...`.

Never the service's: `backend.app.create_app` registers neither. Serve it with gunicorn
`"loadtests.app:create_app()"`; run its commands with `flask --app loadtests.app bench ...`.
It refuses a production configuration, since the calibration write has no authentication.
"""

from __future__ import annotations

from flask import Flask

from backend.app import create_app as create_service_app
from backend.config import Config, ConfigError
from backend.extensions import api
from loadtests import calibration
from loadtests.bigdb.cli import bench_cli


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    if config.is_production:
        raise ConfigError("the benchmark's app opens an unauthenticated write: not in production")
    app = create_service_app(config)
    api.register_blueprint(calibration.blp)
    app.cli.add_command(bench_cli)
    return app
