"""Review queue items and decisions."""

import marshmallow as ma

from backend.api import Schema
from backend.pagination import PageArgsSchema
from points.actions.schemas import ActionSchema


class ReviewItemSchema(ActionSchema):
    resident_id = ma.fields.Integer()
    district_code = ma.fields.String(allow_none=True)
    local_day = ma.fields.Date()
    reviewed_at = ma.fields.DateTime(allow_none=True)
    reviewed_by = ma.fields.Integer(allow_none=True)


class ReviewQueueArgsSchema(PageArgsSchema):
    status = ma.fields.String(
        load_default="pending_review",
        validate=ma.validate.OneOf(("pending_review", "approved", "rejected")),
    )
    type = ma.fields.String(
        validate=ma.validate.OneOf(("clean_plate", "ev_charging", "trip", "garbage_sorting"))
    )


class RejectSchema(Schema):
    reason = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=2, max=500),
        metadata={"description": "shown to the resident"},
    )
