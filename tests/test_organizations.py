"""Organisations through the resident and staff APIs: making, joining, leaving; members'
page and board; admins' member list, removal and codes; staff roles and closing; the
resident's export and deletion."""

from __future__ import annotations

import io
from datetime import timedelta

import zxingcpp
from PIL import Image
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.residents.service import holds_data
from campaigns.organizations.models import Membership
from tests.factories import (
    delete_account,
    join_organization,
    make_household,
    make_organization,
    make_resident,
    sign_in,
    staff_headers,
)


def test_a_family_joins_a_household_with_its_code_and_a_second_household_is_refused(client, clock):
    parent = sign_in(client)
    household = make_household(client, parent, "陈家")
    child_parent = sign_in(client)
    joined = join_organization(client, child_parent, household["invite_code"].lower())
    assert joined["id"] == household["id"]
    assert joined["role"] == "member"
    assert joined["member_count"] == 2
    assert joined["invite_code"] is None  # only admins see the code

    other = make_household(client, sign_in(client), "李家")
    second = client.post(
        "/api/v1/organizations/join",
        json={"invite_code": other["invite_code"]},
        headers=child_parent.headers,
    )
    assert second.status_code == 409
    assert second.json["error"]["code"] == "already_member_of_kind"

    mine = client.get("/api/v1/me/organizations", headers=parent.headers).json["items"]
    assert [(m["id"], m["role"], m["invite_code"]) for m in mine] == [
        (household["id"], "admin", household["invite_code"])
    ]

    left = client.delete(
        f"/api/v1/me/organizations/{household['id']}", headers=child_parent.headers
    )
    assert left.status_code == 204
    assert join_organization(client, child_parent, other["invite_code"])["id"] == other["id"]


def test_bad_and_expired_codes_are_refused(client, clock):
    household = make_household(client, sign_in(client))
    resident = sign_in(client)
    bad = client.post(
        "/api/v1/organizations/join", json={"invite_code": "ZZZZZZZZ"}, headers=resident.headers
    )
    assert (bad.status_code, bad.json["error"]["code"]) == (422, "invite_code_invalid")
    clock.shift(timedelta(days=8))
    resident = sign_in(client)
    expired = client.post(
        "/api/v1/organizations/join",
        json={"invite_code": household["invite_code"]},
        headers=resident.headers,
    )
    assert (expired.status_code, expired.json["error"]["code"]) == (422, "invite_code_expired")


def test_staff_make_a_school_residents_join_it(app, client, clock):
    staff = staff_headers(app, client, "campaign_admin")
    school = make_organization(client, staff, "school", "端州区第一小学")
    assert school["kind"] == "school" and school["invite_expires_at"] is None
    parent = sign_in(client)
    make_household(client, parent)
    assert join_organization(client, parent, school["invite_code"])["kind"] == "school"


# What members see


def _page(client, who, organization_id: int, **query):
    return client.get(
        f"/api/v1/organizations/{organization_id}", query_string=query, headers=who.headers
    )


def test_members_see_figures_and_a_board_by_nickname_others_get_404(client, clock):
    parent = make_resident(client, nickname="陈爸爸")
    household = make_household(client, parent, "陈家")
    child = make_resident(client, nickname="小陈")
    join_organization(client, child, household["invite_code"])

    page = _page(client, child, household["id"])
    assert page.status_code == 200, page.json
    body = page.json
    assert body["organization"] == {
        "id": household["id"],
        "kind": "household",
        "name": "陈家",
        "district_code": None,
        "street": None,
        "member_count": 2,
    }
    assert body["role"] == "member" and body["period"].startswith("w")
    assert body["totals"] == {
        "members": 2,
        "participants": 0,
        "co2e_g": 0,
        "points": 0,
        "actions": 0,
        "green_trips": 0,
        "trips": 0,
        "green_share": None,
    }
    assert [(r["nickname"], r["rank"], r["co2e_g"], r["me"]) for r in body["board"]] == [
        ("陈爸爸", 1, 0, False),
        ("小陈", 1, 0, True),
    ]
    assert set(body["board"][0]) == {"rank", "nickname", "co2e_g", "points", "actions", "me"}
    assert body["me"]["nickname"] == "小陈" and body["me"]["me"] is True
    text = page.get_data(as_text=True)
    assert parent.phone not in text and parent.phone[-4:] not in text
    assert "resident_id" not in text
    assert _page(client, child, household["id"], period="month").json["period"].startswith("m")
    assert _page(client, child, household["id"], period="all").json["period"] == "all"
    assert _page(client, child, household["id"], period="year").status_code == 422

    # One page at a time: the next row, then the end.
    first = _page(client, parent, household["id"], limit=1).json
    assert [r["nickname"] for r in first["board"]] == ["陈爸爸"] and first["next_cursor"]
    second = _page(client, parent, household["id"], limit=1, cursor=first["next_cursor"]).json
    assert [(r["nickname"], r["rank"]) for r in second["board"]] == [("小陈", 1)]
    assert second["next_cursor"] is None
    bad = _page(client, parent, household["id"], cursor="!!")
    assert (bad.status_code, bad.json["error"]["code"]) == (422, "invalid_cursor")

    stranger = sign_in(client)
    for organization_id in (household["id"], 999999):
        refused = _page(client, stranger, organization_id)
        assert (refused.status_code, refused.json["error"]["code"]) == (
            404,
            "organization_not_found",
        )
    # A member who left is a stranger again.
    client.delete(f"/api/v1/me/organizations/{household['id']}", headers=child.headers)
    assert _page(client, child, household["id"]).status_code == 404


