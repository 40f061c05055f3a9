"""Children under 14 (PIPL art. 31): only through a guardian's household, by nickname
alone, recorded by the guardian, never on a public board, erased at the guardian's word."""

from __future__ import annotations

from sqlalchemy import select

from backend.auth import service as auth
from backend.extensions import db
from backend.residents.models import Resident
from tests.factories import (
    delete_account,
    give_consent,
    join_organization,
    make_household,
    make_resident,
    request_code,
    run_worker,
    sign_in,
    trip,
)

CHILDREN = "/api/v1/me/children"
_keys = iter(range(10**6))


def add_child(client, guardian, nickname: str = "小明"):
    return client.post(CHILDREN, json={"nickname": nickname}, headers=guardian.headers)


def record_for(client, guardian, child_id: int, body: dict, key: str | None = None):
    headers = {**guardian.headers, "Idempotency-Key": key or f"child-key-{next(_keys)}"}
    return client.post(f"{CHILDREN}/{child_id}/actions", json=body, headers=headers)


def account(client, who) -> dict:
    return client.get("/api/v1/me/account", headers=who.headers).json


def family(client):
    guardian = make_resident(client, district_code="441202", nickname="陈妈妈")
    household = make_household(client, guardian, "陈家")
    child = add_child(client, guardian)
    assert child.status_code == 201, child.json
    return guardian, household, child.json


def test_a_child_needs_the_guardians_household_and_counts_against_its_size(
    app, client, monkeypatch
):
    loner = sign_in(client)
    refused = add_child(client, loner)
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "household_required")
    for bad in ("", "x" * 33, "a\u0000b"):
        assert add_child(client, make_resident(client), bad).status_code == 422

    guardian, household, child = family(client)
    assert set(child) == {"id", "nickname", "created_at", "household_id"}
    assert (child["nickname"], child["household_id"]) == ("小明", household["id"])
    assert child["created_at"].endswith("+08:00")
    mine = client.get("/api/v1/me/organizations", headers=guardian.headers).json["items"]
    assert [(m["id"], m["role"], m["member_count"]) for m in mine] == [
        (household["id"], "admin", 2)
    ]
    # the household's size counts children: 8 members at most
    monkeypatch.setitem(app.config, "CHILDREN_MAX_PER_GUARDIAN", 10)
    for n in range(6):
        assert add_child(client, guardian, f"孩子{n}").status_code == 201
    full = add_child(client, guardian, "第八个")
    assert (full.status_code, full.json["error"]["code"]) == (409, "organization_full")
    late = client.post(
        "/api/v1/organizations/join",
        json={"invite_code": household["invite_code"]},
        headers=sign_in(client).headers,
    )
    assert (late.status_code, late.json["error"]["code"]) == (409, "organization_full")
    monkeypatch.setitem(app.config, "CHILDREN_MAX_PER_GUARDIAN", 4)
    # and a guardian adds at most CHILDREN_MAX_PER_GUARDIAN
    other = make_resident(client)
    join_organization(client, other, make_household(client, make_resident(client))["invite_code"])
    for n in range(4):
        assert add_child(client, other, f"孩子{n}").status_code == 201
    too_many = add_child(client, other)
    assert (too_many.status_code, too_many.json["error"]["code"]) == (409, "too_many_children")


def test_the_guardian_records_for_the_child_whom_no_one_else_sees_and_no_board_shows(client):
    guardian, household, child = family(client)
    # the guardian's location consent is what a child's trace needs
    client.delete("/api/v1/me/consents/location", headers=guardian.headers)
    without = record_for(client, guardian, child["id"], trip("bus"))
    assert (without.status_code, without.json["error"]["code"]) == (422, "consent_required")
    give_consent(client, guardian, "location")

    body = trip("bus")
    recorded = record_for(client, guardian, child["id"], body, key="k1")
    assert recorded.status_code == 201, recorded.json
    action = recorded.json
    assert (action["status"], action["verification"]) == ("approved", "trace")
    # the same key: the same answer; the guardian's own key "k1" is apart from the child's
    again = record_for(client, guardian, child["id"], body, key="k1")
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["id"] == action["id"]
    own = client.post(
        "/api/v1/actions",
        json=trip("bus", ended_minutes_ago=60),
        headers={**guardian.headers, "Idempotency-Key": "k1"},
    )
    assert own.status_code == 201 and own.json["id"] != action["id"]

    listed = client.get(CHILDREN, headers=guardian.headers).json["items"]
    assert [(c["id"], c["balance"], c["co2e_g_total"]) for c in listed] == [
        (child["id"], action["points"], action["co2e_g"])
    ]
    assert account(client, guardian)["balance"] == own.json["points"]
    actions = client.get(f"{CHILDREN}/{child['id']}/actions", headers=guardian.headers).json
    assert [a["id"] for a in actions["items"]] == [action["id"]]

    stranger = sign_in(client)
    join_organization(client, stranger, household["invite_code"])  # even in the household
    for response in (
        client.get(f"{CHILDREN}/{child['id']}/actions", headers=stranger.headers),
        record_for(client, stranger, child["id"], trip("bus")),
        client.delete(
            f"{CHILDREN}/{child['id']}", json={"code": "000000"}, headers=stranger.headers
        ),
        record_for(client, guardian, guardian.resident["id"], trip("bus")),  # not a child
    ):
        assert (response.status_code, response.json["error"]["code"]) == (404, "child_not_found")
    assert client.get(CHILDREN, headers=stranger.headers).json["items"] == []

    run_worker(client)
    board = client.get("/api/v1/leaderboards/residents?period=all", headers=guardian.headers).json
    assert [(p["nickname"], p["co2e_g"]) for p in board["items"]] == [
        ("陈妈妈", own.json["co2e_g"])
    ]


