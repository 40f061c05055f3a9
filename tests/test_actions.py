"""Recording actions: factor arithmetic from the methodology file, status, caps, refusals."""

import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest

from tests.factories import record, record_verified, sign_in, trip, trips_in_a_row, verifier
from tests.moments import BOUNDARIES

FACTORS = json.loads(
    (Path(__file__).resolve().parent.parent / "points/methodology/factors.json").read_text()
)
CAPS = FACTORS["daily_point_caps"]


def factor(action_type: str, variant: str) -> Decimal:
    for row in FACTORS["factors"]:
        if (row["action_type"], row["variant"]) == (action_type, variant):
            return Decimal(str(row["avoided_g_per_unit"]))
    raise KeyError(variant)


def expected_grams(quantity: str, action_type: str, variant: str) -> int:
    return int((Decimal(quantity) * factor(action_type, variant)).to_integral_value(ROUND_DOWN))


@pytest.mark.parametrize(
    ("mode", "km", "minutes"),
    [("walk", "3.7", 50), ("bike", "12.35", 45), ("rail", "18.35", 15)],
)
def test_distance_trips_earn_km_times_factor_rounded_down(client, mode, km, minutes):
    me = sign_in(client)
    response = record(client, me, trip(mode, float(km), minutes))
    assert response.status_code == 201, response.json
    grams = expected_grams(km, "trip", mode)
    assert response.json["co2e_g"] == grams
    assert response.json["points"] == grams // FACTORS["grams_per_point"]
    assert response.json["status"] == "approved"
    assert response.json["capped"] is False
    assert response.json["factor_version"] == FACTORS["methodology_version"]
    assert response.json["unit"] == "km"


def test_bus_trips_earn_per_ride_whatever_the_distance(client):
    me = sign_in(client)
    short = record(client, me, trip("bus", 2.0, 10)).json
    long = record(client, me, trip("bus", 25.0, 50, ended_minutes_ago=20)).json
    per_ride = expected_grams("1", "trip", "bus")
    assert short["co2e_g"] == long["co2e_g"] == per_ride
    assert short["unit"] == "trip"


@pytest.mark.parametrize("mode", ["car", "taxi", "motorbike"])
def test_car_taxi_and_motorbike_trips_count_but_earn_nothing(client, mode):
    me = sign_in(client)
    response = record(client, me, trip(mode, 12.0, 20))
    assert response.status_code == 201
    assert response.json["co2e_g"] == 0
    assert response.json["points"] == 0
    assert response.json["status"] == "approved"
    ledger = client.get("/api/v1/me/ledger", headers=me.headers).json
    assert ledger["items"] == []


@pytest.mark.parametrize("category", ["recyclable", "kitchen", "hazardous", "other"])
def test_garbage_sorting_earns_kg_times_factor(client, category):
    me = sign_in(client)
    response = record(
        client, me, {"type": "garbage_sorting", "category": category, "weight_kg": 1.55}
    )
    assert response.status_code == 201
    assert response.json["co2e_g"] == expected_grams("1.55", "garbage_sorting", category)
    assert response.json["status"] == "approved"


def test_ev_charging_waits_for_review_and_pays_nothing_yet(client):
    me = sign_in(client)
    body = {"type": "ev_charging", "energy_kwh": 32.5, "station_id": "ZQ-001", "session_id": "s-1"}
    response = record(client, me, body)
    assert response.status_code == 201
    assert response.json["co2e_g"] == expected_grams("32.5", "ev_charging", "kwh")
    assert response.json["status"] == "pending_review"
    assert response.json["points"] == 0
    assert client.get("/api/v1/me/account", headers=me.headers).json["balance"] == 0


def test_the_same_charging_session_is_recorded_once_whoever_claims_it(client):
    alice, bob = sign_in(client), sign_in(client)
    body = {"type": "ev_charging", "energy_kwh": 20, "station_id": "ZQ-002", "session_id": "s-9"}
    assert record(client, alice, body).status_code == 201
    again = record(client, bob, body)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "duplicate_action"


