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
    self_declared_points_percent = ma.fields.Dict(
        attribute="rules.self_declared_points_percent",
        keys=ma.fields.String(),
        values=ma.fields.Integer(),
        metadata={
            "description": "per action type, the percent of its points a self-declared action "
            "pays (0: nothing)"
        },
    )
    trace = ma.fields.Dict(
        attribute="rules.trace",
        metadata={"description": "the thresholds of a trip's GPS trace checks"},
    )
    city_area = ma.fields.Dict(
        attribute="rules.city_area",
        metadata={"description": "the city's area: a polygon of [lon, lat] and its source"},
    )


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


def _whole_seconds(required: bool = True) -> ma.fields.Integer:
    return ma.fields.Integer(strict=True, required=required, validate=ma.validate.Range(min=1))


class TraceRulesSchema(Schema):
    """The thresholds of a trip's GPS trace checks (points/actions/traces.py)."""

    min_points = ma.fields.Integer(strict=True, required=True, validate=ma.validate.Range(min=2))
    max_points = ma.fields.Integer(strict=True, required=True, validate=ma.validate.Range(min=2))
    max_gap_seconds = _whole_seconds()
    trip_time_tolerance_seconds = ma.fields.Integer(
        strict=True, required=True, validate=ma.validate.Range(min=0)
    )
    speed_window_seconds = _whole_seconds()
    jitter_m = ma.fields.Float(required=True, validate=ma.validate.Range(min=0, max=1000))
    min_distance_m = ma.fields.Float(required=True, validate=ma.validate.Range(min=0))
    note = ma.fields.String()


def _lon_lat(value) -> None:
    if not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
        raise ma.ValidationError([_l("Longitude -180 to 180, latitude -90 to 90.")])


class CityAreaSchema(Schema):
    """The city's area: a closed or open polygon of [longitude, latitude] vertices."""

    name = ma.fields.String()
    polygon = ma.fields.List(
        ma.fields.Tuple(
            (ma.fields.Float(allow_nan=False), ma.fields.Float(allow_nan=False)),
            validate=_lon_lat,
        ),
        required=True,
        validate=ma.validate.Length(min=3),
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
    # Since 2026.2. A version without them: self-declared actions pay nothing, a trip's
    # trace is not checked (the trip stays self-declared).
    self_declared_points_percent = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Integer(strict=True, validate=ma.validate.Range(min=0, max=100)),
    )
    trace = ma.fields.Nested(TraceRulesSchema)
    city_area = ma.fields.Nested(CityAreaSchema)

    @ma.validates_schema(skip_on_field_errors=True)
    def _one_factor_per_variant(self, data: dict, **kwargs) -> None:
        pairs = [(row["action_type"], row["variant"]) for row in data["factors"]]
        repeated = sorted({f"{t}:{v}" for t, v in pairs if pairs.count((t, v)) > 1})
        if repeated:
            raise ma.ValidationError(
                [_l("Each variant once only: %(variants)s.", variants=", ".join(repeated))],
                "factors",
            )
