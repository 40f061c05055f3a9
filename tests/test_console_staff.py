"""Staff management (superadmins only) and the merchant role: create with a password shown
once, change a role, reset a password, disable and enable; nobody changes their own role
or access and an active superadmin always remains; a merchant opens the verify-code page
alone and sees there nothing of the resident."""

import re

import pytest

from tests.factories import (
    STAFF_PASSWORD,
    console_post,
    console_sign_in,
    create_staff_user,
    csrf_token,
    make_reward,
    redeem,
    sign_in,
    staff_headers,
    trips_in_a_row,
)
from tests.factories import record as record_action

STAFF = "/admin/staff"
VERIFY = "/admin/redemptions/verify"
_PASSWORD = re.compile(r'<code id="shown-password">([^<]+)</code>')


def _row_id(page: str, username: str) -> int:
    return int(re.search(rf'<tr id="staff-(\d+)" data-username="{re.escape(username)}"', page)[1])


def _create(client, username: str, role: str):
    return console_post(client, STAFF, {"username": username, "role": role}, STAFF)


def _console_password_sign_in(app, username: str, password: str):
    other = app.test_client()
    token = csrf_token(other)
    response = other.post(
        "/admin/login", data={"username": username, "password": password, "csrf_token": token}
    )
    return other, response


def _api_sign_in(client, username: str, password: str):
    return client.post(
        "/api/v1/staff/auth/login", json={"username": username, "password": password}
    )


@pytest.mark.parametrize("role", ["campaign_admin", "reviewer", "analyst", "merchant"])
def test_only_a_superadmin_manages_staff(app, client, role):
    console_sign_in(app, client, role)
    assert client.get(STAFF).status_code == 403
    token = csrf_token(client, "/admin/password")
    assert client.post(STAFF, data={"csrf_token": token, "username": "x"}).status_code in (
        400,
        403,
    )
    assert _create(client, "intruder", "superadmin").status_code == 403


def test_a_new_staff_user_gets_a_password_shown_once_that_signs_in(app, client):
    console_sign_in(app, client, "superadmin")
    created = _create(client, "clerk-1", "merchant")
    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    page = created.get_data(as_text=True)
    password = _PASSWORD.search(page)[1]
    assert "只在本页显示一次" in page and "商户核销员" in page
    listing = client.get(STAFF).get_data(as_text=True)
    assert password not in listing and "clerk-1" in listing
    assert "从未" in listing  # never signed in yet
    # the password works, once given to the merchant, and lands on the verify page
    _, signed_in = _console_password_sign_in(app, "clerk-1", password)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == VERIFY
    row = re.search(
        r'<tr id="staff-\d+" data-username="clerk-1">.*?</tr>', client.get(STAFF).text, re.S
    )
    assert re.search(r'class="staff-last-sign-in">\d{4}-\d\d-\d\d \d\d:\d\d<', row[0])
    # the log says who was created, with which role, and never the password
    log = client.get("/admin/audit?q=staff_user").get_data(as_text=True)
    assert 'data-action="staff_user.create"' in log and "商户核销员" in log
    assert password not in log and "password_hash" not in log


def test_a_username_is_taken_once_and_a_role_must_exist(app, client):
    console_sign_in(app, client, "superadmin")
    assert _create(client, "twice", "reviewer").status_code == 200
    assert _create(client, "twice", "reviewer").status_code == 409
    assert _create(client, "nobody", "emperor").status_code == 422
    assert _create(client, "with space", "reviewer").status_code == 422


def test_a_reset_password_is_shown_once_and_ends_the_old_sessions(app, client):
    create_staff_user(app, "rev-reset", "reviewer")
    old_token = _api_sign_in(client, "rev-reset", STAFF_PASSWORD).json["access_token"]
    console_sign_in(app, client, "superadmin")
    staff_id = _row_id(client.get(STAFF).text, "rev-reset")
    url = f"{STAFF}/{staff_id}/password"
    assert console_post(client, url, {}, STAFF).status_code == 422  # not confirmed
    reset = console_post(client, url, {"confirm": "yes"}, STAFF)
    assert reset.status_code == 200 and reset.headers["Cache-Control"] == "no-store"
    password = _PASSWORD.search(reset.text)[1]
    old = {"Authorization": f"Bearer {old_token}"}
    assert client.get("/api/v1/staff/me", headers=old).status_code == 401
    assert _api_sign_in(client, "rev-reset", STAFF_PASSWORD).status_code == 401
    assert _api_sign_in(client, "rev-reset", password).status_code == 200
    log = client.get("/admin/audit?q=staff_user.password_reset").text
    assert 'data-key="password_changed"' in log and password not in log


def test_a_disabled_user_cannot_sign_in_and_is_signed_out_until_enabled(app, client):
    create_staff_user(app, "rev-off", "reviewer")
    old_token = _api_sign_in(client, "rev-off", STAFF_PASSWORD).json["access_token"]
    console_sign_in(app, client, "superadmin")
    staff_id = _row_id(client.get(STAFF).text, "rev-off")
    assert console_post(client, f"{STAFF}/{staff_id}/disable", {}, STAFF).status_code == 422
    disabled = console_post(client, f"{STAFF}/{staff_id}/disable", {"confirm": "yes"}, STAFF)
    assert disabled.status_code == 302
    headers = {"Authorization": f"Bearer {old_token}"}
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 401
    assert _api_sign_in(client, "rev-off", STAFF_PASSWORD).status_code == 401
    _, console_try = _console_password_sign_in(app, "rev-off", STAFF_PASSWORD)
    assert console_try.status_code == 401
    assert console_post(client, f"{STAFF}/{staff_id}/enable", {}, STAFF).status_code == 302
    assert _api_sign_in(client, "rev-off", STAFF_PASSWORD).status_code == 200
    log = client.get("/admin/audit?q=staff_user.").text
    assert 'data-action="staff_user.disable"' in log and 'data-action="staff_user.enable"' in log


