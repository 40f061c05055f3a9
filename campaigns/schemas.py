"""Campaigns, check-ins and enrolments at the HTTP edge (residents' and staff views)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l

from backend.api import Schema
from backend.clock import LOCAL_TZ
from backend.config import Config
from backend.districts.service import read_reference_file
from campaigns.models import CHECKIN_MODES
from campaigns.organizations.models import ORGANIZATION_KINDS

EVENT_KEYS = tuple(event["key"] for event in read_reference_file()["events"])


def _moment(**kwargs) -> ma.fields.AwareDateTime:
    # Without an offset a time is Beijing time, as staff type it.
    return ma.fields.AwareDateTime(default_timezone=LOCAL_TZ, **kwargs)


MIN_MULTIPLIER = 1  # a multiplier never takes points away


class MultiplierRange(ma.validate.Validator):
    """A campaign multiplier: from MIN_MULTIPLIER to CAMPAIGN_MAX_MULTIPLIER (the app's
    setting; the packaged default where no app is at hand, as when the API is documented).
    Its `min` and `max` are what apispec documents as the number's bounds."""

    min = MIN_MULTIPLIER

    @property
    def max(self) -> int:
        if has_app_context():
            return current_app.config["CAMPAIGN_MAX_MULTIPLIER"]
        return Config.campaign_max_multiplier

    def __call__(self, value: float) -> float:
        if not self.min <= value <= self.max:
            # In a list: marshmallow would take a lazy string for a list of characters.
            raise ma.ValidationError(
                [_l("A multiplier must be from %(min)s to %(max)s.", min=self.min, max=self.max)]
            )
        return value


class TeamBonusRange(ma.validate.Validator):
    """A team bonus: from 0 to CAMPAIGN_MAX_TEAM_BONUS points (as MultiplierRange)."""

    min = 0

    @property
    def max(self) -> int:
        if has_app_context():
            return current_app.config["CAMPAIGN_MAX_TEAM_BONUS"]
        return Config.campaign_max_team_bonus

    def __call__(self, value: int) -> int:
        if not self.min <= value <= self.max:
            raise ma.ValidationError(
                [_l("A team bonus must be from %(min)s to %(max)s.", min=self.min, max=self.max)]
            )
        return value


class RulesSchema(Schema):
    multipliers = ma.fields.Method(
        "_multipliers",
        metadata={
            "description": '{"trip:bus": 2.0}',
            "type": "object",
            "additionalProperties": {"type": "number"},
        },
    )
    join_bonus = ma.fields.Integer()
    checkin_points = ma.fields.Integer()
    team_bonus_points = ma.fields.Integer(
        metadata={
            "description": "paid to each enrolled member when their organisation "
            "reaches the team goal"
        }
    )
    effective_from = ma.fields.DateTime()

    def _multipliers(self, rules) -> dict[str, float]:
        return {key: percent / 100 for key, percent in rules.multipliers.items()}


class CampaignSchema(Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    event_key = ma.fields.String(allow_none=True)
    starts_at = ma.fields.DateTime()
    ends_at = ma.fields.DateTime()
    district_codes = ma.fields.List(ma.fields.String(), metadata={"description": "empty: all"})
    status = ma.fields.String()
    rules = ma.fields.Nested(RulesSchema)
    goal_co2e_g = ma.fields.Integer(allow_none=True)
    progress_co2e_g = ma.fields.Integer()
    participants = ma.fields.Integer()
    enrolled = ma.fields.Boolean()
    organization_kinds = ma.fields.List(
        ma.fields.String(), metadata={"description": "for members of these kinds; empty: any"}
    )
    organization_ids = ma.fields.List(
        ma.fields.Integer(), metadata={"description": "for members of these only; empty: any"}
    )
    team_goal_co2e_g = ma.fields.Integer(
        allow_none=True,
        metadata={"description": "grams each organisation's members reach together"},
    )
    eligible = ma.fields.Boolean(
        metadata={
            "description": "whether you may join: a campaign for organisations needs an open "
            "membership of one it is for (else enrolling is refused, 403 "
            "campaign_for_organizations)"
        }
    )
    my_organizations = ma.fields.List(
        ma.fields.Nested(lambda: OrganizationProgressSchema()),
        metadata={"description": "your organisations this campaign is for, with their progress"},
    )


class OrganizationProgressSchema(Schema):
    id = ma.fields.Integer()
    kind = ma.fields.String()
    name = ma.fields.String(allow_none=True, metadata={"description": "null: another household"})
    co2e_g = ma.fields.Integer(metadata={"description": "verified grams of its members"})
    goal_co2e_g = ma.fields.Integer(allow_none=True, metadata={"description": "the team goal"})
    reached = ma.fields.Boolean()


class CampaignOrganizationBoardSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(OrganizationProgressSchema))


