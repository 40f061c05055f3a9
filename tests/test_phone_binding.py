"""POST /api/v1/me/phone: a WeChat resident binds a phone, or joins the phone's resident
while its own account is still empty; every other case is refused and spends nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from tests.factories import (
    SignedIn,
    delete_account,
    new_phone,
    privacy_version,
    record,
    request_code,
    sign_in,
    trip,
)

PHONE = "/api/v1/me/phone"


@pytest.fixture(autouse=True)
def codes_at_will(app, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "20 per minute")


def wechat(client, code: str) -> SignedIn:
    body = client.post(
        "/api/v1/auth/wechat", json={"code": code, "privacy_version": privacy_version()}
    ).json
    return SignedIn("", body["access_token"], body["refresh_token"], body["resident"])


def bind(client, who, phone: str, code: str | None = None):
    code = code or request_code(client, phone)
    return client.post(PHONE, json={"phone": phone, "code": code}, headers=who.headers)


def test_a_free_phone_is_bound(client):
    me, phone = wechat(client, "wx-free"), new_phone()
    bound = bind(client, me, phone)
    assert bound.status_code == 200, bound.json
    resident = bound.json["resident"]
    assert resident["id"] == me.resident["id"] and resident["phone_masked"].endswith(phone[-4:])
    assert resident["wechat_linked"] is True
    again = bind(client, me, new_phone())
    assert (again.status_code, again.json["error"]["code"]) == (409, "phone_already_bound")


def test_an_empty_wechat_account_joins_the_phones_resident(client, db_session):
    owner = sign_in(client)
    me = wechat(client, "wx-join")
    joined = bind(client, me, owner.phone)
    assert joined.status_code == 200, joined.json
    assert joined.json["resident"]["id"] == owner.resident["id"]
    assert joined.json["resident"]["wechat_linked"] is True
    assert client.get("/api/v1/me", headers=me.headers).status_code == 401  # sessions ended
    new = {"Authorization": f"Bearer {joined.json['access_token']}"}
    assert client.get("/api/v1/me", headers=new).json["id"] == owner.resident["id"]
    # the WeChat sign-in now leads to the phone's resident
    assert wechat(client, "wx-join").resident["id"] == owner.resident["id"]
    entry = db_session.scalar(select(AuditEntry).where(AuditEntry.action == "resident.join_wechat"))
    assert entry.target_id == str(owner.resident["id"])
    assert owner.phone not in repr((entry.before, entry.after))
    # a phone's resident with a WeChat already refuses another one
    other = bind(client, wechat(client, "wx-other"), owner.phone)
    assert (other.status_code, other.json["error"]["code"]) == (409, "phone_has_other_wechat")


def test_a_wechat_account_with_data_cannot_join_and_the_code_stays_usable(client):
    owner = sign_in(client)
    me = wechat(client, "wx-busy")
    client.post(
        "/api/v1/me/consents",
        json={"scope": "location", "version": privacy_version()},
        headers=me.headers,
    )
    assert record(client, me, trip("bus")).status_code == 201
    code = request_code(client, owner.phone)
    refused = bind(client, me, owner.phone, code)
    assert (refused.status_code, refused.json["error"]["code"]) == (409, "phone_in_use")
    login = client.post("/api/v1/auth/login", json={"phone": owner.phone, "code": code})
    assert login.status_code == 200  # the refused binding did not spend it


def test_binding_refuses_bad_codes_bad_input_and_strangers(client):
    me, phone = wechat(client, "wx-refusals"), new_phone()
    real = request_code(client, phone)
    wrong = bind(client, me, phone, "000000" if real != "000000" else "111111")
    assert (wrong.status_code, wrong.json["error"]["code"]) == (401, "otp_invalid")
    bad = client.post(PHONE, json={"phone": "12", "code": "1"}, headers=me.headers)
    assert bad.status_code == 422 and set(bad.json["error"]["fields"]) == {"phone", "code"}
    assert client.post(PHONE, json={"phone": phone, "code": real}).status_code == 401
    assert client.get("/api/v1/me", headers=me.headers).json["phone_masked"] is None


def test_binding_a_deleted_accounts_phone_takes_its_limits_over(client, db_session):
    from backend.residents.models import ResidentTombstone

    gone = sign_in(client)
    assert record(client, gone, trip("rail", 30, 20)).json["points"] > 0
    assert delete_account(client, gone).status_code == 204
    assert db_session.scalars(select(ResidentTombstone)).all()
    me = wechat(client, "wx-successor")
    assert bind(client, me, gone.phone).status_code == 200
    assert db_session.scalars(select(ResidentTombstone)).all() == []
    today = client.get("/api/v1/me/account", headers=me.headers).json["points_today"]
    assert today > 0  # the day's caps carried over: deleting and re-binding resets nothing
