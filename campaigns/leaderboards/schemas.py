"""Leaderboards at the HTTP edge: which board, and each place on it without personal data."""

import marshmallow as ma

from backend.api import Schema
from campaigns.leaderboards.service import PERIODS
from campaigns.organizations.models import ORGANIZATION_KINDS

PERIOD = ma.fields.String(
    load_default="week",
    validate=ma.validate.OneOf(PERIODS),
    metadata={"description": "this ISO week, this month (Asia/Shanghai) or all time"},
)


class ResidentBoardArgsSchema(Schema):
    period = PERIOD
    district_code = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=16),
        metadata={"description": "a code from GET /api/v1/districts; city-wide without it"},
    )
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))


class DistrictBoardArgsSchema(Schema):
    period = PERIOD


class ResidentPlaceSchema(Schema):
    rank = ma.fields.Integer(metadata={"description": "ties share a rank: 1, 2, 2, 4"})
    nickname = ma.fields.String(
        metadata={"description": "the nickname, or a stable pseudonym when there is none"}
    )
    district_code = ma.fields.String(allow_none=True)
    co2e_g = ma.fields.Integer(metadata={"description": "grams CO2e avoided in the period"})
    is_me = ma.fields.Boolean()


class MyPlaceSchema(Schema):
    rank = ma.fields.Integer(
        allow_none=True, metadata={"description": "null when you are not on this board"}
    )
    co2e_g = ma.fields.Integer(metadata={"description": "your grams CO2e in the period"})


class ResidentBoardSchema(Schema):
    period = ma.fields.String(metadata={"description": 'e.g. "w2026-48", "m2026-11", "all"'})
    as_of = ma.fields.DateTime()
    district_code = ma.fields.String(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(ResidentPlaceSchema))
    me = ma.fields.Nested(MyPlaceSchema)


class DistrictPlaceSchema(Schema):
    rank = ma.fields.Integer(metadata={"description": "by co2e_g_per_participant; ties share"})
    district_code = ma.fields.String()
    name = ma.fields.String()
    co2e_g = ma.fields.Integer()
    participants = ma.fields.Integer(
        metadata={"description": "residents with CO2e avoided in the period and district"}
    )
    co2e_g_per_participant = ma.fields.Integer(metadata={"description": "rounded down"})


class MyDistrictSchema(Schema):
    district_code = ma.fields.String()
    rank = ma.fields.Integer(allow_none=True)


class DistrictBoardSchema(Schema):
    period = ma.fields.String()
    as_of = ma.fields.DateTime()
    items = ma.fields.List(ma.fields.Nested(DistrictPlaceSchema))
    me = ma.fields.Nested(
        MyDistrictSchema,
        allow_none=True,
        metadata={"description": "your district's place; null when you have no district"},
    )


class CommunityBoardArgsSchema(ResidentBoardArgsSchema):
    """The same query as the residents' board: period, district_code, limit."""


class CommunityPlaceSchema(Schema):
    rank = ma.fields.Integer(metadata={"description": "by co2e_g; ties share a rank: 1, 2, 2, 4"})
    district_code = ma.fields.String()
    community = ma.fields.String(metadata={"description": "as residents name it in their profile"})
    co2e_g = ma.fields.Integer(metadata={"description": "grams CO2e avoided in the period"})
    participants = ma.fields.Integer(
        metadata={"description": "residents of the community with CO2e avoided in the period"}
    )
    is_mine = ma.fields.Boolean(metadata={"description": "the community of your profile"})


class MyCommunitySchema(Schema):
    district_code = ma.fields.String()
    community = ma.fields.String()
    rank = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "null when your community is not on this board"},
    )
    co2e_g = ma.fields.Integer()
    participants = ma.fields.Integer()


class CommunityBoardSchema(Schema):
    period = ma.fields.String(metadata={"description": 'e.g. "w2026-48", "m2026-11", "all"'})
    as_of = ma.fields.DateTime()
    district_code = ma.fields.String(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(CommunityPlaceSchema))
    me = ma.fields.Nested(
        MyCommunitySchema,
        allow_none=True,
        metadata={
            "description": "your community's place; null when your profile names no district "
            "and community"
        },
    )


class OrganizationBoardArgsSchema(ResidentBoardArgsSchema):
    kind = ma.fields.String(
        required=True,
        validate=ma.validate.OneOf(ORGANIZATION_KINDS),
        metadata={"description": "which organisations: " + ", ".join(ORGANIZATION_KINDS)},
    )


class OrganizationPlaceSchema(Schema):
    rank = ma.fields.Integer(metadata={"description": "by per_member_g; ties share a rank"})
    id = ma.fields.Integer(
        allow_none=True, metadata={"description": "null for households other than yours"}
    )
    name = ma.fields.String(
        metadata={"description": "a stable pseudonym for households other than yours"}
    )
    kind = ma.fields.String()
    district_code = ma.fields.String(allow_none=True)
    members = ma.fields.Integer(metadata={"description": "current members"})
    participants = ma.fields.Integer(
        metadata={"description": "members (then or now) with an approved action in the period"}
    )
    co2e_g = ma.fields.Integer(
        metadata={"description": "verified grams CO2e avoided by members while members"}
    )
    per_member_g = ma.fields.Integer(
        metadata={"description": "co2e_g // max(members, participants), rounded down"}
    )
    is_mine = ma.fields.Boolean(metadata={"description": "your organisation"})


class MyOrganizationPlaceSchema(Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    rank = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "null when it has no figures in the period or is not on this board"
        },
    )
    members = ma.fields.Integer()
    participants = ma.fields.Integer()
    co2e_g = ma.fields.Integer()
    per_member_g = ma.fields.Integer()


class OrganizationBoardSchema(Schema):
    kind = ma.fields.String()
    period = ma.fields.String(metadata={"description": 'e.g. "w2026-48", "m2026-11", "all"'})
    as_of = ma.fields.DateTime()
    district_code = ma.fields.String(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(OrganizationPlaceSchema))
    me = ma.fields.Nested(
        MyOrganizationPlaceSchema,
        allow_none=True,
        metadata={"description": "your organisation of this kind; null when you have none"},
    )
