"""Rewards and redemptions at the HTTP edge."""

import marshmallow as ma

from backend.api import Schema
from backend.clock import LOCAL_TZ
from backend.pagination import PageArgsSchema


class RewardSchema(Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    description = ma.fields.String()
    image_url = ma.fields.String(allow_none=True)
    merchant_name = ma.fields.String()
    cost_points = ma.fields.Integer()
    stock_left = ma.fields.Integer()
    per_resident_limit = ma.fields.Integer(allow_none=True)
    valid_from = ma.fields.DateTime()
    valid_until = ma.fields.DateTime()


class CatalogueItemSchema(RewardSchema):
    affordable = ma.fields.Boolean(
        metadata={"description": "your balance covers it and stock is left"}
    )


class CatalogueSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(CatalogueItemSchema))


class StaffRewardSchema(RewardSchema):
    stock_total = ma.fields.Integer()
    active = ma.fields.Boolean()
    created_at = ma.fields.DateTime()


class RewardWriteSchema(Schema):
    title = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    description = ma.fields.String(validate=ma.validate.Length(max=2000))
    image_url = ma.fields.Url(
        allow_none=True, schemes={"https"}, validate=ma.validate.Length(max=512)
    )
    merchant_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))
    cost_points = ma.fields.Integer(
        required=True, validate=ma.validate.Range(min=1, max=10_000_000)
    )
    stock = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=1_000_000))
    per_resident_limit = ma.fields.Integer(allow_none=True, validate=ma.validate.Range(min=1))
    valid_from = ma.fields.AwareDateTime(required=True, default_timezone=LOCAL_TZ)
    valid_until = ma.fields.AwareDateTime(required=True, default_timezone=LOCAL_TZ)
    active = ma.fields.Boolean()


class RewardEditSchema(RewardWriteSchema):
    """Every field optional (load with partial=True); stock changes go through /stock."""

    class Meta:
        exclude = ("stock",)


class StockChangeSchema(Schema):
    delta = ma.fields.Integer(
        required=True,
        validate=[ma.validate.Range(min=-1_000_000, max=1_000_000), ma.validate.NoneOf([0])],
        metadata={"description": "units to add (or, negative, to withdraw unredeemed units)"},
    )


class RedemptionSchema(Schema):
    redemption_id = ma.fields.Integer(attribute="id")
    code = ma.fields.String()
    points = ma.fields.Integer()
    status = ma.fields.String(
        metadata={"description": "issued, used, cancelled or void (the account was deleted)"}
    )
    reward_id = ma.fields.Integer()
    reward_title = ma.fields.String(attribute="reward.title")
    merchant_name = ma.fields.String(attribute="reward.merchant_name")
    created_at = ma.fields.DateTime()
    used_at = ma.fields.DateTime(allow_none=True)
    cancelled_at = ma.fields.DateTime(allow_none=True)


class VerifySchema(Schema):
    code = ma.fields.String(required=True, validate=ma.validate.Length(min=4, max=32))


class RedemptionListArgs(PageArgsSchema):
    pass
