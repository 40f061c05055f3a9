"""Plausible request bodies: residents' actions and partners' event batches.

Every body keeps inside the methodology's bounds (`GET /api/v1/methodology`), so a refusal
under load is a finding, never a badly made request.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# How residents spread their actions: mostly trips (car trips too: they count for the
# green-travel share), then garbage sorting, a few charging sessions. Clean Plate meals
# need a photo upload first and wait for review, so the load leaves them out.
ACTION_MIX = {"trip": 60, "garbage_sorting": 30, "ev_charging": 10}
TRIP_MODES = {"walk": 25, "bike": 20, "bus": 25, "rail": 5, "car": 15, "taxi": 5, "motorbike": 5}
# Typical trip lengths in km per mode; the methodology's max_km still bounds them.
TRIP_KM = {
    "walk": (0.5, 4),
    "bike": (1, 12),
    "bus": (2, 20),
    "rail": (10, 60),
    "car": (3, 30),
    "taxi": (2, 15),
    "motorbike": (2, 20),
}
GARBAGE_CATEGORIES = ("recyclable", "kitchen", "hazardous", "other")
# What a partner may send: the demo partner and the benchmark's own are bus and charging.
PARTNER_MIX = {"bus": 80, "ev_charging": 20}


@dataclass(frozen=True)
class Bounds:
    """The methodology's plausibility bounds, as published."""

    trip: dict  # mode -> {"max_km", "max_kmh"}
    max_kg: float
    max_kwh: float

    @classmethod
    def from_methodology(cls, methodology: dict) -> Bounds:
        plausibility = methodology["plausibility"]
        return cls(
            trip=plausibility["trip"],
            max_kg=plausibility["garbage_sorting"]["max_kg_per_action"],
            max_kwh=plausibility["ev_charging"]["max_kwh_per_session"],
        )


def _weighted(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def trip(rng: random.Random, bounds: Bounds, mode: str | None = None) -> dict:
    """A trip that ended within the last three hours, at 40-80% of the mode's top speed."""
    mode = mode or _weighted(rng, TRIP_MODES)
    limits = bounds.trip[mode]
    low, high = TRIP_KM[mode]
    km = round(min(rng.uniform(low, high), limits["max_km"]), 1)
    speed = limits["max_kmh"] * rng.uniform(0.4, 0.8)
    minutes = int(km / speed * 60) + 2  # rounded up, so the speed never exceeds the bound
    ended = datetime.now(UTC) - timedelta(minutes=rng.randint(1, 180))
    return {
        "type": "trip",
        "mode": mode,
        "distance_km": km,
        "started_at": _iso(ended - timedelta(minutes=minutes)),
        "ended_at": _iso(ended),
    }


def garbage_sorting(rng: random.Random, bounds: Bounds) -> dict:
    return {
        "type": "garbage_sorting",
        "category": rng.choice(GARBAGE_CATEGORIES),
        "weight_kg": round(min(rng.uniform(0.2, 5), bounds.max_kg), 1),
        "occurred_at": _iso(datetime.now(UTC) - timedelta(minutes=rng.randint(1, 600))),
    }


def ev_charging(rng: random.Random, bounds: Bounds) -> dict:
    """A charging session; its id is new, since a session is recorded once city-wide."""
    return {
        "type": "ev_charging",
        "energy_kwh": round(min(rng.uniform(5, 60), bounds.max_kwh), 1),
        "station_id": f"ZQ-{rng.randint(1, 400):03d}",
        "session_id": secrets.token_hex(12),
        "occurred_at": _iso(datetime.now(UTC) - timedelta(minutes=rng.randint(1, 600))),
    }


def resident_action(rng: random.Random, bounds: Bounds) -> dict:
    kind = _weighted(rng, ACTION_MIX)
    if kind == "trip":
        return trip(rng, bounds)
    if kind == "garbage_sorting":
        return garbage_sorting(rng, bounds)
    return ev_charging(rng, bounds)


_event_numbers = itertools.count(1)
# Event ids stay unique across processes and runs against the same database.
_RUN = f"{os.getpid():x}{secrets.token_hex(3)}"


def partner_events(rng: random.Random, bounds: Bounds, phones: list[str], size: int) -> list:
    """A batch of `size` events for residents named by phone (bus rides, charging)."""
    events = []
    for _ in range(size):
        kind = _weighted(rng, PARTNER_MIX)
        body = trip(rng, bounds, "bus") if kind == "bus" else ev_charging(rng, bounds)
        event_id = f"lt-{_RUN}-{next(_event_numbers)}"
        events.append({"event_id": event_id, "resident": rng.choice(phones), **body})
    return events


def signed_batch(key: str, secret: str, events: list) -> tuple[bytes, dict]:
    """The raw body and the headers of a batch: HMAC-SHA256 of `timestamp.body`."""
    body = json.dumps({"events": events}, separators=(",", ":")).encode()
    timestamp = str(int(datetime.now(UTC).timestamp()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return body, {
        "X-Partner-Key": key,
        "X-Timestamp": timestamp,
        "X-Signature": signature.hexdigest(),
        "Content-Type": "application/json",
    }


def new_phone(rng: random.Random) -> str:
    """A mobile number unlikely to exist yet (199 and eight random digits)."""
    return f"199{rng.randrange(10**8):08d}"
