"""Action bodies (one per type, chosen by `type`) and the action as residents see it."""

from __future__ import annotations

from collections.abc import Mapping

import marshmallow as ma

from backend.api import Schema
from backend.clock import LOCAL_TZ
from backend.pagination import PageArgsSchema
from points.actions.models import ACTION_TYPES


def _quantity(description: str) -> ma.fields.Decimal:
    return ma.fields.Decimal(
        required=True,
        places=3,
        validate=ma.validate.Range(min=0, min_inclusive=False, max=1_000_000),
        metadata={"description": description},
    )


def _moment(required: bool, description: str) -> ma.fields.AwareDateTime:
    # A time without an offset is read as Beijing time, the app's only time zone.
    return ma.fields.AwareDateTime(
        required=required, default_timezone=LOCAL_TZ, metadata={"description": description}
    )


def _label(max_length: int, required: bool = False) -> ma.fields.String:
    return ma.fields.String(
        required=required,
        validate=ma.validate.Length(min=1, max=max_length),
        metadata={"description": f"1 to {max_length} characters"},
    )


class TripSchema(Schema):
    type = ma.fields.Constant("trip", required=True)
    mode = ma.fields.String(
        required=True, metadata={"description": "walk, bike, bus, rail, car..."}
    )
    distance_km = _quantity("km travelled")
    started_at = _moment(True, "start of the trip")
    ended_at = _moment(True, "end of the trip")


class GarbageSortingSchema(Schema):
    type = ma.fields.Constant("garbage_sorting", required=True)
    category = ma.fields.String(required=True, metadata={"description": "recyclable, kitchen..."})
    weight_kg = _quantity("kg sorted")
    occurred_at = _moment(False, "when; now if omitted")


class CleanPlateSchema(Schema):
    type = ma.fields.Constant("clean_plate", required=True)
    photo_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(equal=32),
        metadata={"description": "from POST /api/v1/photos"},
    )
    venue = _label(64)
    occurred_at = _moment(False, "when; now if omitted")


class EvChargingSchema(Schema):
    type = ma.fields.Constant("ev_charging", required=True)
    energy_kwh = _quantity("kWh charged")
    station_id = _label(64, required=True)
    session_id = _label(64, required=True)
    occurred_at = _moment(False, "when the session ended; now if omitted")


BODIES: dict[str, type[Schema]] = {
    "trip": TripSchema,
    "garbage_sorting": GarbageSortingSchema,
    "clean_plate": CleanPlateSchema,
    "ev_charging": EvChargingSchema,
}


def body_schema(data: object) -> type[Schema] | None:
    """The schema of a body by its `type`; None when that is no action type (or no string)."""
    kind = data.get("type") if isinstance(data, Mapping) else None
    return BODIES.get(kind) if isinstance(kind, str) else None


class ActionCreateSchema(Schema):
    """One of TripSchema, GarbageSortingSchema, CleanPlateSchema, EvChargingSchema by `type`."""

    type = ma.fields.String(required=True, validate=ma.validate.OneOf(ACTION_TYPES))

    def load(self, data, *, many=None, partial=None, unknown=None):
        body = body_schema(data)
        if body is None:
            return super().load(data, many=many, partial=partial, unknown=unknown)
        return body().load(data, partial=partial)


class ActionSchema(Schema):
    id = ma.fields.Integer()
    type = ma.fields.String()
    variant = ma.fields.String(metadata={"description": "trip mode, garbage category, meal, kwh"})
    status = ma.fields.String(metadata={"description": "approved, pending_review or rejected"})
    co2e_g = ma.fields.Integer(metadata={"description": "grams CO2e avoided, rounded down"})
    points = ma.fields.Integer(metadata={"description": "points paid (0 until approved)"})
    capped = ma.fields.Boolean(metadata={"description": "the daily cap cut the points"})
    factor_version = ma.fields.String()
    quantity = ma.fields.Float()
    unit = ma.fields.String()
    occurred_at = ma.fields.DateTime()
    source = ma.fields.String()
    flags = ma.fields.List(ma.fields.String())
    photo_id = ma.fields.String(allow_none=True)
    details = ma.fields.Dict()
    review_reason = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class ActionListArgsSchema(PageArgsSchema):
    status = ma.fields.String(
        validate=ma.validate.OneOf(("approved", "pending_review", "rejected"))
    )
