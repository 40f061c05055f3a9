"""Console campaign pages: forms change what the staff API shows; refusals are explained."""

import copy
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from tests.factories import (
    console_post,
    console_sign_in,
    local,
    make_campaign,
    record,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)

CAMPAIGNS = "/admin/campaigns"


@pytest.fixture
def api(app, client):
    """A campaign admin of the staff JSON API: what the console changed, it shows."""
    return staff_headers(app, client, "campaign_admin")


@pytest.fixture
def admin(app, client):
    return console_sign_in(app, client, "campaign_admin")


def form(**fields) -> dict:
    starts = datetime.now(UTC) + timedelta(days=2)
    return {
        "title": "世界环境日 绿色出行",
        "description": "乘公交，积分翻倍",
        "event_key": "environment_day",
        "starts_at": local(starts),
        "ends_at": local(starts + timedelta(days=7)),
        "districts_shown": "1",
        "district_codes": ["441202", "441203"],
        "multipliers_shown": "1",
        "multiplier.trip:bus": "2",
        "multiplier.garbage_sorting": "1.5",
        "multiplier.trip:walk": "",
        "join_bonus": "20",
        "checkin_points": "30",
        "goal_kg": "1500.5",
        **fields,
    }


def create(client, **fields):
    return console_post(client, f"{CAMPAIGNS}/new", form(**fields), f"{CAMPAIGNS}/new")


def created_id(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rsplit("/", 1)[1])


