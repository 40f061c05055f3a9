"""Partner batches and results; residents' links to partner accounts."""

import marshmallow as ma

from backend.api import Schema

MAX_EVENTS = 500


class PartnerBatchSchema(Schema):
    events = ma.fields.List(
        # Each event is checked on its own (even `null`): one bad event sinks nothing.
        ma.fields.Raw(allow_none=True),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_EVENTS),
        metadata={
            "description": "up to 500 events: {event_id, resident (phone or your linked id), "
            "type, ...the fields of POST /api/v1/actions for that type}; an event that is "
            "not such an object is rejected on its own, by its index, and the others recorded"
        },
    )


class EventErrorSchema(Schema):
    code = ma.fields.String()
    message = ma.fields.String()
    fields = ma.fields.Dict()


class EventResultSchema(Schema):
    index = ma.fields.Integer(metadata={"description": "the event's position in the batch, from 0"})
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
    partner_key = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=40),
        metadata={"example": "pk_3f9a0c1d2e4b5a6978c0d1e2"},
    )
    external_id = ma.fields.String(
        load_only=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={
            "description": "no longer accepted (422 partner_link_code_required): typing an "
            "account number proves nothing; enter the link code in the partner's app instead",
            "deprecated": True,
        },
    )


class LinkCodeSchema(Schema):
    id = ma.fields.Integer(attribute="link.id", metadata={"description": "the pending link"})
    partner = ma.fields.Nested(PartnerSchema, attribute="link.partner")
    link_code = ma.fields.String(
        metadata={
            "description": "enter it in the partner's own app; shown once, single use",
            "example": "7KQ2MX9D",
        }
    )
    expires_in = ma.fields.Integer(metadata={"description": "seconds", "example": 600})


class LinkSchema(Schema):
    id = ma.fields.Integer()
    partner = ma.fields.Nested(PartnerSchema)
    external_id = ma.fields.String(
        allow_none=True, metadata={"description": "set once the partner confirms the link"}
    )
    status = ma.fields.String(
        metadata={
            "description": "confirmed (its events credit you), pending (the code awaits the "
            "partner's confirmation) or expired (ask for a new code)",
            "example": "confirmed",
        }
    )
    created_at = ma.fields.DateTime()
    confirmed_at = ma.fields.DateTime(allow_none=True)
    code_expires_at = ma.fields.DateTime(allow_none=True)


class LinkListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(LinkSchema))


class LinkConfirmSchema(Schema):
    link_code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "description": "the code the resident entered in your app",
            "example": "7KQ2MX9D",
        },
    )
    external_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={
            "description": "the account (card or member number) where the resident is signed in "
            "and entered the code; name the resident by it in events",
            "example": "BUSCARD-0012345",
        },
    )


class ConfirmedLinkSchema(Schema):
    link_id = ma.fields.Integer(attribute="id", metadata={"description": "opaque"})
    external_id = ma.fields.String()
    confirmed_at = ma.fields.DateTime()
