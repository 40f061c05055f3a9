"""What points adds to the app: its endpoints, commands, reference data, the approval
outbox as a worker queue, the expiry job, what a deleted account's successor carries and the
erasure of GPS traces past their time."""

from __future__ import annotations

from flask import Flask

from backend.cli import register_reference_loader
from backend.extensions import api
from backend.health import register_backlog
from backend.metrics import count_committed
from backend.residents.tombstones import register_carrier
from backend.worker import register_periodic, register_queue
from points.actions import outbox
from points.actions.api import blp as actions_blp
from points.actions.cli import erase_expired_traces
from points.actions.models import Action
from points.ledger import descriptions
from points.ledger.api import blp as ledger_blp
from points.ledger.cli import expire_points, points_cli
from points.ledger.service import carry_day_points
from points.methodology.api import blp as methodology_blp
from points.methodology.service import load_methodology
from points.partner.api import blp as partner_blp
from points.partner.cli import partner_cli
from points.photos.api import blp as photos_blp
from points.photos.cli import photos_cli
from points.photos.service import decoding_pool_from_config
from points.photos.storage import store_from_config
from points.rewards.api import blp as rewards_blp

# /metrics counts actions as their transactions commit
ACTIONS_RECORDED = (
    "actions_recorded",
    "Actions recorded, by type, verification and status as recorded",
    ("type", "verification", "status"),
)


def init_app(app: Flask) -> None:
    app.extensions["photo_store"] = store_from_config(app.config)
    app.extensions["photo_decoding"] = decoding_pool_from_config(app.config)
    for blueprint in (
        methodology_blp,
        actions_blp,
        photos_blp,
        ledger_blp,
        partner_blp,
        rewards_blp,
    ):
        api.register_blueprint(blueprint)
    register_reference_loader(app, load_methodology)
    descriptions.init_app(app)
    register_queue(app, "approval_outbox", outbox.apply_batch)
    register_backlog(app, "approval_outbox", outbox.backlog)
    count_committed(Action, *ACTIONS_RECORDED)
    register_periodic(app, "points_expiry", "daily", expire_points)
    register_carrier(app, "day_points", carry_day_points)
    register_periodic(app, "trace_erasure", "daily", erase_expired_traces)
    app.cli.add_command(partner_cli)
    app.cli.add_command(points_cli)
    app.cli.add_command(photos_cli)