def audit(db_session, action: str) -> list[AuditEntry]:
    return list(db_session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_the_campaign_pages_are_in_chinese(client, admin):
    listing = client.get(CAMPAIGNS).get_data(as_text=True)
    assert "新建活动" in listing and ">活动<" in listing
    new = client.get(f"{CAMPAIGNS}/new").get_data(as_text=True)
    for text in ("标题", "开始时间（北京时间）", "端州区", "积分倍数", "减排目标（千克 CO2e）"):
        assert text in new
    assert 'id="campaign-title"' in new and 'type="datetime-local"' in new


def test_a_campaign_created_in_the_form_is_what_the_api_shows(client, admin, api, db_session):
    fields = form()
    campaign_id = created_id(create(client))
    shown = client.get(f"/api/v1/staff/campaigns/{campaign_id}", headers=api).json
    assert shown["status"] == "draft" and shown["title"] == "世界环境日 绿色出行"
    assert shown["event_key"] == "environment_day"
    assert shown["district_codes"] == ["441202", "441203"]
    assert shown["rules"]["multipliers"] == {"trip:bus": 2.0, "garbage_sorting": 1.5}
    assert (shown["rules"]["join_bonus"], shown["rules"]["checkin_points"]) == (20, 30)
    assert shown["goal_co2e_g"] == 1_500_500  # kg typed, grams stored
    # Typed in Beijing time: the API's UTC instant is eight hours earlier on the clock.
    starts = datetime.fromisoformat(shown["starts_at"])
    assert local(starts) == fields["starts_at"]
    [entry] = audit(db_session, "campaign.create")
    assert entry.target_id == str(campaign_id) and entry.before is None
    assert entry.after["title"] == "世界环境日 绿色出行" and entry.staff_username == admin
    page = client.get(f"{CAMPAIGNS}/{campaign_id}").get_data(as_text=True)
    assert "活动已创建为草稿。" in page and 'id="publish"' in page


def test_refused_forms_say_what_is_wrong_beside_the_field(client, admin):
    now = datetime.now(UTC)
    backwards = create(client, ends_at=local(now), starts_at=local(now + timedelta(days=1)))
    assert backwards.status_code == 422
    page = backwards.get_data(as_text=True)
    assert "须晚于开始时间。" in page and "世界环境日 绿色出行" in page  # the typing is kept
    unknown = create(client, **{"multiplier.trip:rocket": "2"})
    assert unknown.status_code == 422
    assert "不是有效的行为类型或“类型:子类”。" in unknown.get_data(as_text=True)
    for goal in ("abc", "-3", "NaN"):
        bad_goal = create(client, goal_kg=goal)
        assert bad_goal.status_code == 422, goal
        assert 'data-field="goal_kg"' in bad_goal.get_data(as_text=True)
    untitled = create(client, title="  ")
    assert untitled.status_code == 422
    assert "长度须在 1 到 80 之间。" in untitled.get_data(as_text=True)


def test_editing_a_published_campaign_changes_only_what_was_changed(client, admin, api):
    campaign = make_campaign(client, api, multipliers={"trip": 2}, join_bonus=5)
    edit_url = f"{CAMPAIGNS}/{campaign['id']}/edit"
    page = client.get(edit_url).get_data(as_text=True)
    assert re.search(r'<input id="campaign-starts-at"[^>]* disabled>', page)
    assert re.search(r'<fieldset id="campaign-districts" disabled>', page)
    # The browser sends no disabled input: start and districts are left alone.
    body = {
        "title": "全国节能宣传周（延长）",
        "description": "",
        "event_key": "energy_saving_week",
        "ends_at": local(datetime.fromisoformat(campaign["ends_at"]) + timedelta(days=3)),
        "multipliers_shown": "1",
        "multiplier.trip": "2",
        "join_bonus": "5",
        "checkin_points": "0",
        "goal_kg": "",
    }
    assert console_post(client, edit_url, body, edit_url).status_code == 302
    after = client.get(f"/api/v1/staff/campaigns/{campaign['id']}", headers=api).json
    assert after["title"] == "全国节能宣传周（延长）"
    assert len(after["rules_history"]) == 1  # unchanged rules are not a new version
    changed_rules = console_post(client, edit_url, {**body, "join_bonus": "8"}, edit_url)
    assert changed_rules.status_code == 302
    after = client.get(f"/api/v1/staff/campaigns/{campaign['id']}", headers=api).json
    assert len(after["rules_history"]) == 2 and after["rules"]["join_bonus"] == 8
    # A forged start for a published campaign is refused with the service's reason.
    moved = console_post(
        client, edit_url, {**body, "starts_at": local(datetime.now(UTC))}, edit_url
    )
    assert moved.status_code == 409
    assert "已发布活动的开始时间和区县范围不能修改。" in moved.get_data(as_text=True)


def test_publish_and_end_are_audited_with_before_and_after(client, admin, api, db_session):
    campaign_id = created_id(create(client))
    page = f"{CAMPAIGNS}/{campaign_id}"
    assert "data-confirm" in client.get(page).get_data(as_text=True)
    assert console_post(client, f"{page}/publish", {}, page).status_code == 302
    assert client.get(f"/api/v1/staff/campaigns/{campaign_id}", headers=api).json["status"] == (
        "published"
    )
    again = console_post(client, f"{page}/publish", {}, page)
    assert again.status_code == 409
    assert "只有草稿可以发布。" in again.get_data(as_text=True)
    assert console_post(client, f"{page}/end", {}, page).status_code == 302
    ended = client.get(f"/api/v1/staff/campaigns/{campaign_id}", headers=api).json
    assert ended["status"] == "ended"
    [published] = audit(db_session, "campaign.publish")
    assert (published.before["status"], published.after["status"]) == ("draft", "published")
    [end] = audit(db_session, "campaign.end")
    assert (end.before["status"], end.after["status"]) == ("published", "ended")
    assert 'id="edit-campaign"' not in client.get(page).get_data(as_text=True)


def test_a_campaign_in_the_past_cannot_be_published(client, admin):
    past = datetime.now(UTC) - timedelta(days=10)
    campaign_id = created_id(
        create(client, starts_at=local(past), ends_at=local(past + timedelta(days=1)))
    )
    page = f"{CAMPAIGNS}/{campaign_id}"
    refused = console_post(client, f"{page}/publish", {}, page)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "部分字段无效。" in text and "活动结束时间已过。" in text  # a button has no field


def test_the_campaign_page_shows_live_progress_against_the_goal(client, admin, api):
    campaign = make_campaign(client, api, goal_co2e_g=1000)
    me = sign_in(client)
    enrolled = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=me.headers)
    assert enrolled.status_code == 201
    action = record(client, me, trip("bus")).json
    run_worker(client)
    progress = client.get(f"{CAMPAIGNS}/{campaign['id']}/progress").get_data(as_text=True)
    assert 'id="campaign-participants">1<' in progress
    grams = action["co2e_g"]
    assert f'<progress id="campaign-progress" max="1000" value="{min(grams, 1000)}"' in progress
    assert "目标完成度：" in progress
    listing = client.get(f"{CAMPAIGNS}?status=published").get_data(as_text=True)
    assert f'id="campaign-{campaign["id"]}"' in listing


