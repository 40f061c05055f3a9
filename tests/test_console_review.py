"""Console review queue: evidence with its flags, decisions by keyboard, audited, once."""

import re

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from tests.factories import (
    console_post,
    console_sign_in,
    encode,
    make_resident,
    photo_like,
    record,
    staff_headers,
    upload,
    upload_photo,
)

QUEUE = "/admin/review"


def meal(photo_id: str) -> dict:
    return {"type": "clean_plate", "photo_id": photo_id, "venue": "端州区食堂"}


def ev_session(session_id: str, kwh: float = 20) -> dict:
    return {
        "type": "ev_charging",
        "energy_kwh": kwh,
        "station_id": "ZQ-01",
        "session_id": session_id,
    }


@pytest.fixture
def reviewer(app, client):
    return console_sign_in(app, client, "reviewer")


@pytest.fixture
def api(app, client):
    return staff_headers(app, client, "reviewer")


def pending_meal(client, seed: int = 1, **profile):
    resident = make_resident(client, **profile)
    action = record(client, resident, meal(upload_photo(client, resident, seed=seed))).json
    assert action["status"] == "pending_review"
    return resident, action


def status_of(client, resident, action) -> dict:
    return client.get(f"/api/v1/actions/{action['id']}", headers=resident.headers).json


def test_the_queue_shows_evidence_flags_co2e_and_district_but_no_personal_data(client, reviewer):
    alice, first = pending_meal(client, seed=7, district_code="441202", nickname="小明同学")
    bob = make_resident(client, district_code="441203")
    copy = upload(client, bob, encode(photo_like(7).resize((800, 600)), "JPEG", quality=60))
    copied = record(client, bob, meal(copy.json["photo_id"])).json
    page = client.get(QUEUE).get_data(as_text=True)
    assert "审核队列" in page and ">审核<" in page
    assert page.index(f'id="item-{first["id"]}"') < page.index(f'id="item-{copied["id"]}"')
    assert f'src="/admin/review/photos/{copy.json["photo_id"]}.jpg"' in page
    flags = page.split(f'id="flags-{copied["id"]}"')[1].split("</p>")[0]
    assert "疑似重复照片" in flags
    assert f'id="earlier-photo-{copied["id"]}"' in page  # the photo it resembles, beside it
    assert "无标记" in page.split(f'id="flags-{first["id"]}"')[1].split("</p>")[0]
    assert f'id="co2e-{first["id"]}">144 克<' in page
    assert f'id="district-{first["id"]}">端州区<' in page
    assert f'id="district-{copied["id"]}">鼎湖区<' in page
    # The resident's own words are shown under reviewers' labels, in their language.
    assert '<dt>用餐地点</dt><dd translate="no">端州区食堂</dd>' in page and "<dd>1 餐</dd>" in page
    assert alice.phone not in page and bob.phone not in page and "小明同学" not in page


def test_thumbnails_are_for_reviewers_only(app, client, reviewer):
    _resident, action = pending_meal(client)
    url = f"{QUEUE}/photos/{action['photo_id']}.jpg"
    with client.get(url) as response:
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.data[:2] == b"\xff\xd8"
        assert "private" in response.headers["Cache-Control"]
    missing = client.get(f"{QUEUE}/photos/{'0' * 32}.jpg")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    console_sign_in(app, client, "analyst")
    assert client.get(url).status_code == 403


def test_approving_pays_and_is_audited(client, reviewer, db_session):
    resident, action = pending_meal(client)
    response = console_post(client, f"{QUEUE}/{action['id']}/approve", {}, QUEUE)
    assert response.status_code == 302 and response.headers["Location"] == QUEUE
    mine = status_of(client, resident, action)
    assert (mine["status"], mine["points"]) == ("approved", 144)
    page = client.get(QUEUE).get_data(as_text=True)
    assert "已通过：发放 144 积分。" in page and "没有待审核的记录。" in page
    [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "action.approve"))
    assert entry.target_id == str(action["id"]) and entry.staff_username == reviewer
    assert (entry.before["status"], entry.after["status"]) == ("pending_review", "approved")


def test_approval_says_when_the_days_cap_cut_the_points(client, reviewer):
    resident = make_resident(client)
    action = record(client, resident, ev_session("cap", kwh=140)).json
    response = console_post(client, f"{QUEUE}/{action['id']}/approve", {}, QUEUE)
    assert response.status_code == 302
    assert "已达今日积分上限，实际发放 20000 积分" in client.get(QUEUE).get_data(as_text=True)


