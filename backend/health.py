"""/healthz (the process answers) and /readyz (the database answers)."""

import marshmallow as ma
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


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    def get(self):
        """The process is up"""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=ErrorSchema, description="service_unavailable: no database")
    def get(self):
        """The database answers a query"""
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise NotReady() from exc
        return {"status": "ok"}
