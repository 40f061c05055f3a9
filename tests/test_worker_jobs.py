"""The worker's periodic jobs: each runs once per slot (a Beijing day, an hour) however
many workers there are, and does its work: points expiry, retention, Idempotency-Key
clean-up."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.factories import record, run_worker, sign_in, trip

BEIJING = ZoneInfo("Asia/Shanghai")


def test_each_job_runs_once_per_slot_whichever_worker_gets_there(client, clock):
    clock.move_to(datetime(2026, 11, 18, 10, 30, tzinfo=BEIJING))
    first = run_worker(client)
    assert "points_expiry 2026-11-18:" in first
    assert "retention 2026-11-18:" in first
    assert "idempotency_cleanup 2026-11-18T10:" in first
    # Another worker in the same hour: every slot is taken.
    again = run_worker(client)
    assert "points_expiry" not in again and "idempotency_cleanup" not in again

    clock.move_to(datetime(2026, 11, 18, 11, 0, 1, tzinfo=BEIJING))
    next_hour = run_worker(client)
    assert "idempotency_cleanup 2026-11-18T11:" in next_hour
    assert "points_expiry" not in next_hour

    # Beijing midnight is 16:00 UTC: the daily jobs' next slot begins there.
    clock.move_to(datetime(2026, 11, 18, 23, 59, 59, tzinfo=BEIJING), tick=False)
    assert "points_expiry" not in run_worker(client)
    clock.move_to(datetime(2026, 11, 19, 0, 0, 0, tzinfo=BEIJING), tick=False)
    midnight = run_worker(client)
    assert "points_expiry 2026-11-19:" in midnight and "retention 2026-11-19:" in midnight


def test_the_daily_expiry_job_expires_points_past_the_window_once(app, client, clock, monkeypatch):
    monkeypatch.setitem(app.config, "POINTS_EXPIRY_DAYS", 30)
    clock.move_to(datetime(2026, 11, 2, 9, 0, tzinfo=BEIJING))
    me = sign_in(client)
    earned = record(client, me, trip("bike", 5, 30)).json["points"]
    run_worker(client)  # the day's jobs, and the first-trip badge
    balance = client.get("/api/v1/me/account", headers=me.headers).json["balance"]
    assert balance > earned > 0

    clock.move_to(datetime(2026, 12, 3, 9, 0, tzinfo=BEIJING))
    out = run_worker(client)
    assert f"points_expiry 2026-12-03: expired {balance} points in 1 entries" in out
    assert "points_expiry" not in run_worker(client)  # once a day
    me = sign_in(client, me.phone)  # the old token has expired too
    assert client.get("/api/v1/me/account", headers=me.headers).json["balance"] == 0
    entries = client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
    assert [e["delta"] for e in entries if e["kind"] == "expire"] == [-balance]


def test_answered_idempotency_keys_are_forgotten_after_their_retention(app, client, clock):
    clock.move_to(datetime(2026, 11, 18, 10, 0, tzinfo=BEIJING))
    me = sign_in(client)
    body = trip("walk", 1, 15)
    first = record(client, me, body, key="kept-for-a-while").json
    clock.shift(timedelta(hours=1))
    assert "idempotency_cleanup 2026-11-18T11: 0 answered" in run_worker(client)
    assert record(client, me, body, key="kept-for-a-while").json == first  # still answered
    other = record(client, me, trip("walk", 1, 15), key="kept-for-a-while")
    assert other.status_code == 422 and other.json["error"]["code"] == "idempotency_key_reused"

    hours = app.config["IDEMPOTENCY_RETENTION_HOURS"]
    clock.shift(timedelta(hours=hours))
    assert "answered Idempotency-Key records deleted" in run_worker(client)
    me = sign_in(client, me.phone)
    fresh = record(client, me, trip("walk", 1, 15), key="kept-for-a-while")
    assert fresh.status_code == 201 and fresh.json["id"] != first["id"]  # the key is free


def test_a_failing_job_is_logged_and_the_outbox_still_applied(app, client, monkeypatch, caplog):
    from dataclasses import replace

    def broken() -> str:
        raise OSError("photo store unreachable")

    jobs = app.extensions["worker_periodic"]
    monkeypatch.setitem(jobs, "retention", replace(jobs["retention"], job=broken))
    me = sign_in(client)
    record(client, me, trip("bus"))
    out = run_worker(client)
    assert "retention 2026-11-18: failed (logged)" in out and "applied 1" in out
    assert "photo store unreachable" in caplog.text
    assert "points_expiry 2026-11-18:" in out  # the other jobs ran
