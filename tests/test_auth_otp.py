"""Sign-in with a phone and a texted code."""

import pytest

from tests.factories import new_phone, privacy_version, request_code, sign_in


def test_sign_in_with_code_creates_a_resident_once(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "5 per minute")
    phone = new_phone()
    first = sign_in(client, phone)
    again = sign_in(client, "+86 " + phone[:3] + "-" + phone[3:7] + " " + phone[7:])
    assert first.resident["id"] == again.resident["id"]
    assert first.resident["phone_masked"] == f"{phone[:3]}****{phone[-4:]}"
    me = client.get("/api/v1/me", headers=again.headers)
    assert me.status_code == 200
    assert me.json["id"] == first.resident["id"]


def test_code_request_answers_202_with_expiry_and_dev_code(client):
    response = client.post("/api/v1/auth/otp", json={"phone": new_phone()})
    assert response.status_code == 202
    assert response.json["expires_in"] == 300
    assert len(response.json["dev_code"]) == 6
    assert response.json["dev_code"].isdigit()


@pytest.mark.parametrize(
    "phone", ["12345678901", "1380013800", "138001380001", "abc", "", "+1 415 555 0100"]
)
def test_code_request_refuses_numbers_that_are_not_mainland_mobiles(client, phone):
    response = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert "phone" in response.json["error"]["fields"]


def test_wrong_code_is_refused_and_counts_as_a_try(client):
    phone = new_phone()
    code = request_code(client, phone)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": wrong, "privacy_version": privacy_version()},
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "otp_invalid"
    # the right code still works after one wrong try
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    assert response.status_code == 200


def test_five_wrong_codes_exhaust_the_code(client):
    phone = new_phone()
    code = request_code(client, phone)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/login",
            json={"phone": phone, "code": wrong, "privacy_version": privacy_version()},
        )
        assert response.json["error"]["code"] == "otp_invalid"
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "otp_exhausted"


def test_expired_code_is_refused(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_TTL_SECONDS", 0)
    phone = new_phone()
    code = request_code(client, phone)
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "otp_expired"


def test_code_works_once(client):
    phone = new_phone()
    code = request_code(client, phone)
    assert (
        client.post(
            "/api/v1/auth/login",
            json={"phone": phone, "code": code, "privacy_version": privacy_version()},
        ).status_code
        == 200
    )
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "otp_expired"


def test_login_without_a_requested_code_is_refused(client):
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": new_phone(), "code": "123456", "privacy_version": privacy_version()},
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "otp_expired"


def test_a_new_code_replaces_the_previous_one(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "5 per minute")
    phone = new_phone()
    old = request_code(client, phone)
    new = request_code(client, phone)
    if old != new:
        response = client.post(
            "/api/v1/auth/login",
            json={"phone": phone, "code": old, "privacy_version": privacy_version()},
        )
        assert response.json["error"]["code"] == "otp_invalid"
    assert (
        client.post(
            "/api/v1/auth/login",
            json={"phone": phone, "code": new, "privacy_version": privacy_version()},
        ).status_code
        == 200
    )


@pytest.mark.parametrize("code", ["12345", "1234567", "abcdef", 123456, None])
def test_login_refuses_malformed_codes(client, code):
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": new_phone(), "code": code, "privacy_version": privacy_version()},
    )
    assert response.status_code == 422
    assert "code" in response.json["error"]["fields"]


def test_resend_is_limited_per_phone(client):
    phone = new_phone()
    request_code(client, phone)
    response = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0
    # another phone is not affected
    assert client.post("/api/v1/auth/otp", json={"phone": new_phone()}).status_code == 202


def test_refused_requests_do_not_use_up_a_phones_allowance(client):
    phone = new_phone()
    response = client.post("/api/v1/auth/otp", json={"phone": phone, "extra": 1})
    assert response.status_code == 422
    assert client.post("/api/v1/auth/otp", json={"phone": phone}).status_code == 202


def test_code_requests_are_limited_per_ip(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_IP", "3 per hour")
    for _ in range(3):
        assert client.post("/api/v1/auth/otp", json={"phone": new_phone()}).status_code == 202
    response = client.post("/api/v1/auth/otp", json={"phone": new_phone()})
    assert response.status_code == 429
    other_ip = client.post(
        "/api/v1/auth/otp", json={"phone": new_phone()}, environ_base={"REMOTE_ADDR": "10.1.2.3"}
    )
    assert other_ip.status_code == 202


def test_login_attempts_are_limited_per_ip(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_IP", "3 per hour")
    for _ in range(3):
        client.post(
            "/api/v1/auth/login",
            json={"phone": new_phone(), "code": "123456", "privacy_version": privacy_version()},
        )
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": new_phone(), "code": "123456", "privacy_version": privacy_version()},
    )
    assert response.status_code == 429


def test_suspended_resident_cannot_sign_in(app, client, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "OTP_LIMIT_PER_PHONE", "5 per minute")
    from sqlalchemy import update

    from backend.residents.models import Resident

    signed_in = sign_in(client)
    db_session.execute(
        update(Resident).where(Resident.id == signed_in.resident["id"]).values(status="suspended")
    )
    db_session.commit()
    code = request_code(client, signed_in.phone)
    response = client.post(
        "/api/v1/auth/login",
        json={"phone": signed_in.phone, "code": code, "privacy_version": privacy_version()},
    )
    assert response.status_code == 403
    assert response.json["error"]["code"] == "account_suspended"
    # and the token it already had stops working too
    assert client.get("/api/v1/me", headers=signed_in.headers).status_code == 403
