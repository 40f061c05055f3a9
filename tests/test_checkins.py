"""QR check-in: once per point per day, every refusal, rotation, and the printable poster."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import zxingcpp
from PIL import Image

from tests.factories import make_campaign, make_resident, sign_in, staff_headers
from tests.moments import BOUNDARIES


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client, "campaign_admin")


# 七星岩, Zhaoqing: where the test points stand, and a device fix a few metres away.
POINT_LOCATION = {"latitude": 23.0707, "longitude": 112.4720}
NEAR = {"lat": 23.07075, "lon": 112.47205, "accuracy_m": 15}


def new_point(client, admin, campaign, **fields):
    body = {
        "name": "星湖绿道打卡点",
        "place": "肇庆市端州区星湖",
        "points": 30,
        **POINT_LOCATION,
        **fields,
    }
    response = client.post(
        f"/api/v1/staff/campaigns/{campaign['id']}/checkin-points", json=body, headers=admin
    )
    assert response.status_code == 201, response.json
    return response.json


def check_in(client, who, token, location=NEAR):
    body = {"token": token, "location": location}
    return client.post("/api/v1/checkins", json=body, headers=who.headers)


def test_check_in_pays_once_per_day_and_enrols(client, admin):
    campaign = make_campaign(client, admin, join_bonus=10)
    point = new_point(client, admin, campaign)
    me = sign_in(client)
    first = check_in(client, me, point["token"])
    assert first.status_code == 201
    assert first.json["points"] == 30
    assert first.json["point_name"] == "星湖绿道打卡点"
    again = check_in(client, me, point["token"])
    assert again.status_code == 409
    assert again.json["error"]["code"] == "checkin_already_today"
    ledger = client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
    assert [e["delta"] for e in ledger if e["kind"] == "checkin"] == [30]
    assert client.get(f"/api/v1/campaigns/{campaign['id']}", headers=me.headers).json["enrolled"]
    # another point of the same campaign is another check-in
    other = new_point(client, admin, campaign, name="鼎湖山入口")
    assert check_in(client, me, other["token"]).status_code == 201


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_a_new_check_in_day_begins_at_beijing_midnight(app, client, clock, boundary):
    """At 15:59:59 UTC a check-in is the Beijing day before's; at 16:00:00 UTC, the same
    UTC day, the next one may check in again, once."""
    clock.move_to(boundary.last_second, tick=False)
    admin = staff_headers(app, client, "campaign_admin")
    point = new_point(client, admin, make_campaign(client, admin))
    me = sign_in(client)
    late = check_in(client, me, point["token"])
    assert (late.status_code, late.json["local_day"]) == (201, boundary.day_before.isoformat())
    assert check_in(client, me, point["token"]).status_code == 409

    clock.move_to(boundary.midnight, tick=False)
    early = check_in(client, me, point["token"])
    assert (early.status_code, early.json["local_day"]) == (201, boundary.day.isoformat())
    again = check_in(client, me, point["token"])
    assert (again.status_code, again.json["error"]["code"]) == (409, "checkin_already_today")
    ledger = client.get("/api/v1/me/ledger", headers=me.headers).json["items"]
    assert [e["delta"] for e in ledger if e["kind"] == "checkin"] == [30, 30]


def test_rotation_invalidates_printed_codes(client, admin):
    campaign = make_campaign(client, admin)
    point = new_point(client, admin, campaign)
    rotated = client.post(f"/api/v1/staff/checkin-points/{point['id']}/rotate", headers=admin).json
    assert rotated["token"] != point["token"]
    me = sign_in(client)
    old = check_in(client, me, point["token"])
    assert old.status_code == 422
    assert old.json["error"]["code"] == "checkin_token_rotated"
    assert check_in(client, me, rotated["token"]).status_code == 201


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
        lambda t: "eyJwIjoxLCJuIjoiMDAifQ." + t.split(".")[1],
        lambda t: "not-a-token",
        lambda t: t.split(".")[0],
    ],
)
def test_forged_tokens_are_refused(client, admin, forge):
    campaign = make_campaign(client, admin)
    point = new_point(client, admin, campaign)
    response = check_in(client, sign_in(client), forge(point["token"]))
    assert response.status_code == 422
    assert response.json["error"]["code"] == "checkin_token_invalid"


def test_out_of_window_and_closed_points_are_refused(client, admin):
    now = datetime.now(UTC)
    campaign = make_campaign(client, admin, ends_at=(now + timedelta(days=3)).isoformat())
    later = new_point(client, admin, campaign, starts_at=(now + timedelta(days=1)).isoformat())
    me = sign_in(client)
    not_open = check_in(client, me, later["token"])
    assert not_open.status_code == 422
    assert not_open.json["error"]["code"] == "checkin_not_open"
    running = new_point(client, admin, campaign)
    client.post(f"/api/v1/staff/campaigns/{campaign['id']}/end", headers=admin)
    closed = check_in(client, me, running["token"])
    assert closed.json["error"]["code"] == "checkin_closed"


def test_points_must_open_within_the_campaign(client, admin):
    campaign = make_campaign(client, admin)
    too_late = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    response = client.post(
        f"/api/v1/staff/campaigns/{campaign['id']}/checkin-points",
        json={"name": "x", "place": "y", "ends_at": too_late, **POINT_LOCATION},
        headers=admin,
    )
    assert response.status_code == 422


def test_residents_of_untargeted_districts_are_refused(client, admin):
    campaign = make_campaign(client, admin, district_codes=["441224"])
    point = new_point(client, admin, campaign)
    me = make_resident(client, district_code="441202")
    response = check_in(client, me, point["token"])
    assert response.json["error"]["code"] == "checkin_not_for_district"


def test_poster_is_a_printable_png_whose_qr_is_the_token(client, admin):
    campaign = make_campaign(client, admin, title="全国低碳日 · 绿色出行")
    point = new_point(client, admin, campaign)
    with client.get(
        f"/api/v1/staff/checkin-points/{point['id']}/poster.png", headers=admin
    ) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        image = Image.open(io.BytesIO(response.data))
        image.load()
    assert image.size == (1240, 1754)
    decoded = [code.text for code in zxingcpp.read_barcodes(image)]
    assert decoded == [point["token"]]


def test_share_card_is_a_png_inviting_friends(client):
    me = make_resident(client, nickname="绿行小王")
    with client.get("/api/v1/me/share-card.png", headers=me.headers) as response:
        assert response.status_code == 200
        image = Image.open(io.BytesIO(response.data))
        image.load()
    assert image.size == (1080, 1440)
    decoded = [code.text for code in zxingcpp.read_barcodes(image)]
    assert len(decoded) == 1 and decoded[0].startswith("https://") and "from=" in decoded[0]
    assert decoded[0].split("from=")[1] != str(me.resident["id"])  # an opaque code, not the id
