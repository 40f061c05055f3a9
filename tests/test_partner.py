"""Partner feeds: signed batches, per-event results, duplicates, replay and skew."""

import json
import time

import pytest
from sqlalchemy import func, select

from points.actions.models import Action
from tests.factories import (
    create_partner,
    link_partner_account,
    new_phone,
    partner_post,
    partner_signature,
    run_worker,
    sign_in,
    today_minutes_ago,
    trip,
)


@pytest.fixture
def partner(app, db_session):
    return create_partner(app, "肇庆公交", "trip:bus", "ev_charging")


def send(client, partner, events, *, timestamp=None, secret=None, body=None):
    raw = body if body is not None else json.dumps({"events": events}).encode()
    headers = {
        **partner_signature(partner["key"], secret or partner["secret"], raw, timestamp),
        "Content-Type": "application/json",
    }
    return client.post("/api/v1/partner/events", data=raw, headers=headers)


def bus_event(event_id, resident, **changes):
    return {"event_id": event_id, "resident": resident, **trip("bus", 8, 30), **changes}


def test_a_signed_batch_credits_residents_by_phone(client, partner):
    me = sign_in(client)
    response = send(client, partner, [bus_event("e1", me.phone)])
    assert response.status_code == 200, response.json
    assert response.json["accepted"] == 1
    result = response.json["results"][0]
    assert result["status"] == "accepted"
    assert result["points"] > 0
    action = client.get(f"/api/v1/actions/{result['action_id']}", headers=me.headers).json
    assert action["source"] == "partner"
    assert action["status"] == "approved"


def test_partner_ev_sessions_are_verified_and_paid_at_once(client, partner):
    me = sign_in(client)
    event = {
        "event_id": "ev1",
        "resident": me.phone,
        "type": "ev_charging",
        "energy_kwh": 10,
        "station_id": "S1",
        "session_id": "P-1",
    }
    result = send(client, partner, [event]).json["results"][0]
    assert result["status"] == "accepted"
    assert result["points"] > 0
    assert client.get("/api/v1/me/account", headers=me.headers).json["balance"] == result["points"]


def test_a_resent_event_is_a_duplicate_and_pays_once(client, partner, db_session):
    me = sign_in(client)
    events = [bus_event("e1", me.phone)]
    first = send(client, partner, events).json
    again = send(client, partner, events).json
    assert again["results"][0]["status"] == "duplicate"
    assert again["results"][0]["action_id"] == first["results"][0]["action_id"]
    count = db_session.scalar(
        select(func.count()).select_from(Action).where(Action.resident_id == me.resident["id"])
    )
    assert count == 1


def test_one_bad_event_never_sinks_the_batch(client, partner):
    me = sign_in(client)
    events = [
        bus_event("ok-1", me.phone),
        bus_event("bad-resident", new_phone()),
        {"event_id": "bad-speed", "resident": me.phone, **trip("bus", 100, 10, trace=False)},
        {"event_id": "bad-type", "resident": me.phone, **trip("walk", 2, 30)},
        {"event_id": "bad-body", "resident": me.phone, "type": "trip", "mode": "bus"},
        {"resident": me.phone, **trip("bus")},
        "not an object",
        bus_event("ok-2", me.phone, **trip("bus", 3, 15, ended_minutes_ago=90)),
    ]
    response = send(client, partner, events)
    assert response.status_code == 200
    statuses = [(r["event_id"], r["status"]) for r in response.json["results"]]
    assert statuses == [
        ("ok-1", "accepted"),
        ("bad-resident", "rejected"),
        ("bad-speed", "rejected"),
        ("bad-type", "rejected"),
        ("bad-body", "rejected"),
        (None, "rejected"),
        (None, "rejected"),
        ("ok-2", "accepted"),
    ]
    codes = [r["error"]["code"] for r in response.json["results"] if r["error"]]
    assert codes[:4] == [
        "resident_unknown",
        "implausible_action",
        "type_not_allowed",
        "validation_error",
    ]
    assert response.json["accepted"] == 2 and response.json["rejected"] == 6


@pytest.fixture
def transit(app, db_session):
    """A partner that may report every trip mode and EV sessions."""
    return create_partner(app, "肇庆出行", "trip", "ev_charging")


