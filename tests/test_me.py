"""GET/PATCH /api/v1/me: the profile, its validation, and nothing else writable."""

import pytest

from tests.factories import sign_in


def test_profile_update_sets_nickname_district_and_community(client):
    me = sign_in(client)
    response = client.patch(
        "/api/v1/me",
        json={"nickname": "  绿行者  ", "district_code": "441202", "community": "城东社区"},
        headers=me.headers,
    )
    assert response.status_code == 200
    assert response.json["nickname"] == "绿行者"
    assert response.json["district_code"] == "441202"
    assert response.json["community"] == "城东社区"
    assert client.get("/api/v1/me", headers=me.headers).json["nickname"] == "绿行者"


def test_partial_update_keeps_other_fields_and_null_clears(client):
    me = sign_in(client)
    client.patch("/api/v1/me", json={"nickname": "a", "community": "c"}, headers=me.headers)
    response = client.patch("/api/v1/me", json={"community": None}, headers=me.headers)
    assert response.json["nickname"] == "a"
    assert response.json["community"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"nickname": ""}, "nickname"),
        ({"nickname": "   "}, "nickname"),
        ({"nickname": "x" * 33}, "nickname"),
        ({"nickname": "bad\u0000name"}, "nickname"),
        ({"nickname": 5}, "nickname"),
        ({"district_code": "999999"}, "district_code"),
        ({"community": "c" * 65}, "community"),
        ({"status": "active"}, "status"),
        ({"id": 7}, "id"),
        ({"phone_masked": "1"}, "phone_masked"),
    ],
)
def test_invalid_or_server_owned_fields_are_refused_and_nothing_changes(client, body, field):
    me = sign_in(client)
    client.patch("/api/v1/me", json={"nickname": "before"}, headers=me.headers)
    response = client.patch("/api/v1/me", json=body, headers=me.headers)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert client.get("/api/v1/me", headers=me.headers).json["nickname"] == "before"


def test_a_rejected_update_with_valid_parts_writes_none_of_them(client):
    me = sign_in(client)
    response = client.patch(
        "/api/v1/me", json={"nickname": "after", "district_code": "nope"}, headers=me.headers
    )
    assert response.status_code == 422
    assert client.get("/api/v1/me", headers=me.headers).json["nickname"] is None


def test_residents_see_only_themselves(client):
    alice, bob = sign_in(client), sign_in(client)
    client.patch("/api/v1/me", json={"nickname": "alice"}, headers=alice.headers)
    assert client.get("/api/v1/me", headers=bob.headers).json["nickname"] is None


def test_districts_are_listed_with_codes(client):
    items = client.get("/api/v1/districts").json["items"]
    assert len(items) == 10
    assert {
        "code": "441202",
        "name": "端州区",
        "name_en": "Duanzhou",
        "central_city": True,
    } in items
    assert [d["code"] for d in items if d["central_city"]] == ["441202", "441203", "441204"]


def test_field_messages_are_whole_sentences(client):
    me = sign_in(client)
    response = client.patch("/api/v1/me", json={"nickname": "a\u0007b"}, headers=me.headers)
    assert response.json["error"]["fields"]["nickname"] == ["不允许包含控制字符。"]
    phone = client.post("/api/v1/auth/otp", json={"phone": "123"}).json["error"]["fields"]["phone"]
    assert phone == ["不是有效的中国大陆手机号码。"]
