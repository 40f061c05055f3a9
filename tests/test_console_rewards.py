"""Console reward pages: catalogue and stock, redemptions, and verifying a code once."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from tests.factories import (
    console_post,
    console_sign_in,
    local,
    make_reward,
    record,
    redeem,
    sign_in,
    staff_headers,
    trips_in_a_row,
)

REWARDS = "/admin/rewards"
VERIFY = "/admin/redemptions/verify"


@pytest.fixture
def api(app, client):
    return staff_headers(app, client, "campaign_admin")


@pytest.fixture
def admin(app, client):
    return console_sign_in(app, client, "campaign_admin")


def form(**fields) -> dict:
    now = datetime.now(UTC)
    return {
        "title": "鼎湖山门票",
        "merchant_name": "鼎湖山景区",
        "description": "凭码入园一次",
        "image_url": "",
        "cost_points": "300",
        "stock": "5",
        "per_resident_limit": "1",
        "valid_from": local(now - timedelta(hours=1)),
        "valid_until": local(now + timedelta(days=30)),
        "active": "on",
        **fields,
    }


def audit(db_session, action: str) -> list[AuditEntry]:
    return list(db_session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def shown(client, api, reward_id: int) -> dict:
    return client.get(f"/api/v1/staff/rewards/{reward_id}", headers=api).json


def redeemed(client, reward: dict) -> dict:
    """A resident with two bus trips' points redeems `reward`; returns the redemption."""
    who = sign_in(client)
    for body in trips_in_a_row(2, "bus", ended_minutes_ago=10):
        assert record(client, who, body).status_code == 201
    response = redeem(client, who, reward)
    assert response.status_code == 201, response.json
    return response.json


def test_the_catalogue_is_in_chinese_with_its_stock(client, admin, api):
    reward = make_reward(client, api, stock=3)
    page = client.get(REWARDS).get_data(as_text=True)
    assert ">奖品<" in page and "剩余库存 / 总量" in page and "核销兑换码" in page
    assert f'id="stock-{reward["id"]}">3 / 3' in page


def test_a_reward_created_in_the_form_is_on_offer_through_the_api(client, admin, api, db_session):
    created = console_post(client, f"{REWARDS}/new", form(), f"{REWARDS}/new")
    assert created.status_code == 302
    reward_id = int(created.headers["Location"].rsplit("/", 1)[1])
    reward = shown(client, api, reward_id)
    assert (reward["title"], reward["cost_points"], reward["stock_left"]) == ("鼎湖山门票", 300, 5)
    assert reward["per_resident_limit"] == 1 and reward["active"] is True
    resident = sign_in(client)
    catalogue = client.get("/api/v1/rewards", headers=resident.headers).json["items"]
    assert reward_id in [item["id"] for item in catalogue]
    [entry] = audit(db_session, "reward.create")
    assert entry.before is None and entry.after["stock_left"] == 5


def test_refused_reward_forms_say_why(client, admin):
    now = datetime.now(UTC)
    backwards = form(valid_from=local(now), valid_until=local(now - timedelta(days=1)))
    response = console_post(client, f"{REWARDS}/new", backwards, f"{REWARDS}/new")
    assert response.status_code == 422
    assert "须晚于生效时间。" in response.get_data(as_text=True)
    free = console_post(client, f"{REWARDS}/new", form(cost_points="0"), f"{REWARDS}/new")
    assert free.status_code == 422
    assert 'data-field="cost_points"' in free.get_data(as_text=True)
    insecure = form(image_url="http://example.com/a.png")
    assert console_post(client, f"{REWARDS}/new", insecure, f"{REWARDS}/new").status_code == 422


def test_editing_a_reward_is_audited_and_can_take_it_off_offer(client, admin, api, db_session):
    reward = make_reward(client, api)
    edit = f"{REWARDS}/{reward['id']}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert 'value="公交乘车券 10 元"' in page and 'name="stock"' not in page
    fields = {
        k: v for k, v in form(title="公交乘车券 20 元").items() if k not in ("stock", "active")
    }
    assert console_post(client, edit, fields, edit).status_code == 302
    after = shown(client, api, reward["id"])
    assert after["title"] == "公交乘车券 20 元" and after["active"] is False
    assert after["stock_left"] == 10  # stock is not the edit form's business
    [entry] = audit(db_session, "reward.edit")
    assert (entry.before["active"], entry.after["active"]) == (True, False)


