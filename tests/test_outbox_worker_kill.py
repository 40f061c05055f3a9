"""A `flask worker` killed with SIGKILL in the middle of its batches loses nothing and
applies nothing twice: its open batch rolls back whole, and the next worker applies it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest
import sqlalchemy as sa

from campaigns.badges.service import catalogue, ledger_ref
from loadtests.bench import wait_until_applied
from loadtests.server import BIN, ROOT
from tests.conftest import assert_ledger_invariants
from tests.factories import partner_credentials, partner_signature, trip
from tests.live_server import live_server

# Its servers and workers run in other processes, on the machine's clock: this module's
# clock is not pinned either, and its assertions hold whatever the day or the hour.
# Load in a fixed time window: one such module at a time on the machine (tests/conftest.py).
pytestmark = [pytest.mark.real_clock, pytest.mark.machine_to_itself]

RESIDENTS = 40
TRIPS_EACH = 75  # 3,000 approvals waiting: several batches of the worker's size
BATCH = 600


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("outbox-kill"), workers=2, outbox_workers=0) as live:
        yield live


def outbox_rows(server) -> int:
    with server.engine.connect() as connection:
        return connection.execute(sa.text("SELECT COUNT(*) FROM approval_outbox")).scalar_one()


def start_worker(server, log_path):
    env = {**server.env, "WORKER_BATCH_SIZE": str(BATCH), "WORKER_IDLE_MS": "20"}
    with open(log_path, "ab") as log:  # the process has its own copy of the file
        return subprocess.Popen(
            [BIN / "flask", "--app", "wsgi", "worker"],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def make_backlog(server) -> dict:
    """Residents, half of them in a campaign doubling bus points, and their bus rides sent
    by a partner while no worker runs."""
    partner = partner_credentials(
        server.flask("partner", "create", "肇庆公交", "--allow", "trip:bus")
    )
    staff = server.staff_headers("kill-admin", "campaign_admin")
    campaign = server.published_campaign(
        staff, (3, 3), title="公交出行周", multipliers={"trip:bus": 2}
    )
    phones = [f"1360000{n:04d}" for n in range(RESIDENTS)]
    for n, phone in enumerate(phones):
        headers = server.sign_in(phone)
        if n % 2 == 0:
            enrolled = server.call(
                "POST", f"/api/v1/campaigns/{campaign['id']}/enrol", None, headers
            )
            assert enrolled.status == 201, enrolled.body
    events = [
        {
            "event_id": f"ride-{n}-{j}",
            "resident": phone,
            # one ride every 35 minutes over the last two days: no two overlap
            **trip("bus", 6, 25, ended_minutes_ago=5 + 35 * j),
        }
        for n, phone in enumerate(phones)
        for j in range(TRIPS_EACH)
    ]
    for start in range(0, len(events), 500):
        body = {"events": events[start : start + 500]}
        raw = json.dumps(body).encode()
        headers = partner_signature(partner["key"], partner["secret"], raw)
        reply = server.call("POST", "/api/v1/partner/events", body, headers)
        assert reply.status == 200, reply.body
        assert reply.body["accepted"] == len(body["events"]), reply.body
    return campaign


def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(server, tmp_path):
    campaign = make_backlog(server)
    waiting = outbox_rows(server)
    assert waiting == RESIDENTS * TRIPS_EACH

    kills = []
    for attempt in range(3):
        worker = start_worker(server, tmp_path / f"worker-{attempt}.log")
        before = outbox_rows(server)
        assert before > BATCH, f"too small a backlog to kill a worker in: {kills}"
        deadline = time.monotonic() + 60
        while outbox_rows(server) == before:  # its first batch has committed
            assert time.monotonic() < deadline and worker.poll() is None
            time.sleep(0.002)
        time.sleep(0.01 * attempt)  # into its next batch
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        at_kill = outbox_rows(server)
        time.sleep(0.3)
        # The killed batch rolled back whole: nothing of it is applied, its rows wait.
        assert outbox_rows(server) == at_kill
        kills.append(at_kill)
    assert kills[-1] > 0, f"the worker finished before it could be killed: {kills}"

    survivor = start_worker(server, tmp_path / "worker-last.log")
    try:
        wait_until_applied(server.env["DATABASE_URL"], timeout_s=120)
    finally:
        survivor.send_signal(signal.SIGTERM)
        assert survivor.wait(timeout=30) == 0

    check = subprocess.run(
        [BIN / "flask", "--app", "wsgi", "stats", "check"],
        env=server.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    with server.engine.connect() as connection:
        assert_ledger_invariants(connection)
        query = connection.execute

        def scalar(sql: str, **params):
            return query(sa.text(sql), params).scalar_one()

        approved = scalar("SELECT COUNT(*) FROM action WHERE status = 'approved'")
        assert approved == RESIDENTS * TRIPS_EACH
        # Every action on the boards exactly once: each resident's all-time total is raw.
        differing = query(
            sa.text(
                "SELECT r.resident_id FROM leaderboard_resident r WHERE r.period_key = 'all' "
                "AND r.co2e_g <> (SELECT SUM(a.co2e_g) FROM action a "
                "WHERE a.resident_id = r.resident_id AND a.status = 'approved')"
            )
        ).all()
        assert differing == []
        assert scalar("SELECT COUNT(*) FROM leaderboard_resident WHERE period_key = 'all'") == (
            RESIDENTS
        )
        # The campaign counted each enrolled resident's rides once, and paid each bonus once.
        counted = scalar(
            "SELECT COUNT(*) FROM campaign_action WHERE campaign_id = :c", c=campaign["id"]
        )
        assert counted == (RESIDENTS // 2) * TRIPS_EACH
        progress = scalar(
            "SELECT SUM(co2e_g) FROM campaign_progress WHERE campaign_id = :c", c=campaign["id"]
        )
        assert progress == scalar(
            "SELECT SUM(co2e_g) FROM campaign_action WHERE campaign_id = :c", c=campaign["id"]
        )
        bonuses = scalar("SELECT COUNT(*) FROM ledger_entry WHERE kind = 'campaign_bonus'")
        assert bonuses == scalar(
            "SELECT COUNT(*) FROM campaign_action WHERE campaign_id = :c AND bonus_points > 0",
            c=campaign["id"],
        )
        assert bonuses > 0
        paying = [badge.key for badge in catalogue() if badge.points > 0]
        awards = query(
            sa.text(
                "SELECT resident_id, badge_key FROM badge_award WHERE badge_key IN :keys"
            ).bindparams(sa.bindparam("keys", expanding=True)),
            {"keys": paying},
        ).all()
        entries = (
            query(sa.text("SELECT ref FROM ledger_entry WHERE kind = 'badge'")).scalars().all()
        )
        assert sorted(entries) == sorted(ledger_ref(r, key) for r, key in awards)
        assert len(awards) >= RESIDENTS  # everyone's first green trip, at least
