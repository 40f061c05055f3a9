"""The caller's own views: the community board, their campaigns, check-ins and photos."""

import io

import pytest
from PIL import Image

from tests.factories import (
    make_campaign,
    make_resident,
    record,
    record_verified,
    run_worker,
    sign_in,
    staff_headers,
    upload_photo,
)
from tests.test_checkins import NEAR, check_in, new_point

GRAMS_PER_KG = 100  # garbage sorting, from points/methodology/factors.json
ROUTES = (
    "/api/v1/leaderboards/communities",
    "/api/v1/me/campaigns",
    "/api/v1/me/checkins",
    "/api/v1/photos/0123456789abcdef0123456789abcdef",
)


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client, "campaign_admin")


def earn(client, who, grams: int) -> dict:
    """Verified grams (a partner's event): what boards and campaigns count."""
    body = {"type": "garbage_sorting", "category": "recyclable", "weight_kg": grams / GRAMS_PER_KG}
    response = record_verified(client, None, who, body)
    assert response.status_code == 201, response.json
    return response.json


def communities(client, who, **params):
    run_worker(client)
    return client.get("/api/v1/leaderboards/communities", query_string=params, headers=who.headers)


@pytest.mark.parametrize("path", ROUTES)
def test_each_needs_a_resident_token(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert response.json["error"]["code"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/leaderboards/communities", {"period": "year"}, "period"),
        ("/api/v1/leaderboards/communities", {"limit": 0}, "limit"),
        ("/api/v1/leaderboards/communities", {"district_code": "999999"}, "district_code"),
        ("/api/v1/me/campaigns", {"limit": 101}, "limit"),
        ("/api/v1/me/campaigns", {"cursor": "!!"}, "cursor"),
        ("/api/v1/me/checkins", {"limit": "many"}, "limit"),
        ("/api/v1/me/checkins", {"cursor": "LTE"}, "cursor"),  # -1
    ],
)
def test_bad_queries_are_422_with_the_field(client, path, params, field):
    me = sign_in(client)
    response = client.get(path, query_string=params, headers=me.headers)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


# The community board


def test_communities_rank_by_co2e_with_ties_and_my_place(client):
    east = [make_resident(client, district_code="441202", community="城东社区") for _ in range(2)]
    west = make_resident(client, district_code="441202", community="城西社区")
    other = make_resident(client, district_code="441203", community="城东社区")  # same name
    loner = make_resident(client, district_code="441202")  # no community: on no row
    earn(client, east[0], 300)
    earn(client, east[1], 200)
    earn(client, west, 500)
    earn(client, other, 100)
    earn(client, loner, 900)

    body = communities(client, east[0], period="week").json
    assert [
        (
            i["rank"],
            i["district_code"],
            i["community"],
            i["co2e_g"],
            i["participants"],
            i["is_mine"],
        )
        for i in body["items"]
    ] == [
        (1, "441202", "城东社区", 500, 2, True),
        (1, "441202", "城西社区", 500, 1, False),
        (3, "441203", "城东社区", 100, 1, False),
    ]
    assert body["period"].startswith("w")
    assert body["me"] == {
        "district_code": "441202",
        "community": "城东社区",
        "rank": 1,
        "co2e_g": 500,
        "participants": 2,
    }
    # other's community shares the name, not the place
    assert communities(client, other).json["me"]["rank"] == 3
    # in a district: only its communities; a caller of another district has no rank there
    in_district = communities(client, other, district_code="441202").json
    assert {i["community"] for i in in_district["items"]} == {"城东社区", "城西社区"}
    assert in_district["me"]["rank"] is None
    assert communities(client, loner).json["me"] is None
    # limit and rank beyond it
    limited = communities(client, other, limit=1).json
    assert len(limited["items"]) == 1 and limited["me"]["rank"] == 3


def test_a_resident_who_changes_community_takes_the_period_total_along(client):
    me = make_resident(client, district_code="441202", community="城东社区")
    earn(client, me, 300)
    communities(client, me)
    client.patch("/api/v1/me", json={"community": "城西社区"}, headers=me.headers)
    earn(client, me, 100)
    items = communities(client, me, period="all").json["items"]
    assert [(i["community"], i["co2e_g"], i["participants"]) for i in items] == [
        ("城西社区", 400, 1)
    ]


