"""Consent (PIPL art. 13-14, 28-29): the notice in force accepted at sign-up, asked again
when it changes, location before any trace or check-in position, withdrawal, export."""

from __future__ import annotations

import shutil

import pytest

from backend.legal.notice import NOTICE_DIR, PrivacyNotice
from tests.factories import (
    delete_account,
    encode,
    give_consent,
    new_phone,
    photo_like,
    privacy_version,
    record,
    request_code,
    sign_in,
    trip,
    upload,
    upload_photo,
)

LOGIN = "/api/v1/auth/login"
WECHAT = "/api/v1/auth/wechat"


@pytest.fixture(autouse=True)
def codes_at_will(app, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "20 per minute")


@pytest.fixture
def new_notice(app, monkeypatch, tmp_path):
    """A new version of the notice comes into force."""
    directory = tmp_path / "privacy"
    shutil.copytree(NOTICE_DIR, directory)
    for path in directory.glob(f"{privacy_version()}.*.md"):
        path.rename(directory / path.name.replace(privacy_version(), "2027-01-01"))
    (directory / "notice.json").write_text(
        '{"version": "2027-01-01", "updated_at": "2027-01-01T00:00:00+08:00"}', "utf-8"
    )

    def bring_into_force() -> str:
        notice = PrivacyNotice.from_directory(directory)
        monkeypatch.setitem(app.extensions, "privacy_notice", notice)
        return notice.version

    return bring_into_force


def test_the_notice_says_what_it_must_in_both_languages(client):
    zh = client.get("/api/v1/legal/privacy").json
    en = client.get("/api/v1/legal/privacy", headers={"Accept-Language": "en"}).json
    assert zh["version"] == en["version"] == privacy_version()
    assert "位置信息" in zh["text"] and "撤回" in zh["text"] and "注销" in zh["text"]
    for words in ("trace", "location", "withdraw", "delete", "30 days"):
        assert words in en["text"]


def test_a_sign_up_needs_the_version_in_force_and_the_code_stays_usable(client):
    phone = new_phone()
    code = request_code(client, phone)
    for body in ({}, {"privacy_version": "2020-01-01"}):
        refused = client.post(LOGIN, json={"phone": phone, "code": code, **body})
        assert refused.status_code == 422, refused.json
        assert refused.json["error"]["code"] == "consent_required"
        assert "privacy_version" in refused.json["error"]["fields"]
    body = {"phone": phone, "code": code, "privacy_version": privacy_version()}
    accepted = client.post(LOGIN, json=body)
    assert accepted.status_code == 200, accepted.json
    consent = accepted.json["resident"]["consent"]
    assert consent["privacy"]["version"] == privacy_version()
    assert consent["privacy"]["accepted_at"].endswith("+08:00")
    assert (consent["location"], consent["privacy_required"]) == (None, False)
    # an existing resident signs in without sending it
    again = client.post(LOGIN, json={"phone": phone, "code": request_code(client, phone)})
    assert again.status_code == 200, again.json


def test_a_wechat_sign_up_needs_the_version_too(client):
    refused = client.post(WECHAT, json={"code": "wx-consent"})
    assert refused.json["error"]["code"] == "consent_required"
    ok = client.post(WECHAT, json={"code": "wx-consent", "privacy_version": privacy_version()})
    assert ok.status_code == 200 and ok.json["resident"]["consent"]["privacy_required"] is False


def test_a_new_version_asks_again_before_recording(client, new_notice):
    me = sign_in(client)
    new_version = new_notice()
    me_now = client.get("/api/v1/me", headers=me.headers).json["consent"]
    assert me_now["privacy_required"] is True
    assert me_now["current_privacy_version"] == new_version
    refused = record(client, me, trip("bus", trace=False))
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "consent_required")
    photo = upload(client, me, encode(photo_like(7, (320, 240)), "JPEG"))
    assert photo.json["error"]["code"] == "consent_required"
    stale = client.post(
        "/api/v1/me/consents",
        json={"scope": "privacy", "version": privacy_version()},
        headers=me.headers,
    )
    assert stale.status_code == 422 and "version" in stale.json["error"]["fields"]
    assert give_consent(client, me, "privacy", new_version)["privacy_required"] is False
    assert record(client, me, trip("bus", trace=False)).status_code == 201


