"""Every staff change appears in the audit log with its fields before and after, labelled
in Chinese: campaign rules (each multiplier, the join bonus, check-in points) when created
and edited, reward stock, suspensions and restorations with their required reason (console
and staff API), points adjustments, staff changes, and partner and DRB keys."""

import html
import re
from datetime import UTC, datetime, timedelta

from tests.factories import (
    console_post,
    console_sign_in,
    make_campaign,
    make_resident,
    make_reward,
    staff_headers,
)

_ENTRY = re.compile(r'<tr id="audit-entry-\d+">(.*?)</table>', re.S)
_CHANGE = re.compile(
    r'<tr data-key="([^"]+)"><th>([^<]*)</th><td class="before"[^>]*>(.*?)</td><td>→</td>'
    r'<td class="after"[^>]*>(.*?)</td></tr>',
    re.S,
)


def _entries(client, q: str) -> list[dict]:
    """The log's entries for `q`, newest first: action code and label, and per field key
    (label, before, after) as shown."""
    page = client.get("/admin/audit", query_string={"q": q}).get_data(as_text=True)
    found = []
    for row in _ENTRY.findall(page):
        action = re.search(r'class="audit-action" data-action="([^"]+)">([^<]+)<', row)
        found.append(
            {
                "action": action[1],
                "label": action[2].strip(),
                "changes": {
                    key: tuple(html.unescape(v) for v in (label, before, after))
                    for key, label, before, after in _CHANGE.findall(row)
                },
            }
        )
    return found


def _one(client, q: str, action: str) -> dict:
    [entry] = [e for e in _entries(client, q) if e["action"] == action]
    return entry


def test_campaign_rules_are_logged_per_field_when_created_and_edited(app, client):
    api = staff_headers(app, client, "campaign_admin")
    campaign = make_campaign(
        client, api, multipliers={"trip:bus": 2}, join_bonus=20, checkin_points=5
    )
    edited = client.patch(
        f"/api/v1/staff/campaigns/{campaign['id']}",
        json={
            "multipliers": {"trip:bus": 3, "trip:bike": 1.5},
            "join_bonus": 30,
            "checkin_points": 8,
        },
        headers=api,
    )
    assert edited.status_code == 200, edited.json
    console_sign_in(app, client, "superadmin")
    created = _one(client, "campaign.create", "campaign.create")
    assert created["label"] == "创建活动"
    assert created["changes"]["multipliers.trip:bus"] == ("积分倍数 · 出行 · 公交", "—", "2")
    assert created["changes"]["join_bonus"][1:] == ("—", "20")
    assert created["changes"]["checkin_points"] == ("签到积分", "—", "5")
    edit = _one(client, "campaign.edit", "campaign.edit")
    assert edit["label"] == "编辑活动"
    changes = edit["changes"]
    assert changes["multipliers.trip:bus"][1:] == ("2", "3")
    assert changes["multipliers.trip:bike"][1:] == ("—", "1.5")
    assert changes["join_bonus"] == ("参与奖励积分", "20", "30")
    assert changes["checkin_points"][1:] == ("5", "8")
    # times in Beijing time
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", changes["rules_effective_from"][2])


def test_rules_of_a_published_campaign_not_started_yet_change_in_place(app, client):
    api = staff_headers(app, client, "campaign_admin")
    now = datetime.now(UTC)
    campaign = make_campaign(
        client,
        api,
        multipliers={"trip:bus": 2},
        join_bonus=20,
        starts_at=(now + timedelta(days=2)).isoformat(),
        ends_at=(now + timedelta(days=9)).isoformat(),
    )
    edited = client.patch(
        f"/api/v1/staff/campaigns/{campaign['id']}", json={"join_bonus": 30}, headers=api
    )
    assert edited.status_code == 200, edited.json
    assert [r["join_bonus"] for r in edited.json["rules_history"]] == [30]
    console_sign_in(app, client, "superadmin")
    assert _one(client, "campaign.edit", "campaign.edit")["changes"]["join_bonus"][1:] == (
        "20",
        "30",
    )


def test_reward_stock_and_points_adjustments_show_before_and_after(app, client):
    api = staff_headers(app, client, "campaign_admin")
    reward = make_reward(client, api, stock=10)
    assert (
        client.post(
            f"/api/v1/staff/rewards/{reward['id']}/stock", json={"delta": 5}, headers=api
        ).status_code
        == 200
    )
    someone = make_resident(client)
    console_sign_in(app, client, "superadmin")
    page = f"/admin/residents/{someone.resident['id']}"
    adjust = {"delta": "40", "reason": "公交数据补录"}
    assert console_post(client, f"{page}/adjust", adjust, page).status_code == 302
    stock = _one(client, "reward.stock", "reward.stock")
    assert stock["label"] == "调整奖品库存"
    assert stock["changes"]["stock_left"] == ("剩余库存", "10", "15")
    assert stock["changes"]["stock_total"][1:] == ("10", "15")
    adjusted = _one(client, "adjust_points", "resident.adjust_points")
    assert adjusted["changes"]["balance"] == ("积分余额", "0", "40")
    assert adjusted["changes"]["reason"] == ("原因", "—", "公交数据补录")


