"""Console audit log: who, what, when (Beijing time), IP and the changed keys, newest first;
searchable by action or target and by staff username; paginated; read-only. One entry per
change, whichever door made it, with the values before and after; none for a refusal."""

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.factories import (
    STAFF_PASSWORD,
    TOTP_SECRETS,
    console_post,
    console_sign_in,
    csrf_token,
    form_tokens,
    fresh_totp_code,
    local,
    make_campaign,
    make_resident,
    make_reward,
    record,
)


def _suspend_and_restore(client, resident_id: int) -> None:
    page = f"/admin/residents/{resident_id}"
    suspend = {"reason": "伪造照片", "confirm": "yes"}
    assert console_post(client, f"{page}/suspend", suspend, form_page=page).status_code == 302
    restore = {"reason": "申诉成立"}
    assert console_post(client, f"{page}/restore", restore, form_page=page).status_code == 302


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="audit-entry-\d+">.*?</tr>\s*</table>', page, flags=re.S)


def test_the_log_shows_who_what_when_ip_and_only_the_changed_keys(app, client):
    someone = make_resident(client, nickname="Audited")
    username = console_sign_in(app, client, "superadmin")
    _suspend_and_restore(client, someone.resident["id"])
    page = client.get(f"/admin/audit?staff={username}").get_data(as_text=True)
    rows = _rows(page)
    assert len(rows) == 2
    restore, suspend = rows  # newest first
    assert 'data-action="resident.restore"' in restore and "恢复居民账号" in restore
    assert 'data-action="resident.suspend"' in suspend and "停用居民账号" in suspend
    assert f"居民 #{someone.resident['id']}" in suspend
    assert username in suspend and "127.0.0.1" in suspend
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", suspend)
    assert 'data-key="status"' in suspend
    assert (
        '<td class="after">已停用</td>' in suspend
        and 'data-key="reason"' in suspend
        and "伪造照片" in suspend
    )
    assert 'data-key="nickname"' not in suspend and 'data-key="phone_masked"' not in suspend
    assert someone.phone not in page


def test_the_log_is_searched_by_action_or_target_and_by_staff_username(app, client):
    someone = make_resident(client)
    first = console_sign_in(app, client, "superadmin")
    _suspend_and_restore(client, someone.resident["id"])
    other_client = app.test_client()
    second = console_sign_in(app, other_client, "superadmin")
    page = f"/admin/residents/{someone.resident['id']}"
    suspend = {"reason": "刷分", "confirm": "yes"}
    assert console_post(other_client, f"{page}/suspend", suspend, page).status_code == 302

    by_first = _rows(client.get(f"/admin/audit?staff={first}").get_data(as_text=True))
    assert len(by_first) == 2 and all(first in row for row in by_first)
    by_second = _rows(client.get(f"/admin/audit?staff={second}").get_data(as_text=True))
    assert len(by_second) == 1 and "resident.suspend" in by_second[0]

    restores = _rows(client.get("/admin/audit?q=resident.restore").get_data(as_text=True))
    assert len(restores) == 1 and first in restores[0]
    by_target = client.get(f"/admin/audit?q={someone.resident['id']}&staff={second}")
    assert len(_rows(by_target.get_data(as_text=True))) == 1
    nothing = client.get("/admin/audit?q=no.such.action").get_data(as_text=True)
    assert 'id="no-audit-entries"' in nothing


def test_the_log_is_paginated_newest_first(app, client):
    someone = make_resident(client)
    username = console_sign_in(app, client, "superadmin")
    page = f"/admin/residents/{someone.resident['id']}"
    token = csrf_token(client, page)
    for n in range(21):
        data = {"delta": 1, "reason": f"reason {n}", **form_tokens(token)}
        assert client.post(f"{page}/adjust", data=data).status_code == 302
    first = client.get(f"/admin/audit?staff={username}").get_data(as_text=True)
    assert len(_rows(first)) == 20 and "reason 20" in first and "reason 0<" not in first
    next_url = re.search(r'id="next-page" href="([^"]+)"', first)[1].replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert len(_rows(second)) == 1 and "reason 0<" in second


def test_the_log_cannot_be_changed_from_the_console(app, client):
    console_sign_in(app, client, "superadmin")
    token = csrf_token(client, "/admin/audit")
    assert client.post("/admin/audit", data={"csrf_token": token}).status_code == 405
    assert client.delete("/admin/audit").status_code == 405
    page = client.get("/admin/audit").get_data(as_text=True)
    # Only the layout's forms (language, sign-out) post; the search form is a GET.
    assert page.count('method="post"') == 2


@pytest.mark.parametrize("role", ["campaign_admin", "reviewer", "analyst"])
def test_only_superadmin_reads_the_audit_log(app, client, role):
    console_sign_in(app, client, role)
    assert client.get("/admin/audit").status_code == 403
    assert 'href="/admin/audit"' not in client.get("/admin/").get_data(as_text=True)


