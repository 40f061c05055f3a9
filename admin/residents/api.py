"""POST /api/v1/staff/residents/<id>/suspend and /restore: a staff member changes a
resident's access, for a reason the audit log keeps (422 reason_required without one)."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema, Schema
from backend.residents import service
from backend.residents.service import STATUS_REASON_MAX_LENGTH
from backend.staff.guard import staff_required
from backend.staff.permissions import MANAGE_RESIDENTS

blp = Blueprint(
    "staff_residents",
    __name__,
    url_prefix="/api/v1/staff/residents",
    description="Staff: residents' access",
)
STAFF = [{"staff": []}]


class StatusChangeSchema(Schema):
    OPENAPI_EXAMPLE = {"reason": "多次提交伪造的垃圾分类照片"}

    reason = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=STATUS_REASON_MAX_LENGTH),
        metadata={"description": "why: required, kept in the audit log"},
    )


class ResidentStatusSchema(Schema):
    resident_id = ma.fields.Integer(attribute="id")
    status = ma.fields.String(metadata={"description": "active or suspended"})


@blp.route("/<int:resident_id>/suspend")
class Suspend(MethodView):
    decorators = [staff_required(MANAGE_RESIDENTS)]

    @blp.doc(security=STAFF)
    @blp.arguments(StatusChangeSchema)
    @blp.response(200, ResidentStatusSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no such resident")
    @blp.alt_response(409, schema=ErrorSchema, description="resident_deleted")
    @blp.alt_response(422, schema=ErrorSchema, description="reason_required")
    def post(self, body, resident_id):
        """Suspend a resident (their app is signed out until restored), with a reason"""
        return service.suspend_resident(resident_id, body["reason"])


@blp.route("/<int:resident_id>/restore")
class Restore(MethodView):
    decorators = [staff_required(MANAGE_RESIDENTS)]

    @blp.doc(security=STAFF)
    @blp.arguments(StatusChangeSchema)
    @blp.response(200, ResidentStatusSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no such resident")
    @blp.alt_response(409, schema=ErrorSchema, description="resident_deleted")
    @blp.alt_response(422, schema=ErrorSchema, description="reason_required")
    def post(self, body, resident_id):
        """Restore a suspended resident's access, with a reason"""
        return service.restore_resident(resident_id, body["reason"])