def test_a_role_change_is_confirmed_and_ends_the_sessions(app, client):
    create_staff_user(app, "an-up", "analyst")
    old_token = _api_sign_in(client, "an-up", STAFF_PASSWORD).json["access_token"]
    console_sign_in(app, client, "superadmin")
    staff_id = _row_id(client.get(STAFF).text, "an-up")
    url = f"{STAFF}/{staff_id}/role"
    assert console_post(client, url, {"role": "reviewer"}, STAFF).status_code == 422
    assert (
        console_post(client, url, {"role": "reviewer", "confirm": "yes"}, STAFF).status_code == 302
    )
    headers = {"Authorization": f"Bearer {old_token}"}
    assert client.get("/api/v1/staff/me", headers=headers).status_code == 401
    token = _api_sign_in(client, "an-up", STAFF_PASSWORD).json["access_token"]
    me = client.get("/api/v1/staff/me", headers={"Authorization": f"Bearer {token}"}).json
    assert me["role"] == "reviewer"
    log = client.get("/admin/audit?q=staff_user.role").text
    assert re.search(
        r'data-key="role"><th>角色</th><td class="before">[^<]+</td><td>→</td>'
        r'<td class="after">审核员</td>',
        log,
    )


def test_a_superadmin_cannot_demote_or_disable_themselves(app, client):
    me = console_sign_in(app, client, "superadmin")
    page = client.get(STAFF).text
    my_id = _row_id(page, me)
    assert f'id="staff-disable-{my_id}"' not in page  # no buttons on one's own row
    confirm = {"confirm": "yes"}
    assert console_post(client, f"{STAFF}/{my_id}/disable", confirm, STAFF).status_code == 409
    demote = {"role": "analyst", **confirm}
    refused = console_post(client, f"{STAFF}/{my_id}/role", demote, STAFF)
    assert refused.status_code == 409 and "不能更改自己的角色" in refused.text
    assert console_post(client, f"{STAFF}/{my_id}/password", confirm, STAFF).status_code == 409
    assert client.get(STAFF).status_code == 200  # still a superadmin, still signed in


def test_the_last_active_superadmin_remains(app, client):
    from backend.extensions import db
    from backend.staff import service
    from backend.staff.models import StaffUser

    with app.app_context():
        for user in db.session.query(StaffUser).filter_by(role="superadmin"):
            user.active = False
        db.session.commit()
    create_staff_user(app, "only-root", "superadmin")
    with app.app_context():
        only = service.find_staff("only-root")
        with pytest.raises(service.Conflict) as refused:
            service.set_active(None, only.id, False)  # the CLI or a job: no actor
        assert refused.value.code == "last_superadmin"
        with pytest.raises(service.Conflict):
            service.change_role(None, only.id, "analyst")
        db.session.rollback()


def test_flask_staff_create_makes_a_merchant(app):
    result = app.test_cli_runner().invoke(args=["staff", "create", "shop-1", "--role", "merchant"])
    assert result.exit_code == 0, result.output
    assert "created merchant shop-1" in result.output and "password: " in result.output


# --- the merchant -----------------------------------------------------------------------


def _redeemed_code(app, client) -> tuple[dict, str]:
    admin = staff_headers(app, client, "campaign_admin")
    reward = make_reward(client, admin, title="鼎湖山门票", cost_points=200)
    who = sign_in(client)
    client.patch("/api/v1/me", json={"nickname": "王小明"}, headers=who.headers)
    for body in trips_in_a_row(2, "bus", ended_minutes_ago=10):
        assert record_action(client, who, body).status_code == 201
    redemption = redeem(client, who, reward)
    assert redemption.status_code == 201, redemption.json
    return redemption.json, who.phone


def test_a_merchant_verifies_a_code_and_sees_nothing_of_the_resident(app, client):
    redemption, phone = _redeemed_code(app, client)
    console_sign_in(app, client, "merchant")
    form = client.get(VERIFY)
    assert form.status_code == 200 and 'id="redemption-code"' in form.text
    nav = re.search(r"<nav.*?</nav>", form.text, re.S)[0]
    assert 'href="/admin/redemptions/verify"' in nav and 'href="/admin/rewards"' not in nav
    done = console_post(client, VERIFY, {"code": redemption["code"]}, VERIFY)
    assert done.status_code == 200
    page = done.text
    assert "鼎湖山门票" in page and 'id="result-validity"' in page and 'id="result-status"' in page
    masked = phone[:3] + "****" + phone[-4:]
    for personal in (phone, masked, "王小明", "余额", "resident"):
        assert personal not in page, personal
    again = console_post(client, VERIFY, {"code": redemption["code"]}, VERIFY)
    assert again.status_code == 409


def test_a_merchant_verifies_through_the_staff_api_too_and_nothing_else(app, client):
    redemption, _phone = _redeemed_code(app, client)
    merchant = staff_headers(app, client, "merchant")
    done = client.post(
        "/api/v1/staff/redemptions/verify", json={"code": redemption["code"]}, headers=merchant
    )
    assert done.status_code == 200, done.json
    assert set(done.json) >= {"code", "status", "reward_title"} and "resident_id" not in done.json
    for path in ("/api/v1/staff/rewards", "/api/v1/staff/campaigns", "/api/v1/staff/reviews"):
        refused = client.get(path, headers=merchant)
        assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden_role"


@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/rewards", "/admin/residents", "/admin/audit", "/admin/staff"]
)
def test_a_merchant_opens_no_other_console_page(app, client, path):
    console_sign_in(app, client, "merchant")
    assert client.get(path).status_code == 403