class StaffOrganizationProgressSchema(OrganizationProgressSchema):
    reached_at = ma.fields.DateTime(allow_none=True)


class CampaignListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(CampaignSchema))


class StaffCampaignSchema(CampaignSchema):
    rules_history = ma.fields.List(ma.fields.Nested(RulesSchema))
    created_at = ma.fields.DateTime()
    published_at = ma.fields.DateTime(allow_none=True)
    closed_at = ma.fields.DateTime(allow_none=True)
    organizations = ma.fields.List(
        ma.fields.Nested(StaffOrganizationProgressSchema),
        metadata={"description": "the organisations with the most grams"},
    )


class CampaignWriteSchema(Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(validate=ma.validate.Length(max=2000))
    event_key = ma.fields.String(allow_none=True, validate=ma.validate.OneOf(EVENT_KEYS))
    starts_at = _moment(required=True)
    ends_at = _moment(required=True)
    district_codes = ma.fields.List(ma.fields.String(validate=ma.validate.Length(max=16)))
    goal_co2e_g = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1))
    multipliers = ma.fields.Dict(
        keys=ma.fields.String(validate=ma.validate.Length(max=64)),
        values=ma.fields.Float(validate=MultiplierRange()),
        metadata={"description": 'x factor per action type or type:variant, e.g. {"trip:bus": 2}'},
    )
    join_bonus = ma.fields.Integer(validate=ma.validate.Range(min=0, max=100_000))
    checkin_points = ma.fields.Integer(validate=ma.validate.Range(min=0, max=100_000))
    organization_kinds = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(ORGANIZATION_KINDS)),
        validate=ma.validate.Length(max=len(ORGANIZATION_KINDS)),
        metadata={"description": "only members of organisations of these kinds; empty: anyone"},
    )
    organization_ids = ma.fields.List(
        ma.fields.Integer(),
        validate=ma.validate.Length(max=100),
        metadata={"description": "only members of these organisations; empty: any of the kinds"},
    )
    team_goal_co2e_g = ma.fields.Integer(
        allow_none=True,
        validate=ma.validate.Range(min=1),
        metadata={"description": "grams each organisation reaches together; needs a limit"},
    )
    team_bonus_points = ma.fields.Integer(
        validate=TeamBonusRange(),
        metadata={"description": "points to each enrolled member when the team goal is reached"},
    )


class CampaignEditSchema(CampaignWriteSchema):
    """The same fields, each optional: load it with partial=True."""


def _latitude(**kwargs) -> ma.fields.Float:
    return ma.fields.Float(validate=ma.validate.Range(min=-90, max=90), **kwargs)


def _longitude(**kwargs) -> ma.fields.Float:
    return ma.fields.Float(validate=ma.validate.Range(min=-180, max=180), **kwargs)