# Admins


def _school_with_admin(app, client):
    staff = staff_headers(app, client, "campaign_admin")
    school = make_organization(client, staff, "school", "端州区第一小学")
    admin = make_resident(client, nickname="王老师")
    member = make_resident(client, nickname="家长甲")
    join_organization(client, admin, school["invite_code"])
    join_organization(client, member, school["invite_code"])
    role = client.post(
        f"/api/v1/staff/organizations/{school['id']}/members/{admin.resident['id']}/role",
        json={"role": "admin"},
        headers=staff,
    )
    assert role.status_code == 200, role.json
    assert role.json["role"] == "admin"
    return staff, school, admin, member


def test_an_admin_lists_removes_members_and_renews_the_code(app, client, clock):
    _staff, school, admin, member = _school_with_admin(app, client)
    base = f"/api/v1/organizations/{school['id']}"

    listed = client.get(f"{base}/members", headers=admin.headers)
    assert listed.status_code == 200, listed.json
    rows = listed.json["items"]
    assert [(r["nickname"], r["role"], r["co2e_g"]) for r in rows] == [
        ("王老师", "admin", 0),
        ("家长甲", "member", 0),
    ]
    assert "resident_id" not in rows[0]

    # A plain member may not; a stranger does not even see it.
    stranger = sign_in(client)
    for path, method in (
        (f"{base}/members", "GET"),
        (f"{base}/members/{rows[0]['id']}", "DELETE"),
        (f"{base}/invite-code", "POST"),
        (f"{base}/invite.png", "GET"),
    ):
        refused = client.open(path, method=method, headers=member.headers)
        assert (refused.status_code, refused.json["error"]["code"]) == (
            403,
            "organization_admin_required",
        ), path
        hidden = client.open(path, method=method, headers=stranger.headers)
        assert (hidden.status_code, hidden.json["error"]["code"]) == (
            404,
            "organization_not_found",
        ), path

    itself = client.delete(f"{base}/members/{rows[0]['id']}", headers=admin.headers)
    assert (itself.status_code, itself.json["error"]["code"]) == (409, "cannot_remove_self")
    removed = client.delete(f"{base}/members/{rows[1]['id']}", headers=admin.headers)
    assert removed.status_code == 204
    again = client.delete(f"{base}/members/{rows[1]['id']}", headers=admin.headers)
    assert (again.status_code, again.json["error"]["code"]) == (404, "member_not_found")
    assert _page(client, member, school["id"]).status_code == 404
    assert _page(client, admin, school["id"]).json["organization"]["member_count"] == 1

    rotated = client.post(f"{base}/invite-code", headers=admin.headers)
    assert rotated.status_code == 200, rotated.json
    new_code = rotated.json["invite_code"]
    assert new_code != school["invite_code"] and rotated.json["invite_expires_at"] is None
    assert rotated.json["join_url"] == f"https://carbon.zhaoqing.example/join?code={new_code}"
    old = client.post(
        "/api/v1/organizations/join",
        json={"invite_code": school["invite_code"]},
        headers=member.headers,
    )
    assert (old.status_code, old.json["error"]["code"]) == (422, "invite_code_invalid")
    assert join_organization(client, member, new_code)["id"] == school["id"]

    qr = client.get(f"{base}/invite.png", headers=admin.headers)
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.data)))
    assert [code.text for code in decoded] == [rotated.json["join_url"]]


def test_staff_read_set_roles_and_close_an_organisation(app, client, clock, db_session):
    staff, school, admin, member = _school_with_admin(app, client)
    detail = client.get(f"/api/v1/staff/organizations/{school['id']}", headers=staff)
    assert detail.status_code == 200, detail.json
    assert detail.json["organization"]["member_count"] == 2
    assert [(m["nickname"], m["resident_id"], m["role"]) for m in detail.json["members"]] == [
        ("王老师", admin.resident["id"], "admin"),
        ("家长甲", member.resident["id"], "member"),
    ]
    assert client.get("/api/v1/staff/organizations/999999", headers=staff).status_code == 404
    household = make_household(client, member)
    refused = client.post(
        f"/api/v1/staff/organizations/{household['id']}/members/{member.resident['id']}/role",
        json={"role": "member"},
        headers=staff,
    )
    assert refused.status_code == 422
    bad_role = client.post(
        f"/api/v1/staff/organizations/{school['id']}/members/{member.resident['id']}/role",
        json={"role": "owner"},
        headers=staff,
    )
    assert bad_role.status_code == 422

    closed = client.post(f"/api/v1/staff/organizations/{school['id']}/close", headers=staff)
    assert closed.status_code == 200, closed.json
    assert (closed.json["status"], closed.json["member_count"]) == ("closed", 0)
    twice = client.post(f"/api/v1/staff/organizations/{school['id']}/close", headers=staff)
    assert (twice.status_code, twice.json["error"]["code"]) == (409, "organization_closed")
    assert _page(client, admin, school["id"]).status_code == 404
    late = client.post(
        "/api/v1/organizations/join",
        json={"invite_code": school["invite_code"]},
        headers=sign_in(client).headers,
    )
    assert (late.status_code, late.json["error"]["code"]) == (422, "invite_code_invalid")
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "organization.close"))
    assert entry.target_id == str(school["id"]) and entry.before["member_count"] == 2
    ended = db_session.scalars(
        select(Membership.end_reason).where(Membership.organization_id == school["id"])
    ).all()
    assert ended == ["closed", "closed"]


