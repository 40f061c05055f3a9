"""Rewards: catalogue, redemption, codes, cancellation, stock, and points expiry."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select, update

from points.ledger.models import LedgerAllocation, LedgerEntry
from tests.factories import (
    make_reward,
    record,
    redeem,
    sign_in,
    staff_headers,
    trips_in_a_row,
)


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client, "campaign_admin")


def rich(client, trips: int = 3):
    """A resident with `trips` bus trips' worth of points (212 each)."""
    who = sign_in(client)
    for body in trips_in_a_row(trips, "bus", ended_minutes_ago=10):
        assert record(client, who, body).status_code == 201
    return who


def balance(client, who) -> int:
    return client.get("/api/v1/me/account", headers=who.headers).json["balance"]


def test_catalogue_marks_what_the_resident_can_afford(client, admin):
    cheap = make_reward(client, admin, cost_points=100)
    dear = make_reward(client, admin, title="共享单车月卡", cost_points=10_000)
    make_reward(client, admin, title="未上架", active=False)
    me = rich(client, 1)
    items = {i["id"]: i for i in client.get("/api/v1/rewards", headers=me.headers).json["items"]}
    assert set(items) == {cheap["id"], dear["id"]}
    assert items[cheap["id"]]["affordable"] is True
    assert items[dear["id"]]["affordable"] is False
    assert items[cheap["id"]]["stock_left"] == 10


def test_redeeming_takes_points_and_stock_together_and_issues_a_code(client, admin):
    reward = make_reward(client, admin)
    me = rich(client)
    before = balance(client, me)
    response = redeem(client, me, reward)
    assert response.status_code == 201
    body = response.json
    assert len(body["code"]) == 12 and body["points"] == 200 and body["status"] == "issued"
    assert balance(client, me) == before - 200
    entry = client.get("/api/v1/me/ledger", headers=me.headers).json["items"][0]
    assert (entry["kind"], entry["ref"], entry["delta"]) == (
        "redeem",
        f"redemption:{body['code']}",
        -200,
    )
    staff_view = client.get(f"/api/v1/staff/rewards/{reward['id']}", headers=admin).json
    assert staff_view["stock_left"] == 9 and staff_view["stock_total"] == 10
    mine = client.get("/api/v1/me/redemptions", headers=me.headers).json["items"]
    assert [r["code"] for r in mine] == [body["code"]]


def test_a_spend_is_traced_to_the_oldest_credits(client, admin, db_session):
    reward = make_reward(client, admin, cost_points=300)
    me = rich(client)
    code = redeem(client, me, reward).json["code"]
    debit = db_session.scalar(select(LedgerEntry).where(LedgerEntry.ref == f"redemption:{code}"))
    allocations = db_session.execute(
        select(LedgerAllocation.credit_entry_id, LedgerAllocation.amount)
        .where(LedgerAllocation.debit_entry_id == debit.id)
        .order_by(LedgerAllocation.credit_entry_id)
    ).all()
    credits = db_session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.resident_id == debit.resident_id, LedgerEntry.delta > 0)
        .order_by(LedgerEntry.id)
    ).all()
    # oldest first: the first credit is used up before the next is touched
    assert allocations[0] == (credits[0].id, credits[0].delta)
    assert sum(amount for _, amount in allocations) == 300


def test_out_of_stock_is_409_and_takes_nothing(client, admin):
    reward = make_reward(client, admin, stock=1)
    first, second = rich(client), rich(client)
    assert redeem(client, first, reward).status_code == 201
    before = balance(client, second)
    response = redeem(client, second, reward)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "out_of_stock"
    assert balance(client, second) == before


def test_insufficient_points_is_422(client, admin):
    reward = make_reward(client, admin, cost_points=5000)
    me = rich(client, 1)
    response = redeem(client, me, reward)
    assert response.status_code == 422
    assert response.json["error"]["code"] == "insufficient_points"
    assert (
        client.get(f"/api/v1/staff/rewards/{reward['id']}", headers=admin).json["stock_left"] == 10
    )


def test_per_resident_limit_is_422(client, admin):
    reward = make_reward(client, admin, cost_points=100, per_resident_limit=2)
    me = rich(client)
    assert redeem(client, me, reward).status_code == 201
    assert redeem(client, me, reward).status_code == 201
    third = redeem(client, me, reward)
    assert third.status_code == 422
    assert third.json["error"]["code"] == "limit_reached"


def test_the_same_idempotency_key_redeems_once(client, admin):
    reward = make_reward(client, admin)
    me = rich(client)
    first = redeem(client, me, reward, key="buy-once")
    again = redeem(client, me, reward, key="buy-once")
    assert again.json == first.json
    assert len(client.get("/api/v1/me/redemptions", headers=me.headers).json["items"]) == 1


def test_unknown_inactive_or_expired_rewards_are_404(client, admin):
    me = rich(client)
    past = datetime.now(UTC) - timedelta(days=2)
    expired = make_reward(
        client,
        admin,
        valid_from=(past - timedelta(days=5)).isoformat(),
        valid_until=past.isoformat(),
    )
    inactive = make_reward(client, admin, active=False)
    for reward_id in (expired["id"], inactive["id"], 999_999):
        assert redeem(client, me, {"id": reward_id}).status_code == 404


