"""Plausible request bodies: residents' actions and partners' event batches.

Every body keeps inside the methodology's bounds (`GET /api/v1/methodology`), so a refusal
under load is a finding, never a badly made request. Trips carry a GPS trace (they pay) and
a resident's trips never overlap (`Timeline`).
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

from admin.demo_traces import synthetic_trace
from backend.legal.notice import NOTICE_DIR, PrivacyNotice

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


class Timeline:
    """Where each owner's trips fall: one after another, walking back from `newest` ago to
    `oldest` ago, so that no two of a resident's trips overlap (they would be refused,
    422 `overlapping_trip`). Per process: owners shared by processes may still collide."""

    def __init__(self, newest: timedelta, oldest: timedelta) -> None:
        self.newest, self.oldest = newest, oldest
        self._cursors: dict[object, datetime] = {}

    def slot(
        self, owner: object, minutes: int, rng: random.Random
    ) -> tuple[datetime, datetime] | None:
        """The next free (start, end) of `minutes` for `owner`; None once the range is full."""
        now = datetime.now(UTC).replace(microsecond=0)
        cursor = min(self._cursors.get(owner, now - self.newest), now - self.newest)
        ended = cursor - timedelta(minutes=rng.randint(1, 10))
        started = ended - timedelta(minutes=minutes)
        if started < now - self.oldest:
            return None
        self._cursors[owner] = started
        return started, ended


# A resident's own trips fall in the last three days; partners' rides three to six days
# back: the two never meet, whoever sends them.
RESIDENT_TRIPS = Timeline(timedelta(minutes=1), timedelta(days=3))
PARTNER_TRIPS = Timeline(timedelta(days=3), timedelta(days=6))


def trip(
    rng: random.Random,
    bounds: Bounds,
    mode: str | None = None,
    owner: object = None,
    timeline: Timeline = RESIDENT_TRIPS,
) -> dict | None:
    """A trip of `owner`'s at 30-50% of the mode's top speed, with a realistic GPS trace in
    Zhaoqing (a verified trip, that pays); None when the owner's timeline is full."""
    mode = mode or _weighted(rng, TRIP_MODES)
    limits = bounds.trip[mode]
    low, high = TRIP_KM[mode]
    km = round(min(rng.uniform(low, high), limits["max_km"]), 1)
    # Below half the top speed on average: stops and bursts stay under it (see trace_checks)
    speed = limits["max_kmh"] * rng.uniform(0.3, 0.5)
    minutes = int(km / speed * 60) + 2  # rounded up, so the speed never exceeds the bound
    times = timeline.slot(owner, minutes, rng)
    if times is None:
        return None
    started, ended = times
    return {
        "type": "trip",
        "mode": mode,
        "distance_km": km,
        "started_at": _iso(started),
        "ended_at": _iso(ended),
        "trace": synthetic_trace(rng, mode, started, ended, km),
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


def resident_action(rng: random.Random, bounds: Bounds, owner: object = None) -> dict:
    """One of `owner`'s actions (a trip in a free slot of theirs, while there is one)."""
    kind = _weighted(rng, ACTION_MIX)
    if kind == "trip":
        body = trip(rng, bounds, owner=owner)
        if body is not None:
            return body
        kind = "garbage_sorting"  # the owner's trips fill their days
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
        resident = rng.choice(phones)
        body = None
        if kind == "bus":
            body = trip(rng, bounds, "bus", owner=resident, timeline=PARTNER_TRIPS)
        body = body or ev_charging(rng, bounds)
        event_id = f"lt-{_RUN}-{next(_event_numbers)}"
        events.append({"event_id": event_id, "resident": resident, **body})
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


def privacy_version() -> str:
    """The privacy notice in force, which a sign-up accepts (its data file, as served)."""
    return PrivacyNotice.from_directory(NOTICE_DIR).version


def location_consent() -> dict:
    """POST /api/v1/me/consents: location, which the trips' traces need."""
    return {"scope": "location", "version": privacy_version()}
