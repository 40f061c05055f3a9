"""Each action type's rules in one place: its body schema, how a body becomes an input,
which field names its factor's variant, and its plausibility bounds.

The bounds themselves come from the methodology file; only their meaning is code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import ClassVar

import marshmallow as ma
from flask import current_app
from flask_babel import lazy_gettext as _l

from backend.api import Schema
from backend.clock import LOCAL_TZ
from backend.errors import ValidationFailed
from points.actions import traces
from points.actions.models import ACTION_TYPES
from points.methodology.service import Methodology


@dataclass
class ActionInput:
    """An action body reduced to what the rules need, whatever its type."""

    type: str
    variant: str
    quantity: Decimal
    occurred_at: datetime
    distance_km: Decimal | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    photo_id: str | None = None
    dedup_key: str | None = None
    details: dict = field(default_factory=dict)
    # What the body itself proves: a trip's checked trace makes it "trace".
    verification: str = "self_declared"
    trace: list | None = None  # a trip's GPS points [lon, lat, unix seconds], as sent


def implausible(fields: dict) -> ValidationFailed:
    return ValidationFailed(
        _l("The action is not plausible."), code="implausible_action", fields=fields
    )


@dataclass(frozen=True)
class ActionKind:
    name: str
    schema: type[Schema]
    variant_field: str  # the body field a wrong variant is reported on
    time_field: str  # the body field that says when it happened
    to_input: Callable[[dict, datetime], ActionInput]
    check: Callable[[dict, ActionInput], None]  # plausibility within the type's bounds
    partner_reportable: bool = True
    # Checks the evidence a body carries (a trip's trace) and takes its figures from it.
    verify: Callable[[Methodology, ActionInput], None] | None = None


# Body fields


def _type_tag(name: str) -> ma.fields.Constant:
    # Documented as the one string it is: the discriminator of the action body's schemas.
    return ma.fields.Constant(name, required=True, metadata={"type": "string", "enum": [name]})


# Documented as numbers (apispec would write the Decimal bounds as strings).
_POSITIVE = {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 1_000_000}


def _quantity(description: str) -> ma.fields.Decimal:
    return ma.fields.Decimal(
        required=True,
        places=3,
        validate=ma.validate.Range(min=0, min_inclusive=False, max=1_000_000),
        metadata={**_POSITIVE, "description": description},
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


# Trips


class TracePoints(ma.fields.List):
    """[[lon, lat, unix_seconds], ...]; its length is bounded (TRACE_MAX_POINTS) before
    any point is read, so a huge trace costs nothing."""

    def __init__(self, **kwargs) -> None:
        point = ma.fields.Tuple(
            (
                ma.fields.Float(allow_nan=False, validate=ma.validate.Range(-180, 180)),
                ma.fields.Float(allow_nan=False, validate=ma.validate.Range(-90, 90)),
                ma.fields.Float(allow_nan=False, validate=ma.validate.Range(0, 4_102_444_800)),
            ),
            metadata={
                "type": "array",
                "items": {"type": "number"},
                "minItems": 3,
                "maxItems": 3,
                "description": "[longitude -180..180, latitude -90..90, unix seconds]",
            },
        )
        super().__init__(point, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        longest = current_app.config["TRACE_MAX_POINTS"]
        if isinstance(value, list | tuple) and len(value) > longest:
            raise ma.ValidationError([_l("At most %(count)s points.", count=longest)])
        return super()._deserialize(value, attr, data, **kwargs)


class TripActionSchema(Schema):
    """A trip by one mode: a GPS trace verifies it; without one it is self_declared."""

    OPENAPI_EXAMPLE: ClassVar[dict] = {
        "type": "trip",
        "mode": "bike",
        "distance_km": 6.2,
        "started_at": "2026-11-18T08:05:00+08:00",
        "ended_at": "2026-11-18T08:30:00+08:00",
    }

    type = _type_tag("trip")
    mode = ma.fields.String(
        required=True, metadata={"description": "walk, bike, bus, rail, car..."}
    )
    distance_km = ma.fields.Decimal(
        places=3,
        validate=ma.validate.Range(min=0, min_inclusive=False, max=1_000_000),
        metadata={
            **_POSITIVE,
            "description": "km travelled; required without a trace (with one, the trace's "
            "length is the distance and this claim is only kept)",
        },
    )
    started_at = _moment(True, "start of the trip")
    ended_at = _moment(True, "end of the trip")
    trace = TracePoints(
        metadata={
            "description": "GPS points [longitude, latitude, unix seconds] in time order, "
            "as the mini-program's location updates arrive. A trace that passes the checks "
            "makes the trip verified (`trace`); a refusal names its reason: too_fast, "
            "out_of_area, trace_gap, trace_out_of_order, trace_outside_trip, "
            "trace_too_short, trace_too_long. Without one the trip is self_declared.",
            "example": [[112.465, 23.047, 1796000000], [112.468, 23.049, 1796000005]],
        }
    )

    @ma.validates_schema(skip_on_field_errors=True)
    def _distance_or_trace(self, data: dict, **kwargs) -> None:
        if data.get("trace") is None and data.get("distance_km") is None:
            raise ma.ValidationError(
                [_l("Give distance_km, or a trace to measure it.")], "distance_km"
            )


def _trip_input(body: dict, now: datetime) -> ActionInput:
    claimed = body.get("distance_km")
    return ActionInput(
        type="trip",
        variant=body["mode"],
        # A bus trip is counted per ride; the distance still bounds plausibility.
        quantity=claimed if claimed is not None else Decimal(0),
        distance_km=claimed,
        started_at=body["started_at"],
        ended_at=body["ended_at"],
        occurred_at=body["ended_at"],
        trace=body.get("trace"),
    )


def _check_trip(bounds: dict, trip: ActionInput) -> None:
    mode_bounds = bounds[trip.variant]
    if trip.ended_at <= trip.started_at:
        raise implausible({"ended_at": [_l("Must be after started_at.")]})
    longest = mode_bounds.get("max_minutes")
    if longest is not None and trip.ended_at - trip.started_at > timedelta(minutes=longest):
        raise implausible(
            {"ended_at": [_l("A trip by this mode lasts at most %(max)s minutes.", max=longest)]}
        )
    if trip.trace is None:
        _check_distance(mode_bounds, trip)  # with a trace, the trace's length is checked


def _check_distance(mode_bounds: dict, trip: ActionInput) -> None:
    if trip.distance_km > mode_bounds["max_km"]:
        raise implausible(
            {"distance_km": [_l("At most %(max)s km for this mode.", max=mode_bounds["max_km"])]}
        )
    hours = Decimal((trip.ended_at - trip.started_at).total_seconds()) / 3600
    speed = trip.distance_km / hours
    if speed > mode_bounds["max_kmh"]:
        too_fast = _l(
            "%(speed)s km/h is faster than the %(max)s km/h plausible for this mode.",
            speed=speed.quantize(Decimal(1)),
            max=mode_bounds["max_kmh"],
        )
        raise implausible({"distance_km": [too_fast]})


def _verify_trip(methodology: Methodology, trip: ActionInput) -> None:
    """A trace that passes the checks verifies the trip and gives its distance."""
    if trip.trace is None:
        return
    if methodology.trace is None or methodology.city_area is None:
        # A methodology without trace rules cannot check it: the trip is the resident's
        # word, distance claim and all.
        trip.trace = None
        if trip.distance_km is None:
            raise implausible({"distance_km": [_l("Give distance_km, or a trace to measure it.")]})
        _check_distance(methodology.plausibility["trip"][trip.variant], trip)
        return
    mode_bounds = methodology.plausibility["trip"][trip.variant]
    figures = traces.check_trace(
        trip.trace,
        started_at=trip.started_at.timestamp(),
        ended_at=trip.ended_at.timestamp(),
        max_kmh=mode_bounds["max_kmh"],
        rules=methodology.trace,
        area=methodology.city_area,
    )
    if trip.distance_km is not None:
        trip.details["claimed_distance_km"] = str(trip.distance_km)
    trip.distance_km = (Decimal(figures.distance_m) / 1000).quantize(Decimal("0.001"))
    trip.quantity = trip.distance_km
    trip.details["trace"] = figures.as_details()
    trip.verification = "trace"
    _check_distance(mode_bounds, trip)


# Garbage sorting


class GarbageSortingActionSchema(Schema):
    """Household waste sorted into one category, by weight."""

    OPENAPI_EXAMPLE: ClassVar[dict] = {
        "type": "garbage_sorting",
        "category": "recyclable",
        "weight_kg": 1.5,
    }

    type = _type_tag("garbage_sorting")
    category = ma.fields.String(required=True, metadata={"description": "recyclable, kitchen..."})
    weight_kg = _quantity("kg sorted")
    occurred_at = _moment(False, "when; now if omitted")


def _garbage_input(body: dict, now: datetime) -> ActionInput:
    return ActionInput(
        "garbage_sorting", body["category"], body["weight_kg"], body.get("occurred_at") or now
    )


def _check_garbage(bounds: dict, sorting: ActionInput) -> None:
    if sorting.quantity > bounds["max_kg_per_action"]:
        raise implausible(
            {"weight_kg": [_l("At most %(max)s kg per action.", max=bounds["max_kg_per_action"])]}
        )


# Clean Plate meals (meals a day are counted under the day's lock: see the service)


class CleanPlateActionSchema(Schema):
    """A meal finished: the photo uploaded first (POST /api/v1/photos) is the evidence."""

    OPENAPI_EXAMPLE: ClassVar[dict] = {
        "type": "clean_plate",
        "photo_id": "3f2a9c0e5b7d41e6a8c9d0f1e2b3a4c5",
        "venue": "端州区食堂",
    }

    type = _type_tag("clean_plate")
    photo_id = ma.fields.String(
        required=True,
        validate=ma.validate.Length(equal=32),
        metadata={"description": "from POST /api/v1/photos"},
    )
    venue = _label(64)
    occurred_at = _moment(False, "when; now if omitted")


def _meal_input(body: dict, now: datetime) -> ActionInput:
    return ActionInput(
        "clean_plate",
        "meal",
        Decimal(1),
        body.get("occurred_at") or now,
        photo_id=body["photo_id"],
        details={"venue": body["venue"]} if body.get("venue") else {},
    )


def _no_bounds(bounds: dict, action: ActionInput) -> None:
    return None


# EV charging


class EvChargingActionSchema(Schema):
    """One charging session of an electric vehicle, once per station and session."""

    OPENAPI_EXAMPLE: ClassVar[dict] = {
        "type": "ev_charging",
        "energy_kwh": 32.5,
        "station_id": "ZQ-DZ-0012",
        "session_id": "20261118-0815-7",
    }

    type = _type_tag("ev_charging")
    energy_kwh = _quantity("kWh charged")
    station_id = _label(64, required=True)
    session_id = _label(64, required=True)
    occurred_at = _moment(False, "when the session ended; now if omitted")


def _charging_input(body: dict, now: datetime) -> ActionInput:
    return ActionInput(
        "ev_charging",
        "kwh",
        body["energy_kwh"],
        body.get("occurred_at") or now,
        dedup_key=f"ev:{body['station_id']}:{body['session_id']}",
        details={"station_id": body["station_id"], "session_id": body["session_id"]},
    )


def _check_charging(bounds: dict, charging: ActionInput) -> None:
    if charging.quantity > bounds["max_kwh_per_session"]:
        raise implausible(
            {
                "energy_kwh": [
                    _l("At most %(max)s kWh per session.", max=bounds["max_kwh_per_session"])
                ]
            }
        )


KINDS: dict[str, ActionKind] = {
    kind.name: kind
    for kind in (
        ActionKind(
            "trip",
            TripActionSchema,
            "mode",
            "ended_at",
            _trip_input,
            _check_trip,
            verify=_verify_trip,
        ),
        ActionKind(
            "garbage_sorting",
            GarbageSortingActionSchema,
            "category",
            "occurred_at",
            _garbage_input,
            _check_garbage,
        ),
        ActionKind(
            "clean_plate",
            CleanPlateActionSchema,
            "type",
            "occurred_at",
            _meal_input,
            _no_bounds,
            partner_reportable=False,  # a photo is the evidence, and partners send none
        ),
        ActionKind(
            "ev_charging",
            EvChargingActionSchema,
            "type",
            "occurred_at",
            _charging_input,
            _check_charging,
        ),
    )
}
assert tuple(KINDS) == ACTION_TYPES, "every action type has its rules here"


def kind_of(body: object) -> ActionKind | None:
    """The kind a body names by its `type`; None when that is no action type (or no string)."""
    name = body.get("type") if isinstance(body, Mapping) else None
    return KINDS.get(name) if isinstance(name, str) else None
