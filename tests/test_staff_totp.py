"""TOTP second factor: required for superadmins at both doors (staff API, console), enrolled
in the console (QR code + key, confirmed by a code), codes never accepted twice, wrong
codes throttled like wrong passwords, reset from the command line."""

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select

from backend.audit.models import AuditEntry
from backend.staff.models import StaffUser
from tests.factories import STAFF_PASSWORD, create_staff_user, csrf_token

_n = iter(range(1, 10_000))


def code(secret: str, steps_ahead: int = 0) -> str:
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def api_login(client, username: str, totp_code: str | None = None, password=STAFF_PASSWORD):
    body = {"username": username, "password": password}
    if totp_code is not None:
        body["totp_code"] = totp_code
    return client.post("/api/v1/staff/auth/login", json=body)


def error_code(response) -> str:
    return response.json["error"]["code"]


@pytest.fixture
def frozen(clock):
    clock.move_to(datetime.now(UTC), tick=False)
    return clock


@pytest.fixture
def superadmin(app, frozen):
    username = f"totp-super-{next(_n)}"
    return username, create_staff_user(app, username, "superadmin")


# The staff API


def test_a_superadmin_needs_a_fresh_code_at_the_api(client, superadmin, frozen):
    username, secret = superadmin
    assert error_code(api_login(client, username)) == "totp_required"
    assert error_code(api_login(client, username, "000000")) == "totp_invalid"
    first = code(secret)
    assert api_login(client, username, first).status_code == 200
    # the same code again, within its window: refused (a replay)
    replay = api_login(client, username, first)
    assert replay.status_code == 401
    assert error_code(replay) == "totp_invalid"
    # still refused later in its window; the next step's code works
    frozen.shift(timedelta(seconds=30))
    assert error_code(api_login(client, username, first)) == "totp_invalid"
    assert api_login(client, username, code(secret)).status_code == 200


def test_a_wrong_password_with_a_right_code_is_a_wrong_password(client, superadmin):
    username, secret = superadmin
    response = api_login(client, username, code(secret), password="not the password at all")
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"


def test_codes_are_accepted_one_step_either_side_only(client, superadmin):
    username, secret = superadmin
    assert error_code(api_login(client, username, code(secret, -2))) == "totp_invalid"
    assert error_code(api_login(client, username, code(secret, 2))) == "totp_invalid"
    assert api_login(client, username, code(secret, -1)).status_code == 200
    assert api_login(client, username, code(secret, 1)).status_code == 200
    # a code older than the last one accepted is refused, though within the drift
    assert error_code(api_login(client, username, code(secret))) == "totp_invalid"


def test_wrong_codes_are_throttled_like_wrong_passwords(client, superadmin, frozen):
    username, secret = superadmin
    for _ in range(4):
        assert error_code(api_login(client, username, "123456")) == "totp_invalid"
    throttled = api_login(client, username, code(secret))
    assert throttled.status_code == 429
    assert error_code(throttled) == "sign_in_throttled"
    frozen.shift(timedelta(seconds=int(throttled.headers["Retry-After"])))
    assert api_login(client, username, code(secret)).status_code == 200


def test_a_superadmin_without_a_second_factor_enrols_in_the_console_first(app, client):
    username = f"bare-super-{next(_n)}"
    result = app.test_cli_runner().invoke(
        args=["staff", "create", username, "--role", "superadmin", "--password", STAFF_PASSWORD]
    )
    assert result.exit_code == 0 and "totp" not in result.output
    response = api_login(client, username)
    assert response.status_code == 401
    assert error_code(response) == "totp_enrolment_required"
    # a wrong password says nothing about the second factor
    assert error_code(api_login(client, username, password="nope nope nope")) == (
        "invalid_credentials"
    )


def test_other_roles_enrolled_at_creation_need_a_code_too(app, client, frozen):
    username = f"totp-reviewer-{next(_n)}"
    args = ["staff", "create", username, "--role", "reviewer", "--password", STAFF_PASSWORD]
    result = app.test_cli_runner().invoke(args=[*args, "--totp"])
    secret = re.search(r"totp secret: (\S+)", result.output).group(1)
    assert error_code(api_login(client, username)) == "totp_required"
    assert api_login(client, username, code(secret)).status_code == 200


def test_the_secret_is_stored_encrypted(app, superadmin, db_session):
    username, secret = superadmin
    stored = db_session.scalar(select(StaffUser.totp_secret).where(StaffUser.username == username))
    assert stored and secret not in stored
    entries = db_session.scalars(select(AuditEntry)).all()
    assert not any(secret in json.dumps([e.before, e.after]) for e in entries)


# The console


def console_password_step(client, username: str):
    return client.post(
        "/admin/login",
        data={"username": username, "password": STAFF_PASSWORD, "csrf_token": csrf_token(client)},
    )


