"""Creation reports at the HTTP edge: arguments and the report's shape (aggregates only;
a suppressed cell keeps its fields, each null, with "suppressed": true)."""

import marshmallow as ma

from admin.stats.schemas import PeriodArgsSchema, PeriodSchema
from backend.api import Schema
from campaigns.organizations.models import ORGANIZATION_KINDS

LANGS = ("zh", "en")


class ReportArgsSchema(PeriodArgsSchema):
    kind = ma.fields.String(
        load_default=None,
        validate=ma.validate.OneOf(ORGANIZATION_KINDS),
        metadata={"description": "list only this kind (the suppression is the whole report's)"},
    )
    district_code = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=16),
        metadata={"description": "list only organisations of this district"},
    )


class ReportExportArgsSchema(ReportArgsSchema):
    lang = ma.fields.String(load_default="zh", validate=ma.validate.OneOf(LANGS))


def _count(description: str | None = None) -> ma.fields.Integer:
    metadata = {"description": description} if description else {}
    return ma.fields.Integer(allow_none=True, metadata=metadata)


class TypeFiguresSchema(Schema):
    action_type = ma.fields.String()
    participants = _count()
    actions = _count()
    verified_actions = _count()
    co2e_g = _count("verified CO2e in grams")
    points = _count()
    suppressed = ma.fields.Boolean()


class FiguresSchema(Schema):
    members = ma.fields.Integer(
        metadata={"description": "memberships open at some time of the period"}
    )
    participants = _count("members with an approved action in the period")
    participation_rate = ma.fields.Float(allow_none=True)
    actions = _count("approved actions, verified or not")
    verified_actions = _count()
    co2e_g = _count("verified CO2e in grams")
    self_declared_co2e_g = _count("self-declared actions' grams as claimed, apart")
    points = _count("base points paid")
    trips = _count("verified trips")
    green_trips = _count("verified trips by walking, bike, bus or rail")
    green_share = ma.fields.Float(allow_none=True)
    suppressed = ma.fields.Boolean()
    by_type = ma.fields.List(ma.fields.Nested(TypeFiguresSchema))


class KindReportSchema(FiguresSchema):
    kind = ma.fields.String(metadata={"enum": list(ORGANIZATION_KINDS)})
    organizations = ma.fields.Integer()


class OrganizationReportRowSchema(FiguresSchema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    kind = ma.fields.String(metadata={"enum": list(ORGANIZATION_KINDS)})
    district_code = ma.fields.String(allow_none=True)
    street = ma.fields.String(allow_none=True)
    status = ma.fields.String()


class OrganizationReportSchema(Schema):
    period = ma.fields.Nested(PeriodSchema)
    kind = ma.fields.String(allow_none=True)
    district_code = ma.fields.String(allow_none=True)
    min_residents = ma.fields.Integer(
        metadata={"description": "figures behind fewer participants than this are hidden"}
    )
    generated_at = ma.fields.DateTime()
    kinds = ma.fields.List(
        ma.fields.Nested(KindReportSchema),
        metadata={"description": "per kind; households appear only here, never one by one"},
    )
    organizations = ma.fields.List(ma.fields.Nested(OrganizationReportRowSchema))
