"""A resident's export holds their own data only: no staff member's id or name, nothing that
points at another resident (issue 20: it showed `staff_user_id` and another's photo id)."""

import json
from collections.abc import Iterator

from tests.factories import (
    STAFF_PASSWORD,
    console_post,
    console_sign_in,
    make_resident,
    make_reward,
    record,
    redeem,
    upload_photo,
)


def _staff_api(app, client, role: str, username: str) -> dict:
    result = app.test_cli_runner().invoke(
        args=["staff", "create", username, "--role", role, "--password", STAFF_PASSWORD]
    )
    assert result.exit_code == 0, result.output
    response = client.post(
        "/api/v1/staff/auth/login", json={"username": username, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}


def _leaves(value, key=None) -> Iterator[tuple[str | None, object]]:
    """Every (key, value) of the document, at any depth."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    else:
        yield key, value


def test_the_export_names_no_staff_member_and_no_other_resident(app, client):
    me = make_resident(client, nickname="我自己")
    other = make_resident(client, nickname="另一位居民")
    theirs = upload_photo(client, other, seed=7)
    other_meal = record(client, other, {"type": "clean_plate", "photo_id": theirs}).json
    mine = upload_photo(client, me, seed=7)  # the same picture: flagged against theirs
    meal = record(client, me, {"type": "clean_plate", "photo_id": mine, "venue": "食堂"}).json
    assert meal["status"] == "pending_review" and "duplicate_photo" in meal["flags"]

    reviewer = _staff_api(app, client, "reviewer", "reviewer-wang-export")
    approved = client.post(f"/api/v1/staff/reviews/{meal['id']}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.json
    cashier = _staff_api(app, client, "campaign_admin", "merchant-li-export")
    reward = make_reward(client, cashier, cost_points=200)
    adjuster = console_sign_in(app, client, "superadmin")
    page = f"/admin/residents/{me.resident['id']}"
    adjusted = console_post(client, f"{page}/adjust", {"delta": 500, "reason": "补录"}, page)
    assert adjusted.status_code == 302
    code = redeem(client, me, reward).json["code"]
    used = client.post("/api/v1/staff/redemptions/verify", json={"code": code}, headers=cashier)
    assert used.status_code == 200, used.json

    response = client.get("/api/v1/me/export", headers=me.headers)
    assert response.status_code == 200
    export = response.json
    text = json.dumps(export, ensure_ascii=False)
    usernames = ["reviewer-wang-export", "merchant-li-export", adjuster]
    # What the export must hold, so that the scan below means something.
    assert [p["id"] for p in export["photos"]] == [mine]
    assert export["photos"][0]["flagged_duplicate"] is True
    assert [a["reviewed_by"] for a in export["actions"]] == ["staff"]
    assert [a["staff_user_id"] for a in export["points_adjustments"]] == ["staff"]
    assert [r["used_by"] for r in export["redemptions"]] == ["staff"]

    for name in (*usernames, other.phone, other.resident["phone_masked"], "另一位居民", theirs):
        assert name not in text
    assert "duplicate_of_id" not in text and "staff_user" not in text.replace("staff_user_id", "")
    for key, value in _leaves(export):
        if key is not None and (key.endswith("_by") or "staff" in key):
            assert value in (None, "staff"), (key, value)  # never a staff member's id
        if key == "resident_id":
            assert value == me.resident["id"]
        if key == "photo_id":
            assert value in (None, mine)
        if key == "action_id":
            assert value == meal["id"] != other_meal["id"]
    assert [a["id"] for a in export["actions"]] == [meal["id"]]
