"""One approval pipeline: the request pays and writes one outbox row; the worker applies
what approvals derive, a batch at a time, each action once."""

from __future__ import annotations

import pytest

from tests.factories import make_resident, record, requeue, run_worker, sign_in, trip


def backlog(client) -> dict:
    body = client.get("/readyz").json
    assert body["status"] == "ok"
    return body["backlog"]["approval_outbox"]


def board_grams(client, who) -> int:
    board = client.get("/api/v1/leaderboards/residents?period=all", headers=who.headers).json
    return board["me"]["co2e_g"]


def test_an_approved_action_is_paid_at_once_and_its_figures_follow_from_the_worker(client):
    me = make_resident(client, district_code="441202")
    assert backlog(client)["rows"] == 0
    action = record(client, me, trip("bus"), key="once").json
    record(client, me, trip("bus"), key="once")  # a replay writes no second row
    assert action["status"] == "approved" and action["bonuses_follow"] is True
    account = client.get("/api/v1/me/account", headers=me.headers).json
    assert account["balance"] == action["points"]
    assert account["co2e_g_total"] == action["co2e_g"]
    waiting = backlog(client)
    assert waiting["rows"] == 1 and waiting["oldest_age_s"] >= 0
    # Not applied yet: the boards count only what the worker applied.
    assert board_grams(client, me) == 0

    run_worker(client)
    assert backlog(client) == {"rows": 0, "oldest_age_s": 0.0}
    assert board_grams(client, me) == action["co2e_g"]


def test_actions_waiting_for_review_write_no_outbox_row_until_approved(app, client):
    from tests.factories import staff_headers

    me = sign_in(client)
    body = {"type": "ev_charging", "energy_kwh": 5, "station_id": "a", "session_id": "b"}
    pending = record(client, me, body).json
    assert pending["status"] == "pending_review" and pending["bonuses_follow"] is False
    assert backlog(client)["rows"] == 0
    reviewer = staff_headers(app, client, "reviewer")
    approved = client.post(f"/api/v1/staff/reviews/{pending['id']}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.json
    assert backlog(client)["rows"] == 1
    run_worker(client)
    assert board_grams(client, me) == approved.json["co2e_g"] > 0


def test_applying_the_same_action_again_counts_nothing_twice(app, client):
    me = make_resident(client, district_code="441203")
    first = record(client, me, trip("bike", 5, 30)).json
    run_worker(client)
    ledger = client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
    badges = client.get("/api/v1/me/badges", headers=me.headers).json
    requeue(client, [first["id"]])
    assert backlog(client)["rows"] == 1
    run_worker(client)
    assert backlog(client)["rows"] == 0
    assert client.get("/api/v1/me/ledger", headers=me.headers).json["items"] == ledger
    assert client.get("/api/v1/me/badges", headers=me.headers).json == badges
    assert board_grams(client, me) == first["co2e_g"]
    check = app.test_cli_runner().invoke(args=["stats", "check"])
    assert check.exit_code == 0, check.output


def test_a_failing_applier_keeps_the_whole_batch_for_the_next_try(app, client, monkeypatch):
    me = make_resident(client, district_code="441202")
    actions = [record(client, me, trip("bus", 6, 25, minutes)).json for minutes in (5, 60)]
    appliers = app.extensions["approval_appliers"]
    original = appliers["statistics"]

    def broken(batch):
        raise RuntimeError("applier failed")

    monkeypatch.setitem(appliers, "statistics", broken)
    result = app.test_cli_runner().invoke(args=["worker", "--drain"])
    assert isinstance(result.exception, RuntimeError)
    # Nothing of the batch is kept: the boards (applied before statistics) are unchanged.
    assert backlog(client)["rows"] == 2
    assert board_grams(client, me) == 0

    monkeypatch.setitem(appliers, "statistics", original)
    run_worker(client)
    assert board_grams(client, me) == sum(a["co2e_g"] for a in actions)
    entries = client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
    assert sorted(e["kind"] for e in entries) == ["badge", "earn", "earn"]


def test_the_worker_applies_oldest_first_in_batches_of_the_configured_size(app, client):
    me = make_resident(client, district_code="441202")
    for minutes in (5, 60, 120):
        record(client, me, trip("walk", 1, 15, minutes))
    runner = app.test_cli_runner()
    out = runner.invoke(args=["worker", "--drain", "--batch-size", "2"])
    assert out.exit_code == 0 and "applied 3" in out.output
    assert backlog(client)["rows"] == 0


def test_appliers_have_a_fixed_order_and_unknown_names_are_refused(app):
    from points.signals import APPLIER_ORDER, register_applier

    assert list(app.extensions["approval_appliers"]) == list(APPLIER_ORDER)
    with pytest.raises(ValueError):
        register_applier(app, "somewhere", lambda batch: None)