def _day_of_events(tag: str, first, second) -> list[dict]:
    """Events of two residents on today's local day: trips crossing the daily trip cap
    (2,000 points: the third is paid in part, the fourth not at all), an EV session sent
    again under another event id, a repeated event id and an implausible trip."""

    def ride(mode, km, minutes, ago):
        return trip(mode, km, minutes, ended_minutes_ago=today_minutes_ago(ago))

    ev = {"type": "ev_charging", "energy_kwh": 10, "station_id": f"S-{tag}", "session_id": "1"}
    return [
        {"event_id": f"{tag}-1", "resident": first.phone, **ride("bus", 8, 30, 300)},
        {"event_id": f"{tag}-2", "resident": second.phone, **ev},
        {"event_id": f"{tag}-3", "resident": first.phone, **ride("rail", 20, 20, 240)},
        {"event_id": f"{tag}-4", "resident": second.phone, **ride("bike", 5, 25, 200)},
        {"event_id": f"{tag}-5", "resident": first.phone, **ride("rail", 10, 10, 180)},
        {"event_id": f"{tag}-6", "resident": second.phone, **ev},
        {"event_id": f"{tag}-7", "resident": first.phone, **ride("bus", 100, 10, 150)},
        {"event_id": f"{tag}-3", "resident": first.phone, **ride("rail", 20, 20, 240)},
        {"event_id": f"{tag}-8", "resident": first.phone, **ride("bus", 8, 30, 120)},
        {"event_id": f"{tag}-9", "resident": second.phone, **ride("walk", 3, 40, 60)},
    ]


def _what_a_resident_sees(client, who) -> dict:
    """What a resident can see of their actions' effects, less the order of entries (a
    batch's badge bonus is posted after the batch's earn entries, not between them)."""
    ledger = client.get("/api/v1/me/ledger", headers=who.headers).json["items"]
    account = client.get("/api/v1/me/account", headers=who.headers).json
    board = client.get("/api/v1/leaderboards/residents?period=week", headers=who.headers).json
    badges = client.get("/api/v1/me/badges", headers=who.headers).json
    return {
        "ledger": sorted((e["kind"], e["ref"].split(":")[0], e["delta"]) for e in ledger),
        "account": {k: account[k] for k in ("balance", "co2e_g_total", "points_today")},
        "board": board["me"]["co2e_g"],
        "badges": sorted(b["key"] for b in badges["items"] if b["earned"]),
        "streak": badges["streak"],
    }


def test_a_batch_in_groups_pays_what_one_event_per_batch_pays(app, client, transit):
    grouped, alone = [sign_in(client), sign_in(client)], [sign_in(client), sign_in(client)]
    app.config["PARTNER_EVENTS_PER_TRANSACTION"] = 2
    try:
        together = send(client, transit, _day_of_events("g", *grouped))
        assert together.status_code == 200, together.json
        one_by_one = [
            send(client, transit, [event]).json["results"][0]
            for event in _day_of_events("a", *alone)
        ]
    finally:
        app.config["PARTNER_EVENTS_PER_TRANSACTION"] = 100

    def verdicts(results):
        return [
            (r["status"], r["co2e_g"], r["points"], r["capped"], (r["error"] or {}).get("code"))
            for r in results
        ]

    results = together.json["results"]
    assert verdicts(results) == verdicts(one_by_one)
    statuses = [r["status"] for r in results]
    assert statuses == ["accepted"] * 5 + ["duplicate", "rejected", "duplicate"] + ["accepted"] * 2
    assert results[7]["action_id"] == results[2]["action_id"]  # the repeated event id
    trips = [
        r["points"]
        for r in results
        if r["status"] == "accepted" and r["event_id"] in ("g-1", "g-3", "g-5", "g-8")
    ]
    assert sum(trips) == 2000 and trips[-1] == 0 and [r["capped"] for r in results][4] is True
    run_worker(client)
    for mine, theirs in zip(grouped, alone, strict=True):
        seen = _what_a_resident_sees(client, mine)
        assert seen == _what_a_resident_sees(client, theirs)
        assert seen["board"] > 0 and seen["badges"]
    check = app.test_cli_runner().invoke(args=["stats", "check"])
    assert check.exit_code == 0, check.output


def test_a_batch_is_paid_at_once_and_its_figures_follow_from_the_worker(app, client, partner):
    me = sign_in(client)
    paid = send(client, partner, [bus_event("k1", me.phone)]).json["results"][0]
    assert paid["status"] == "accepted"
    # Paid at once; the leaderboard waits for the worker.
    assert client.get("/api/v1/me/account", headers=me.headers).json["balance"] == paid["points"]
    board = client.get("/api/v1/leaderboards/residents?period=week", headers=me.headers).json
    assert board["me"]["co2e_g"] == 0
    runner = app.test_cli_runner()
    # The statistics hold what is applied: the check agrees before and after.
    assert runner.invoke(args=["stats", "check"]).exit_code == 0
    applied = runner.invoke(args=["points", "apply-outbox"])
    assert applied.exit_code == 0 and "applied 1 approvals" in applied.output
    board = client.get("/api/v1/leaderboards/residents?period=week", headers=me.headers).json
    assert board["me"]["co2e_g"] == paid["co2e_g"]
    check = runner.invoke(args=["stats", "check"])
    assert check.exit_code == 0, check.output
    again = runner.invoke(args=["points", "apply-outbox"])
    assert "applied 0 approvals" in again.output


