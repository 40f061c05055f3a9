"""Partner batches and results; residents' links to partner accounts."""

from typing import ClassVar

import marshmallow as ma
from apispec.ext.marshmallow import resolver

from backend.api import Schema
from points.actions.kinds import KINDS, ActionKind

MAX_EVENTS = 500
EVENTS_DESCRIPTION = (
    "up to 500 events: {event_id, resident (phone or your linked id), type, ...the fields "
    "of POST /api/v1/actions for that type}; an event that is not such an object is "
    "rejected on its own, by its index, and the others recorded"
)


class PartnerEventFields(Schema):
    """What a partner event adds to an action body of its type."""

    event_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=64),
        metadata={
            "description": "your id for the event, 1 to 64 characters: sent again, it is a "
            "duplicate, never a second action"
        },
    )
    resident = ma.fields.String(
        required=True,
        metadata={
            "description": "the resident's phone number, or the external_id of a link the "
            "resident confirmed in your app (POST /api/v1/partner/links)"
        },
    )


def _partner_event_schema(kind: ActionKind) -> type[Schema]:
    """An event of `kind` as documented: the action type's own schema (the one each event
    is validated with) and the event's fields."""
    example = {
        "event_id": f"evt-20261118-{kind.name}-0001",
        "resident": "13800138000",
        **kind.schema.OPENAPI_EXAMPLE,
    }
    attributes = {
        "__doc__": f"A partner's event: {kind.schema.__doc__}",
        "__module__": __name__,
        "OPENAPI_EXAMPLE": example,
    }
    name = kind.schema.__name__.removesuffix("ActionSchema")
    return type(f"Partner{name}EventSchema", (PartnerEventFields, kind.schema), attributes)


# The types partners may report, each its event schema (derived from KINDS, never retyped).
PARTNER_EVENT_SCHEMAS: dict[str, type[Schema]] = {
    name: _partner_event_schema(kind) for name, kind in KINDS.items() if kind.partner_reportable
}


def partner_batch_doc() -> dict:
    """The request body of POST /api/v1/partner/events as documented: each event one schema
    per reportable type under the `type` discriminator, with examples. The server reads the
    events as raw items (PartnerBatchSchema) and checks each on its own."""
    events = {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_EVENTS,
        "description": EVENTS_DESCRIPTION,
        "items": {
            "oneOf": list(PARTNER_EVENT_SCHEMAS.values()),
            "discriminator": {
                "propertyName": "type",
                "mapping": {
                    name: f"#/components/schemas/{resolver(schema)}"
                    for name, schema in PARTNER_EVENT_SCHEMAS.items()
                },
            },
        },
    }
    return {
        "description": "A batch of events; each is accepted, a duplicate or rejected on its own.",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["events"],
                    "additionalProperties": False,
                    "properties": {"events": events},
                },
                "examples": {
                    name: {
                        "summary": schema.__doc__,
                        "value": {"events": [schema.OPENAPI_EXAMPLE]},
                    }
                    for name, schema in PARTNER_EVENT_SCHEMAS.items()
                },
            }
        },
    }


class PartnerBatchSchema(Schema):
    events = ma.fields.List(
        # Each event is checked on its own (even `null`): one bad event sinks nothing.
        ma.fields.Raw(allow_none=True),
        required=True,
        validate=ma.validate.Length(min=1, max=MAX_EVENTS),
        metadata={"description": EVENTS_DESCRIPTION},  # documented by partner_batch_doc
    )


class EventErrorSchema(Schema):
    code = ma.fields.String()
    message = ma.fields.String()
    fields = ma.fields.Dict()


class EventResultSchema(Schema):
    """One event's outcome, in the batch's order."""

    index = ma.fields.Integer(metadata={"description": "the event's position in the batch, from 0"})
    event_id = ma.fields.String(
        allow_none=True, metadata={"description": "null when the event had no usable event_id"}
    )
    status = ma.fields.String(
        metadata={
            "description": "accepted, duplicate (of an event already sent: its action) or "
            "rejected (see error)",
            "enum": ["accepted", "duplicate", "rejected"],
        }
    )
    action_id = ma.fields.Integer(allow_none=True)
    co2e_g = ma.fields.Integer(allow_none=True)
    points = ma.fields.Integer(allow_none=True)
    capped = ma.fields.Boolean(allow_none=True)
    error = ma.fields.Nested(EventErrorSchema, allow_none=True)


class BatchResultSchema(Schema):
    OPENAPI_EXAMPLE: ClassVar[dict] = {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 1,
        "results": [
            {
                "index": 0,
                "event_id": "evt-20261118-trip-0001",
                "status": "accepted",
                "action_id": 1042,
                "co2e_g": 520,
                "points": 52,
                "capped": False,
                "error": None,
            },
            {
                "index": 1,
                "event_id": None,
                "status": "rejected",
                "action_id": None,
                "co2e_g": None,
                "points": None,
                "capped": None,
                "error": {
                    "code": "event_not_object",
                    "message": "Each event must be a JSON object.",
                    "fields": {},
                },
            },
        ],
    }

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
