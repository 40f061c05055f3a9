"""Badges and the streak as a resident sees them."""

import marshmallow as ma

from backend.api import Schema


class BadgeStatusSchema(Schema):
    key = ma.fields.String(metadata={"description": "e.g. first_green_trip, co2e_10kg, streak_7"})
    name = ma.fields.String()
    description = ma.fields.String()
    points = ma.fields.Integer(metadata={"description": "paid once when earned; 0 for none"})
    earned = ma.fields.Boolean()
    awarded_at = ma.fields.DateTime(allow_none=True)


class StreakSchema(Schema):
    current = ma.fields.Integer(
        metadata={
            "description": "consecutive Asia/Shanghai days with CO2e avoided, up to today "
            "or yesterday; 0 once a day is missed"
        }
    )
    best = ma.fields.Integer(metadata={"description": "the longest streak so far"})


class MyBadgesSchema(Schema):
    items = ma.fields.List(
        ma.fields.Nested(BadgeStatusSchema),
        metadata={"description": "every badge, earned or not (a short fixed list, unpaginated)"},
    )
    streak = ma.fields.Nested(StreakSchema)