def test_residents_are_matched_by_a_linked_partner_id(client, partner):
    me = sign_in(client)
    link_partner_account(client, partner, me, "CARD-778")
    result = send(client, partner, [bus_event("e9", "CARD-778")]).json["results"][0]
    assert result["status"] == "accepted"
    assert (
        client.get(f"/api/v1/actions/{result['action_id']}", headers=me.headers).status_code == 200
    )
    other = sign_in(client)
    code = client.post(
        "/api/v1/me/partner-links", json={"partner_key": partner["key"]}, headers=other.headers
    ).json["link_code"]
    taken = partner_post(
        client, partner, "/api/v1/partner/links", {"link_code": code, "external_id": "CARD-778"}
    )
    assert taken.status_code == 409
    assert taken.json["error"]["code"] == "partner_link_exists"


def test_one_batch_names_residents_every_way_and_repeats_count_once(client, partner):
    by_phone, by_card = sign_in(client), sign_in(client)
    link_partner_account(client, partner, by_card, "CARD-1")
    events = [
        bus_event("p1", by_phone.phone),
        bus_event("p2", f"+86 {by_phone.phone}", **trip("bus", 8, 30, ended_minutes_ago=90)),
        bus_event("c1", "CARD-1"),
        bus_event("p1", by_phone.phone, **trip("bus", 8, 30, ended_minutes_ago=150)),
        bus_event("x1", "CARD-2"),
    ]
    response = send(client, partner, events)
    assert response.status_code == 200, response.json
    results = response.json["results"]
    assert [r["status"] for r in results] == [
        "accepted",
        "accepted",
        "accepted",
        "duplicate",
        "rejected",
    ]
    assert results[3]["action_id"] == results[0]["action_id"]
    assert results[4]["error"]["code"] == "partner_link_unconfirmed"
    mine = client.get("/api/v1/actions", headers=by_phone.headers).json["items"]
    assert sorted(a["id"] for a in mine) == sorted(
        [results[0]["action_id"], results[1]["action_id"]]
    )
    theirs = client.get("/api/v1/actions", headers=by_card.headers).json["items"]
    assert [a["id"] for a in theirs] == [results[2]["action_id"]]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"secret": "wrong-secret"}, "signature_invalid"),
        ({"timestamp": -301}, "timestamp_stale"),
        ({"timestamp": +301}, "timestamp_stale"),
        ({"timestamp": "yesterday"}, "timestamp_stale"),
    ],
)
def test_bad_signatures_and_stale_timestamps_are_401(client, partner, change, code, db_session):
    me = sign_in(client)
    if isinstance(change.get("timestamp"), int):  # an offset from now, taken now
        change = {"timestamp": int(time.time()) + change["timestamp"]}
    response = send(client, partner, [bus_event("e1", me.phone)], **change)
    assert response.status_code == 401
    assert response.json["error"]["code"] == code
    assert db_session.scalar(select(func.count()).select_from(Action)) == 0


def test_a_tampered_body_is_refused(client, partner):
    me = sign_in(client)
    raw = json.dumps({"events": [bus_event("e1", me.phone)]}).encode()
    headers = {
        **partner_signature(partner["key"], partner["secret"], raw),
        "Content-Type": "application/json",
    }
    tampered = raw.replace(b'"distance_km": 8', b'"distance_km": 9')
    response = client.post("/api/v1/partner/events", data=tampered, headers=headers)
    assert response.status_code == 401


def test_unknown_and_revoked_partners_are_401(app, client, partner):
    assert (
        send(client, {**partner, "key": "pk_nope"}, []).json["error"]["code"] == "partner_unknown"
    )
    assert app.test_cli_runner().invoke(args=["partner", "revoke", partner["key"]]).exit_code == 0
    response = send(client, partner, [bus_event("e1", new_phone())])
    assert response.status_code == 401


def test_batches_hold_one_to_500_events(client, partner):
    assert send(client, partner, []).status_code == 422
    too_many = [bus_event(f"e{i}", "13900000000") for i in range(501)]
    assert send(client, partner, too_many).status_code == 422


def test_partners_cannot_send_clean_plate_meals(client, app):
    meals = create_partner(app, "x", "clean_plate")
    me = sign_in(client)
    event = {"event_id": "m", "resident": me.phone, "type": "clean_plate", "photo_id": "a" * 32}
    result = send(client, meals, [event]).json["results"][0]
    assert result["status"] == "rejected"


@pytest.mark.parametrize(
    "change",
    [{"type": {}}, {"type": ["trip"]}, {"event_id": "bus-\x00"}, {"resident": "card\x00"}],
)
def test_an_event_no_database_can_hold_is_rejected_alone(client, partner, change):
    # Found by fuzzing: such an event raised (TypeError, or PostgreSQL refusing NUL) and
    # sank its whole batch with a 500.
    me = sign_in(client)
    good = bus_event("bus-ok", me.phone)
    bad = {**bus_event("bus-bad", me.phone), **change}
    response = send(client, partner, [bad, good])
    assert response.status_code == 200, response.json
    assert [r["status"] for r in response.json["results"]] == ["rejected", "accepted"]
