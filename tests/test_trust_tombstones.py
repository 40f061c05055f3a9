"""Tombstones (issue 19, attack 2): deleting an account and signing up again with the same
phone or WeChat starts where the deleted account stood, until the limits it used end;
its unused redemption codes are void at once. No phone number is kept in plain text."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.auth.wechat import FakeWechatLogin
from backend.residents.models import KeptLimit, ResidentTombstone
from tests import factories
from tests.factories import (
    console_post,
    console_sign_in,
    create_partner,
    database_rows,
    make_campaign,
    make_reward,
    partner_signature,
    record,
    redeem,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)

VERIFY = "/api/v1/staff/redemptions/verify"


@pytest.fixture
def partner(app, db_session):
    return create_partner(app, "肇庆城际轨道", "trip:rail", "ev_charging")


@pytest.fixture(autouse=True)
def codes_a_minute(app, monkeypatch):
    """Signing in again with the same phone within a minute needs a second code."""
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "5 per minute")


@pytest.fixture
def staff(app, client):
    return staff_headers(app, client, "campaign_admin")


def send(client, partner, events) -> list[dict]:
    raw = json.dumps({"events": events}).encode()
    headers = {
        **partner_signature(partner["key"], partner["secret"], raw),
        "Content-Type": "application/json",
    }
    response = client.post("/api/v1/partner/events", data=raw, headers=headers)
    assert response.status_code == 200, response.json
    return response.json["results"]


def rail(event_id: str, phone: str, ended_minutes_ago: int) -> dict:
    """A verified 30 km rail ride: 2,352 g, more than the day's 2,000-point trip cap."""
    return {
        "event_id": event_id,
        "resident": phone,
        **trip("rail", 30, 20, ended_minutes_ago=ended_minutes_ago),
    }


def charge(event_id: str, phone: str) -> dict:
    """A verified EV charging session: points of another type than trips, to spend."""
    return {
        "event_id": event_id,
        "resident": phone,
        "type": "ev_charging",
        "energy_kwh": 40,
        "station_id": "ZQ-EV-01",
        "session_id": f"session-{event_id}",
    }


def account(client, who) -> dict:
    return client.get("/api/v1/me/account", headers=who.headers).json


def ledger_kinds(client, who) -> list[str]:
    return [e["kind"] for e in client.get("/api/v1/me/ledger", headers=who.headers).json["items"]]


def enrol(client, who, campaign) -> dict:
    response = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=who.headers)
    assert response.status_code == 201, response.json
    return response.json


def delete_account(client, who) -> None:
    response = factories.delete_account(client, who, getattr(who, "delete_code", None))
    assert response.status_code == 204, response.json


def tombstones(db_session) -> list[ResidentTombstone]:
    db_session.expire_all()
    return list(db_session.scalars(select(ResidentTombstone)))