def test_stock_is_added_and_withdrawn_but_never_below_what_was_redeemed(
    client, admin, api, db_session
):
    reward = make_reward(client, api, stock=2)
    page = f"{REWARDS}/{reward['id']}"
    stock = f"{page}/stock"
    assert console_post(client, stock, {"amount": "5", "direction": "add"}, page).status_code == 302
    assert shown(client, api, reward["id"])["stock_left"] == 7
    assert "库存已调整：剩余 7 件。" in client.get(page).get_data(as_text=True)
    withdrawn = console_post(client, stock, {"amount": "3", "direction": "withdraw"}, page)
    assert withdrawn.status_code == 302
    assert shown(client, api, reward["id"])["stock_left"] == 4
    redeemed(client, reward)
    too_many = console_post(client, stock, {"amount": "4", "direction": "withdraw"}, page)
    assert too_many.status_code == 409
    assert "库存不能少于已被兑换的数量。" in too_many.get_data(as_text=True)
    nothing = console_post(client, stock, {"amount": "0", "direction": "add"}, page)
    assert nothing.status_code == 422
    assert 'data-field="amount"' in nothing.get_data(as_text=True)
    entries = audit(db_session, "reward.stock")
    assert [(e.before["stock_left"], e.after["stock_left"]) for e in entries] == [(2, 7), (7, 4)]


def test_a_rewards_redemptions_are_listed_with_unused_codes_masked(client, admin, api):
    reward = make_reward(client, api)
    redemption = redeemed(client, reward)
    page = client.get(f"{REWARDS}/{reward['id']}").get_data(as_text=True)
    row = page.split(f'id="redemption-{redemption["redemption_id"]}"')[1].split("</tr>")[0]
    assert "未使用" in row and redemption["code"] not in row
    assert "••••••••" + redemption["code"][-4:] in row


def test_a_code_is_verified_once_and_the_result_is_plain(client, admin, api, db_session):
    reward = make_reward(client, api)
    redemption = redeemed(client, reward)
    assert "兑换码" in client.get(VERIFY).get_data(as_text=True)
    ok = console_post(client, VERIFY, {"code": redemption["code"].lower()}, VERIFY)
    assert ok.status_code == 200
    page = ok.get_data(as_text=True)
    assert "核销成功：请发放奖品。" in page
    assert 'id="result-reward">公交乘车券 10 元<' in page
    assert 'id="result-status">已使用<' in page
    assert 'id="result-when">—<' not in page
    [entry] = audit(db_session, "redemption.verify")
    assert (entry.before["status"], entry.after["status"]) == ("issued", "used")
    assert entry.target_id == str(redemption["redemption_id"])
    again = console_post(client, VERIFY, {"code": redemption["code"]}, VERIFY)
    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "该兑换码已使用或已取消。" in page and "核销失败：请勿发放奖品。" in page
    assert 'id="result-status">已使用<' in page
    unknown = console_post(client, VERIFY, {"code": "ZZZZZZZZZZZZ"}, VERIFY)
    assert unknown.status_code == 404
    assert "没有与该兑换码对应的兑换记录。" in unknown.get_data(as_text=True)
    short = console_post(client, VERIFY, {"code": "AB"}, VERIFY)
    assert short.status_code == 422 and 'data-field="code"' in short.get_data(as_text=True)
    assert len(audit(db_session, "redemption.verify")) == 1


def test_unknown_rewards_are_a_console_404(client, admin):
    for path in (f"{REWARDS}/999999", f"{REWARDS}/999999/edit"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html"


@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_other_roles_may_not_manage_rewards(app, client, role):
    console_sign_in(app, client, role)
    for path in (REWARDS, f"{REWARDS}/new", VERIFY):
        response = client.get(path)
        assert response.status_code == 403
        assert "您的角色无权打开此页面。" in response.get_data(as_text=True)
    assert console_post(client, VERIFY, {"code": "ABCDEFGHJKMN"}).status_code == 403


def test_reward_forms_without_their_csrf_token_are_refused(client, admin, api):
    reward = make_reward(client, api)
    response = client.post(
        f"{REWARDS}/{reward['id']}/stock", data={"amount": "5", "direction": "add"}
    )
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)
    assert shown(client, api, reward["id"])["stock_left"] == 10
