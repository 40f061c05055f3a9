"""The methodology as published to everyone, and the file staff publish a version from."""

from decimal import Decimal, InvalidOperation

import marshmallow as ma
from flask_babel import lazy_gettext as _l

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


def _whole_milligrams(value) -> None:
    # Factors are stored in integer milligrams: a finer figure would be silently rounded.
    try:
        milligrams = Decimal(str(value)) * 1000
    except InvalidOperation as exc:
        raise ma.ValidationError([_l("Not a valid number.")]) from exc
    if milligrams != milligrams.to_integral_value():
        # In a list: marshmallow would spell a lazy message out letter by letter.
        raise ma.ValidationError([_l("At most 3 decimals (whole milligrams).")])


class FactorFileSchema(Schema):
    action_type = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    variant = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=32))
    unit = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=16))
    avoided_g_per_unit = ma.fields.Float(
        required=True, validate=[ma.validate.Range(min=0), _whole_milligrams]
    )
    source = ma.fields.String(required=True, validate=ma.validate.Length(min=1))


class MethodologyFileSchema(Schema):
    """A complete methodology file, in the format of points/methodology/factors.json."""

    methodology_version = ma.fields.String(
        required=True,
        validate=[
            ma.validate.Length(min=1, max=32),
            ma.validate.Regexp(r"^[0-9A-Za-z._-]+$", error=_l("Letters, digits, . _ - only.")),
        ],
    )
    published = ma.fields.Date(required=True)
    grams_per_point = ma.fields.Integer(strict=True, required=True, validate=ma.validate.Range(1))
    note = ma.fields.String(required=True)
    factors = ma.fields.List(
        ma.fields.Nested(FactorFileSchema), required=True, validate=ma.validate.Length(min=1)
    )
    daily_point_caps = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0)),
        required=True,
    )
    plausibility = ma.fields.Dict(keys=ma.fields.String(), required=True)
    review = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)
    green_travel = ma.fields.Dict(keys=ma.fields.String(), required=True)

    @ma.validates_schema(skip_on_field_errors=True)
    def _one_factor_per_variant(self, data: dict, **kwargs) -> None:
        pairs = [(row["action_type"], row["variant"]) for row in data["factors"]]
        repeated = sorted({f"{t}:{v}" for t, v in pairs if pairs.count((t, v)) > 1})
        if repeated:
            raise ma.ValidationError(
                [_l("Each variant once only: %(variants)s.", variants=", ".join(repeated))],
                "factors",
            )