def test_delete_and_sign_up_again_with_the_same_phone_resets_nothing(
    app, client, db_session, partner, staff, clock
):
    limited = make_reward(client, staff, per_resident_limit=1, cost_points=200)
    other = make_reward(client, staff, title="鼎湖山门票", cost_points=300, stock=5)
    campaign = make_campaign(client, staff, join_bonus=100)
    me = sign_in(client)
    assert enrol(client, me, campaign)["join_bonus"] == 100
    [farmed] = send(client, partner, [rail("r1", me.phone, 5)])
    assert (farmed["points"], farmed["capped"]) == (2000, True)
    used = redeem(client, me, limited).json["code"]
    assert client.post(VERIFY, json={"code": used}, headers=staff).status_code == 200
    assert redeem(client, me, limited).json["error"]["code"] == "limit_reached"
    unused = redeem(client, me, other)
    assert unused.status_code == 201
    run_worker(client)  # the first green trip's badge, paid
    assert "badge" in ledger_kinds(client, me)
    assert client.get(f"/api/v1/staff/rewards/{other['id']}", headers=staff).json["stock_left"] == 4

    delete_account(client, me)
    clock.shift(timedelta(minutes=1))
    again = sign_in(client, me.phone)
    assert again.resident["id"] != me.resident["id"]

    # The deleted account's points are gone; today's points still count against the cap.
    mine = account(client, again)
    assert (mine["balance"], mine["points_today"]) == (0, 2000)
    [capped] = send(client, partner, [rail("r2", me.phone, 60)])
    assert (capped["status"], capped["points"], capped["capped"]) == ("accepted", 0, True)
    # Points of another type (its own cap untouched) to spend: the limit, not the balance,
    # refuses the limited reward.
    [charged] = send(client, partner, [charge("c1", me.phone)])
    assert charged["points"] >= limited["cost_points"]
    refused = redeem(client, again, limited)
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "limit_reached"
    assert redeem(client, again, other).status_code == 201  # no limit: redeemable
    # Joined before: taking part again is allowed, the join bonus is not paid again.
    assert enrol(client, again, campaign)["join_bonus"] == 0
    run_worker(client)
    badges = client.get("/api/v1/me/badges", headers=again.headers).json
    assert "first_green_trip" in json.dumps(badges)  # earned again, shown...
    entries = client.get("/api/v1/me/ledger", headers=again.headers).json["items"]
    assert not [e for e in entries if e["kind"] == "campaign_bonus"]
    assert not [e for e in entries if "first_green_trip" in e["ref"]]  # ...not paid
    # The new account sees nothing of the old one.
    assert (
        client.get("/api/v1/me/redemptions", headers=again.headers).json["items"][0]["reward_id"]
        == other["id"]
    )
    assert len(client.get("/api/v1/me/redemptions", headers=again.headers).json["items"]) == 1
    assert len(client.get("/api/v1/actions", headers=again.headers).json["items"]) == 2

    # The deleted account's unused code is void: the till is told so, and the unit came back.
    void = client.post(VERIFY, json={"code": unused.json["code"]}, headers=staff)
    assert void.status_code == 409
    assert void.json["error"]["code"] == "redemption_void"
    assert void.json["error"]["message"] == "该兑换码已作废：兑换它的账号已注销，请勿发放。"
    assert (
        client.get(f"/api/v1/staff/rewards/{other['id']}", headers=staff).json["stock_left"] == 4
    )  # 5, one voided and given back, one redeemed by the new account
    [entry] = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "redemption.void")
    ).all()
    assert entry.target_id == str(unused.json["redemption_id"])
    assert (entry.before["stock_left"], entry.after["stock_left"]) == (4, 5)
    assert entry.ip is None  # a resident's address is not kept
    assert client.post(VERIFY, json={"code": used}, headers=staff).json["error"]["code"] == (
        "redemption_used"
    )
    # The tombstone was used up by the sign-up: what it carried now counts as the new
    # account's own (its export shows it), nothing leads from the phone to the old account.
    assert tombstones(db_session) == []
    kept = client.get("/api/v1/me/export", headers=again.headers).json["kept_limits"]
    assert {(k["kind"], k["subject"], k["used"]) for k in kept} == {
        ("campaign_join", str(campaign["id"]), 1),
        ("reward", str(limited["id"]), 1),
        ("badge", "first_green_trip", 1),
    }


def test_deleting_again_carries_the_limits_on(app, client, partner, staff, clock):
    limited = make_reward(client, staff, per_resident_limit=2, cost_points=100)
    me = sign_in(client)
    send(client, partner, [rail("d1", me.phone, 5)])
    code = redeem(client, me, limited).json["code"]
    assert client.post(VERIFY, json={"code": code}, headers=staff).status_code == 200
    delete_account(client, me)
    second = sign_in(client, me.phone)
    [charged] = send(client, partner, [charge("d2", me.phone)])
    assert (charged["points"], charged["capped"]) == (20000, True)
    code = redeem(client, second, limited).json["code"]
    assert client.post(VERIFY, json={"code": code}, headers=staff).status_code == 200
    delete_account(client, second)
    third = sign_in(client, me.phone)
    # Both days' caps came through two deletions: trips (the first account's) and EV
    # charging (the second's).
    assert account(client, third)["points_today"] == 22000
    [ride, charged] = send(client, partner, [rail("d3", me.phone, 90), charge("d4", me.phone)])
    assert (ride["points"], ride["capped"], charged["points"], charged["capped"]) == (
        0,
        True,
        0,
        True,
    )
    campaign = make_campaign(client, staff, join_bonus=500)
    assert enrol(client, third, campaign)["join_bonus"] == 500  # never joined: paid
    refused = redeem(client, third, limited)
    assert refused.json["error"]["code"] == "limit_reached"  # 1 + 1 of 2


def test_a_console_verification_of_a_void_code_says_why_in_chinese(app, client, partner, staff):
    reward = make_reward(client, staff)
    me = sign_in(client)
    send(client, partner, [rail("v1", me.phone, 5)])
    code = redeem(client, me, reward).json["code"]
    delete_account(client, me)
    console_sign_in(app, client, "campaign_admin")
    page = console_post(
        client, "/admin/redemptions/verify", {"code": code}, "/admin/redemptions/verify"
    )
    assert page.status_code == 409
    text = page.get_data(as_text=True)
    assert "该兑换码已作废：兑换它的账号已注销，请勿发放。" in text
    assert 'id="result-status">已作废（账号已注销）<' in text
    assert "核销失败：请勿发放奖品。" in text


