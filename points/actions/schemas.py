"""An action body (its type's schema, chosen by `type`) and the action as residents see it."""

from __future__ import annotations

from typing import ClassVar

import marshmallow as ma
from apispec.ext.marshmallow import resolver

from backend.api import Schema
from backend.pagination import PageArgsSchema
from points.actions.kinds import KINDS, kind_of
from points.actions.models import ACTION_TYPES


class ActionCreateSchema(Schema):
    """One of the types' schemas (points.actions.kinds.KINDS), chosen by `type`."""

    type = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTION_TYPES))

    def load(self, data, *, many=None, partial=None, unknown=None):
        kind = kind_of(data)
        if kind is None:
            return super().load(data, many=many, partial=partial, unknown=unknown)
        return kind.schema().load(data, partial=partial)


def action_body_doc() -> dict:
    """The request body of POST /api/v1/actions as documented: one schema per type under a
    `type` discriminator, and each type's example, all from KINDS (what `load` dispatches
    to). apispec turns the schema classes into components and references."""
    return {
        "description": "One action; `type` selects the fields (one schema per type).",
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [kind.schema for kind in KINDS.values()],
                    "discriminator": {
                        "propertyName": "type",
                        "mapping": {
                            name: f"#/components/schemas/{resolver(kind.schema)}"
                            for name, kind in KINDS.items()
                        },
                    },
                },
                "examples": {
                    name: {"summary": kind.schema.__doc__, "value": kind.schema.OPENAPI_EXAMPLE}
                    for name, kind in KINDS.items()
                },
            }
        },
    }


class ActionSchema(Schema):
    """An action as its resident sees it."""

    OPENAPI_EXAMPLE: ClassVar[dict] = {
        "id": 1042,
        "type": "trip",
        "variant": "bike",
        "status": "approved",
        "co2e_g": 578,
        "points": 5,
        "capped": False,
        "bonuses_follow": True,
        "factor_version": "2026.1",
        "quantity": 6.2,
        "unit": "km",
        "occurred_at": "2026-11-18T08:30:00+08:00",
        "source": "app",
        "verification": "self_declared",
        "flags": [],
        "photo_id": None,
        "details": {},
        "review_reason": None,
        "created_at": "2026-11-18T08:31:02+08:00",
    }

    id = ma.fields.Integer()
    type = ma.fields.String(metadata={"enum": list(ACTION_TYPES)})
    variant = ma.fields.String(metadata={"description": "trip mode, garbage category, meal, kwh"})
    status = ma.fields.String(metadata={"description": "approved, pending_review or rejected"})
    co2e_g = ma.fields.Integer(metadata={"description": "grams CO2e avoided, rounded down"})
    points = ma.fields.Integer(metadata={"description": "points paid (0 until approved)"})
    capped = ma.fields.Boolean(metadata={"description": "the daily cap cut the points"})
    bonuses_follow = ma.fields.Method(
        "_bonuses_follow",
        metadata={
            "description": "approved: its campaign bonuses and badges, if any, follow within "
            "seconds as their own ledger entries (GET /api/v1/me/ledger)",
            "example": True,
            "type": "boolean",
        },
    )
    factor_version = ma.fields.String()
    quantity = ma.fields.Float()
    unit = ma.fields.String()
    occurred_at = ma.fields.DateTime()
    source = ma.fields.String()
    verification = ma.fields.String(
        metadata={
            "description": "partner (a signed partner event), trace (a trip whose GPS trace "
            "passed the checks), reviewed (a reviewer approved its evidence) or self_declared "
            "(the resident's word alone: counted apart, never as verified CO2e)",
            "example": "trace",
        }
    )
    flags = ma.fields.List(ma.fields.String())
    photo_id = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()
    review_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()

    def _bonuses_follow(self, action) -> bool:
        status = action["status"] if isinstance(action, dict) else action.status
        return status == "approved"


class ActionListArgsSchema(PageArgsSchema):
    status = ma.fields.String(
        validate=ma.validate.OneOf(("approved", "pending_review", "rejected"))
    )