def test_rejecting_needs_a_reason_which_the_resident_then_sees(client, reviewer, db_session):
    resident, action = pending_meal(client)
    reject = f"{QUEUE}/{action['id']}/reject"
    blank = console_post(client, reject, {"reason": " "}, QUEUE)
    assert blank.status_code == 422
    page = blank.get_data(as_text=True)
    assert "长度须在 2 到 500 之间。" in page
    # The refused item keeps the focus, on its reason field.
    assert re.search(rf'<input id="reason-{action["id"]}"[^>]*autofocus>', page)
    assert status_of(client, resident, action)["status"] == "pending_review"
    assert console_post(client, reject, {"reason": "照片不是餐盘"}, QUEUE).status_code == 302
    mine = status_of(client, resident, action)
    assert (mine["status"], mine["review_reason"]) == ("rejected", "照片不是餐盘")
    [entry] = db_session.scalars(select(AuditEntry).where(AuditEntry.action == "action.reject"))
    assert entry.after["review_reason"] == "照片不是餐盘" and entry.before["status"] == (
        "pending_review"
    )


def test_a_decision_is_taken_once(client, reviewer):
    _resident, action = pending_meal(client)
    assert console_post(client, f"{QUEUE}/{action['id']}/approve", {}, QUEUE).status_code == 302
    again = console_post(client, f"{QUEUE}/{action['id']}/reject", {"reason": "迟了"}, QUEUE)
    assert again.status_code == 409
    assert "该行为已审核。" in again.get_data(as_text=True)
    unknown = console_post(client, f"{QUEUE}/999999/approve", {}, QUEUE)
    assert unknown.status_code == 404 and "审核队列" in unknown.get_data(as_text=True)


def test_the_first_item_has_the_focus_and_the_access_keys(client, reviewer):
    _, first = pending_meal(client, seed=1)
    _, second = pending_meal(client, seed=2)
    page = client.get(QUEUE).get_data(as_text=True)
    assert re.search(
        rf'<button type="submit" id="approve-{first["id"]}" accesskey="a" autofocus>', page
    )
    assert re.search(rf'id="reject-{first["id"]}" accesskey="r">', page)
    assert f'<label for="reason-{first["id"]}">驳回理由（居民可见）</label>' in page
    assert re.search(rf'id="approve-{second["id"]}" >', page)  # no second set of keys
    assert page.count("autofocus") == 1 and page.count('accesskey="a"') == 1
    # Tab order follows the page: approve, then the reason, then reject.
    item = page.split(f'id="item-{first["id"]}"')[1]
    assert item.index("approve-") < item.index("reason-") < item.index("reject-")


def test_the_queue_filters_by_type_pages_oldest_first_and_keeps_its_place(
    client, reviewer, monkeypatch
):
    from admin.console import form_input

    monkeypatch.setattr(form_input, "PAGE_SIZE", 1)
    resident = make_resident(client)
    sessions = [record(client, resident, ev_session(f"s{i}")).json for i in range(2)]
    _, plate = pending_meal(client)
    first = client.get(f"{QUEUE}?type=ev_charging").get_data(as_text=True)
    assert f'id="item-{sessions[0]["id"]}"' in first
    assert f'id="item-{plate["id"]}"' not in first
    next_url = first.split('id="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert f'id="item-{sessions[1]["id"]}"' in second
    cursor = next_url.split("cursor=")[1]
    decided = console_post(
        client, f"{QUEUE}/{sessions[1]['id']}/approve?type=ev_charging&cursor={cursor}", {}, QUEUE
    )
    assert decided.headers["Location"] == f"{QUEUE}?type=ev_charging&cursor={cursor}"
    assert client.get(f"{QUEUE}?type=rocket").status_code == 422


def test_analysts_may_not_review_and_reviewers_see_no_campaigns(app, client, reviewer):
    assert ">活动<" not in client.get(QUEUE).get_data(as_text=True)
    _resident, action = pending_meal(client)
    console_sign_in(app, client, "analyst")
    refused = client.get(QUEUE)
    assert refused.status_code == 403 and "您的角色无权打开此页面。" in refused.get_data(
        as_text=True
    )
    assert console_post(client, f"{QUEUE}/{action['id']}/approve").status_code == 403


def test_a_decision_without_its_csrf_token_is_refused(client, reviewer):
    resident, action = pending_meal(client)
    response = client.post(f"{QUEUE}/{action['id']}/approve")
    assert response.status_code == 400 and "表单已过期" in response.get_data(as_text=True)
    assert status_of(client, resident, action)["status"] == "pending_review"
