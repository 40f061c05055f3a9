"""Redemption under real concurrency: never oversold, never overdrawn, never twice."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from loadtests.bench import wait_until_applied
from tests.factories import trip
from tests.live_server import live_server
from tests.test_concurrency import fire_together

# Its servers run in other processes, on the machine's clock: this module's own clock is
# not pinned either, and its assertions hold whatever the day or the hour.
pytestmark = pytest.mark.real_clock


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live-rewards")) as live:
        yield live


def new_reward(server, admin, stock: int, cost: int = 200) -> int:
    now = datetime.now(UTC)
    body = {
        "title": "公交乘车券",
        "merchant_name": "肇庆公交",
        "cost_points": cost,
        "stock": stock,
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=1)).isoformat(),
    }
    reply = server.call("POST", "/api/v1/staff/rewards", body, admin)
    assert reply.status == 201, reply.body
    return reply.body["id"]


def resident_with_trips(server, phone: str, trips: int) -> dict:
    headers = server.sign_in(phone)
    for i in range(trips):
        body = trip("bus", 1, 2, ended_minutes_ago=10 + 3 * i)  # one after another
        reply = server.call(
            "POST", "/api/v1/actions", body, {**headers, "Idempotency-Key": f"t{i}"}
        )
        assert reply.status == 201
    # The first-trip badge is the worker's entry: the race starts once it is paid.
    wait_until_applied(server.env["DATABASE_URL"])
    return headers


def assert_invariants(server):
    with server.engine.connect() as connection:
        broken = connection.execute(
            sa.text(
                "SELECT a.resident_id FROM account a WHERE a.balance < 0 OR a.balance != "
                "(SELECT COALESCE(SUM(e.delta), 0) FROM ledger_entry e"
                " WHERE e.resident_id = a.resident_id)"
            )
        ).all()
        stock = connection.execute(
            sa.text(
                "SELECT r.id FROM reward r WHERE r.stock_left + (SELECT COUNT(*) FROM redemption d "
                "WHERE d.reward_id = r.id AND d.status != 'cancelled') != r.stock_total"
            )
        ).all()
        causes = connection.execute(
            sa.text("SELECT kind, ref FROM ledger_entry GROUP BY kind, ref HAVING COUNT(*) > 1")
        ).all()
    assert broken == [] and stock == [] and causes == []


def test_a_hundred_residents_racing_for_ten_units(server):
    admin = server.staff_headers("race-admin", "campaign_admin")
    reward_id = new_reward(server, admin, stock=10)
    with ThreadPoolExecutor(max_workers=10) as pool:
        residents = list(
            pool.map(lambda i: resident_with_trips(server, f"1350000{i:04d}", 1), range(100))
        )

    def attempt(i):
        headers = {**residents[i], "Idempotency-Key": "race"}
        return server.call("POST", f"/api/v1/rewards/{reward_id}/redeem", None, headers)

    replies = fire_together(100, attempt)
    statuses = sorted(r.status for r in replies)
    assert statuses == [201] * 10 + [409] * 90
    assert {r.body["error"]["code"] for r in replies if r.status == 409} == {"out_of_stock"}
    with server.engine.connect() as connection:
        left = connection.execute(
            sa.text("SELECT stock_left FROM reward WHERE id = :r"), {"r": reward_id}
        ).scalar_one()
        redeems = connection.execute(
            sa.text("SELECT COUNT(*) FROM ledger_entry WHERE kind = 'redeem'")
        ).scalar_one()
    assert left == 0
    assert redeems == 10  # the losers paid nothing: nothing was taken from them
    assert_invariants(server)


def test_one_resident_with_points_for_three_firing_twenty(server):
    admin = server.staff_headers("race-admin-2", "campaign_admin")
    reward_id = new_reward(server, admin, stock=100, cost=200)
    headers = resident_with_trips(server, "13511110000", 3)  # 3 x 212 + a 50-point badge = 686
    replies = fire_together(
        20,
        lambda i: server.call(
            "POST",
            f"/api/v1/rewards/{reward_id}/redeem",
            None,
            {**headers, "Idempotency-Key": f"k{i}"},
        ),
    )
    assert sorted(r.status for r in replies) == [201] * 3 + [422] * 17
    assert server.call("GET", "/api/v1/me/account", headers=headers).body["balance"] == 686 - 600
    assert_invariants(server)


def test_the_same_key_fired_twenty_times_redeems_once(server):
    admin = server.staff_headers("race-admin-3", "campaign_admin")
    reward_id = new_reward(server, admin, stock=100, cost=100)
    headers = {**resident_with_trips(server, "13522220000", 2), "Idempotency-Key": "once"}
    replies = fire_together(
        20, lambda i: server.call("POST", f"/api/v1/rewards/{reward_id}/redeem", None, headers)
    )
    assert {r.status for r in replies} <= {201, 409}
    codes = {r.body["code"] for r in replies if r.status == 201}
    assert len(codes) == 1
    redemptions = server.call("GET", "/api/v1/me/redemptions", headers=headers).body["items"]
    assert len(redemptions) == 1
    assert_invariants(server)
