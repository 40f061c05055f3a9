"""Clean Plate evidence and EV sessions wait for a reviewer; approval pays within the cap."""

import pytest

from tests.factories import (
    encode,
    photo_like,
    record,
    sign_in,
    staff_headers,
    upload,
    upload_photo,
)

REVIEWS = "/api/v1/staff/reviews"


def meal(photo_id: str) -> dict:
    return {"type": "clean_plate", "photo_id": photo_id, "venue": "端州区食堂"}


def earned(client, who) -> list:
    entries = client.get("/api/v1/me/ledger", headers=who.headers).json["items"]
    return [e for e in entries if e["kind"] == "earn"]


@pytest.fixture
def reviewer(app, client):
    return staff_headers(app, client, "reviewer")


def test_a_clean_plate_meal_waits_for_review_then_pays_when_approved(client, reviewer):
    me = sign_in(client)
    action = record(client, me, meal(upload_photo(client, me))).json
    assert action["status"] == "pending_review"
    assert action["co2e_g"] == 144 and action["points"] == 0
    assert earned(client, me) == []

    queue = client.get(REVIEWS, headers=reviewer).json["items"]
    assert [item["id"] for item in queue] == [action["id"]]
    approved = client.post(f"{REVIEWS}/{action['id']}/approve", headers=reviewer)
    assert approved.status_code == 200
    assert approved.json["status"] == "approved"
    assert approved.json["points"] == 144
    assert [e["delta"] for e in earned(client, me)] == [144]
    assert (
        client.get(f"/api/v1/actions/{action['id']}", headers=me.headers).json["status"]
        == "approved"
    )
    assert client.get(REVIEWS, headers=reviewer).json["items"] == []


def test_a_rejected_action_pays_nothing_and_says_why(client, reviewer):
    me = sign_in(client)
    action = record(client, me, meal(upload_photo(client, me))).json
    response = client.post(
        f"{REVIEWS}/{action['id']}/reject", json={"reason": "照片不是餐盘"}, headers=reviewer
    )
    assert response.status_code == 200
    mine = client.get(f"/api/v1/actions/{action['id']}", headers=me.headers).json
    assert mine["status"] == "rejected"
    assert mine["review_reason"] == "照片不是餐盘"
    assert earned(client, me) == []


def test_a_review_decision_is_taken_once(client, reviewer):
    me = sign_in(client)
    action = record(client, me, meal(upload_photo(client, me))).json
    assert client.post(f"{REVIEWS}/{action['id']}/approve", headers=reviewer).status_code == 200
    again = client.post(f"{REVIEWS}/{action['id']}/approve", headers=reviewer)
    assert again.status_code == 409
    assert again.json["error"]["code"] == "already_reviewed"
    reject = client.post(
        f"{REVIEWS}/{action['id']}/reject", json={"reason": "late"}, headers=reviewer
    )
    assert reject.status_code == 409
    assert len(earned(client, me)) == 1
    assert client.post(f"{REVIEWS}/999999/approve", headers=reviewer).status_code == 404


def test_rejection_needs_a_reason(client, reviewer):
    me = sign_in(client)
    action = record(client, me, meal(upload_photo(client, me))).json
    response = client.post(f"{REVIEWS}/{action['id']}/reject", json={}, headers=reviewer)
    assert response.status_code == 422
    assert "reason" in response.json["error"]["fields"]


def test_approval_pays_within_the_days_cap(client, reviewer):
    me = sign_in(client)
    # a big EV session alone is over the daily EV cap
    body = {"type": "ev_charging", "energy_kwh": 140, "station_id": "S", "session_id": "cap"}
    action = record(client, me, body).json
    assert action["co2e_g"] > 20000
    approved = client.post(f"{REVIEWS}/{action['id']}/approve", headers=reviewer).json
    assert approved["points"] == 20000
    assert approved["capped"] is True


def test_a_photo_is_used_once_and_only_by_its_owner(client):
    alice, bob = sign_in(client), sign_in(client)
    photo = upload_photo(client, alice)
    refused = record(client, bob, meal(photo))
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "photo_not_found"
    assert record(client, alice, meal(photo)).status_code == 201
    again = record(client, alice, meal(photo))
    assert again.status_code == 409
    assert again.json["error"]["code"] == "photo_already_used"


def test_a_recompressed_copy_of_someone_elses_photo_is_flagged(client, reviewer):
    alice, bob = sign_in(client), sign_in(client)
    record(client, alice, meal(upload_photo(client, alice, seed=7)))
    copy = photo_like(7).resize((800, 600))
    response = upload(client, bob, encode(copy, "JPEG", quality=60))
    action = record(client, bob, meal(response.json["photo_id"])).json
    assert action["flags"] == ["duplicate_photo"]
    assert action["status"] == "pending_review"
    honest = record(client, bob, meal(upload_photo(client, bob, seed=8))).json
    assert honest["flags"] == []
    flagged = [i for i in client.get(REVIEWS, headers=reviewer).json["items"] if i["flags"]]
    assert [i["id"] for i in flagged] == [action["id"]]


def test_clean_plate_meals_are_limited_per_day(client):
    me = sign_in(client)
    for seed in range(3):
        assert (
            record(client, me, meal(upload_photo(client, me, seed=100 + seed))).status_code == 201
        )
    fourth = record(client, me, meal(upload_photo(client, me, seed=200)))
    assert fourth.status_code == 422
    assert fourth.json["error"]["code"] == "implausible_action"


def test_reviewers_see_thumbnails(client, reviewer):
    me = sign_in(client)
    photo = upload_photo(client, me)
    with client.get(f"/api/v1/staff/photos/{photo}/thumbnail", headers=reviewer) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.data[:2] == b"\xff\xd8"


@pytest.mark.parametrize("role", ["analyst"])
def test_roles_without_review_permission_are_refused(app, client, role):
    headers = staff_headers(app, client, role)
    response = client.get(REVIEWS, headers=headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden_role"


def test_residents_cannot_use_the_review_api(client):
    me = sign_in(client)
    assert client.get(REVIEWS, headers=me.headers).status_code == 401


def test_campaign_admins_may_review(app, client):
    headers = staff_headers(app, client, "campaign_admin")
    assert client.get(REVIEWS, headers=headers).status_code == 200
