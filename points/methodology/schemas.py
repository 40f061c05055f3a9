"""The methodology as published to everyone."""

import marshmallow as ma

from backend.api import Schema


class FactorSchema(Schema):
    action_type = ma.fields.String()
    variant = ma.fields.String()
    unit = ma.fields.String()
    avoided_g_per_unit = ma.fields.Float(metadata={"description": "g CO2e per unit"})
    source = ma.fields.String()


class MethodologySchema(Schema):
    version = ma.fields.String()
    published = ma.fields.Date()
    grams_per_point = ma.fields.Integer()
    factors = ma.fields.List(ma.fields.Nested(FactorSchema))
    daily_point_caps = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())
    plausibility = ma.fields.Dict()
    review = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    green_travel = ma.fields.Dict()