def test_the_tombstone_holds_no_phone_and_expires_with_the_limits_it_protects(
    app, client, db_session, partner, staff, clock
):
    now = datetime.now(UTC)
    reward = make_reward(
        client,
        staff,
        per_resident_limit=1,
        cost_points=100,
        valid_until=(now + timedelta(days=10)).isoformat(),
    )
    me = sign_in(client)
    send(client, partner, [rail("t1", me.phone, 5)])
    code = redeem(client, me, reward).json["code"]
    assert client.post(VERIFY, json={"code": code}, headers=staff).status_code == 200
    delete_account(client, me)

    [tombstone] = tombstones(db_session)
    assert tombstone.resident_id == me.resident["id"]
    # Kept as long as the reward's limit lasts (longer than the caps' 7 days to record).
    assert tombstone.keep_until == datetime.fromisoformat(reward["valid_until"])
    # No phone in plain text anywhere in the database (the tombstone holds its HMAC).
    assert me.phone not in repr(database_rows(db_session))
    assert len(tombstone.identity_hmac) == 64
    # Only counts: no nickname, no code, no time of any action.
    assert {(k.kind, k.subject, k.used) for k in db_session.scalars(select(KeptLimit))} == {
        ("reward", str(reward["id"]), 1)
    }

    # The daily job keeps it until keep_until...
    clock.move_to(tombstone.keep_until - timedelta(hours=1))
    assert "tombstones" in run_worker(client)
    assert len(tombstones(db_session)) == 1
    # ...and deletes it, and what it kept, the day after.
    clock.move_to(tombstone.keep_until + timedelta(days=1))
    said = run_worker(client)
    assert "tombstones: 1 deleted, kept limits: 1 deleted" in said, said
    assert tombstones(db_session) == []
    assert db_session.scalars(select(KeptLimit)).all() == []
    fresh = sign_in(client, me.phone)
    assert client.get("/api/v1/me/export", headers=fresh.headers).json["kept_limits"] == []
    assert account(client, fresh)["points_today"] == 0
    [paid] = send(client, partner, [rail("t2", me.phone, 5)])
    assert (paid["points"], paid["capped"]) == (2000, True)


def test_an_account_with_nothing_to_protect_leaves_no_tombstone(client, db_session):
    me = sign_in(client)
    delete_account(client, me)
    assert tombstones(db_session) == []
    assert account(client, sign_in(client, me.phone))["points_today"] == 0


def test_the_same_holds_for_a_wechat_identity(app, client, db_session, staff, clock):
    limited = make_reward(client, staff, per_resident_limit=1, cost_points=100)
    campaign = make_campaign(client, staff, join_bonus=300)

    def wechat_sign_in():
        response = client.post(
            "/api/v1/auth/wechat",
            json={"code": "wx-tombstone", "privacy_version": factories.privacy_version()},
        )
        assert response.status_code == 200, response.json
        body = response.json
        signed_in = type(
            "WechatSignedIn",
            (),
            {
                "resident": body["resident"],
                "headers": {"Authorization": f"Bearer {body['access_token']}"},
                "delete_code": "wx-tombstone",
            },
        )()
        factories.give_consent(client, signed_in, "location")
        return signed_in

    me = wechat_sign_in()
    assert enrol(client, me, campaign)["join_bonus"] == 300
    ride = record(client, me, trip("rail", 30, 20))
    assert ride.status_code == 201, ride.json
    assert (ride.json["points"], ride.json["capped"]) == (2000, True)
    used = redeem(client, me, limited).json["code"]
    assert client.post(VERIFY, json={"code": used}, headers=staff).status_code == 200
    code = redeem(client, me, make_reward(client, staff, cost_points=100)).json["code"]
    delete_account(client, me)
    assert len(tombstones(db_session)) == 1
    openid = FakeWechatLogin().openid_for("wx-tombstone")
    assert openid not in repr(database_rows(db_session))

    clock.shift(timedelta(minutes=1))
    again = wechat_sign_in()
    assert again.resident["id"] != me.resident["id"]
    assert (account(client, again)["balance"], account(client, again)["points_today"]) == (
        0,
        2000,
    )
    capped = record(client, again, trip("rail", 30, 20, ended_minutes_ago=60))
    assert (capped.json["points"], capped.json["capped"]) == (0, True)
    assert enrol(client, again, campaign)["join_bonus"] == 0
    other = make_campaign(client, staff, title="低碳出行月", join_bonus=300)
    assert enrol(client, again, other)["join_bonus"] == 300  # a campaign it never joined
    assert redeem(client, again, limited).json["error"]["code"] == "limit_reached"
    void = client.post(VERIFY, json={"code": code}, headers=staff)
    assert void.json["error"]["code"] == "redemption_void"
    assert tombstones(db_session) == []


def test_the_privacy_notice_says_what_is_kept_after_deletion(client):
    zh = client.get("/api/v1/legal/privacy")
    assert zh.status_code == 200
    assert zh.json["version"] and zh.json["updated_at"]
    assert "带密钥的哈希" in zh.json["text"] and "365天" in zh.json["text"]
    en = client.get("/api/v1/legal/privacy", headers={"Accept-Language": "en"})
    assert "keyed hash" in en.json["text"] and "365 days" in en.json["text"]