class CheckinLocationSchema(Schema):
    """Where a check-in point is and how near a device must be (the bounds are settings)."""

    latitude = _latitude(allow_none=True, metadata={"description": "WGS-84 degrees north"})
    longitude = _longitude(allow_none=True, metadata={"description": "WGS-84 degrees east"})
    radius_m = ma.fields.Integer(
        allow_none=True, metadata={"description": "metres; blank: the default radius"}
    )
    mode = ma.fields.String(
        validate=ma.validate.OneOf(CHECKIN_MODES),
        metadata={
            "description": "poster: the printed code, near the point; rotating: only an "
            "event screen's code of the last minute or two"
        },
    )


class CheckinPointWriteSchema(CheckinLocationSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    place = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=128))
    points = ma.fields.Integer(validate=ma.validate.Range(min=0, max=100_000))
    starts_at = _moment()
    ends_at = _moment()


class CheckinPointSchema(Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer()
    name = ma.fields.String()
    place = ma.fields.String()
    points = ma.fields.Integer()
    starts_at = ma.fields.DateTime()
    ends_at = ma.fields.DateTime()
    token = ma.fields.String(metadata={"description": "what the QR code encodes"})
    rotated_at = ma.fields.DateTime(allow_none=True)
    latitude = ma.fields.Float(allow_none=True)
    longitude = ma.fields.Float(allow_none=True)
    radius_m = ma.fields.Integer(allow_none=True)
    mode = ma.fields.String()


class CheckinPointListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(CheckinPointSchema))


class DeviceLocationSchema(Schema):
    """The device's position fix: used for the check, never stored."""

    lat = _latitude(required=True)
    lon = _longitude(required=True)
    accuracy_m = ma.fields.Float(
        required=True,
        validate=ma.validate.Range(min=0, max=100_000),
        metadata={"description": "the fix's accuracy radius in metres, as the device gives it"},
    )


class CheckinRequestSchema(Schema):
    token = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=512))
    location = ma.fields.Nested(DeviceLocationSchema, required=True)


class CheckinSchema(Schema):
    id = ma.fields.Integer()
    campaign_id = ma.fields.Integer(attribute="point.campaign_id")
    point_name = ma.fields.String(attribute="point.name")
    place = ma.fields.String(attribute="point.place")
    points = ma.fields.Integer()
    local_day = ma.fields.Date()


class EnrolmentSchema(Schema):
    campaign_id = ma.fields.Integer()
    enrolled_at = ma.fields.DateTime()
    join_bonus = ma.fields.Integer()


class StaffCampaignListArgs(Schema):
    status = ma.fields.String(validate=ma.validate.OneOf(("draft", "published", "ended")))


class MyCampaignFiguresSchema(Schema):
    co2e_g = ma.fields.Integer(
        metadata={"description": "grams CO2e of your verified actions the campaign counted"}
    )
    actions = ma.fields.Integer(metadata={"description": "your actions the campaign counted"})
    join_bonus = ma.fields.Integer(metadata={"description": "points paid for joining"})
    action_bonus = ma.fields.Integer(
        metadata={"description": "points of the campaign's multipliers on your actions"}
    )
    bonus_points = ma.fields.Integer(metadata={"description": "join_bonus + action_bonus"})
    checkin_points = ma.fields.Integer(
        metadata={"description": "points of your check-ins at the campaign's points"}
    )


class MyCampaignSchema(CampaignSchema):
    status = ma.fields.String(metadata={"description": "published or ended"})
    rules = ma.fields.Nested(RulesSchema)
    goal_co2e_g = ma.fields.Integer(allow_none=True)
    progress_co2e_g = ma.fields.Integer(metadata={"description": "everyone's, towards the goal"})
    participants = ma.fields.Integer()
    enrolled = ma.fields.Boolean()
    enrolled_at = ma.fields.DateTime()
    mine = ma.fields.Nested(MyCampaignFiguresSchema, metadata={"description": "your share"})


class MyCheckinSchema(CheckinSchema):
    created_at = ma.fields.DateTime()
