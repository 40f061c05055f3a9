"""Organisations at the HTTP edge: residents' and staff's views."""

from __future__ import annotations

import marshmallow as ma

from backend.api import Schema
from backend.residents.schemas import TrimmedString, _printable
from campaigns.organizations.models import MEMBER_ROLES, ORGANIZATION_KINDS, STAFF_KINDS

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


PERIODS = ("week", "month", "all")


class OrganizationViewArgs(Schema):
    period = ma.fields.String(
        load_default="week",
        validate=ma.validate.OneOf(PERIODS),
        metadata={"description": "the current ISO week, calendar month or all time"},
    )
    limit = ma.fields.Integer(
        load_default=200,
        validate=ma.validate.Range(min=1, max=200),
        metadata={"description": "board rows on a page"},
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=64),
        metadata={"description": "the board's next_cursor, for the next page"},
    )


class OrganizationSummarySchema(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String(metadata={"enum": list(ORGANIZATION_KINDS)})
    name = ma.fields.String()
    district_code = ma.fields.String(allow_none=True)
    street = ma.fields.String(allow_none=True)
    member_count = ma.fields.Integer()


class OrganizationTotalsSchema(Schema):
    members = ma.fields.Integer(metadata={"description": "current members"})
    participants = ma.fields.Integer(
        metadata={"description": "members with an approved action in the period"}
    )
    co2e_g = ma.fields.Integer(metadata={"description": "verified CO2e avoided, grams"})
    points = ma.fields.Integer()
    actions = ma.fields.Integer()
    green_trips = ma.fields.Integer()
    trips = ma.fields.Integer(metadata={"description": "verified trips, any mode"})
    green_share = ma.fields.Float(
        allow_none=True, metadata={"description": "green_trips / trips; null without trips"}
    )


class BoardRowSchema(Schema):
    rank = ma.fields.Integer(metadata={"description": "ties share a rank"})
    nickname = ma.fields.String(metadata={"description": "a nickname or a pseudonym, never more"})
    co2e_g = ma.fields.Integer()
    points = ma.fields.Integer()
    actions = ma.fields.Integer()
    me = ma.fields.Boolean(metadata={"description": "the caller's own row"})


class OrganizationViewSchema(Schema):
    OPENAPI_EXAMPLE = {
        "organization": {
            "id": 7,
            "kind": "household",
            "name": "陈家",
            "district_code": "441202",
            "street": None,
            "member_count": 2,
        },
        "role": "admin",
        "period": "w2026-48",
        "as_of": "2026-11-25T10:00:00+08:00",
        "totals": {
            "members": 2,
            "participants": 2,
            "co2e_g": 5400,
            "points": 54,
            "actions": 6,
            "green_trips": 4,
            "trips": 5,
            "green_share": 0.8,
        },
        "board": [
            {"rank": 1, "nickname": "小陈", "co2e_g": 3400, "points": 34, "actions": 4, "me": True},
            {
                "rank": 2,
                "nickname": "陈妈妈",
                "co2e_g": 2000,
                "points": 20,
                "actions": 2,
                "me": False,
            },
        ],
        "next_cursor": None,
        "me": {
            "rank": 1,
            "nickname": "小陈",
            "co2e_g": 3400,
            "points": 34,
            "actions": 4,
            "me": True,
        },
    }

    organization = ma.fields.Nested(OrganizationSummarySchema)
    role = ma.fields.String(metadata={"enum": ["member", "admin"]})
    period = ma.fields.String(
        metadata={"description": 'the period\'s key: "w2026-48", "m2026-11", "all"'}
    )
    as_of = ma.fields.DateTime()
    totals = ma.fields.Nested(OrganizationTotalsSchema)
    board = ma.fields.List(
        ma.fields.Nested(BoardRowSchema),
        metadata={"description": "current members by CO2e in the period, most first"},
    )
    next_cursor = ma.fields.String(
        allow_none=True, metadata={"description": "the board's next page"}
    )
    me = ma.fields.Nested(BoardRowSchema, metadata={"description": "the caller's own row"})


class MemberSchema(Schema):
    id = ma.fields.Integer(metadata={"description": "the membership's id (to remove it)"})
    nickname = ma.fields.String()
    role = ma.fields.String(metadata={"enum": ["member", "admin"]})
    joined_at = ma.fields.DateTime()
    co2e_g = ma.fields.Integer(metadata={"description": "all time, since joining"})
    points = ma.fields.Integer()
    actions = ma.fields.Integer()


class StaffMemberSchema(MemberSchema):
    resident_id = ma.fields.Integer()


class InviteCodeSchema(Schema):
    invite_code = ma.fields.String()
    invite_expires_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "households' codes expire; others' do not"}
    )
    join_url = ma.fields.String(metadata={"description": "what the invite QR encodes"})


class RoleSchema(Schema):
    role = ma.fields.String(required=True, validate=ma.validate.OneOf(MEMBER_ROLES))


class StaffOrganizationDetailSchema(Schema):
    organization = ma.fields.Nested(StaffOrganizationSchema)
    members = ma.fields.List(ma.fields.Nested(StaffMemberSchema))
    next_cursor = ma.fields.String(allow_none=True)


class StaffMembershipSchema(Schema):
    id = ma.fields.Integer()
    organization_id = ma.fields.Integer()
    resident_id = ma.fields.Integer()
    role = ma.fields.String(metadata={"enum": ["member", "admin"]})
    joined_at = ma.fields.DateTime()
