"""/healthz (the process answers) and /readyz (the database answers, and how far behind
the worker's queues are)."""

from collections.abc import Callable

import marshmallow as ma
from flask import Flask, current_app
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from backend.api import Blueprint, ErrorSchema, Schema
from backend.errors import AppError
from backend.extensions import db

blp = Blueprint("health", __name__, description="Probes for load balancers and orchestrators")


class NotReady(AppError):
    status = 503
    code = "not_ready"
    message = _l("The database is not reachable.")


class HealthSchema(Schema):
    status = ma.fields.String(metadata={"example": "ok"})


class BacklogSchema(Schema):
    rows = ma.fields.Integer(metadata={"description": "items waiting for the worker"})
    oldest_age_s = ma.fields.Float(metadata={"description": "seconds the oldest has waited"})


class ReadySchema(HealthSchema):
    backlog = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(BacklogSchema),
        metadata={"description": "per worker queue"},
    )


def register_backlog(app: Flask, name: str, reader: Callable) -> None:
    """A worker queue's backlog reader: an object with `rows` and `oldest_age_s`."""
    app.extensions.setdefault("backlog_readers", {})[name] = reader


def backlogs() -> dict:
    """Each worker queue's backlog (an object with `rows` and `oldest_age_s`), read now."""
    readers = current_app.extensions.get("backlog_readers", {})
    return {name: reader() for name, reader in readers.items()}


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """The process is up"""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, ReadySchema)
    @blp.alt_response(503, schema=ErrorSchema, description="not_ready: no database")
    def get(self):
        """The database answers a query; the worker's backlog"""
        try:
            db.session.execute(text("SELECT 1"))
            backlog = backlogs()
        except SQLAlchemyError as exc:
            raise NotReady() from exc
        return {"status": "ok", "backlog": backlog}
