"""What GET /api/v1/stats/campaigns/<id>/impact answers."""

import marshmallow as ma

from admin.impact.estimate import METRICS
from admin.impact.report import METHODS, UNITS
from backend.api import Schema

STATUSES = ("estimated", "refused", "pending")


def _day() -> ma.fields.String:
    """A local day as stored with the figures (ISO 8601, YYYY-MM-DD)."""
    return ma.fields.String(metadata={"format": "date"})


REASONS = ("pending", "too_few_residents", "no_baseline", "too_few_comparable", "too_few_trips")


class ImpactCampaignSchema(Schema):
    id = ma.fields.Integer()
    title = ma.fields.String()
    starts_at = ma.fields.DateTime()
    ends_at = ma.fields.DateTime()
    status = ma.fields.String()


class ImpactEstimateSchema(Schema):
    method = ma.fields.String(
        metadata={
            "enum": list(METHODS),
            "description": "baseline: against the participants' own days before; "
            "comparison: difference in differences against comparable non-participants",
        }
    )
    metric = ma.fields.String(metadata={"enum": list(METRICS)})
    unit = ma.fields.String(metadata={"enum": sorted(set(UNITS.values()))})
    status = ma.fields.String(metadata={"enum": ["estimated", "refused"]})
    reason = ma.fields.String(allow_none=True, metadata={"enum": list(REASONS)})
    message = ma.fields.String(allow_none=True)
    residents = ma.fields.Integer(metadata={"description": "Participants behind the figure"})
    resident_days_before = ma.fields.Integer(allow_none=True)
    resident_days_during = ma.fields.Integer(allow_none=True)
    change = ma.fields.Float(metadata={"description": "The estimated effect"})
    low = ma.fields.Float(metadata={"description": "95% interval, lower end"})
    high = ma.fields.Float(metadata={"description": "95% interval, upper end"})
    participants_before = ma.fields.Float(allow_none=True)
    participants_during = ma.fields.Float(allow_none=True)
    comparison_before = ma.fields.Float(allow_none=True)
    comparison_during = ma.fields.Float(allow_none=True)
    sentence = ma.fields.String(metadata={"description": "The figure in one plain sentence"})


class ImpactParticipantsSchema(Schema):
    participants = ma.fields.Integer(metadata={"description": "Enrolled before the cutoff"})
    with_baseline = ma.fields.Integer()
    without_baseline = ma.fields.Integer()


class ImpactComparisonGroupSchema(Schema):
    residents = ma.fields.Integer(allow_none=True)
    unmatched_participants = ma.fields.Integer(allow_none=True)
    groups = ma.fields.Integer(allow_none=True)


class ImpactDailySchema(Schema):
    green_trips = ma.fields.List(ma.fields.Float(), allow_none=True)
    co2e_g = ma.fields.List(ma.fields.Float(), allow_none=True)


class ImpactSeriesSchema(Schema):
    days = ma.fields.List(_day())
    first_day = _day()
    participants = ma.fields.Nested(ImpactDailySchema)
    comparison = ma.fields.Nested(ImpactDailySchema)


class ImpactInputsSchema(Schema):
    enrolled_before = ma.fields.DateTime()
    first_day = _day()
    last_day = _day()
    match_bands = ma.fields.List(ma.fields.Float())
    min_residents = ma.fields.Integer()
    resamples = ma.fields.Integer()
    seed = ma.fields.Integer()
    level = ma.fields.Float()
    methodology_versions = ma.fields.List(ma.fields.String())
    residents_read = ma.fields.Integer()
    activity_rows_read = ma.fields.Integer()


class ImpactMethodsSchema(Schema):
    baseline = ma.fields.String()
    comparison = ma.fields.String()


class ImpactSchema(Schema):
    campaign = ma.fields.Nested(ImpactCampaignSchema)
    status = ma.fields.String(metadata={"enum": list(STATUSES)})
    reason = ma.fields.String(allow_none=True, metadata={"enum": list(REASONS)})
    message = ma.fields.String(allow_none=True)
    computed_at = ma.fields.DateTime()
    through = ma.fields.Date(metadata={"description": "The last day whose actions were used"})
    final = ma.fields.Boolean(metadata={"description": "Computed after the campaign ended"})
    baseline_days = ma.fields.Integer()
    participants = ma.fields.Nested(ImpactParticipantsSchema)
    methods = ma.fields.Nested(ImpactMethodsSchema)
    estimates = ma.fields.List(ma.fields.Nested(ImpactEstimateSchema))
    comparison_group = ma.fields.Nested(ImpactComparisonGroupSchema)
    series = ma.fields.Nested(ImpactSeriesSchema, allow_none=True)
    inputs = ma.fields.Nested(ImpactInputsSchema)
