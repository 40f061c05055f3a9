"""Two yardsticks for POST /api/v1/actions: what its machinery costs, and its least write.

They answer the question the ratio (b)/(a) leaves open: how close to one durable write
per request can an action get on this machine and stack, before it does anything the
action does beyond that? Both are served only by the benchmark tools, never by the app:

- the floor (`POST /bench/floor`): the action endpoint's own decorators and schemas
  (bearer token, the resident's rate limit, body schema, response schema) around a view
  that writes nothing and answers a fixed action;
- the least durable action (`POST /bench/least-action`): the same machinery around the
  least that a correct action must write, in one transaction: its day's cap row (locked
  and read), the action row, the balance, the ledger entry, and the Idempotency-Key's
  record with the response. Its statements are built once and run on the connection,
  the methodology is read once per process, and it leaves out everything else the real
  endpoint does: the key's claim in a transaction of its own, review, photos, event keys,
  and the outbox row the worker applies (campaigns, badges, leaderboards, statistics). Statistics
  do not count its actions, so `flask stats check` disagrees after it has run: it runs on
  a database of its own (`python -m loadtests.bench --yardsticks`).

`create_app()` is the benchmark's app (`loadtests.app`: the service, the calibration write
and `flask bench`) with both registered (gunicorn `loadtests.yardsticks:create_app()`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, request
from flask.views import MethodView

from backend.api import Blueprint
from backend.auth.guard import current_resident, resident_required
from backend.clock import utcnow
from backend.extensions import api, db
from backend.idempotency import HEADER, IdempotencyRecord
from loadtests.app import create_app as create_bench_app
from loadtests.settings import FLOOR_PATH, LEAST_ACTION_PATH
from points.actions import service as actions
from points.actions.api import action_flood_limit
from points.actions.models import Action
from points.actions.schemas import ActionCreateSchema, ActionSchema
from points.ledger import service as ledger
from points.ledger.models import Account, LedgerEntry
from points.methodology import service as methodology_service


def floor_blueprint() -> Blueprint:
    blp = Blueprint("bench_floor", __name__, url_prefix=FLOOR_PATH)
    moment = datetime.now(UTC)
    answer = {
        "id": 1,
        "type": "trip",
        "variant": "bike",
        "status": "approved",
        "co2e_g": 373,
        "points": 373,
        "capped": False,
        "factor_version": "yardstick",
        "quantity": 1.0,
        "unit": "trip",
        "occurred_at": moment,
        "source": "self_reported",
        "verification": "trace",
        "flags": [],
        "photo_id": None,
        "details": {},
        "review_reason": None,
        "created_at": moment,
    }

    @blp.route("")
    class Floor(MethodView):
        decorators = [action_flood_limit, resident_required]

        @blp.arguments(ActionCreateSchema)
        @blp.response(201, ActionSchema)
        def post(self, _body):
            return answer

    return blp


def least_action_blueprint() -> Blueprint:
    blp = Blueprint("bench_least_action", __name__, url_prefix=LEAST_ACTION_PATH)
    in_force = {}  # read once: publishing a version while it runs is not measured
    add_action = sa.insert(Action).returning(Action.id)
    move_balance = (
        sa.update(Account)
        .where(Account.resident_id == sa.bindparam("resident"))
        .values(
            balance=Account.balance + sa.bindparam("points"),
            co2e_g_total=Account.co2e_g_total + sa.bindparam("grams"),
        )
        .returning(Account.balance)
    )
    add_entry = sa.insert(LedgerEntry)
    add_record = sa.insert(IdempotencyRecord)

    @blp.route("")
    class LeastAction(MethodView):
        decorators = [action_flood_limit, resident_required]

        @blp.arguments(ActionCreateSchema)
        @blp.response(201, ActionSchema)
        def post(self, body):
            now = utcnow()
            if not in_force:
                in_force["methodology"] = methodology_service.current_methodology()
            methodology = in_force["methodology"]
            resident = current_resident()
            incoming = actions.action_input(body, now)
            factor = actions.factor_for(methodology, incoming)
            actions.check_plausibility(methodology, incoming, now)
            action = actions.new_action(
                resident, incoming, methodology, factor, "self_reported", None
            )
            day = (resident.id, action.local_day, action.type)
            so_far = ledger.lock_days({day})[day]
            wanted = methodology_service.points_for(methodology, action.co2e_g)
            cap = methodology.daily_point_caps[action.type]
            action.points = ledger.within_cap(wanted, cap, so_far)
            action.capped = action.points < wanted
            action.status = "approved"
            action.created_at = now
            row = {
                column.key: getattr(action, column.key)
                for column in Action.__table__.columns
                if getattr(action, column.key) is not None
            }
            connection = db.session.connection()
            row["id"] = connection.execute(add_action, row).scalar_one()
            if action.points:
                # The cap row's points move with the grant, as the approve path moves them.
                ledger.set_day_points({day: so_far + action.points})
            grant = {"resident": resident.id, "points": action.points, "grams": action.co2e_g}
            balance = connection.execute(move_balance, grant).scalar_one_or_none()
            if balance is None:
                ledger.ensure_account(resident.id)
                balance = connection.execute(move_balance, grant).scalar_one()
            if action.points:
                entry = {
                    "resident_id": resident.id,
                    "kind": "earn",
                    "ref": ledger.earn_ref(row["id"]),
                    "delta": action.points,
                    "balance_after": balance,
                    "created_at": now,
                }
                connection.execute(add_entry, entry)
            recorded = {**row, "quantity": action.quantity}
            connection.execute(
                add_record,
                {
                    "scope": "bench-least-action",
                    "principal": f"resident:{resident.id}",
                    "key": request.headers[HEADER],
                    "request_hash": hashlib.sha256(request.get_data()).hexdigest(),
                    "response_status": 201,
                    "response_body": ActionSchema().dump(recorded),
                    "created_at": now,
                    "completed_at": now,
                },
            )
            return recorded

    return blp


def create_app() -> Flask:
    """The benchmark's app with both yardsticks."""
    app = create_bench_app()
    api.register_blueprint(floor_blueprint())
    api.register_blueprint(least_action_blueprint())
    return app
