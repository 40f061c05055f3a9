"""A partner's verified EV session outranking an approved squat, under real concurrency:
the owner is paid once and the squatter's points are taken back once, however many copies
of the partner's batch arrive together (issue 19, attack 4)."""

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from loadtests.bench import wait_until_applied
from tests.factories import partner_credentials, partner_signature
from tests.live_server import live_server

# The server runs in other processes, on the machine's clock.
pytestmark = pytest.mark.real_clock

SESSION = {"type": "ev_charging", "energy_kwh": 30, "station_id": "RACE-CS", "session_id": "7"}


def fire_together(count: int, call):
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_six_copies_of_the_owners_event_pay_once_and_take_back_once(tmp_path):
    with live_server(tmp_path) as server:
        partner = partner_credentials(
            server.flask("partner", "create", "并发充电", "--allow", "ev_charging")
        )
        reviewer = server.staff_headers("race-reviewer", "reviewer")
        owner_phone, squatter_phone = "13700000401", "13700000402"
        server.sign_in(owner_phone)
        squatter = server.sign_in(squatter_phone)
        squat = server.call(
            "POST", "/api/v1/actions", SESSION, {**squatter, "Idempotency-Key": "squat"}
        )
        assert squat.status == 201, squat.body
        approved = server.call(
            "POST", f"/api/v1/staff/reviews/{squat.body['id']}/approve", None, reviewer
        )
        assert approved.status == 200 and approved.body["points"] > 0

        body = {"events": [{"event_id": "ev-race", "resident": owner_phone, **SESSION}]}
        headers = partner_signature(partner["key"], partner["secret"], json.dumps(body).encode())
        replies = fire_together(
            6, lambda _: server.call("POST", "/api/v1/partner/events", body, headers)
        )
        assert [r.status for r in replies] == [200] * 6, [r.body for r in replies]
        statuses = sorted(r.body["results"][0]["status"] for r in replies)
        assert statuses == ["accepted"] + ["duplicate"] * 5

        with server.engine.connect() as connection:
            entries = connection.execute(
                sa.text(
                    "SELECT e.resident_id, e.kind, e.ref, e.delta FROM ledger_entry e ORDER BY e.id"
                )
            ).all()
            balances = dict(
                connection.execute(sa.text("SELECT resident_id, balance FROM account")).all()
            )
            squat_row = connection.execute(
                sa.text("SELECT status, dedup_key FROM action WHERE id = :id"),
                {"id": squat.body["id"]},
            ).one()
        assert tuple(squat_row) == ("rejected", None)
        takebacks = [e for e in entries if e.ref == f"superseded/action:{squat.body['id']}"]
        assert [e.delta for e in takebacks] == [-approved.body["points"]]
        earn = [e for e in entries if e.kind == "earn"]
        assert len(earn) == 2  # the squat's (taken back) and the owner's, once
        for resident_id, balance in balances.items():
            assert balance == sum(e.delta for e in entries if e.resident_id == resident_id)
        wait_until_applied(server.env["DATABASE_URL"], timeout_s=10)


def test_two_partners_reporting_one_session_at_once_get_verdicts_not_errors(tmp_path):
    """Two partners (a charging network and a car maker's app) report the same session at
    the same moment: each batch answers 200, the session is paid once."""
    with live_server(tmp_path) as server:
        partners = [
            partner_credentials(server.flask("partner", "create", name, "--allow", "ev_charging"))
            for name in ("充电网络", "车企应用")
        ]
        owner_phone = "13700000403"
        server.sign_in(owner_phone)

        def send(i):
            partner = partners[i % 2]
            event = {"event_id": f"both-{i}", "resident": owner_phone, **SESSION}
            body = {"events": [event]}
            raw = json.dumps(body).encode()
            headers = partner_signature(partner["key"], partner["secret"], raw)
            return server.call("POST", "/api/v1/partner/events", body, headers)

        replies = fire_together(6, send)
        assert [r.status for r in replies] == [200] * 6, [r.body for r in replies]
        statuses = sorted(r.body["results"][0]["status"] for r in replies)
        assert statuses == ["accepted"] + ["duplicate"] * 5
        with server.engine.connect() as connection:
            earned = connection.execute(
                sa.text("SELECT count(*) FROM ledger_entry WHERE kind = 'earn'")
            ).scalar_one()
        assert earned == 1
        wait_until_applied(server.env["DATABASE_URL"], timeout_s=10)
