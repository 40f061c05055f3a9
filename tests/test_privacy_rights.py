"""Residents' rights (PIPL): a copy of their data, deletion of their account, retention."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from backend.auth.models import OtpChallenge
from points.photos.models import Photo
from tests.factories import (
    delete_account,
    make_campaign,
    record,
    request_code,
    sign_in,
    staff_headers,
    trip,
    upload_photo,
)


def test_export_holds_everything_about_the_resident_and_nothing_of_others(app, client):
    me, other = sign_in(client), sign_in(client)
    client.patch(
        "/api/v1/me", json={"nickname": "我自己", "district_code": "441202"}, headers=me.headers
    )
    record(client, me, trip("bus"))
    record(client, other, trip("walk", 2, 30))
    photo = upload_photo(client, me)
    campaign = make_campaign(client, staff_headers(app, client, "campaign_admin"))
    client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=me.headers)
    data = client.get("/api/v1/me/export", headers=me.headers)
    assert data.status_code == 200
    body = data.json
    assert body["profile"]["phone"] == me.phone  # their own number, to them
    assert body["profile"]["nickname"] == "我自己"
    assert [a["variant"] for a in body["actions"]] == ["bus"]
    assert {e["kind"] for e in body["ledger"]} >= {"earn"}
    assert body["account"]["balance"] == sum(e["delta"] for e in body["ledger"])
    assert [p["id"] for p in body["photos"]] == [photo]
    assert [e["campaign_id"] for e in body["campaign_enrolments"]] == [campaign["id"]]
    assert other.phone not in data.get_data(as_text=True)
    text = data.get_data(as_text=True)
    for secret in ("phone_hmac", "phone_encrypted", "access_token_hash", "storage_key"):
        assert secret not in text


def test_deleting_an_account_erases_identity_and_keeps_the_ledger_consistent(
    app, client, db_session
):
    me = sign_in(client)
    client.patch("/api/v1/me", json={"nickname": "要删除的人"}, headers=me.headers)
    record(client, me, trip("bus"))
    photo_id = upload_photo(client, me)
    response = delete_account(client, me)
    assert response.status_code == 204
    # signed out everywhere
    assert client.get("/api/v1/me", headers=me.headers).status_code == 401
    assert (
        client.post("/api/v1/auth/refresh", json={"refresh_token": me.refresh_token}).status_code
        == 401
    )
    # the photo files are gone, the row keeps only its fingerprint
    photo = db_session.get(Photo, photo_id)
    assert photo.storage_key == "" and photo.thumbnail_key == ""
    # no trace of the phone or nickname is left
    from backend.residents.models import Resident

    resident = db_session.get(Resident, me.resident["id"])
    assert (resident.phone_hmac, resident.phone_encrypted, resident.phone_masked) == (
        None,
        None,
        None,
    )
    assert resident.nickname is None and resident.status == "deleted"
    # the ledger stays, and the suite checks balance = sum of entries after this test


def test_the_same_phone_signs_up_afresh_after_deletion(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "5 per minute")
    me = sign_in(client)
    record(client, me, trip("bus"))
    delete_account(client, me)
    fresh = sign_in(client, me.phone)
    assert fresh.resident["id"] != me.resident["id"]
    assert client.get("/api/v1/me/account", headers=fresh.headers).json["balance"] == 0


def test_retention_erases_old_photos_and_code_records(app, client, db_session, monkeypatch):
    me = sign_in(client)
    old_photo, new_photo = upload_photo(client, me, seed=1), upload_photo(client, me, seed=2)
    request_code(client, "13712340000")
    long_ago = datetime.now(UTC) - timedelta(days=400)
    db_session.execute(update(Photo).where(Photo.id == old_photo).values(created_at=long_ago))
    db_session.execute(update(OtpChallenge).values(created_at=long_ago))
    db_session.commit()
    result = app.test_cli_runner().invoke(args=["privacy", "retention"])
    assert result.exit_code == 0, result.output
    assert db_session.get(Photo, old_photo).storage_key == ""
    assert db_session.get(Photo, new_photo).storage_key != ""
    assert db_session.scalar(select(func.count()).select_from(OtpChallenge)) == 0