def test_a_child_cannot_sign_in_by_any_path(app, client):
    guardian, _, child = family(client)
    with app.app_context():
        row = db.session.get(Resident, child["id"])
        assert (row.phone_hmac, row.wechat_openid_hmac, row.guardian_id) == (
            None,
            None,
            guardian.resident["id"],
        )
        # a token naming the child (however it came to be) is refused on use and refresh
        pair = auth._open_session(row, "otp")
        db.session.commit()
    for response in (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {pair.access_token}"}),
        client.post("/api/v1/auth/refresh", json={"refresh_token": pair.refresh_token}),
    ):
        assert response.status_code in (401, 403), response.json
    with app.app_context():
        row = db.session.get(Resident, child["id"])
        row.phone_hmac = "f" * 64  # the database refuses a child an identity
        try:
            db.session.flush()
            raise AssertionError("a child was given a phone")
        except Exception as exc:  # noqa: BLE001 - IntegrityError of either database
            assert "child_without_identity" in str(exc) or "CHECK" in str(exc).upper()
        db.session.rollback()


def test_the_guardian_exports_and_erases_a_childs_data(app, client, monkeypatch):
    guardian, _, child = family(client)
    record_for(client, guardian, child["id"], trip("bus"))
    exported = client.get("/api/v1/me/export", headers=guardian.headers).json
    [data] = exported["children"]
    assert data["profile"]["nickname"] == "小明"
    assert len(data["actions"]) == 1 and data["account"]["balance"] > 0
    assert [c["scope"] for c in data["consents"]] == ["privacy"]

    wrong = client.delete(
        f"{CHILDREN}/{child['id']}", json={"code": "000000"}, headers=guardian.headers
    )
    assert wrong.status_code == 401
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "100 per minute")
    code = request_code(client, guardian.phone)
    erased = client.delete(
        f"{CHILDREN}/{child['id']}", json={"code": code}, headers=guardian.headers
    )
    assert erased.status_code == 204
    assert client.get(CHILDREN, headers=guardian.headers).json["items"] == []
    mine = client.get("/api/v1/me/organizations", headers=guardian.headers).json["items"]
    assert mine[0]["member_count"] == 1
    assert client.get("/api/v1/me/export", headers=guardian.headers).json["children"] == []
    gone = record_for(client, guardian, child["id"], trip("bus"))
    assert gone.status_code == 404


def test_deleting_the_guardians_account_erases_the_childrens_data(app, client):
    guardian, _, child = family(client)
    second = add_child(client, guardian, "小红").json
    assert delete_account(client, guardian).status_code == 204
    with app.app_context():
        rows = db.session.scalars(
            select(Resident).where(Resident.id.in_([child["id"], second["id"]]))
        ).all()
        assert [(r.status, r.nickname) for r in rows] == [("deleted", None)] * 2


def test_the_notice_says_how_children_take_part(client):
    zh = client.get("/api/v1/legal/privacy").json["text"]
    en = client.get("/api/v1/legal/privacy", headers={"Accept-Language": "en"}).json["text"]
    assert "未满14周岁" in zh and "监护人" in zh and "排行榜" in zh
    assert "under 14" in en and "guardian" in en and "leaderboard" in en


def test_a_child_follows_the_guardian_to_their_new_household(client):
    first = make_household(client, make_resident(client))
    guardian = make_resident(client)
    join_organization(client, guardian, first["invite_code"])
    child = add_child(client, guardian).json
    assert child["household_id"] == first["id"]
    left = client.delete(f"/api/v1/me/organizations/{first['id']}", headers=guardian.headers)
    assert left.status_code == 204
    outside = record_for(client, guardian, child["id"], trip("bus"))
    assert (outside.status_code, outside.json["error"]["code"]) == (409, "household_required")
    second = make_household(client, make_resident(client))
    join_organization(client, guardian, second["invite_code"])
    assert record_for(client, guardian, child["id"], trip("bus")).status_code == 201
    [moved] = client.get(CHILDREN, headers=guardian.headers).json["items"]
    assert moved["household_id"] == second["id"]
    mine = client.get("/api/v1/me/organizations", headers=guardian.headers).json["items"]
    assert mine[0]["member_count"] == 3  # its maker, the guardian and the child


def test_a_childs_actions_count_for_the_family_at_the_guardians_school(app, client, clock):
    from datetime import timedelta

    from tests.factories import make_organization, staff_headers

    guardian, household, child = family(client)
    school = make_organization(client, staff_headers(app, client, "campaign_admin"), "school")
    join_organization(client, guardian, school["invite_code"])
    clock.shift(timedelta(hours=1))  # the school counts from the family's joining
    guardian = sign_in(client, guardian.phone)
    recorded = record_for(client, guardian, child["id"], trip("bus"))
    assert recorded.status_code == 201, recorded.json
    run_worker(client)

    def page(organization_id: int) -> dict:
        path = f"/api/v1/organizations/{organization_id}?period=all"
        return client.get(path, headers=guardian.headers).json

    at_school = page(school["id"])
    assert at_school["totals"]["co2e_g"] == recorded.json["co2e_g"]
    # the school's members are the families: the guardian's row holds the child's trip
    assert [(row["nickname"], row["co2e_g"]) for row in at_school["board"]] == [
        ("陈妈妈", recorded.json["co2e_g"])
    ]
    at_home = page(household["id"])
    assert ("小明", recorded.json["co2e_g"]) in [
        (row["nickname"], row["co2e_g"]) for row in at_home["board"]
    ]
    check = app.test_cli_runner().invoke(args=["stats", "check"])
    assert check.exit_code == 0, check.output
