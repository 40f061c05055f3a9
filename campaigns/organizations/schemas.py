"""Organisations at the HTTP edge: residents' and staff's views."""

from __future__ import annotations

import marshmallow as ma

from backend.api import Schema
from backend.residents.schemas import TrimmedString, _printable
from campaigns.organizations.models import ORGANIZATION_KINDS, STAFF_KINDS

NAME_LENGTH = ma.validate.Length(min=1, max=40)


class HouseholdCreateSchema(Schema):
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(("household",)),
        metadata={"description": "residents make households; staff make the other kinds"},
    )
    name = TrimmedString(required=True, validate=[NAME_LENGTH, _printable])


class CreatedOrganizationSchema(Schema):
    id = ma.fields.Integer()
    invite_code = ma.fields.String()
    invite_expires_at = ma.fields.DateTime(allow_none=True)


class JoinSchema(Schema):
    invite_code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=32),
        metadata={"description": "as shown or scanned; case, spaces and dashes do not matter"},
    )


class MyOrganizationSchema(Schema):
    id = ma.fields.Integer(attribute="organization.id")
    kind = ma.fields.String(
        attribute="organization.kind", metadata={"enum": list(ORGANIZATION_KINDS)}
    )
    name = ma.fields.String(attribute="organization.name")
    district_code = ma.fields.String(attribute="organization.district_code", allow_none=True)
    member_count = ma.fields.Integer(attribute="organization.member_count")
    role = ma.fields.String(metadata={"enum": ["member", "admin"]})
    joined_at = ma.fields.DateTime()
    invite_code = ma.fields.Method(
        "_invite_code", allow_none=True, metadata={"description": "admins only; else null"}
    )

    def _invite_code(self, membership) -> str | None:
        return membership.organization.invite_code if membership.role == "admin" else None


class MyOrganizationListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(MyOrganizationSchema))


class OrganizationWriteSchema(Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(STAFF_KINDS))
    name = TrimmedString(required=True, validate=[NAME_LENGTH, _printable])
    district_code = ma.fields.String(required=True, validate=ma.validate.Length(max=16))
    street = TrimmedString(
        load_default=None,
        allow_none=True,
        validate=[ma.validate.Length(max=64), _printable],
        metadata={"description": "communities: their street (街道) or town; required there"},
    )


class StaffOrganizationSchema(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": list(ORGANIZATION_KINDS)})
    name = ma.fields.String()
    district_code = ma.fields.String(allow_none=True)
    street = ma.fields.String(allow_none=True)
    invite_code = ma.fields.String()
    invite_expires_at = ma.fields.DateTime(allow_none=True)
    member_count = ma.fields.Integer()
    status = ma.fields.String()
    created_at = ma.fields.DateTime()


class StaffOrganizationListArgs(Schema):
    kind = ma.fields.String(validate=ma.validate.OneOf(ORGANIZATION_KINDS))
