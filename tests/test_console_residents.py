"""Console resident pages: look-up by masked phone, full phone and nickname; the resident's
page; suspend and restore; points adjustments with a mandatory reason; role refusals."""

import pytest

from tests.factories import (
    console_post,
    console_sign_in,
    csrf_token,
    form_tokens,
    make_resident,
    record,
    trip,
)


def _search(client, text: str):
    return console_post(client, "/admin/residents/search", {"q": text}, "/admin/residents")


def _adjust(client, resident_id: int, delta, reason: str):
    page = f"/admin/residents/{resident_id}"
    return console_post(client, f"{page}/adjust", {"delta": delta, "reason": reason}, page)


def _ledger(client, who) -> list[dict]:
    response = client.get("/api/v1/me/ledger", headers=who.headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_search_by_masked_phone_matches_it_exactly(app, client):
    someone = make_resident(client, nickname="绿行者")
    other = make_resident(client)
    console_sign_in(app, client, "campaign_admin")
    masked = someone.resident["phone_masked"]
    redirect = _search(client, masked)
    assert redirect.status_code == 302
    page = client.get(redirect.headers["Location"]).get_data(as_text=True)
    assert f'id="resident-{someone.resident["id"]}"' in page
    assert f'id="resident-{other.resident["id"]}"' not in page
    assert masked in page


def test_search_by_full_phone_goes_to_the_resident_and_never_shows_the_number(app, client):
    someone = make_resident(client, nickname="Alice")
    console_sign_in(app, client, "campaign_admin")
    spaced = f"+86 {someone.phone[:3]} {someone.phone[3:7]} {someone.phone[7:]}"
    found = _search(client, spaced)
    assert found.status_code == 302
    assert found.headers["Location"] == f"/admin/residents/{someone.resident['id']}"
    assert someone.phone not in found.headers["Location"]
    page = client.get(found.headers["Location"]).get_data(as_text=True)
    assert someone.resident["phone_masked"] in page
    assert someone.phone not in page

    unknown = "13700001234"
    missing = _search(client, unknown)
    text = missing.get_data(as_text=True)
    assert missing.status_code == 200
    assert "没有居民使用此手机号" in text
    assert unknown not in text and "137****1234" in text


def test_search_by_nickname_finds_a_substring_ignoring_case(app, client):
    tree = make_resident(client, nickname="Tree Hugger")
    other = make_resident(client, nickname="Cyclist")
    console_sign_in(app, client, "campaign_admin")
    page = client.get(_search(client, "hugg").headers["Location"]).get_data(as_text=True)
    assert f'id="resident-{tree.resident["id"]}"' in page
    assert f'id="resident-{other.resident["id"]}"' not in page
    none = client.get("/admin/residents?q=nobody-by-this-name").get_data(as_text=True)
    assert 'id="no-residents"' in none


def test_the_resident_page_shows_profile_account_actions_and_ledger(app, client):
    someone = make_resident(client, nickname="Bus Rider", district_code="441202")
    assert record(client, someone, trip("bus")).status_code == 201
    balance = client.get("/api/v1/me/account", headers=someone.headers).json["balance"]
    console_sign_in(app, client, "campaign_admin")
    page = client.get(f"/admin/residents/{someone.resident['id']}").get_data(as_text=True)
    assert someone.resident["phone_masked"] in page and "端州区" in page
    assert f'id="resident-balance">{balance}<' in page and balance >= 212
    assert 'id="resident-co2e">212 克<' in page
    assert "出行 · 公交" in page
    assert 'id="resident-actions"' in page and 'id="resident-ledger"' in page
    assert someone.phone not in page


def test_suspend_refuses_the_residents_tokens_and_restore_brings_them_back(app, client):
    someone = make_resident(client)
    assert client.get("/api/v1/me", headers=someone.headers).status_code == 200
    console_sign_in(app, client, "superadmin")
    page = f"/admin/residents/{someone.resident['id']}"
    for missing in ({"confirm": "yes"}, {"reason": "刷分"}, {"reason": " ", "confirm": "yes"}):
        # no reason, or no confirmation: refused, and the resident stays active
        assert console_post(client, f"{page}/suspend", missing, page).status_code == 422
        assert client.get("/api/v1/me", headers=someone.headers).status_code == 200
    suspend = {"reason": "多次提交伪造照片", "confirm": "yes"}
    assert console_post(client, f"{page}/suspend", suspend, form_page=page).status_code == 302
    refused = client.get("/api/v1/me", headers=someone.headers)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "account_suspended"
    assert 'id="resident-restore"' in client.get(page).get_data(as_text=True)

    restore = {"reason": "申诉成立"}
    assert console_post(client, f"{page}/restore", restore, form_page=page).status_code == 302
    assert client.get("/api/v1/me", headers=someone.headers).status_code == 200

    log = client.get("/admin/audit?q=resident.suspend").get_data(as_text=True)
    assert 'data-action="resident.suspend"' in log and '<td class="after">已停用</td>' in log
    assert "多次提交伪造照片" in log
    assert someone.phone not in log


def test_an_adjustment_without_a_reason_is_refused(app, client):
    someone = make_resident(client)
    console_sign_in(app, client, "campaign_admin")
    for reason in ("", "   "):
        response = _adjust(client, someone.resident["id"], 50, reason)
        assert response.status_code == 422
        assert "请填写调整原因" in response.get_data(as_text=True)
    assert _ledger(client, someone) == []


@pytest.mark.parametrize("delta", ["0", "abc", "1000001"])
def test_an_adjustment_needs_a_sensible_number(app, client, delta):
    someone = make_resident(client)
    console_sign_in(app, client, "campaign_admin")
    assert _adjust(client, someone.resident["id"], delta, "typo check").status_code == 422
    assert _ledger(client, someone) == []


def test_an_adjustment_with_a_reason_posts_an_entry_and_is_audited(app, client):
    someone = make_resident(client)
    username = console_sign_in(app, client, "superadmin")
    done = _adjust(client, someone.resident["id"], 50, "公交刷卡数据补录")
    assert done.status_code == 302
    entry = _ledger(client, someone)[0]
    assert (entry["kind"], entry["delta"], entry["balance_after"]) == ("adjustment", 50, 50)
    account = client.get("/api/v1/me/account", headers=someone.headers).json
    assert account["balance"] == 50

    log = client.get(f"/admin/audit?q=adjust_points&staff={username}").get_data(as_text=True)
    assert 'data-action="resident.adjust_points"' in log and "调整居民积分" in log
    assert 'data-key="balance"' in log
    assert '<td class="before">0</td>' in log and '<td class="after">50</td>' in log
    assert "公交刷卡数据补录" in log


def test_a_negative_adjustment_cannot_take_the_balance_below_zero(app, client):
    someone = make_resident(client)
    console_sign_in(app, client, "campaign_admin")
    refused = _adjust(client, someone.resident["id"], -10, "clawback")
    assert refused.status_code == 422
    assert "积分不足" in refused.get_data(as_text=True)
    assert _adjust(client, someone.resident["id"], 20, "grant").status_code == 302
    assert _adjust(client, someone.resident["id"], -5, "clawback").status_code == 302
    assert [e["delta"] for e in _ledger(client, someone)] == [-5, 20]


def test_the_ledger_pages_on_its_own_cursor(app, client):
    someone = make_resident(client)
    console_sign_in(app, client, "campaign_admin")
    page = f"/admin/residents/{someone.resident['id']}"
    token = csrf_token(client, page)
    for n in range(21):
        response = client.post(
            f"{page}/adjust", data={"delta": 1, "reason": f"r{n}", **form_tokens(token)}
        )
        assert response.status_code == 302
    first = client.get(page).get_data(as_text=True)
    assert first.count('class="kind-adjustment"') == 20
    assert 'id="ledger_cursor-next"' in first and 'id="actions_cursor-next"' not in first
    next_url = first.split('id="ledger_cursor-next" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert second.count('class="kind-adjustment"') == 1


@pytest.mark.parametrize("role", ["analyst", "reviewer"])
def test_roles_without_manage_residents_are_refused(app, client, role):
    someone = make_resident(client)
    console_sign_in(app, client, role)
    page = f"/admin/residents/{someone.resident['id']}"
    assert client.get("/admin/residents").status_code == 403
    assert client.get(page).status_code == 403
    assert console_post(client, f"{page}/suspend").status_code == 403
    assert console_post(client, f"{page}/adjust", {"delta": 5, "reason": "x"}).status_code == 403
    assert client.get("/api/v1/me", headers=someone.headers).status_code == 200
    assert 'href="/admin/residents"' not in client.get("/admin/").get_data(as_text=True)


def test_an_unknown_resident_is_a_404_page(app, client):
    console_sign_in(app, client, "campaign_admin")
    response = client.get("/admin/residents/999999")
    assert response.status_code == 404
    assert "<html" in response.get_data(as_text=True)
