"""Resident profile at the HTTP edge."""

import unicodedata

import marshmallow as ma

from backend.api import Schema
from backend.consent import service as consent
from backend.consent.schemas import ConsentStateSchema
from backend.i18n import N_


def _printable(value: str) -> None:
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        # A plain msgid: the error handler translates field messages in the client's language.
        raise ma.ValidationError(N_("Control characters are not allowed."))


class TrimmedString(ma.fields.String):
    """A string with surrounding white space removed before validation."""

    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class ConsentField(ma.fields.Nested):
    """The resident's consents, as of now (read from their history, not a column)."""

    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return consent.state(obj.id)


class ResidentSchema(Schema):
    id = ma.fields.Integer(dump_only=True)
    nickname = ma.fields.String(allow_none=True)
    phone_masked = ma.fields.String(
        allow_none=True,
        metadata={"description": "e.g. 138****1234; the full number is never shown"},
    )
    district_code = ma.fields.String(allow_none=True)
    community = ma.fields.String(allow_none=True)
    wechat_linked = ma.fields.Boolean()
    status = ma.fields.String()
    created_at = ma.fields.DateTime()
    consent = ConsentField(
        ConsentStateSchema,
        dump_only=True,
        metadata={
            "description": "privacy_required true: accept the notice in force before "
            "recording (POST /api/v1/me/consents)"
        },
    )


class ResidentUpdateSchema(Schema):
    nickname = TrimmedString(
        validate=[ma.validate.Length(min=1, max=32), _printable],
        metadata={"description": "1 to 32 characters"},
    )
    district_code = ma.fields.String(
        allow_none=True,
        validate=ma.validate.Length(max=16),
        metadata={"description": "a code from GET /api/v1/districts; null clears it"},
    )
    community = TrimmedString(
        allow_none=True,
        validate=[ma.validate.Length(max=64), _printable],
        metadata={"description": "up to 64 characters; null clears it"},
    )