def test_account_and_ledger_follow_each_award(client):
    me = sign_in(client)
    first = record(client, me, trip("bus", ended_minutes_ago=5)).json
    second = record(client, me, trip("walk", 2, 30, ended_minutes_ago=40)).json
    account = client.get("/api/v1/me/account", headers=me.headers).json
    total = first["points"] + second["points"]
    assert account["points_today"] == total
    assert account["co2e_g_total"] == first["co2e_g"] + second["co2e_g"]
    entries = client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
    # badges a first green trip earns are entries of their own kind
    assert [(e["kind"], e["ref"], e["delta"]) for e in entries if e["kind"] == "earn"] == [
        ("earn", f"action:{second['id']}", second["points"]),
        ("earn", f"action:{first['id']}", first["points"]),
    ]
    assert account["balance"] == sum(e["delta"] for e in entries) == entries[0]["balance_after"]


def test_daily_cap_pays_up_to_the_cap_and_says_so(app, client):
    me = sign_in(client)
    per_ride = expected_grams("1", "trip", "bus")
    paid = 0
    rides = CAPS["trip"] // per_ride + 1
    *in_a_row, one_more = trips_in_a_row(rides + 1, "bus")
    responses = [record(client, me, body).json for body in in_a_row]
    for response in responses[:-1]:
        assert response["capped"] is False
        paid += response["points"]
    last = responses[-1]
    assert last["capped"] is True
    assert last["co2e_g"] == per_ride  # CO2e is still recorded in full
    assert last["points"] == CAPS["trip"] - paid
    over = record(client, me, one_more).json
    assert over["points"] == 0 and over["capped"] is True
    account = client.get("/api/v1/me/account", headers=me.headers).json
    assert account["points_today"] == CAPS["trip"]
    assert account["co2e_g_total"] == per_ride * (rides + 1)
    # another action type has its own cap
    garbage = record_verified(
        client, verifier(app), me, {"type": "garbage_sorting", "category": "other", "weight_kg": 1}
    ).json
    assert garbage["capped"] is False and garbage["points"] > 0


def points_today(client, who) -> int:
    return client.get("/api/v1/me/account", headers=who.headers).json["points_today"]


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_caps_count_per_asia_shanghai_day(app, client, clock, boundary):
    """15:59:59 and 16:00:00 UTC are one UTC day but two days in Beijing, each with its cap."""
    clock.move_to(boundary.last_second, tick=False)
    me = sign_in(client)
    partner = verifier(app)  # sorting the resident reports is self-declared: it pays nothing
    garbage = {"type": "garbage_sorting", "category": "recyclable", "weight_kg": 2.5}
    per_action = expected_grams("2.5", "garbage_sorting", "recyclable")
    cap = CAPS["garbage_sorting"]
    filled = [
        record_verified(client, partner, me, garbage).json for _ in range(-(-cap // per_action))
    ]
    assert sum(a["points"] for a in filled) == cap
    assert filled[-1]["capped"] is (cap % per_action != 0)
    assert points_today(client, me) == cap

    clock.move_to(boundary.midnight, tick=False)
    assert points_today(client, me) == 0
    next_day = record_verified(client, partner, me, garbage).json
    assert (next_day["capped"], next_day["points"]) == (False, per_action)
    late = {**garbage, "occurred_at": boundary.last_second.isoformat()}
    same_day = record_verified(client, partner, me, late).json  # sent now, of the day before
    assert (same_day["capped"], same_day["points"]) == (True, 0)
    assert points_today(client, me) == per_action


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # Made when the test runs, on its pinned clock, not when the module is collected.
        # Claims without a trace (a trace's own refusals: tests/test_trust_trips.py)
        (lambda: trip("walk", 41, 350, trace=False), "distance_km"),
        (lambda: trip("walk", 10, 30, trace=False), "distance_km"),  # 20 km/h on foot
        (lambda: trip("bike", 20, 20, trace=False), "distance_km"),  # 60 km/h on a bike
        (lambda: trip("bus", 130, 120, trace=False), "distance_km"),
        (
            lambda: {**trip("bus"), "ended_at": trip("bus", minutes=60)["started_at"]},
            "ended_at",
        ),
        (lambda: trip("walk", 10, 361, trace=False), "ended_at"),  # longer than a walk lasts
        (lambda: {"type": "garbage_sorting", "category": "other", "weight_kg": 31}, "weight_kg"),
        (
            lambda: {
                "type": "ev_charging",
                "energy_kwh": 151,
                "station_id": "a",
                "session_id": "b",
            },
            "energy_kwh",
        ),
    ],
)
def test_implausible_actions_are_refused_and_nothing_is_written(client, body, field):
    me = sign_in(client)
    response = record(client, me, body())
    assert response.status_code == 422
    assert response.json["error"]["code"] == "implausible_action"
    assert field in response.json["error"]["fields"]
    assert client.get("/api/v1/actions", headers=me.headers).json["items"] == []


