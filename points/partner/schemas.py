"""Partner batches and results; residents' links to partner accounts."""

import marshmallow as ma

from backend.api import Schema

MAX_EVENTS = 500


class PartnerBatchSchema(Schema):
    events = ma.fields.List(
        ma.fields.Raw(),  # each event is checked on its own: one bad event sinks nothing
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_EVENTS),
        metadata={
            "description": "up to 500 events: {event_id, resident (phone or your linked id), "
            "type, ...the fields of POST /api/v1/actions for that type}"
        },
    )


class EventErrorSchema(Schema):
    code = ma.fields.String()
    message = ma.fields.String()
    fields = ma.fields.Dict()


class EventResultSchema(Schema):
    event_id = ma.fields.String(allow_none=True)
    status = ma.fields.String(metadata={"description": "accepted, duplicate or rejected"})
    action_id = ma.fields.Integer(allow_none=True)
    co2e_g = ma.fields.Integer(allow_none=True)
    points = ma.fields.Integer(allow_none=True)
    capped = ma.fields.Boolean(allow_none=True)
    error = ma.fields.Nested(EventErrorSchema, allow_none=True)


class BatchResultSchema(Schema):
    accepted = ma.fields.Integer()
    duplicates = ma.fields.Integer()
    rejected = ma.fields.Integer()
    results = ma.fields.List(ma.fields.Nested(EventResultSchema))


class PartnerSchema(Schema):
    key = ma.fields.String()
    name = ma.fields.String()


class PartnerListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(PartnerSchema))


class LinkCreateSchema(Schema):
    partner_key = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=40))
    external_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={"description": "your card or member number at the partner"},
    )


class LinkSchema(Schema):
    id = ma.fields.Integer()
    partner = ma.fields.Nested(PartnerSchema)
    external_id = ma.fields.String()
    created_at = ma.fields.DateTime()


class LinkListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(LinkSchema))
