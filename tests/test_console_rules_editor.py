"""The campaign form's multipliers, edited as rules: a row per action type and per variant
of the methodology in force, named in Chinese, refused on the row at fault."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from backend.clock import LOCAL_TZ
from points.actions.models import ACTION_TYPES
from points.methodology.service import current_methodology
from tests.factories import console_post, console_sign_in, make_campaign, staff_headers

CAMPAIGNS = "/admin/campaigns"


def local(moment: datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def admin(app, client):
    return console_sign_in(app, client, "campaign_admin")


@pytest.fixture
def api(app, client):
    return staff_headers(app, client, "campaign_admin")


def form(**multipliers) -> dict:
    starts = datetime.now(UTC) + timedelta(days=2)
    return {
        "title": "绿色出行周",
        "starts_at": local(starts),
        "ends_at": local(starts + timedelta(days=7)),
        "districts_shown": "1",
        "multipliers_shown": "1",
        **{f"multiplier.{key}": factor for key, factor in multipliers.items()},
    }


def row(page: str, key: str) -> str:
    return page.split(f'data-key="{key}">', 1)[1].split("</tr>", 1)[0]


def test_every_type_and_variant_in_force_has_a_named_row(app, client, admin):
    page = client.get(f"{CAMPAIGNS}/new").get_data(as_text=True)
    with app.app_context():
        keys = [*ACTION_TYPES]
        keys += [f"{f.action_type}:{f.variant}" for f in current_methodology().factors]
    for key in keys:
        assert f'name="multiplier.{key}"' in page, key
    assert 'name="multiplier_key"' not in page  # no more typed codes
    assert "公交" in row(page, "trip:bus") and "厨余垃圾" in row(page, "garbage_sorting:kitchen")
    assert "出行" in row(page, "trip") and "全部" in row(page, "trip")
    bound = app.config["CAMPAIGN_MAX_MULTIPLIER"]
    assert f'max="{bound}"' in row(page, "trip:bus")
    assert f"倍数须在 1 到 {bound} 之间" in page  # the hint, with the bound in force


def test_a_bad_factor_is_refused_on_its_row_and_nothing_is_saved(app, client, admin, api):
    bound = app.config["CAMPAIGN_MAX_MULTIPLIER"]
    before = client.get("/api/v1/staff/campaigns", headers=api).json
    new = f"{CAMPAIGNS}/new"
    refused = console_post(client, new, form(**{"trip:bus": "2", "trip:walk": str(bound + 1)}), new)
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    walk = row(page, "trip:walk")
    assert f"倍数须在 1 到 {bound} 之间。" in walk and 'aria-invalid="true"' in walk
    assert "field-error" not in row(page, "trip:bus")
    assert 'value="2"' in row(page, "trip:bus")  # the typing is kept
    not_a_number = console_post(client, new, form(**{"garbage_sorting": "两倍"}), new)
    assert not_a_number.status_code == 422
    assert "field-error" in row(not_a_number.get_data(as_text=True), "garbage_sorting")
    assert client.get("/api/v1/staff/campaigns", headers=api).json == before
    # The staff API refuses the same with the same message, keyed by the multiplier.
    by_api = client.post(
        "/api/v1/staff/campaigns",
        json={**make_body(), "multipliers": {"trip:walk": bound + 1}},
        headers={**api, "Accept-Language": "zh-CN"},
    )
    assert by_api.status_code == 422
    assert "倍数须在" in str(by_api.json["error"]["fields"]["multipliers"]["trip:walk"])


def make_body() -> dict:
    starts = datetime.now(UTC) + timedelta(days=2)
    return {
        "title": "接口活动",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(days=7)).isoformat(),
    }


def test_a_saved_table_round_trips_into_the_campaigns_rules(client, admin, api):
    campaign = make_campaign(client, api, multipliers={"trip:bus": 2, "garbage_sorting": 1.5})
    edit = f"{CAMPAIGNS}/{campaign['id']}/edit"
    page = client.get(edit).get_data(as_text=True)
    assert re.search(r'name="multiplier\.trip:bus"[^>]*value="2"', page)
    assert re.search(r'name="multiplier\.garbage_sorting"[^>]*value="1\.5"', page)
    assert re.search(r'name="multiplier\.trip:walk"[^>]*value=""', page)
    body = {
        "title": campaign["title"],
        "starts_at": local(datetime.fromisoformat(campaign["starts_at"])),
        "ends_at": local(datetime.fromisoformat(campaign["ends_at"])),
        "districts_shown": "1",
        "multipliers_shown": "1",
        "multiplier.trip:bus": "3",  # changed
        "multiplier.garbage_sorting": "",  # cleared: no multiplier
        "multiplier.trip:walk": "1.25",  # added
        "multiplier.ev_charging": "",
    }
    saved = console_post(client, edit, body, edit)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    shown = client.get(f"/api/v1/staff/campaigns/{campaign['id']}", headers=api).json
    assert shown["rules"]["multipliers"] == {"trip:bus": 3.0, "trip:walk": 1.25}
    again = client.get(edit).get_data(as_text=True)
    assert re.search(r'name="multiplier\.trip:walk"[^>]*value="1\.25"', again)