def test_cancelling_before_use_refunds_points_and_stock_once(client, admin):
    reward = make_reward(client, admin)
    me = rich(client)
    before = balance(client, me)
    redemption = redeem(client, me, reward).json
    cancelled = client.post(
        f"/api/v1/me/redemptions/{redemption['redemption_id']}/cancel", headers=me.headers
    )
    assert cancelled.status_code == 200
    assert cancelled.json["status"] == "cancelled"
    assert balance(client, me) == before
    kinds = [
        e["kind"] for e in client.get("/api/v1/me/ledger", headers=me.headers).json["items"][:2]
    ]
    assert kinds == ["refund", "redeem"]
    assert (
        client.get(f"/api/v1/staff/rewards/{reward['id']}", headers=admin).json["stock_left"] == 10
    )
    again = client.post(
        f"/api/v1/me/redemptions/{redemption['redemption_id']}/cancel", headers=me.headers
    )
    assert again.status_code == 409


def test_a_merchant_verifies_a_code_once_and_it_cannot_be_cancelled_after(client, admin):
    reward = make_reward(client, admin)
    me = rich(client)
    redemption = redeem(client, me, reward).json
    verified = client.post(
        "/api/v1/staff/redemptions/verify", json={"code": redemption["code"].lower()}, headers=admin
    )
    assert verified.status_code == 200
    assert verified.json["status"] == "used"
    twice = client.post(
        "/api/v1/staff/redemptions/verify", json={"code": redemption["code"]}, headers=admin
    )
    assert twice.status_code == 409
    assert twice.json["error"]["code"] == "redemption_used"
    cancel = client.post(
        f"/api/v1/me/redemptions/{redemption['redemption_id']}/cancel", headers=me.headers
    )
    assert cancel.status_code == 409
    unknown = client.post(
        "/api/v1/staff/redemptions/verify", json={"code": "ZZZZZZZZZZZZ"}, headers=admin
    )
    assert unknown.status_code == 404


def test_redemption_qr_encodes_the_code_and_is_private(client, admin):
    reward = make_reward(client, admin)
    me, other = rich(client), sign_in(client)
    redemption = redeem(client, me, reward).json
    url = f"/api/v1/me/redemptions/{redemption['redemption_id']}/qr.png"
    with client.get(url, headers=me.headers) as response:
        image = Image.open(io.BytesIO(response.data))
        image.load()
    assert [c.text for c in zxingcpp.read_barcodes(image)] == [redemption["code"]]
    assert client.get(url, headers=other.headers).status_code == 404
    assert client.get("/api/v1/me/redemptions", headers=other.headers).json["items"] == []


def test_stock_can_be_added_but_not_taken_below_what_was_redeemed(client, admin):
    reward = make_reward(client, admin, stock=2)
    me = rich(client)
    redeem(client, me, reward)
    added = client.post(
        f"/api/v1/staff/rewards/{reward['id']}/stock", json={"delta": 5}, headers=admin
    ).json
    assert (added["stock_left"], added["stock_total"]) == (6, 7)
    too_many = client.post(
        f"/api/v1/staff/rewards/{reward['id']}/stock", json={"delta": -7}, headers=admin
    )
    assert too_many.status_code == 409
    withdrawn = client.post(
        f"/api/v1/staff/rewards/{reward['id']}/stock", json={"delta": -6}, headers=admin
    ).json
    assert (withdrawn["stock_left"], withdrawn["stock_total"]) == (0, 1)
    edit = client.patch(f"/api/v1/staff/rewards/{reward['id']}", json={"stock": 100}, headers=admin)
    assert edit.status_code == 422


def test_only_reward_managers_manage_rewards(app, client):
    analyst = staff_headers(app, client, "analyst")
    assert client.get("/api/v1/staff/rewards", headers=analyst).status_code == 403
    assert (
        client.post(
            "/api/v1/staff/redemptions/verify", json={"code": "ABCD"}, headers=analyst
        ).status_code
        == 403
    )


def test_expiry_is_off_by_default(app, client):
    result = app.test_cli_runner().invoke(args=["points", "expire"])
    assert result.exit_code == 0
    assert "off" in result.output


def test_expiry_takes_the_oldest_unspent_points_once(app, client, admin, db_session, monkeypatch):
    reward = make_reward(client, admin, cost_points=300)
    me = rich(client, 2)  # 424 points from trips, plus a first-green-trip badge
    redeem(client, me, reward)  # spends the oldest credits first
    left_old = balance(client, me)
    # What exists so far was earned 40 days ago.
    db_session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.resident_id == me.resident["id"])
        .values(created_at=datetime.now(UTC) - timedelta(days=40))
    )
    db_session.commit()
    fresh = record(
        client, me, {"type": "garbage_sorting", "category": "other", "weight_kg": 1}
    ).json
    monkeypatch.setitem(app.config, "POINTS_EXPIRY_DAYS", 30)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["points", "expire"])
    assert result.exit_code == 0, result.output
    expired = [
        e
        for e in client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
        if e["kind"] == "expire"
    ]
    assert [e["delta"] for e in expired] == [-left_old]
    assert balance(client, me) == fresh["points"]
    assert runner.invoke(args=["points", "expire"]).exit_code == 0
    again = [
        e
        for e in client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
        if e["kind"] == "expire"
    ]
    assert len(again) == 1