def test_a_trace_needs_the_location_consent_and_withdrawal_refuses_it_again(client):
    me = sign_in(client, location=False)
    refused = record(client, me, trip("bus"))
    assert (refused.status_code, refused.json["error"]["code"]) == (422, "consent_required")
    assert "trace" in refused.json["error"]["fields"]
    assert record(client, me, trip("bus", ended_minutes_ago=60, trace=False)).status_code == 201
    assert give_consent(client, me, "location")["location"]["version"] == privacy_version()
    assert record(client, me, trip("bus")).status_code == 201
    withdrawn = client.delete("/api/v1/me/consents/location", headers=me.headers)
    assert withdrawn.status_code == 200 and withdrawn.json["location"] is None
    assert withdrawn.json["notice"]
    again = record(client, me, trip("rail", ended_minutes_ago=120))
    assert again.json["error"]["fields"]["trace"]


def test_withdrawing_privacy_stops_recording_until_accepted_again(client):
    me = sign_in(client)
    withdrawn = client.delete("/api/v1/me/consents/privacy", headers=me.headers)
    assert withdrawn.json["privacy_required"] is True and "注销" in withdrawn.json["notice"]
    assert record(client, me, trip("bus", trace=False)).status_code == 403
    give_consent(client, me, "privacy")
    assert upload_photo(client, me)


def test_consent_requests_are_checked(client):
    me = sign_in(client)
    assert client.post("/api/v1/me/consents", json={"scope": "privacy"}).status_code == 401
    bad = client.post(
        "/api/v1/me/consents", json={"scope": "camera", "version": ""}, headers=me.headers
    )
    assert bad.status_code == 422
    assert set(bad.json["error"]["fields"]) == {"scope", "version"}
    assert client.delete("/api/v1/me/consents/camera", headers=me.headers).status_code == 404
    assert client.delete("/api/v1/me/consents/location").status_code == 401


def test_the_export_shows_each_consent_and_its_withdrawal(client):
    me = sign_in(client)
    client.delete("/api/v1/me/consents/location", headers=me.headers)
    consents = client.get("/api/v1/me/export", headers=me.headers).json["consents"]
    assert [(c["scope"], c["version"]) for c in consents] == [
        ("privacy", privacy_version()),
        ("location", privacy_version()),
    ]
    assert consents[0]["withdrawn_at"] is None and consents[1]["withdrawn_at"].endswith("+08:00")
    assert "resident_id" in consents[0] and consents[0]["accepted_at"]


def test_deletion_needs_a_fresh_code_of_the_residents_own(client):
    me, other = sign_in(client), sign_in(client)
    missing = client.post("/api/v1/me/delete-account", json={}, headers=me.headers)
    assert missing.status_code == 422 and "code" in missing.json["error"]["fields"]
    real = request_code(client, me.phone)
    wrong = delete_account(client, me, "000000" if real != "000000" else "111111")
    # a code texted to another phone is not this resident's
    stolen = delete_account(client, me, request_code(client, other.phone))
    assert {wrong.status_code, stolen.status_code} == {401}
    assert client.get("/api/v1/me", headers=me.headers).status_code == 200
    assert delete_account(client, me).status_code == 204


def test_a_wechat_only_resident_deletes_with_a_new_login_of_the_same_wechat(client):
    body = {"code": "wx-deleting", "privacy_version": privacy_version()}
    tokens = client.post(WECHAT, json=body).json
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    other = client.post(
        "/api/v1/me/delete-account", json={"code": "wx-someone-else"}, headers=headers
    )
    assert (other.status_code, other.json["error"]["code"]) == (401, "wechat_identity_mismatch")
    deleted = client.post(
        "/api/v1/me/delete-account", json={"code": "wx-deleting"}, headers=headers
    )
    assert deleted.status_code == 204