# Households keep an admin


def test_a_household_keeps_an_admin_and_closes_with_its_last_member(client, clock):
    parent = make_resident(client, nickname="妈妈")
    household = make_household(client, parent)
    first, second = make_resident(client, nickname="大儿子"), make_resident(client)
    join_organization(client, first, household["invite_code"])
    clock.shift(timedelta(minutes=1))
    join_organization(client, second, household["invite_code"])

    client.delete(f"/api/v1/me/organizations/{household['id']}", headers=parent.headers)
    assert _page(client, first, household["id"]).json["role"] == "admin"
    assert _page(client, second, household["id"]).json["role"] == "member"
    client.delete(f"/api/v1/me/organizations/{household['id']}", headers=first.headers)
    assert _page(client, second, household["id"]).json["role"] == "admin"
    client.delete(f"/api/v1/me/organizations/{household['id']}", headers=second.headers)
    code = client.post(
        "/api/v1/organizations/join",
        json={"invite_code": household["invite_code"]},
        headers=parent.headers,
    )
    assert code.json["error"]["code"] == "invite_code_invalid"  # closed with its last member


# A resident's own record


def test_export_lists_own_memberships_and_deletion_ends_them(app, client, clock):
    parent = make_resident(client, nickname="爸爸")
    household = make_household(client, parent, "林家")
    child = make_resident(client, nickname="女儿")
    join_organization(client, child, household["invite_code"])
    client.delete(f"/api/v1/me/organizations/{household['id']}", headers=child.headers)
    join_organization(client, child, household["invite_code"])

    exported = client.get("/api/v1/me/export", headers=child.headers)
    assert exported.status_code == 200
    rows = exported.json["organizations"]
    assert [(r["organization_name"], r["kind"], r["role"], r["end_reason"]) for r in rows] == [
        ("林家", "household", "member", "left"),
        ("林家", "household", "member", None),
    ]
    assert set(rows[0]) == {
        "organization_name",
        "kind",
        "role",
        "joined_at",
        "left_at",
        "end_reason",
    }
    assert rows[0]["left_at"].endswith("+08:00") and rows[1]["left_at"] is None
    assert "爸爸" not in exported.get_data(as_text=True)
    with app.app_context():
        assert holds_data(child.resident["id"])  # a membership is data

    assert delete_account(client, parent).status_code == 204
    page = _page(client, child, household["id"]).json
    assert page["role"] == "admin" and page["organization"]["member_count"] == 1
    assert [r["nickname"] for r in page["board"]] == ["女儿"]


# What a careless client or a point farmer tries


def test_joins_and_households_refused_where_they_must_be(app, client, clock, monkeypatch):
    monkeypatch.setitem(app.config, "HOUSEHOLD_MAX_MEMBERS", 2)
    parent = sign_in(client)
    household = make_household(client, parent)

    def join(who, code):
        return client.post(
            "/api/v1/organizations/join", json={"invite_code": code}, headers=who.headers
        )

    own = join(parent, household["invite_code"])
    assert (own.status_code, own.json["error"]["code"]) == (409, "already_member")
    second = client.post(
        "/api/v1/organizations",
        json={"kind": "household", "name": "二号家"},
        headers=parent.headers,
    )
    assert (second.status_code, second.json["error"]["code"]) == (409, "already_member_of_kind")
    for body in (
        {"kind": "school", "name": "自封学校"},
        {"kind": "household", "name": "陈\x00家"},
        {"kind": "household", "name": "陈\u202e家"},
        {"kind": "household", "name": ""},
    ):
        made = client.post("/api/v1/organizations", json=body, headers=sign_in(client).headers)
        assert made.status_code == 422, body

    join_organization(client, sign_in(client), household["invite_code"])
    full = join(sign_in(client), household["invite_code"])
    assert (full.status_code, full.json["error"]["code"]) == (409, "organization_full")
    assert _page(client, parent, household["id"]).json["organization"]["member_count"] == 2

    monkeypatch.setitem(app.config, "ORGANIZATION_JOIN_LIMIT_PER_RESIDENT", "3 per hour")
    guesser = sign_in(client)
    statuses = [join(guesser, f"ZZZZZZ{n}2").status_code for n in range(2, 6)]
    assert statuses == [422, 422, 422, 429]
    assert join(guesser, household["invite_code"]).status_code == 429
