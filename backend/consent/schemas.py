"""Consents at the HTTP edge: the state a client shows, and the requests that change it."""

import marshmallow as ma

from backend.api import Schema
from backend.consent.models import CONSENT_SCOPES


class ConsentGivenSchema(Schema):
    version = ma.fields.String(metadata={"example": "2026-12-03"})
    accepted_at = ma.fields.DateTime(metadata={"example": "2026-12-03T09:30:00+08:00"})


class ConsentStateSchema(Schema):
    OPENAPI_EXAMPLE = {
        "privacy": {"version": "2026-12-03", "accepted_at": "2026-12-03T09:30:00+08:00"},
        "location": None,
        "current_privacy_version": "2026-12-03",
        "privacy_required": False,
    }

    privacy = ma.fields.Nested(
        ConsentGivenSchema,
        allow_none=True,
        metadata={"description": "the privacy notice version you accepted; null: none"},
    )
    location = ma.fields.Nested(
        ConsentGivenSchema,
        allow_none=True,
        metadata={"description": "your consent to location (traces, check-ins); null: none"},
    )
    current_privacy_version = ma.fields.String(metadata={"example": "2026-12-03"})
    privacy_required = ma.fields.Boolean(
        metadata={
            "description": "true: accept current_privacy_version (POST /api/v1/me/consents) "
            "before recording actions, photos or check-ins"
        }
    )


class ConsentWithdrawnSchema(ConsentStateSchema):
    OPENAPI_EXAMPLE = {
        **ConsentStateSchema.OPENAPI_EXAMPLE,
        "notice": "You withdrew your consent to location: trip traces and check-ins are refused.",
    }

    notice = ma.fields.String(metadata={"description": "what the withdrawal means for you"})


class ConsentRequestSchema(Schema):
    OPENAPI_EXAMPLE = {"scope": "location", "version": "2026-12-03"}

    scope = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(CONSENT_SCOPES),
        metadata={"description": "privacy or location", "example": "location"},
    )
    version = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "description": "the version of GET /api/v1/legal/privacy you read",
            "example": "2026-12-03",
        },
    )
