"""Check-in presence (issue 19, attack 5): a token works only near its point, the device's
fix is not kept, an event screen's rotating code expires, and staff set locations."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image

from tests.factories import (
    console_post,
    console_sign_in,
    database_rows,
    make_campaign,
    sign_in,
    staff_headers,
)
from tests.moments import ORDINARY

CHECKINS = "/api/v1/checkins"
# 七星岩, Zhaoqing; one degree of latitude is about 111,195 m.
POINT = {"latitude": 23.0707, "longitude": 112.4720}
METRES_PER_DEGREE = 111_195
# Distinctive digits, to look for in every stored row afterwards.
AT_THE_POINT = {"lat": 23.0708137, "lon": 112.4721593, "accuracy_m": 12.5}
GUANGZHOU = {"lat": 23.1291642, "lon": 113.2644357, "accuracy_m": 9.5}


def north_of_point(metres: float, accuracy_m: float) -> dict:
    return {
        "lat": POINT["latitude"] + metres / METRES_PER_DEGREE,
        "lon": POINT["longitude"],
        "accuracy_m": accuracy_m,
    }


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client, "campaign_admin")


def new_point(client, admin, **fields) -> dict:
    campaign = make_campaign(client, admin)
    body = {"name": "七星岩打卡点", "place": "端州区七星岩", "points": 30, **POINT, **fields}
    response = client.post(
        f"/api/v1/staff/campaigns/{campaign['id']}/checkin-points", json=body, headers=admin
    )
    assert response.status_code == 201, response.json
    return response.json


def check_in(client, who, token, location):
    body = {"token": token} if location is None else {"token": token, "location": location}
    return client.post(CHECKINS, json=body, headers=who.headers)


def test_attack_5_a_token_used_far_away_is_refused_and_the_fix_is_not_stored(
    client, admin, db_session
):
    point = new_point(client, admin)
    assert (point["radius_m"], point["mode"]) == (200, "poster")
    alice, bob = sign_in(client), sign_in(client)
    assert check_in(client, alice, point["token"], AT_THE_POINT).status_code == 201

    # Bob has Alice's token (a photo of the poster) and is at home in Guangzhou.
    remote = check_in(client, bob, point["token"], GUANGZHOU)
    assert remote.status_code == 422
    assert remote.json["error"]["code"] == "checkin_out_of_range"
    assert "location" in remote.json["error"]["fields"]
    assert remote.json["error"]["message"] == "您离这个签到点太远了。"
    ledger = client.get("/api/v1/me/ledger", headers=bob.headers).json["items"]
    assert [e for e in ledger if e["kind"] == "checkin"] == []

    # At the point, the same token works.
    here = check_in(client, bob, point["token"], AT_THE_POINT)
    assert here.status_code == 201
    assert "location" not in here.json and "lat" not in str(here.json)

    # The fixes were used for the check and are nowhere in the database.
    stored = repr(database_rows(db_session))
    for fix in (AT_THE_POINT, GUANGZHOU):
        for value in (fix["lat"], fix["lon"]):
            assert str(value)[-5:] not in stored, value
    floats = [
        cell
        for rows in database_rows(db_session).values()
        for row in rows
        for cell in row
        if isinstance(cell, float)
    ]
    sent = {AT_THE_POINT["lat"], AT_THE_POINT["lon"], GUANGZHOU["lat"], GUANGZHOU["lon"]}
    assert not [cell for cell in floats if any(abs(cell - v) < 1e-9 for v in sent)]


def test_the_fix_accuracy_counts_up_to_its_cap_and_a_vague_fix_is_refused(client, admin):
    point = new_point(client, admin)
    residents = [sign_in(client) for _ in range(4)]
    # 250 m away, accurate to 80 m: it may well be inside the 200 m radius.
    assert check_in(client, residents[0], point["token"], north_of_point(250, 80)).status_code == (
        201
    )
    # 350 m away, "accurate" to 400 m: only 100 m of it is credited.
    far = check_in(client, residents[1], point["token"], north_of_point(350, 400))
    assert far.json["error"]["code"] == "checkin_out_of_range"
    # A fix vaguer than the setting tells nothing: its own code.
    vague = check_in(client, residents[2], point["token"], north_of_point(0, 600))
    assert vague.status_code == 422
    assert vague.json["error"]["code"] == "checkin_location_inaccurate"
    # 190 m away with a perfect fix: inside.
    assert check_in(client, residents[3], point["token"], north_of_point(190, 0)).status_code == (
        201
    )


def test_a_check_in_without_a_location_or_with_a_bad_one_is_422_with_fields(client, admin):
    point = new_point(client, admin)
    me = sign_in(client)
    missing = check_in(client, me, point["token"], None)
    assert missing.status_code == 422
    assert missing.json["error"]["fields"]["location"] == ["缺少必填字段。"]
    bad = check_in(client, me, point["token"], {"lat": 95, "lon": 112.47})
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]["location"]) == {"lat", "accuracy_m"}


def test_points_made_before_locations_refuse_until_staff_set_one(client, admin, db_session):
    from campaigns.models import CheckinPoint

    point = new_point(client, admin)
    me = sign_in(client)  # first: a code is committed as it is sent, apart from the request
    legacy = db_session.get(CheckinPoint, point["id"])
    legacy.latitude = legacy.longitude = legacy.radius_m = None  # as the migration leaves it
    db_session.flush()
    refused = check_in(client, me, point["token"], AT_THE_POINT)
    assert refused.json["error"]["code"] == "checkin_point_unlocated"
    located = client.put(
        f"/api/v1/staff/checkin-points/{point['id']}/location",
        json={**POINT, "radius_m": 150},
        headers=admin,
    )
    assert located.status_code == 200, located.json
    assert located.json["token"] == point["token"]  # printed posters keep working
    assert check_in(client, me, point["token"], AT_THE_POINT).status_code == 201


def test_a_poster_point_needs_a_location_and_a_radius_within_the_settings(client, admin):
    campaign = make_campaign(client, admin)
    url = f"/api/v1/staff/campaigns/{campaign['id']}/checkin-points"
    body = {"name": "x", "place": "y"}
    unlocated = client.post(url, json=body, headers=admin)
    assert unlocated.status_code == 422 and "latitude" in unlocated.json["error"]["fields"]
    half = client.post(url, json={**body, "latitude": 23.07}, headers=admin)
    assert half.json["error"]["fields"] == {"longitude": ["请同时填写纬度和经度。"]}
    wide = client.post(url, json={**body, **POINT, "radius_m": 50_000}, headers=admin)
    assert wide.json["error"]["fields"] == {"radius_m": ["半径须在 20 到 2000 米之间。"]}
    screen = client.post(url, json={**body, "mode": "rotating"}, headers=admin)
    assert screen.status_code == 201 and screen.json["latitude"] is None


def screen_token(client, point_id: int) -> str:
    page = client.get(f"/admin/checkin-points/{point_id}/screen")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<meta http-equiv="refresh"' in html and "<script" not in html
    image_url = f"/admin/checkin-points/{point_id}/screen.png"
    assert image_url in html
    with client.get(image_url) as response:
        assert response.status_code == 200 and response.mimetype == "image/png"
        assert response.headers["Cache-Control"] == "no-store"
        image = Image.open(io.BytesIO(response.data))
        image.load()
    [code] = zxingcpp.read_barcodes(image)
    return code.text


def test_a_rotating_screen_code_works_now_and_not_after_its_window(app, client, clock):
    clock.move_to(ORDINARY + timedelta(seconds=5), tick=False)
    step = app.config["CHECKIN_ROTATING_STEP_SECONDS"]
    api = staff_headers(app, client, "campaign_admin")
    point = new_point(client, api, mode="rotating")
    console_sign_in(app, client, "campaign_admin")
    token = screen_token(client, point["id"])
    assert token != point["token"]

    first, second, third, late = (sign_in(client) for _ in range(4))
    # The printed code of a screen-only point is refused, even at the point.
    printed = check_in(client, first, point["token"], AT_THE_POINT)
    assert printed.json["error"]["code"] == "checkin_token_expired"
    # The screen's code, at the point: yes; far away: no (the point has a location).
    assert check_in(client, first, token, AT_THE_POINT).status_code == 201
    assert check_in(client, second, token, GUANGZHOU).json["error"]["code"] == (
        "checkin_out_of_range"
    )
    # One step later the code on screen has changed; the one just before still works.
    clock.shift(timedelta(seconds=step))
    assert check_in(client, second, token, AT_THE_POINT).status_code == 201
    # Two steps on, a photo of that screen is stale.
    clock.shift(timedelta(seconds=step))
    expired = check_in(client, third, token, AT_THE_POINT)
    assert expired.status_code == 422
    assert expired.json["error"]["code"] == "checkin_token_expired"
    assert check_in(client, late, screen_token(client, point["id"]), AT_THE_POINT).status_code == (
        201
    )


def test_replacing_a_points_code_also_voids_its_screen_codes(app, client, admin):
    point = new_point(client, admin, mode="rotating")
    console_sign_in(app, client, "campaign_admin")
    token = screen_token(client, point["id"])
    client.post(f"/api/v1/staff/checkin-points/{point['id']}/rotate", headers=admin)
    refused = check_in(client, sign_in(client), token, AT_THE_POINT)
    assert refused.json["error"]["code"] == "checkin_token_rotated"


@pytest.mark.parametrize("role", ["reviewer", "analyst"])
def test_the_screen_is_for_campaign_admins_only(app, client, admin, role):
    point = new_point(client, admin, mode="rotating")
    console_sign_in(app, client, role)
    assert client.get(f"/admin/checkin-points/{point['id']}/screen").status_code == 403
    assert client.get(f"/admin/checkin-points/{point['id']}/screen.png").status_code == 403


def test_the_console_sets_a_location_with_messages_beside_the_field_at_fault(
    app, client, admin, db_session
):
    from campaigns.models import CheckinPoint

    point = new_point(client, admin)
    console_sign_in(app, client, "campaign_admin")
    page = f"/admin/checkin-points/{point['id']}"
    shown = client.get(page).get_data(as_text=True)
    assert 'value="23.070700"' in shown and 'value="112.472000"' in shown
    url = f"{page}/location"

    wrong = console_post(client, url, {"latitude": "123", "longitude": "112.47"}, page)
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert 'data-field="latitude">须在 -90 到 90 之间。' in html
    half = console_post(client, url, {"latitude": "23.07", "longitude": ""}, page)
    assert 'data-field="longitude">请同时填写纬度和经度。' in half.get_data(as_text=True)
    wide = console_post(
        client, url, {"latitude": "23.07", "longitude": "112.47", "radius_m": "5"}, page
    )
    assert 'data-field="radius_m">半径须在 20 到 2000 米之间。' in wide.get_data(as_text=True)

    saved = console_post(
        client,
        url,
        {"latitude": "23.1640", "longitude": "112.5430", "radius_m": "300", "mode": "rotating"},
        page,
    )
    assert saved.status_code == 302
    db_session.expire_all()
    stored = db_session.get(CheckinPoint, point["id"])
    assert (stored.latitude, stored.longitude, stored.radius_m, stored.mode) == (
        23.164,
        112.543,
        300,
        "rotating",
    )
    campaign_page = client.get(f"/admin/campaigns/{point['campaign_id']}").get_data(as_text=True)
    assert "23.16400, 112.54300 · 300 米" in campaign_page
    assert f'id="poster-{point["id"]}"' not in campaign_page  # a screen point has no poster