def test_the_list_filters_by_status_and_pages(client, admin, api, monkeypatch):
    from admin.console import form_input

    monkeypatch.setattr(form_input, "PAGE_SIZE", 2)
    ids = [make_campaign(client, api, publish=False)["id"] for _ in range(3)]
    published = make_campaign(client, api)["id"]
    first = client.get(f"{CAMPAIGNS}?status=draft").get_data(as_text=True)
    assert f'id="campaign-{ids[2]}"' in first and f'id="campaign-{ids[1]}"' in first
    assert f'id="campaign-{published}"' not in first
    next_url = first.split('id="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "status=draft" in next_url
    second = client.get(next_url).get_data(as_text=True)
    assert f'id="campaign-{ids[0]}"' in second and 'id="next-page"' not in second
    assert client.get(f"{CAMPAIGNS}?status=bogus").status_code == 422
    assert client.get(f"{CAMPAIGNS}?cursor=%%%").status_code == 422


def test_check_in_points_posters_and_rotation(client, admin, api, db_session):
    campaign = make_campaign(client, api, checkin_points=15)
    page = f"{CAMPAIGNS}/{campaign['id']}"
    created = console_post(
        client,
        f"{page}/checkin-points",
        {
            "name": "星湖签到点",
            "place": "七星岩东门",
            "latitude": "23.0707",
            "longitude": "112.472",
        },
        page,
    )
    assert created.status_code == 302
    points_url = f"/api/v1/staff/campaigns/{campaign['id']}/checkin-points"
    [point] = client.get(points_url, headers=api).json["items"]
    assert (point["name"], point["points"]) == ("星湖签到点", 15)
    poster = client.get(f"/admin/checkin-points/{point['id']}/poster.png")
    assert poster.status_code == 200 and poster.mimetype == "image/png"
    assert poster.headers["Content-Disposition"].startswith("attachment;")
    assert poster.data.startswith(b"\x89PNG")
    rotated = console_post(client, f"/admin/checkin-points/{point['id']}/rotate", {}, page)
    assert rotated.status_code == 302
    [after] = client.get(points_url, headers=api).json["items"]
    assert after["token"] != point["token"] and after["rotated_at"]
    assert len(audit(db_session, "checkin_point.create")) == 1
    [rotation] = audit(db_session, "checkin_point.rotate")
    assert rotation.before["rotated_at"] is None and rotation.after["rotated_at"]
    assert "token_nonce" not in rotation.after  # the secret part of the code stays out
    late = datetime.fromisoformat(campaign["ends_at"]) + timedelta(days=1)
    outside = console_post(
        client,
        f"{page}/checkin-points",
        {
            "name": "晚场",
            "place": "牌坊广场",
            "ends_at": local(late),
            "latitude": "23.064",
            "longitude": "112.472",
        },
        page,
    )
    assert outside.status_code == 422
    assert "签到点的开放时间须在活动时间之内。" in outside.get_data(as_text=True)


def test_unknown_campaigns_and_points_are_a_console_404(client, admin):
    for path in (
        f"{CAMPAIGNS}/999999",
        f"{CAMPAIGNS}/999999/edit",
        "/admin/checkin-points/9/poster.png",
    ):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "text/html", path
    published = console_post(client, f"{CAMPAIGNS}/999999/publish", {}, CAMPAIGNS)
    assert published.status_code == 404 and published.mimetype == "text/html"


@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_other_roles_may_not_open_campaign_pages(app, client, role):
    console_sign_in(app, client, role)
    for path in (CAMPAIGNS, f"{CAMPAIGNS}/new", f"{CAMPAIGNS}/1"):
        response = client.get(path)
        assert response.status_code == 403
        assert "您的角色无权打开此页面。" in response.get_data(as_text=True)
    assert console_post(client, f"{CAMPAIGNS}/new", form()).status_code == 403
    assert ">活动<" not in client.get("/admin/").get_data(as_text=True)


def test_a_form_without_its_csrf_token_changes_nothing(client, admin, api):
    campaign = make_campaign(client, api, publish=False)
    response = client.post(f"{CAMPAIGNS}/{campaign['id']}/publish")
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    assert client.post(f"{CAMPAIGNS}/new", data=form()).status_code == 400
    shown = client.get(f"/api/v1/staff/campaigns/{campaign['id']}", headers=api).json
    assert shown["status"] == "draft"


def test_a_multiplier_may_name_a_variant_staff_published(app, client, admin, api):
    from points.methodology.service import read_packaged_file

    superadmin = app.test_client()
    console_sign_in(app, superadmin, "superadmin")
    methodology = copy.deepcopy(read_packaged_file())
    methodology["methodology_version"] = "2099.7"
    methodology["factors"].append(
        {
            "action_type": "trip",
            "variant": "tram",
            "unit": "km",
            "avoided_g_per_unit": 80,
            "source": "肇庆有轨电车试运营数据",
        }
    )
    page = "/admin/methodology"
    published = console_post(
        superadmin, f"{page}/publish", {"content": json.dumps(methodology)}, page
    )
    assert published.status_code == 302, published.get_data(as_text=True)

    assert 'name="multiplier.trip:tram"' in client.get(f"{CAMPAIGNS}/new").get_data(as_text=True)
    in_console = created_id(
        create(
            client,
            **{
                "multiplier.trip:bus": "",
                "multiplier.garbage_sorting": "",
                "multiplier.trip:tram": "2",
            },
        )
    )
    shown = client.get(f"/api/v1/staff/campaigns/{in_console}", headers=api).json
    assert shown["rules"]["multipliers"] == {"trip:tram": 2.0}
    by_api = make_campaign(client, api, multipliers={"trip:tram": 3})
    assert by_api["rules"]["multipliers"] == {"trip:tram": 3.0}

    unknown = client.patch(
        f"/api/v1/staff/campaigns/{by_api['id']}",
        json={"multipliers": {"trip:rocket": 2}},
        headers=api,
    )
    assert unknown.status_code == 422
    assert list(unknown.json["error"]["fields"]["multipliers"]) == ["trip:rocket"]
    refused = create(client, **{"multiplier.trip:rocket": "2"})
    assert refused.status_code == 422
    assert 'data-field="multipliers"' in refused.get_data(as_text=True)