# --- one entry, from the service that makes the change ---------------------------------

_CHANGE = re.compile(
    r'<tr data-key="([^"]+)"><th>[^<]*</th><td class="before"[^>]*>(.*?)</td>'
    r'<td>→</td><td class="after"[^>]*>(.*?)</td></tr>',
    flags=re.S,
)


def _log(client, **query) -> list[dict]:
    """The audit log page's entries, newest first, as a reader sees them."""
    page = client.get("/admin/audit", query_string=query).get_data(as_text=True)
    entries = []
    for row in page.split('<tr id="audit-entry-')[1:]:
        entries.append(
            {
                "who": re.search(r'class="audit-who"[^>]*>([^<]*)<', row)[1],
                "action": re.search(r'class="audit-action" data-action="([^"]*)"', row)[1],
                "target": " #".join(
                    re.search(r'data-target="([^"]*)">[^<#]*?(?: #(\d+))?<', row).groups("")
                ).rstrip(" #"),
                "changes": {
                    key: (html.unescape(before), html.unescape(after))
                    for key, before, after in _CHANGE.findall(row)
                },
                "no_change": "无变更" in row,
            }
        )
    return entries


def _api(client, username: str) -> dict:
    """The staff JSON API, signed in as the console's user: the same person at two doors."""
    body = {"username": username, "password": STAFF_PASSWORD}
    if username in TOTP_SECRETS:  # a superadmin: the second factor too
        body["totp_code"] = fresh_totp_code(username)
    response = client.post("/api/v1/staff/auth/login", json=body)
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _campaign_form(**fields) -> dict:
    starts = datetime.now(UTC) - timedelta(hours=1)
    return {
        "title": "六五环境日",
        "description": "",
        "event_key": "",
        "starts_at": local(starts),
        "ends_at": local(starts + timedelta(days=7)),
        "districts_shown": "1",
        "multipliers_shown": "1",
        "multiplier.trip:bus": "2",
        "multiplier.garbage_sorting": "1.5",
        "join_bonus": "20",
        "checkin_points": "30",
        "goal_kg": "",
        **fields,
    }


def _edit_form(campaign: dict, **fields) -> dict:
    """What a published campaign's edit page sends as shown: its values from the staff API,
    without the start and the districts (disabled inputs send nothing)."""
    multipliers = campaign["rules"]["multipliers"]
    return {
        "title": campaign["title"],
        "description": campaign["description"],
        "event_key": campaign["event_key"] or "",
        "ends_at": local(datetime.fromisoformat(campaign["ends_at"])),
        "multipliers_shown": "1",
        **{f"multiplier.{key}": f"{factor:g}" for key, factor in multipliers.items()},
        "join_bonus": str(campaign["rules"]["join_bonus"]),
        "checkin_points": str(campaign["rules"]["checkin_points"]),
        "goal_kg": "",
        **fields,
    }


def _ev_session(session_id: str) -> dict:
    return {
        "type": "ev_charging",
        "energy_kwh": 20,
        "station_id": "ZQ-01",
        "session_id": session_id,
    }