def test_self_declared_actions_count_for_no_community(client):
    me = make_resident(client, district_code="441202", community="城东社区")
    body = {"type": "garbage_sorting", "category": "recyclable", "weight_kg": 3}
    assert record(client, me, body).status_code == 201
    board = communities(client, me).json
    assert board["items"] == []
    assert board["me"]["rank"] is None and board["me"]["co2e_g"] == 0


# My campaigns and check-ins


def test_my_campaigns_show_only_mine_with_progress_and_bonuses(client, admin):
    campaign = make_campaign(
        client, admin, join_bonus=10, multipliers={"garbage_sorting": 2}, goal_co2e_g=10_000
    )
    make_campaign(client, admin, title="不参加")  # not joined: not listed
    me = make_resident(client, district_code="441202")
    stranger = make_resident(client, district_code="441202")
    for who in (me, stranger):
        enrol = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=who.headers)
        assert enrol.status_code == 201
    action = earn(client, me, 300)
    earn(client, stranger, 200)
    point = new_point(client, admin, campaign)
    assert check_in(client, me, point["token"], NEAR).status_code == 201
    run_worker(client)

    body = client.get("/api/v1/me/campaigns", headers=me.headers).json
    assert body["next_cursor"] is None
    [mine] = body["items"]
    assert mine["id"] == campaign["id"] and mine["enrolled"] is True
    assert mine["progress_co2e_g"] == 500 and mine["participants"] == 2
    assert mine["mine"] == {
        "co2e_g": 300,
        "actions": 1,
        "join_bonus": 10,
        "action_bonus": action["points"],  # x2: the bonus equals the base points
        "bonus_points": 10 + action["points"],
        "checkin_points": 30,
    }
    assert mine["enrolled_at"].endswith("+08:00")
    # none of it is the stranger's
    lonely = make_resident(client)
    assert client.get("/api/v1/me/campaigns", headers=lonely.headers).json["items"] == []


def test_my_campaigns_are_paginated(client, admin):
    me = make_resident(client)
    ids = []
    for n in range(3):
        campaign = make_campaign(client, admin, title=f"活动{n}")
        client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=me.headers)
        ids.append(campaign["id"])
    first = client.get("/api/v1/me/campaigns?limit=2", headers=me.headers).json
    assert [c["id"] for c in first["items"]] == ids[::-1][:2]
    rest = client.get(
        "/api/v1/me/campaigns", query_string={"cursor": first["next_cursor"]}, headers=me.headers
    ).json
    assert [c["id"] for c in rest["items"]] == ids[:1] and rest["next_cursor"] is None


def test_my_checkins_are_mine_newest_first_and_paginated(client, admin):
    campaign = make_campaign(client, admin)
    points = [new_point(client, admin, campaign, name=f"点{n}") for n in range(3)]
    me, other = sign_in(client), sign_in(client)
    for point in points:
        assert check_in(client, me, point["token"]).status_code == 201
    assert check_in(client, other, points[0]["token"]).status_code == 201

    first = client.get("/api/v1/me/checkins?limit=2", headers=me.headers).json
    assert [c["point_name"] for c in first["items"]] == ["点2", "点1"]
    assert set(first["items"][0]) == {
        "id",
        "campaign_id",
        "point_name",
        "place",
        "points",
        "local_day",
        "created_at",
    }
    rest = client.get(
        "/api/v1/me/checkins", query_string={"cursor": first["next_cursor"]}, headers=me.headers
    ).json
    assert [c["point_name"] for c in rest["items"]] == ["点0"]
    assert rest["next_cursor"] is None
    theirs = client.get("/api/v1/me/checkins", headers=other.headers).json["items"]
    assert [c["point_name"] for c in theirs] == ["点0"]


# My photos


def test_my_photo_comes_back_as_the_stored_jpeg(client):
    me = sign_in(client)
    photo_id = upload_photo(client, me)
    response = client.get(f"/api/v1/photos/{photo_id}", headers=me.headers)
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert "no-store" in response.headers["Cache-Control"]
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()


def test_another_residents_photo_is_404_like_an_unknown_one(client):
    owner, other = sign_in(client), sign_in(client)
    photo_id = upload_photo(client, owner)
    theirs = client.get(f"/api/v1/photos/{photo_id}", headers=other.headers)
    unknown = client.get(f"/api/v1/photos/{'0' * 32}", headers=other.headers)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json == unknown.json
    assert theirs.json["error"]["code"] == "photo_not_found"
