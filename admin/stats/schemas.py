"""Statistics at the HTTP edge: query arguments and response shapes (aggregates only).

A suppressed cell keeps its fields, each null, with "suppressed": true.
"""

import marshmallow as ma

from admin.stats.service import GRANULARITIES, GROUP_BYS
from backend.api import Schema

# Period


class PeriodArgsSchema(Schema):
    period = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=32),
        metadata={
            "description": "one calendar-aligned period: a day, ISO week, month, quarter or "
            "year (Asia/Shanghai); default: the current month",
            "example": "2026-W48",
        },
    )
    start = ma.fields.String(
        data_key="from",
        load_default=None,
        validate=ma.validate.Length(max=32),
        metadata={
            "description": "first whole month of a range of months (with to; 12 at most); "
            "day ranges are refused with 422 period_not_aligned",
            "example": "2026-09",
        },
    )
    end = ma.fields.String(
        data_key="to",
        load_default=None,
        validate=ma.validate.Length(max=32),
        metadata={"description": "last whole month of the range, included", "example": "2026-11"},
    )


DISTRICT_CODE = ma.fields.String(
    load_default=None,
    validate=ma.validate.Length(max=16),
    metadata={"description": "only actions of residents of this district at the time"},
)
CAMPAIGN_ID = ma.fields.Integer(
    load_default=None,
    validate=ma.validate.Range(min=1),
    metadata={"description": "only actions this campaign counted (whole months only)"},
)


class SummaryArgsSchema(PeriodArgsSchema):
    district_code = DISTRICT_CODE
    campaign_id = CAMPAIGN_ID


class TimeseriesArgsSchema(PeriodArgsSchema):
    granularity = ma.fields.String(
        load_default="day",
        validate=ma.validate.OneOf(GRANULARITIES),
        metadata={
            "description": "rows inside the period: days, ISO weeks (clipped to the "
            "period) or months (periods of whole months)"
        },
    )
    group_by = ma.fields.String(load_default="type", validate=ma.validate.OneOf(GROUP_BYS))
    district_code = DISTRICT_CODE
    campaign_id = CAMPAIGN_ID


class GreenTravelArgsSchema(PeriodArgsSchema):
    pass


# Metadata


class PeriodSchema(Schema):
    label = ma.fields.String(metadata={"example": "2026-11"})
    kind = ma.fields.String(metadata={"example": "month"})
    start = ma.fields.Date(data_key="from")
    end = ma.fields.Date(data_key="to")


class SuppressionSchema(Schema):
    min_residents = ma.fields.Integer()
    rule = ma.fields.String()


class MetaSchema(Schema):
    period = ma.fields.Nested(PeriodSchema)
    district_code = ma.fields.String(allow_none=True)
    campaign_id = ma.fields.Integer(allow_none=True)
    methodology_version = ma.fields.String(metadata={"description": "the methodology in force now"})
    factor_versions = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "the factor versions the counted actions used"},
    )
    suppression = ma.fields.Nested(SuppressionSchema)
    definitions = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())
    freshness = ma.fields.String()
    generated_at = ma.fields.DateTime()


class GreenTravelMetaSchema(MetaSchema):
    measures = ma.fields.String()
    not_measured = ma.fields.String()
    green_modes = ma.fields.List(ma.fields.String())
    all_modes = ma.fields.List(ma.fields.String())
    central_city_districts = ma.fields.List(ma.fields.String())
    target_year = ma.fields.Integer(allow_none=True)
    target_source = ma.fields.String(allow_none=True)


# Cells


def _count(description: str) -> ma.fields.Integer:
    return ma.fields.Integer(allow_none=True, metadata={"description": description})


class CellSchema(Schema):
    participants = _count("distinct residents with a counted action; null when suppressed")
    actions = _count("approved verified actions")
    co2e_g = _count("grams CO2e avoided by verified actions")
    points_awarded = _count("base points paid (after daily caps; no bonuses)")
    suppressed = ma.fields.Boolean()


class ClaimedCellSchema(Schema):
    participants = _count("distinct residents with a self-declared action")
    actions = _count("approved self-declared actions")
    co2e_g_claimed = _count("grams CO2e the self-declared actions claim: never in co2e_g")
    points_awarded = _count("base points paid for them (the methodology's rate)")
    suppressed = ma.fields.Boolean()


class SummarySchema(CellSchema):
    by_type = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Nested(CellSchema))
    self_declared = ma.fields.Nested(
        ClaimedCellSchema,
        allow_none=True,
        metadata={"description": "self-declared activity, apart; null with a campaign filter"},
    )
    meta = ma.fields.Nested(MetaSchema)


class GroupCellSchema(CellSchema):
    key = ma.fields.String(
        allow_none=True,
        metadata={"description": "action type or district code; null: no district chosen"},
    )
    name = ma.fields.String()


class PeriodRowSchema(Schema):
    period = ma.fields.String(
        metadata={
            "description": '"2026-11-24", "2026-W48" (clipped to the period), "2026-11", or "total"'
        }
    )
    start = ma.fields.Date(data_key="from")
    end = ma.fields.Date(data_key="to")
    total = ma.fields.Nested(CellSchema)
    groups = ma.fields.List(ma.fields.Nested(GroupCellSchema))
    self_declared = ma.fields.Nested(ClaimedCellSchema, allow_none=True)


class TimeseriesSchema(Schema):
    granularity = ma.fields.String()
    group_by = ma.fields.String()
    items = ma.fields.List(ma.fields.Nested(PeriodRowSchema))
    totals = ma.fields.Nested(PeriodRowSchema)
    meta = ma.fields.Nested(MetaSchema)


def _share(description: str) -> ma.fields.Float:
    return ma.fields.Float(allow_none=True, metadata={"description": description})


class GreenCellSchema(Schema):
    share = _share("green_trips / total_trips, 4 decimals; null without trips or suppressed")
    green_trips = _count("walk, bike, bus and rail trips (verified unless self_declared)")
    total_trips = _count("trips of every mode, car, taxi and motorbike included")
    distance_weighted_share = _share("green_distance_m / total_distance_m")
    green_distance_m = _count("metres of green trips")
    total_distance_m = _count("metres of all trips")
    suppressed = ma.fields.Boolean()


class GreenDistrictSchema(GreenCellSchema):
    district_code = ma.fields.String()
    name = ma.fields.String()


class GreenMonthSchema(GreenCellSchema):
    month = ma.fields.String(metadata={"description": '"2026-11", clipped to from and to'})
    start = ma.fields.Date(data_key="from")
    end = ma.fields.Date(data_key="to")


class GreenTravelSchema(GreenCellSchema):
    target = ma.fields.Float(metadata={"description": "from the methodology file"})
    self_declared = ma.fields.Nested(
        GreenCellSchema,
        metadata={"description": "the same figures over self-declared trips, apart"},
    )
    by_district = ma.fields.List(ma.fields.Nested(GreenDistrictSchema))
    trend = ma.fields.List(ma.fields.Nested(GreenMonthSchema))
    meta = ma.fields.Nested(GreenTravelMetaSchema)


class ExportArgsSchema(TimeseriesArgsSchema):
    lang = ma.fields.String(
        load_default="zh",
        validate=ma.validate.OneOf(("zh", "en")),
        metadata={
            "description": "language of the headers, labels and notes: zh (default) or en; "
            "the key column keeps the codes either way"
        },
    )