def _create_in_console(client, **fields) -> int:
    new = "/admin/campaigns/new"
    response = console_post(client, new, _campaign_form(**fields), new)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _by_target(entries: list[dict]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for entry in reversed(entries):  # oldest first
        found.setdefault(entry["target"], []).append(entry["action"])
    return found


def test_a_change_is_logged_once_whichever_door_makes_it(app, client):
    username = console_sign_in(app, client, "superadmin")
    api = _api(client, username)

    in_console = _create_in_console(client)
    page = f"/admin/campaigns/{in_console}"
    assert console_post(client, f"{page}/publish", form_page=page).status_code == 302
    shown = client.get(f"/api/v1/staff/campaigns/{in_console}", headers=api).json
    edit = f"{page}/edit"
    assert console_post(client, edit, _edit_form(shown, join_bonus="25"), edit).status_code == 302
    by_api = make_campaign(client, api, multipliers={"trip:bus": 2}, join_bonus=20)["id"]
    patched = client.patch(
        f"/api/v1/staff/campaigns/{by_api}", json={"join_bonus": 25}, headers=api
    )
    assert patched.status_code == 200, patched.json

    reward = make_reward(client, api)
    stock = f"/admin/rewards/{reward['id']}/stock"
    moved = console_post(
        client, stock, {"amount": "5", "direction": "add"}, f"/admin/rewards/{reward['id']}"
    )
    assert moved.status_code == 302
    added = client.post(
        f"/api/v1/staff/rewards/{reward['id']}/stock", json={"delta": 2}, headers=api
    )
    assert added.status_code == 200, added.json

    resident = make_resident(client)
    pending = [record(client, resident, _ev_session(f"s{n}")).json for n in range(2)]
    assert {action["status"] for action in pending} == {"pending_review"}
    approved = console_post(
        client, f"/admin/review/{pending[0]['id']}/approve", form_page="/admin/review"
    )
    assert approved.status_code == 302
    approved = client.post(f"/api/v1/staff/reviews/{pending[1]['id']}/approve", headers=api)
    assert approved.status_code == 200, approved.json

    mine = _by_target(_log(client, staff=username))
    for campaign_id in (in_console, by_api):
        assert mine[f"campaign #{campaign_id}"] == [
            "campaign.create",
            "campaign.publish",
            "campaign.edit",
        ]
    assert mine[f"reward #{reward['id']}"] == ["reward.create", "reward.stock", "reward.stock"]
    for action in pending:
        assert mine[f"action #{action['id']}"] == ["action.approve"]


def test_a_command_line_change_is_logged_once_as_the_system(app, client):
    runner = app.test_cli_runner()
    created = runner.invoke(args=["partner", "create", "肇庆公交", "--allow", "trip:bus"])
    assert created.exit_code == 0, created.output
    key = created.output.split("key:")[1].split()[0]
    for _ in range(2):  # revoking again changes nothing, and logs nothing
        assert runner.invoke(args=["partner", "revoke", key]).exit_code == 0
    console_sign_in(app, client, "superadmin")
    entries = [e for e in _log(client, q="partner.") if e["who"] == "system"]
    assert [e["action"] for e in entries] == ["partner.revoke", "partner.create"]
    revoke, create = entries
    assert revoke["target"] == create["target"]
    assert revoke["changes"]["active"] == ("是", "否")
    assert "secret_encrypted" not in create["changes"]


@pytest.mark.parametrize("door", ["console", "api"])
def test_a_rules_edit_shows_the_rules_before_and_after(app, client, door):
    username = console_sign_in(app, client, "superadmin")
    api = _api(client, username)
    campaign = make_campaign(client, api, multipliers={"trip:bus": 2}, join_bonus=20)
    if door == "console":
        edit = f"/admin/campaigns/{campaign['id']}/edit"
        body = _edit_form(campaign, **{"multiplier.trip:bus": "3"}, join_bonus="30")
        assert console_post(client, edit, body, edit).status_code == 302
    else:
        changes = {"multipliers": {"trip:bus": 3}, "join_bonus": 30}
        response = client.patch(
            f"/api/v1/staff/campaigns/{campaign['id']}", json=changes, headers=api
        )
        assert response.status_code == 200, response.json

    [edit_entry] = [e for e in _log(client, staff=username) if e["action"] == "campaign.edit"]
    assert not edit_entry["no_change"]
    changes = edit_entry["changes"]
    assert changes["multipliers.trip:bus"] == ("2", "3")
    assert changes["join_bonus"] == ("20", "30")
    assert "rules_effective_from" in changes  # a published campaign's rules: a new version
    assert set(changes) == {"multipliers.trip:bus", "join_bonus", "rules_effective_from"}


def test_a_campaign_is_logged_with_its_rules_when_created(app, client):
    username = console_sign_in(app, client, "superadmin")
    campaign_id = _create_in_console(client)
    [created] = _log(client, staff=username, q="campaign.create")
    assert created["target"] == f"campaign #{campaign_id}"
    changes = created["changes"]
    assert changes["multipliers.trip:bus"] == ("—", "2")
    assert changes["multipliers.garbage_sorting"] == ("—", "1.5")
    assert changes["join_bonus"] == ("—", "20") and changes["checkin_points"] == ("—", "30")
    assert changes["title"] == ("—", "六五环境日") and changes["status"] == ("—", "草稿")


def test_a_refused_change_logs_nothing(app, client):
    username = console_sign_in(app, client, "superadmin")
    api = _api(client, username)
    campaign = make_campaign(client, api, multipliers={"trip:bus": 2}, join_bonus=20)
    before = _log(client, staff=username)
    url = f"/api/v1/staff/campaigns/{campaign['id']}"
    refusals = [
        client.patch(url, json={"multipliers": {"trip:rocket": 3}, "join_bonus": 30}, headers=api),
        client.patch(url, json={"join_bonus": -1}, headers=api),
        client.patch(url, json={"ends_at": campaign["starts_at"]}, headers=api),
    ]
    assert [r.status_code for r in refusals] == [422, 422, 422]
    edit = f"/admin/campaigns/{campaign['id']}/edit"
    body = _edit_form(campaign, **{"multiplier.trip:rocket": "2"}, join_bonus="30")
    assert console_post(client, edit, body, edit).status_code == 422
    new = "/admin/campaigns/new"
    assert console_post(client, new, _campaign_form(title=" "), new).status_code == 422
    reward = make_reward(client, api, stock=1)
    stock = f"/api/v1/staff/rewards/{reward['id']}/stock"
    assert client.post(stock, json={"delta": -2}, headers=api).status_code == 409
    after = _log(client, staff=username)
    assert len(after) == len(before) + 1 and after[0]["action"] == "reward.create"
    shown = client.get(url, headers=api).json
    assert shown["rules"]["join_bonus"] == 20 and len(shown["rules_history"]) == 1
