"""Caps and idempotency under real concurrency: many requests at once on a live server."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from loadtests.bench import wait_until_applied
from tests.factories import partner_credentials, partner_signature, today_minutes_ago, trip
from tests.live_server import live_server

# Its servers run in other processes, on the machine's clock: this module's own clock is
# not pinned either, and its assertions hold whatever the day or the hour.
pytestmark = pytest.mark.real_clock


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live")) as live:
        yield live


def fire_together(count: int, call):
    """Run `call(i)` on `count` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def ledger_of(server, phone_headers_owner_id: int):
    with server.engine.connect() as connection:
        entries = connection.execute(
            sa.text("SELECT kind, ref, delta FROM ledger_entry WHERE resident_id = :r ORDER BY id"),
            {"r": phone_headers_owner_id},
        ).all()
        balance = connection.execute(
            sa.text("SELECT balance FROM account WHERE resident_id = :r"),
            {"r": phone_headers_owner_id},
        ).scalar_one()
    return entries, balance


def resident_id(server, headers) -> int:
    return server.call("GET", "/api/v1/me", headers=headers).body["id"]


def test_daily_cap_holds_when_twenty_trips_arrive_at_once(server):
    headers = server.sign_in("13700000001")
    me = resident_id(server, headers)
    methodology = server.call("GET", "/api/v1/methodology").body
    cap = methodology["daily_point_caps"]["trip"]

    # Twenty bus rides of one Beijing day, one after another (trips never overlap): today's
    # if today has room for them, else yesterday's.
    room = today_minutes_ago(24 * 60)
    latest = 5 if room >= 5 + 20 * 3 else room + 5

    def post(i):
        body = trip("bus", 1, 2, ended_minutes_ago=latest + 3 * i)
        return server.call(
            "POST", "/api/v1/actions", body, {**headers, "Idempotency-Key": f"cap-{i}"}
        )

    replies = fire_together(20, post)
    assert [r.status for r in replies] == [201] * 20
    paid = sum(r.body["points"] for r in replies)
    assert paid == cap
    entries, balance = ledger_of(server, me)
    assert sum(delta for kind, _, delta in entries if kind == "earn") == cap
    assert balance == sum(delta for _, _, delta in entries)
    assert len({ref for _, ref, _ in entries}) == len(entries)


def test_twenty_retries_of_one_key_make_one_action_and_one_entry(server):
    headers = {**server.sign_in("13700000002"), "Idempotency-Key": "same-key"}
    me = resident_id(server, {"Authorization": headers["Authorization"]})
    body = trip("walk", 2, 30)
    replies = fire_together(20, lambda i: server.call("POST", "/api/v1/actions", body, headers))
    statuses = {r.status for r in replies}
    assert statuses <= {201, 409}, [r.body for r in replies if r.status not in (201, 409)]
    created = [r.body["id"] for r in replies if r.status == 201]
    assert created and len(set(created)) == 1
    with server.engine.connect() as connection:
        actions = connection.execute(
            sa.text("SELECT COUNT(*) FROM action WHERE resident_id = :r"), {"r": me}
        ).scalar_one()
    entries, balance = ledger_of(server, me)
    assert actions == 1
    assert [kind for kind, _, _ in entries].count("earn") == 1
    assert balance == sum(delta for _, _, delta in entries)
    # once the first has finished, a retry gets the stored answer
    late = server.call("POST", "/api/v1/actions", body, headers)
    assert late.status == 201 and late.body["id"] == created[0]


def test_concurrent_claims_of_one_charging_session_record_it_once(server):
    residents = [server.sign_in(f"137000001{i:02d}") for i in range(10)]
    body = {"type": "ev_charging", "energy_kwh": 30, "station_id": "RACE", "session_id": "1"}

    def post(i):
        return server.call(
            "POST", "/api/v1/actions", body, {**residents[i], "Idempotency-Key": "ev"}
        )

    replies = fire_together(10, post)
    assert sorted(r.status for r in replies) == [201] + [409] * 9


def test_one_partner_batch_sent_six_times_at_once_pays_each_event_once(server):
    partner = partner_credentials(
        server.flask("partner", "create", "并发公交", "--allow", "trip:bus")
    )
    phones = [f"137000003{i:02d}" for i in range(4)]
    for phone in phones:
        server.sign_in(phone)
    # Each resident's eight rides one after another (trips never overlap), all of one day.
    room = today_minutes_ago(24 * 60)
    latest = 10 if room >= 10 + 32 * 3 else room + 5
    events = [
        {
            "event_id": f"race-{i}",
            "resident": phones[i % 4],
            **trip("bus", 1, 2, ended_minutes_ago=latest + 3 * i),
        }
        for i in range(32)
    ]
    body = {"events": events}
    headers = partner_signature(partner["key"], partner["secret"], json.dumps(body).encode())

    replies = fire_together(
        6, lambda _: server.call("POST", "/api/v1/partner/events", body, headers)
    )
    assert [r.status for r in replies] == [200] * 6, [r.body for r in replies]
    for i in range(len(events)):
        results = [reply.body["results"][i] for reply in replies]
        assert sorted(r["status"] for r in results) == ["accepted"] + ["duplicate"] * 5
        assert len({r["action_id"] for r in results}) == 1
    with server.engine.connect() as connection:
        paid = connection.execute(
            sa.text(
                "SELECT COUNT(*), COUNT(DISTINCT e.ref) FROM action a "
                "JOIN ledger_entry e ON e.ref = 'action:' || a.id "
                "JOIN partner_event p ON p.action_id = a.id "
                "WHERE p.event_id LIKE 'race-%'"
            )
        ).one()
    assert tuple(paid) == (32, 32)
    # Each reply's worker applies the derived figures after it.
    wait_until_applied(server.env["DATABASE_URL"], timeout_s=10)
    server.flask("stats", "check")


def test_two_overlapping_trips_at_once_record_one(server):
    headers = server.sign_in("13700000401")
    bodies = [trip("bus", 6, 25, ended_minutes_ago=5), trip("walk", 2, 30, ended_minutes_ago=3)]

    def post(i):
        return server.call(
            "POST", "/api/v1/actions", bodies[i % 2], {**headers, "Idempotency-Key": f"lap-{i}"}
        )

    replies = fire_together(8, post)
    assert sorted(r.status for r in replies) == [201] + [422] * 7, [r.body for r in replies]
    assert {r.body["error"]["code"] for r in replies if r.status == 422} == {"overlapping_trip"}
