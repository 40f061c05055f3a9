"""Ledger descriptions: every entry says what it is for, in the caller's language (zh by
default, en on request), naming the action, campaign, check-in point, badge, reward or
reason; the OpenAPI document shows the field."""

from __future__ import annotations

from tests.factories import (
    console_post,
    console_sign_in,
    make_campaign,
    make_resident,
    make_reward,
    record,
    redeem,
    run_worker,
    staff_headers,
    trip,
)
from tests.test_checkins import check_in, new_point


def _ledger(client, who, language: str | None = None) -> list[dict]:
    headers = {**who.headers, **({"Accept-Language": language} if language else {})}
    response = client.get("/api/v1/me/ledger?limit=50", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_every_kind_of_entry_is_described_in_chinese_and_english(app, client):
    staff = staff_headers(app, client, "superadmin")
    campaign = make_campaign(
        client, staff, title="绿色出行周", join_bonus=5, multipliers={"trip": 2}
    )
    reward = make_reward(client, staff, title="公交乘车券", cost_points=1)
    point = new_point(client, staff, campaign)
    who = make_resident(client)
    assert (
        client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=who.headers).status_code
        == 201
    )
    assert record(client, who, trip("bike", km=4.2)).status_code == 201
    run_worker(client)  # campaign bonus and first-green-trip badge
    assert check_in(client, who, point["token"]).status_code == 201
    redemption = redeem(client, who, reward).json
    cancel = f"/api/v1/me/redemptions/{redemption['redemption_id']}/cancel"
    assert client.post(cancel, headers=who.headers).status_code == 200
    console_sign_in(app, client, "campaign_admin")
    page = f"/admin/residents/{who.resident['id']}"
    adjusted = console_post(client, f"{page}/adjust", {"delta": 7, "reason": "补发活动积分"}, page)
    assert adjusted.status_code == 302

    zh = {(e["kind"], e["ref"]): e["description"] for e in _ledger(client, who)}
    en = {(e["kind"], e["ref"]): e["description"] for e in _ledger(client, who, "en")}
    kinds = {kind for kind, _ in zh}
    assert {"earn", "campaign_bonus", "checkin", "badge", "redeem", "refund", "adjustment"} <= kinds

    def text(table, kind, contains=""):
        return next(t for (k, ref), t in table.items() if k == kind and contains in ref)

    assert text(zh, "earn") == "绿色出行：骑行 4.2 公里"
    assert text(en, "earn") == "Trip by bike, 4.2 km"
    assert text(zh, "campaign_bonus", "/join/") == "参加活动：绿色出行周"
    assert text(en, "campaign_bonus", "/join/") == "Joined the campaign 绿色出行周"
    assert (
        text(zh, "campaign_bonus", "/action:") == "活动奖励（绿色出行周）：绿色出行：骑行 4.2 公里"
    )
    assert "Trip by bike" in text(en, "campaign_bonus", "/action:")
    assert text(zh, "checkin") == "打卡：星湖绿道打卡点（绿色出行周）"
    assert text(en, "checkin").startswith("Check-in at 星湖绿道打卡点")
    assert text(zh, "badge").startswith("徽章：")
    assert text(en, "badge").startswith("Badge: ")
    assert text(zh, "badge") != text(en, "badge").replace("Badge: ", "徽章：")  # its own name
    assert text(zh, "redeem") == "兑换：公交乘车券"
    assert text(en, "refund") == "Refund: 公交乘车券"
    assert text(zh, "adjustment") == "积分调整：补发活动积分"
    assert text(en, "adjustment") == "Adjustment: 补发活动积分"


def test_expiry_and_take_back_entries_are_described(app, client):
    """Causes with no page of their own here (expiry, a superseded action's take-back):
    described from their refs through the same service."""
    from points.ledger.descriptions import describe
    from points.ledger.models import LedgerEntry

    who = make_resident(client)
    action = record(client, who, trip("walk", km=2.0)).json
    entries = [
        LedgerEntry(id=1, kind="expire", ref=f"expire:2026-12-01/resident:{who.resident['id']}"),
        LedgerEntry(id=2, kind="adjustment", ref=f"superseded/action:{action['id']}"),
        LedgerEntry(id=3, kind="adjustment", ref="superseded/action:999999"),
    ]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        texts = describe(entries)
    assert texts[1] == "Points expired (2026-12-01)"
    assert texts[2] == "Points taken back: Trip on foot, 2.0 km was recorded again, verified"
    assert texts[3] == "Adjustment"  # its cause is gone: the kind
    with app.test_request_context():
        assert describe(entries)[1] == "积分过期（2026-12-01）"


def test_the_openapi_document_shows_the_description(client):
    schema = client.get("/api/openapi.json").json["components"]["schemas"]["LedgerEntry"]
    assert schema["properties"]["description"]["type"] == "string"