def test_suspension_needs_a_reason_at_both_doors_and_logs_it(app, client):
    someone = make_resident(client)
    rid = someone.resident["id"]
    api = staff_headers(app, client, "campaign_admin")
    url = f"/api/v1/staff/residents/{rid}"
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        refused = client.post(f"{url}/suspend", json=body, headers=api)
        assert refused.status_code == 422 and refused.json["error"]["code"] == "reason_required"
    assert client.get("/api/v1/me", headers=someone.headers).status_code == 200
    done = client.post(f"{url}/suspend", json={"reason": "批量刷分"}, headers=api)
    assert done.status_code == 200 and done.json == {"resident_id": rid, "status": "suspended"}
    assert client.get("/api/v1/me", headers=someone.headers).status_code == 403
    assert client.post(f"{url}/restore", json={}, headers=api).status_code == 422
    back = client.post(f"{url}/restore", json={"reason": "核实无误"}, headers=api)
    assert back.status_code == 200 and back.json["status"] == "active"

    console_sign_in(app, client, "superadmin")
    suspend = _one(client, "resident.suspend", "resident.suspend")
    assert suspend["label"] == "停用居民账号"
    assert suspend["changes"]["reason"] == ("原因", "—", "批量刷分")
    assert suspend["changes"]["status"][0] == "状态"
    restore = _one(client, "resident.restore", "resident.restore")
    assert restore["changes"]["reason"][2] == "核实无误"
    # the console asks for the reason and a confirmation on the page
    shown = client.get(f"/admin/residents/{rid}").get_data(as_text=True)
    assert 'id="resident-suspend-reason"' in shown and 'id="resident-suspend-confirm"' in shown


def test_staff_changes_are_logged_without_the_password(app, client):
    console_sign_in(app, client, "superadmin")
    created = console_post(
        client, "/admin/staff", {"username": "clerk-a", "role": "merchant"}, "/admin/staff"
    )
    password = re.search(r'id="shown-password">([^<]+)<', created.text)[1]
    staff_id = re.search(
        r'<tr id="staff-(\d+)" data-username="clerk-a"', client.get("/admin/staff").text
    )[1]
    base = f"/admin/staff/{staff_id}"
    confirm = {"confirm": "yes"}
    assert (
        console_post(
            client, f"{base}/role", {"role": "reviewer", **confirm}, "/admin/staff"
        ).status_code
        == 302
    )
    assert console_post(client, f"{base}/password", confirm, "/admin/staff").status_code == 200
    assert console_post(client, f"{base}/disable", confirm, "/admin/staff").status_code == 302
    page = client.get("/admin/audit?q=staff_user").get_data(as_text=True)
    assert password not in page and "password_hash" not in page and "totp_secret" not in page
    [create] = [
        e for e in _entries(client, "staff_user.create") if e["changes"]["username"][2] == "clerk-a"
    ]
    assert create["changes"]["username"] == ("用户名", "—", "clerk-a")
    assert create["changes"]["role"] == ("角色", "—", "商户核销员")
    role = _one(client, "staff_user.role", "staff_user.role")
    assert role["label"] == "更改员工角色" and role["changes"]["role"][1:] == (
        "商户核销员",
        "审核员",
    )
    reset = _one(client, "staff_user.password_reset", "staff_user.password_reset")
    assert reset["changes"]["password_changed"] == ("密码已更改", "否", "是")
    disable = _one(client, "staff_user.disable", "staff_user.disable")
    assert disable["label"] == "停用员工账号" and disable["changes"]["active"][1:] == ("是", "否")


def test_partner_and_drb_keys_are_logged_when_created_and_revoked(app, client):
    console_sign_in(app, client, "superadmin")
    made = console_post(
        client,
        "/admin/clients/partners",
        {"name": "肇庆公交", "allowed": ["trip:bus"]},
        "/admin/clients",
    )
    assert made.status_code == 200
    listing = client.get("/admin/clients").text
    partner_id = re.search(r'id="partner-revoke-(\d+)"', listing)[1]
    assert (
        console_post(
            client, f"/admin/clients/partners/{partner_id}/revoke", {}, "/admin/clients"
        ).status_code
        == 302
    )
    drb = console_post(client, "/admin/clients/drb-keys", {"drb_name": "发改局"}, "/admin/clients")
    secret = re.search(r'id="drb-key-secret">([^<]+)<', drb.text)[1]
    key_id = re.search(r'id="drb-key-revoke-(\d+)"', client.get("/admin/clients").text)[1]
    assert (
        console_post(
            client, f"/admin/clients/drb-keys/{key_id}/revoke", {}, "/admin/clients"
        ).status_code
        == 302
    )

    assert _one(client, "partner.", "partner.create")["changes"]["name"][1:] == ("—", "肇庆公交")
    revoke = _one(client, "partner.", "partner.revoke")
    assert revoke["label"] == "吊销合作方" and revoke["changes"]["active"][1:] == ("是", "否")
    assert _one(client, "drb_key.", "drb_key.create")["changes"]["name"][1:] == ("—", "发改局")
    drb_revoke = _one(client, "drb_key.", "drb_key.revoke")
    assert drb_revoke["label"] == "吊销发改局密钥"
    assert drb_revoke["changes"]["revoked_at"][1] == "—"
    page = client.get("/admin/audit?q=drb_key").get_data(as_text=True)
    assert secret not in page