def test_console_sign_in_takes_a_code_after_the_password(client, superadmin, frozen):
    username, secret = superadmin
    step = console_password_step(client, username)
    assert step.status_code == 302 and step.headers["Location"] == "/admin/login/code"
    # no page opens before the code
    assert client.get("/admin/").headers["Location"].startswith("/admin/login")
    page = client.get("/admin/login/code")
    assert "两步验证" in page.get_data(as_text=True)
    token = csrf_token(client, "/admin/login/code")
    wrong = client.post("/admin/login/code", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 401
    assert "验证码错误或已被使用" in wrong.get_data(as_text=True)
    good = code(secret)
    right = client.post("/admin/login/code", data={"code": good, "csrf_token": token})
    assert right.status_code == 302 and right.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # the code just used opens nothing else, at either door
    other = client.application.test_client()
    console_password_step(other, username)
    replay = other.post(
        "/admin/login/code",
        data={"code": good, "csrf_token": csrf_token(other, "/admin/login/code")},
    )
    assert replay.status_code == 401
    assert error_code(api_login(client, username, good)) == "totp_invalid"


def test_the_code_step_expires_with_the_password_step(client, superadmin, frozen):
    username, secret = superadmin
    console_password_step(client, username)
    token = csrf_token(client, "/admin/login/code")
    frozen.shift(timedelta(seconds=301))
    late = client.post("/admin/login/code", data={"code": code(secret), "csrf_token": token})
    assert late.status_code == 302 and late.headers["Location"] == "/admin/login"
    assert client.get("/admin/").status_code == 302


def test_the_code_step_needs_the_password_step(client):
    assert client.get("/admin/login/code").headers["Location"] == "/admin/login"
    assert client.get("/admin/login/totp").headers["Location"] == "/admin/login"
    assert client.get("/admin/login/totp.svg").status_code == 404


def test_a_superadmin_without_a_second_factor_enrols_before_anything_else(
    app, client, frozen, db_session
):
    username = f"enrol-super-{next(_n)}"
    app.test_cli_runner().invoke(
        args=["staff", "create", username, "--role", "superadmin", "--password", STAFF_PASSWORD]
    )
    step = console_password_step(client, username)
    assert step.headers["Location"] == "/admin/login/totp"
    assert client.get("/admin/").headers["Location"].startswith("/admin/login")
    assert client.get("/admin/login/code").headers["Location"] == "/admin/login/totp"
    page = client.get("/admin/login/totp")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "设置两步验证" in html
    assert '<img id="totp-qr" src="/admin/login/totp.svg"' in html
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', html).group(1)
    secret = secret.replace(" ", "")
    # the same secret on a second visit (the QR code may already be scanned)
    again = client.get("/admin/login/totp").get_data(as_text=True)
    assert secret in again.replace(" ", "")
    qr = client.get("/admin/login/totp.svg")
    assert qr.status_code == 200
    assert qr.headers["Content-Type"] == "image/svg+xml"
    assert qr.headers["Cache-Control"] == "no-store"
    assert qr.data.lstrip().startswith(b"<?xml") and b"<svg" in qr.data
    # no inline script on the sign-in pages (the CSP allows only the app's own files)
    for path in ("/admin/login", "/admin/login/totp"):
        text = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\ssrc=)", text), path
        assert not re.search(r"\son[a-z]+=", text), path

    token = csrf_token(client, "/admin/login/totp")
    wrong = client.post("/admin/login/totp", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 401
    assert client.get("/admin/").status_code == 302
    done = client.post("/admin/login/totp", data={"code": code(secret), "csrf_token": token})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # enrolled: the API now takes the next code from the same authenticator
    frozen.shift(timedelta(seconds=30))
    assert api_login(client, username, code(secret)).status_code == 200
    db_session.expire_all()
    enrolled = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff_user.totp_enrol")
    ).all()
    assert [e.after["username"] for e in enrolled] == [username]
    assert enrolled[0].before["totp_enrolled_at"] is None


def test_reset_totp_removes_the_factor_ends_sessions_and_is_audited(
    app, client, superadmin, db_session
):
    username, secret = superadmin
    token = api_login(client, username, code(secret)).json["access_token"]
    result = app.test_cli_runner().invoke(args=["staff", "reset-totp", username])
    assert result.exit_code == 0, result.output
    me = client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 401
    assert error_code(api_login(client, username)) == "totp_enrolment_required"
    db_session.expire_all()
    entry = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action == "staff_user.totp_reset")
    ).one()
    assert entry.staff_username == "system"
    assert entry.before["totp_enrolled_at"] is not None
    assert entry.after["totp_enrolled_at"] is None
    unknown = app.test_cli_runner().invoke(args=["staff", "reset-totp", "nobody-here"])
    assert unknown.exit_code != 0 and "no staff user" in unknown.output