def test_future_and_too_old_times_are_refused(client):
    me = sign_in(client)
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    old = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    garbage = {"type": "garbage_sorting", "category": "other", "weight_kg": 1}
    for when in (future, old):
        response = record(client, me, {**garbage, "occurred_at": when})
        assert response.status_code == 422
        assert "occurred_at" in response.json["error"]["fields"]
    assert record(client, me, trip("walk", 1, 15, ended_minutes_ago=-90)).status_code == 422


@pytest.mark.parametrize(
    "body",
    [
        {
            "type": "trip",
            "mode": "rocket",
            "distance_km": 1,
            "started_at": "2026-01-01T00:00:00Z",
            "ended_at": "2026-01-01T00:10:00Z",
        },
        {"type": "trip", "mode": "bus"},
        {"type": "trip", "mode": "bus", "distance_km": -1, "started_at": "x", "ended_at": "y"},
        {"type": "garbage_sorting", "category": "other", "weight_kg": "NaN"},
        {"type": "garbage_sorting", "category": "other", "weight_kg": 1, "points": 999},
        {"type": "clean_plate"},
        {"type": "flying"},
        {},
    ],
)
def test_malformed_bodies_are_422_with_field_messages(client, body):
    me = sign_in(client)
    response = record(client, me, body)
    assert response.status_code == 422
    assert response.json["error"]["fields"]


def test_actions_of_another_resident_are_404(client):
    alice, bob = sign_in(client), sign_in(client)
    action = record(client, alice, trip("walk", 2, 30)).json
    assert client.get(f"/api/v1/actions/{action['id']}", headers=alice.headers).status_code == 200
    response = client.get(f"/api/v1/actions/{action['id']}", headers=bob.headers)
    assert response.status_code == 404
    assert client.get("/api/v1/actions", headers=bob.headers).json["items"] == []


def test_action_list_is_paginated_newest_first(client):
    me = sign_in(client)
    ids = [record(client, me, body).json["id"] for body in trips_in_a_row(5, "walk", 1, 15)]
    first = client.get("/api/v1/actions?limit=2", headers=me.headers).json
    assert [a["id"] for a in first["items"]] == ids[::-1][:2]
    second = client.get(
        f"/api/v1/actions?limit=2&cursor={first['next_cursor']}", headers=me.headers
    ).json
    third = client.get(
        f"/api/v1/actions?limit=2&cursor={second['next_cursor']}", headers=me.headers
    ).json
    assert [a["id"] for a in second["items"] + third["items"]] == ids[::-1][2:]
    assert third["next_cursor"] is None
    bad = client.get("/api/v1/actions?cursor=!!!", headers=me.headers)
    assert bad.status_code == 422


def test_action_stores_the_factor_it_used(app, client, db_session):
    from points.actions.models import Action

    me = sign_in(client)
    created = record(client, me, trip("bike", 5, 30)).json
    action = db_session.get(Action, created["id"])
    assert action.factor.variant == "bike"
    assert action.factor.version == FACTORS["methodology_version"]
    assert "93.3" in action.factor.source or action.factor.avoided_mg_per_unit == 93300


def test_action_flooding_is_limited_per_resident(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "ACTION_LIMIT_PER_RESIDENT", "3 per minute")
    flooder, neighbour = sign_in(client), sign_in(client)
    body = {"type": "garbage_sorting", "category": "other", "weight_kg": 0.1}
    statuses = [record(client, flooder, body).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert record(client, neighbour, body).status_code == 201
    assert (
        client.get("/api/v1/actions", headers=flooder.headers).status_code == 200
    )  # reads stay open


@pytest.mark.parametrize("kind", [{}, ["trip"], 7, None])
def test_a_type_that_is_no_string_is_422_not_500(client, kind):
    # Found by fuzzing: {"type": {}} was looked up in a dict of bodies and raised TypeError.
    me = sign_in(client)
    response = record(client, me, {"type": kind})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert set(response.json["error"]["fields"]) == {"type"}
