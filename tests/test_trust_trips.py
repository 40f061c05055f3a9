"""Trips you cannot farm: GPS traces checked (each refusal names its reason), the distance
taken from the trace, the points erased after their time, no overlapping trips, a
partner's verified trip superseding a self-declared one, self-declared actions paying
what the methodology says (nothing) and counting for no board, badge or campaign goal;
issue 19's attack 1 replayed."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from admin.demo_traces import ORIGINS, straight_trace, synthetic_trace
from points.actions import traces
from points.actions.models import TripTrace
from points.methodology.service import read_packaged_file
from tests.factories import (
    console_sign_in,
    create_partner,
    csrf_token,
    form_tokens,
    make_campaign,
    make_resident,
    partner_signature,
    record,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)

RULES = read_packaged_file()


def traced(mode, km, started, ended, **changes) -> dict:
    """A trip body from `started` to `ended` with a straight trace of `km`."""
    return {
        "type": "trip",
        "mode": mode,
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "trace": straight_trace(started, ended, km),
        **changes,
    }


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def refused(response, code: str) -> dict:
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == code, response.json
    return response.json["error"]


# A trace passes, and gives the distance


def test_a_traced_trip_is_verified_and_its_distance_is_the_traces(client):
    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    body = traced("bike", 5, end - timedelta(minutes=30), end, distance_km=40)
    action = record(client, me, body).json
    assert action["verification"] == "trace"
    assert action["quantity"] == 5.0  # the trace's length, not the 40 km claimed
    assert action["co2e_g"] == 466  # 5 km x 93.3 g/km
    assert action["points"] == 466
    assert action["details"]["claimed_distance_km"] == "40.000"
    figures = action["details"]["trace"]
    assert figures["distance_m"] == 5000 and figures["points"] == len(body["trace"])
    assert figures["start_in_area"] and figures["end_in_area"]
    assert figures["duration_s"] == 1800


def test_with_a_trace_the_distance_may_be_left_out_and_without_one_it_may_not(client):
    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    assert (
        record(client, me, traced("walk", 1.5, end - timedelta(minutes=20), end)).status_code == 201
    )
    bare = trip("walk", 1, 10, ended_minutes_ago=40, trace=False)
    del bare["distance_km"]
    error = refused(record(client, me, bare), "validation_error")
    assert "distance_km" in error["fields"]


def test_a_realistic_jittery_trace_passes_and_measures_about_its_length(client):
    import random

    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    start = end - timedelta(minutes=40)
    body = {
        "type": "trip",
        "mode": "bus",
        "started_at": start.isoformat(),
        "ended_at": end.isoformat(),
        "trace": synthetic_trace(random.Random(7), "bus", start, end, 12),
    }
    action = record(client, me, body).json
    assert action["verification"] == "trace", action
    assert 11_000 <= action["details"]["trace"]["distance_m"] <= 12_500


def _shifted(points, seconds):
    return [[lon, lat, t + seconds] for lon, lat, t in points]


def _refusals():
    """(name, mode, km, minutes, how the trace is spoiled, the code)."""
    return [
        ("walking at 20 km/h", "walk", 5, 15, lambda p: p, "too_fast"),
        (
            "in Guangzhou",
            "bus",
            6,
            25,
            lambda p: [[lon + 0.8, lat, t] for lon, lat, t in p],
            "out_of_area",
        ),
        ("five minutes without a fix", "bus", 6, 25, lambda p: p[:20] + p[50:], "trace_gap"),
        (
            "two fixes swapped",
            "bus",
            6,
            25,
            lambda p: [*p[:5], p[6], p[5], *p[7:]],
            "trace_out_of_order",
        ),
        (
            "an hour later than the trip",
            "bus",
            6,
            25,
            lambda p: _shifted(p, 3600),
            "trace_outside_trip",
        ),
        ("covering half the trip", "bus", 6, 25, lambda p: p[: len(p) // 2], "trace_outside_trip"),
        ("three fixes", "bus", 6, 25, lambda p: [p[0], p[len(p) // 2], p[-1]], "trace_too_short"),
        ("standing still", "walk", 0.05, 20, lambda p: p, "trace_too_short"),
    ]


@pytest.mark.parametrize(
    ("mode", "km", "minutes", "spoil", "code"),
    [case[1:] for case in _refusals()],
    ids=[case[0] for case in _refusals()],
)
def test_each_trace_refusal_names_its_reason(client, mode, km, minutes, spoil, code):
    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    body = traced(mode, km, end - timedelta(minutes=minutes), end)
    body["trace"] = spoil(body["trace"])
    error = refused(record(client, me, body), code)
    assert error["fields"]["trace"]


def test_refusal_messages_are_translated(client):
    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    body = traced("walk", 5, end - timedelta(minutes=15), end)
    headers = {**me.headers, "Idempotency-Key": "zh-1", "Accept-Language": "zh-CN"}
    response = client.post("/api/v1/actions", json=body, headers=headers)
    assert response.json["error"]["code"] == "too_fast"
    assert "公里" in response.json["error"]["message"]


def test_a_single_gps_jump_does_not_make_a_walk_too_fast(client):
    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    body = traced("walk", 1.2, end - timedelta(minutes=20), end)
    lon, lat, t = body["trace"][40]
    body["trace"][40] = [lon + 0.0009, lat, t]  # one fix 90 m off, 10 s from its neighbours
    action = record(client, me, body).json
    assert action["verification"] == "trace", action
    assert action["details"]["trace"]["distance_m"] == 1200


@pytest.mark.parametrize(
    "trace",
    [
        "a string",
        [[112.4, 23.0]],
        [[112.4, 23.0, 1, 2]],
        [["east", 23.0, 1796000000]],
        [[200, 23.0, 1796000000]],
        [[112.4, -91, 1796000000]],
        [[112.4, 23.0, -5]],
        [[112.4, 23.0, "NaN"]],
        [None],
        [[True, 23.0, 1796000000]],
        [{"lon": 112.4}],
    ],
)
def test_badly_shaped_traces_are_422_with_field_details(client, trace):
    me = sign_in(client)
    body = trip("bus")
    body["trace"] = trace
    error = refused(record(client, me, body), "validation_error")
    assert "trace" in error["fields"]


def test_a_trace_longer_than_allowed_is_refused_before_it_is_read(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TRACE_MAX_POINTS", 100)
    me = sign_in(client)
    body = trip("bus")
    body["trace"] = [[112.4, 23.0, "not read"]] * 101
    error = refused(record(client, me, body), "validation_error")
    assert len(error["fields"]["trace"]) == 1  # "At most 100 points.", in the caller's language


def test_unit_checks_are_robust_to_jitter_and_honest_about_speed():
    end = datetime(2026, 11, 18, 2, tzinfo=UTC)
    start = end - timedelta(minutes=30)
    points = straight_trace(start, end, 3)
    assert traces.length_m(points, 30) == pytest.approx(3000, abs=1)
    assert traces.max_sustained_kmh(points, 60, 0) == pytest.approx(6, abs=0.1)
    lon, lat = ORIGINS[0]
    area = RULES["city_area"]["polygon"]
    assert traces.inside(area, lon, lat)
    assert not traces.inside(area, 113.26, 23.13)  # Guangzhou
    assert not traces.inside(area, 112.47, 24.8)  # Shaoguan's way


# Trips in time


def test_every_trip_starts_inside_the_recording_window_and_lasts_what_its_mode_allows(client):
    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    ancient = {
        "type": "trip",
        "mode": "rail",
        "distance_km": 600,
        "started_at": "0001-01-01T00:00:00+00:00",
        "ended_at": end.isoformat(),
    }
    error = refused(record(client, me, ancient), "implausible_action")
    assert "started_at" in error["fields"]
    too_long = trip("walk", 10, minutes=RULES["plausibility"]["trip"]["walk"]["max_minutes"] + 1)
    error = refused(record(client, me, too_long), "implausible_action")
    assert "ended_at" in error["fields"]
    eight_days = trip("bus", 5, 30, trace=False)
    eight_days["started_at"] = (end - timedelta(days=8)).isoformat()
    refused(record(client, me, eight_days), "implausible_action")


def test_a_residents_trips_never_overlap_whatever_their_verification(client, app):
    me = sign_in(client)
    moment = now()
    start, end = moment - timedelta(minutes=60), moment - timedelta(minutes=30)
    assert record(client, me, traced("bus", 6, start, end)).status_code == 201
    # Overlapping it by ten minutes: refused, traced or not.
    overlapping = traced("bike", 4, end - timedelta(minutes=10), end + timedelta(minutes=15))
    refused(record(client, me, overlapping), "overlapping_trip")
    declared = trip("walk", 1, 15, ended_minutes_ago=35, trace=False)  # inside it
    refused(record(client, me, declared), "overlapping_trip")
    # Touching it within the tolerance: fine.
    tolerance = app.config["TRIP_OVERLAP_TOLERANCE_SECONDS"]
    after = end - timedelta(seconds=tolerance - 10)
    touching = traced("walk", 0.5, after, after + timedelta(minutes=6))
    assert record(client, me, touching).status_code == 201
    # Another resident's trip at the same time is theirs.
    other = sign_in(client)
    assert record(client, other, traced("bus", 6, start, end)).status_code == 201


def test_a_trip_spanning_midnight_is_checked_against_both_days(client, clock):
    from tests.moments import beijing

    clock.move_to(beijing(2026, 11, 19, 0, 40))
    me = sign_in(client)
    midnight = beijing(2026, 11, 19)
    across = traced("rail", 60, midnight - timedelta(minutes=30), midnight + timedelta(minutes=20))
    assert record(client, me, across).status_code == 201
    before = traced("walk", 1, midnight - timedelta(minutes=25), midnight - timedelta(minutes=5))
    refused(record(client, me, before), "overlapping_trip")


# Partner trips outrank self-declared ones


@pytest.fixture
def bus_company(app, db_session):
    return create_partner(app, "肇庆公交", "trip:bus", "garbage_sorting")


def send(client, partner, events):
    raw = json.dumps({"events": events}).encode()
    headers = {
        **partner_signature(partner["key"], partner["secret"], raw),
        "Content-Type": "application/json",
    }
    response = client.post("/api/v1/partner/events", data=raw, headers=headers)
    assert response.status_code == 200, response.json
    return response.json["results"]


def bus_ride(event_id, who, started, ended) -> dict:
    return {
        "event_id": event_id,
        "resident": who.phone,
        "type": "trip",
        "mode": "bus",
        "distance_km": 8,
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
    }


def publish_self_declared_percent(app, client, percent: int) -> None:
    """A methodology version in force whose self-declared trips pay `percent`."""
    data = copy.deepcopy(read_packaged_file())
    data["methodology_version"] = f"2099.{percent}"
    data["self_declared_points_percent"]["trip"] = percent
    console_sign_in(app, client, "superadmin")
    form = {
        **form_tokens(csrf_token(client, "/admin/methodology")),
        "content": json.dumps(data),
    }
    response = client.post("/admin/methodology/publish", data=form)
    assert response.status_code == 302
    assert client.get("/api/v1/methodology").json["self_declared_points_percent"]["trip"] == percent


def account(client, who) -> dict:
    return client.get("/api/v1/me/account", headers=who.headers).json


def test_a_partner_trip_supersedes_an_overlapping_self_declared_one(app, client, bus_company):
    publish_self_declared_percent(app, client, 50)
    me = make_resident(client, nickname="Ming", district_code="441202")
    end = now() - timedelta(minutes=5)
    start = end - timedelta(minutes=30)
    declared = record(client, me, trip("bus", 8, 30, trace=False)).json
    assert declared["verification"] == "self_declared"
    assert declared["points"] == declared["co2e_g"] // 2 > 0  # half, as published
    run_worker(client)
    assert account(client, me)["balance"] == declared["points"]

    [result] = send(client, bus_company, [bus_ride("ride-1", me, start, end)])
    assert result["status"] == "accepted"
    superseded = client.get(f"/api/v1/actions/{declared['id']}", headers=me.headers).json
    assert superseded["status"] == "rejected"
    assert superseded["review_reason"] == "已被同一时段合作方核验的出行取代。"  # zh by default
    ledger = client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
    assert [e["delta"] for e in ledger if e["kind"] == "adjustment"] == [-declared["points"]]
    # Paid once: the partner's ride only (the cap left room for it).
    assert account(client, me)["balance"] == result["points"]

    run_worker(client)  # the superseded trip's outbox row: nothing counted, nothing taken
    board = client.get("/api/v1/leaderboards/residents", headers=me.headers).json
    mine = [item for item in board["items"] if item["is_me"]]
    assert [item["co2e_g"] for item in mine] == [result["co2e_g"]]
    badges = client.get("/api/v1/me/badges", headers=me.headers).json
    assert badges["streak"]["current"] == 1
    again = send(client, bus_company, [bus_ride("ride-1", me, start, end)])
    assert again[0]["status"] == "duplicate"
    assert account(client, me)["co2e_g_total"] == result["co2e_g"]


def test_a_partner_trip_overlapping_a_verified_trip_is_refused(client, bus_company):
    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    start = end - timedelta(minutes=30)
    mine = record(client, me, traced("bike", 6, start, end)).json
    results = send(
        client,
        bus_company,
        [
            bus_ride("ride-2", me, start + timedelta(minutes=10), end + timedelta(minutes=3)),
            bus_ride("ride-3", me, start - timedelta(hours=2), start - timedelta(hours=1)),
            bus_ride("ride-4", me, start - timedelta(minutes=90), start - timedelta(minutes=50)),
        ],
    )
    assert [r["status"] for r in results] == ["rejected", "accepted", "rejected"]
    assert results[0]["error"]["code"] == "overlapping_trip"
    assert results[2]["error"]["code"] == "overlapping_trip"  # overlaps ride-3, just before
    kept = client.get(f"/api/v1/actions/{mine['id']}", headers=me.headers).json
    assert kept["status"] == "approved" and kept["verification"] == "trace"


def test_a_batch_whose_every_trip_overlaps_is_answered_event_by_event(client, bus_company):
    # Found replaying issue 20 against the demo: with nothing left to approve, the batch
    # was a 500 (an account row inserted for no resident).
    me = sign_in(client)
    end = now() - timedelta(minutes=5)
    start = end - timedelta(minutes=30)
    record(client, me, traced("bike", 6, start, end))
    before = account(client, me)
    results = send(client, bus_company, [None, bus_ride("ride-5", me, start, end)])
    assert [(r["status"], r["error"]["code"]) for r in results] == [
        ("rejected", "event_not_object"),
        ("rejected", "overlapping_trip"),
    ]
    assert account(client, me) == before


# Self-declared actions are counted apart


def test_self_declared_actions_pay_nothing_and_count_for_no_board_badge_or_goal(client, app):
    admin = staff_headers(app, client, "campaign_admin")
    campaign = make_campaign(client, admin, goal_co2e_g=10_000)
    me = make_resident(client, nickname="Fang", district_code="441202")
    assert (
        client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=me.headers).status_code
        == 201
    )
    joined = account(client, me)["balance"]
    sorting = record(
        client, me, {"type": "garbage_sorting", "category": "kitchen", "weight_kg": 3}
    ).json
    declared = record(client, me, trip("bike", 5, 30, trace=False)).json
    for action in (sorting, declared):
        assert action["verification"] == "self_declared"
        assert action["status"] == "approved"
        assert action["co2e_g"] > 0 and action["points"] == 0
    run_worker(client)
    assert account(client, me)["balance"] == joined
    assert account(client, me)["co2e_g_total"] == 0
    board = client.get("/api/v1/leaderboards/residents", headers=me.headers).json
    assert not [item for item in board["items"] if item["is_me"]]
    badges = client.get("/api/v1/me/badges", headers=me.headers).json
    assert {b["key"] for b in badges["items"] if b["earned"]} == {"campaign_participant"}
    detail = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=me.headers).json
    assert detail["progress_co2e_g"] == 0

    # A traced trip counts everywhere.
    verified = record(client, me, trip("bike", 5, 30, ended_minutes_ago=60)).json
    run_worker(client)
    detail = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=me.headers).json
    assert detail["progress_co2e_g"] == verified["co2e_g"]
    board = client.get("/api/v1/leaderboards/residents", headers=me.headers).json
    assert [item["co2e_g"] for item in board["items"] if item["is_me"]] == [verified["co2e_g"]]


# Issue 19, attack 1


def test_attack_1_overlapping_rail_trips_farm_nothing(client):
    attacker = sign_in(client)
    moment = now()
    body = {
        "type": "trip",
        "mode": "rail",
        "distance_km": 600,
        "started_at": (moment - timedelta(minutes=115)).isoformat(),
        "ended_at": (moment - timedelta(minutes=5)).isoformat(),
    }
    replies = [record(client, attacker, body, key=f"attack-{n}") for n in range(22)]
    assert replies[0].status_code == 201
    assert replies[0].json["verification"] == "self_declared"
    assert replies[0].json["points"] == 0
    for reply in replies[1:]:
        refused(reply, "overlapping_trip")
    run_worker(client)
    mine = account(client, attacker)
    assert (mine["balance"], mine["co2e_g_total"]) == (0, 0)
    board = client.get("/api/v1/leaderboards/residents", headers=attacker.headers).json
    assert not [item for item in board["items"] if item["is_me"]]
    # ... and a trip starting in year 0001 does not defeat the speed check.
    ancient = {**body, "started_at": "0001-01-01T00:00:00+00:00"}
    refused(record(client, attacker, ancient, key="attack-ancient"), "implausible_action")


# GPS points are erased after their time


def test_the_daily_job_erases_gps_points_past_their_time_and_keeps_the_figures(
    app, client, clock, db_session
):
    from tests.moments import beijing

    clock.move_to(beijing(2026, 11, 18, 9))
    run_worker(client)  # today's jobs are done
    me = sign_in(client)
    action = record(client, me, trip("walk", 2, 30)).json
    stored = db_session.get(TripTrace, action["id"])
    assert stored is not None and len(stored.points) == len(trip("walk", 2, 30)["trace"])
    days = app.config["TRACE_RETENTION_DAYS"]

    clock.move_to(beijing(2026, 11, 18, 9) + timedelta(days=days - 1), tick=False)
    assert "trace_erasure" in (out := run_worker(client)) and "of 0 trips" in out
    db_session.expire_all()
    assert db_session.get(TripTrace, action["id"]) is not None

    clock.move_to(beijing(2026, 11, 18, 9) + timedelta(days=days, hours=1), tick=False)
    assert "erased the GPS points of 1 trips" in run_worker(client)
    db_session.expire_all()
    assert db_session.scalar(select(TripTrace).where(TripTrace.action_id == action["id"])) is None
    me = sign_in(client, me.phone)
    kept = client.get(f"/api/v1/actions/{action['id']}", headers=me.headers).json
    assert kept["details"]["trace"]["distance_m"] == 2000
    assert kept["verification"] == "trace"


def test_a_self_declared_trip_keeps_no_gps_points(client, db_session):
    me = sign_in(client)
    action = record(client, me, trip("walk", 2, 30, trace=False)).json
    assert db_session.get(TripTrace, action["id"]) is None


def test_the_demo_seeds_traced_and_self_declared_trips(app, db_session):
    from sqlalchemy import func

    from points.actions.models import Action

    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    counts = dict(
        db_session.execute(
            select(Action.verification, func.count())
            .where(Action.type == "trip")
            .group_by(Action.verification)
        ).all()
    )
    assert counts.get("trace", 0) > counts.get("self_declared", 0) > 0
    traced = db_session.scalar(
        select(Action).where(Action.verification == "trace").order_by(Action.id).limit(1)
    )
    assert traced.details["trace"]["points"] > 10
    assert db_session.get(TripTrace, traced.id) is not None


def test_a_version_without_the_new_rules_reads_safe_defaults(app, client, db_session):
    """A version published before 2026.2 (no self_declared_points_percent, trace or
    city_area): self-declared actions pay nothing, and a trace cannot be checked, so the
    trip stays self-declared, on its claimed distance."""
    from points.methodology.service import load_methodology

    older = copy.deepcopy(read_packaged_file())
    older["methodology_version"] = "2099.old"
    for section in ("self_declared_points_percent", "trace", "city_area"):
        del older[section]
    with app.app_context():
        load_methodology(older)
        db_session.commit()
    assert "trace" not in client.get("/api/v1/methodology").json
    me = sign_in(client)
    action = record(client, me, trip("bike", 5, 30)).json
    assert action["factor_version"] == "2099.old"
    assert action["verification"] == "self_declared"
    assert action["co2e_g"] == 466 and action["points"] == 0
    assert db_session.get(TripTrace, action["id"]) is None
