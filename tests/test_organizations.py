"""Organisations through the resident and staff APIs: making, joining, leaving."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import (
    join_organization,
    make_household,
    make_organization,
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
