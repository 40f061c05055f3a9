"""Staff sign-in for the staff API: tokens, lockout, expiry, sign-out, and what each role may do."""

import hashlib
import itertools
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.errors import Forbidden
from backend.staff import service as staff_service
from backend.staff.guard import current_staff, staff_required
from backend.staff.models import ROLES, StaffSession, StaffUser
from backend.staff.permissions import PERMISSIONS, ROLE_PERMISSIONS, role_allows
from tests.factories import sign_in

PASSWORD = "correct horse battery"
WRONG = "not the password at all"

# DESIGN.md section 1, written out by hand rather than read from backend.staff.permissions.
ALL_PERMISSIONS = [
    "review_actions",
    "manage_campaigns",
    "manage_rewards",
    "manage_residents",
    "read_stats",
    "manage_methodology",
    "manage_api_clients",
    "view_audit_log",
]
EXPECTED = {
    # superadmin: everything
    "superadmin": set(ALL_PERMISSIONS),
    # campaigns, check-in points, rewards, residents; may review; reads statistics
    "campaign_admin": {
        "manage_campaigns",
        "manage_rewards",
        "manage_residents",
        "review_actions",
        "read_stats",
    },
    # reviews photo evidence; reads statistics (analyst and above)
    "reviewer": {"review_actions", "read_stats"},
    # read-only statistics
    "analyst": {"read_stats"},
}

_names = itertools.count(1)


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def make_staff(cli, role: str = "reviewer", password: str = PASSWORD) -> str:
    username = f"staff-{role}-{next(_names)}"
    result = cli.invoke(args=["staff", "create", username, "--role", role, "--password", password])
    assert result.exit_code == 0, result.output
    return username


def login(client, username: str, password: str = PASSWORD, **kwargs):
    body = {"username": username, "password": password}
    return client.post("/api/v1/staff/auth/login", json=body, **kwargs)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_for(client, username: str) -> str:
    response = login(client, username)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def error_code(response) -> str:
    return response.json["error"]["code"]


# Signing in


def test_sign_in_returns_a_bearer_token_that_opens_the_staff_api(cli, client):
    username = make_staff(cli, "campaign_admin")
    response = login(client, username)
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"access_token", "token_type", "expires_in", "staff"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 8 * 3600
    assert set(body["staff"]) == {"id", "username", "role"}
    assert body["staff"]["username"] == username
    assert body["staff"]["role"] == "campaign_admin"

    me = client.get("/api/v1/staff/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["id"] == body["staff"]["id"]
    assert me.json["username"] == username
    assert me.json["role"] == "campaign_admin"


def test_only_a_digest_of_the_token_is_stored(cli, client, db_session):
    username = make_staff(cli)
    token = token_for(client, username)
    stored = db_session.scalars(select(StaffSession.token_hash)).all()
    assert token not in stored
    assert hashlib.sha256(token.encode()).hexdigest() in stored


def test_two_sign_ins_get_different_tokens(cli, client):
    username = make_staff(cli)
    assert token_for(client, username) != token_for(client, username)


def test_wrong_password_and_unknown_username_get_the_same_answer(cli, client):
    username = make_staff(cli)
    for language in ("zh", "en"):
        headers = {"Accept-Language": language}
        wrong = login(client, username, WRONG, headers=headers)
        unknown = login(client, "nobody-by-this-name", PASSWORD, headers=headers)
        assert wrong.status_code == unknown.status_code == 401
        assert error_code(wrong) == error_code(unknown) == "invalid_credentials"
        assert wrong.json["error"]["message"] == unknown.json["error"]["message"]
    assert unknown.json["error"]["message"] == "The username or password is wrong."


def test_an_unknown_username_still_costs_a_password_check(cli, client, monkeypatch):
    checked = []
    real_check = staff_service.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash)
        return real_check(pwhash, password)

    monkeypatch.setattr(staff_service, "check_password_hash", spy)
    assert login(client, "nobody-by-this-name").status_code == 401
    assert len(checked) == 1
    assert checked[0].startswith("scrypt:")


def test_an_inactive_user_is_refused_like_a_wrong_password_and_loses_their_sessions(
    cli, client, db_session
):
    username = make_staff(cli)
    token = token_for(client, username)
    db_session.execute(update(StaffUser).where(StaffUser.username == username).values(active=False))
    db_session.commit()

    response = login(client, username)
    assert response.status_code == 401
    assert error_code(response) == "invalid_credentials"
    me = client.get("/api/v1/staff/me", headers=bearer(token))
    assert me.status_code == 401
    assert error_code(me) == "token_invalid"


def test_sign_in_refuses_bad_bodies(client):
    missing = client.post("/api/v1/staff/auth/login", json={"username": "x"})
    assert missing.status_code == 422
    assert "password" in missing.json["error"]["fields"]
    unknown_field = client.post(
        "/api/v1/staff/auth/login", json={"username": "x", "password": "y", "role": "superadmin"}
    )
    assert unknown_field.status_code == 422
    assert "role" in unknown_field.json["error"]["fields"]


def test_sign_in_is_rate_limited_per_client_ip(app, cli, client, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_LOGIN_LIMIT_PER_IP", "2 per hour")
    username = make_staff(cli)
    assert login(client, username).status_code == 200
    assert login(client, username, WRONG).status_code == 401
    limited = login(client, username)
    assert limited.status_code == 429
    assert error_code(limited) == "rate_limited"


# Lockout


def test_five_failures_lock_the_account_even_against_the_right_password(cli, client):
    username = make_staff(cli)
    for _ in range(5):
        response = login(client, username, WRONG)
        assert error_code(response) == "invalid_credentials"

    locked = login(client, username)
    assert locked.status_code == 401
    assert error_code(locked) == "staff_locked"
    assert "access_token" not in locked.json
    assert error_code(login(client, username, WRONG)) == "staff_locked"


def test_the_lock_ends_after_the_lockout_period(cli, client, clock):
    username = make_staff(cli)
    for _ in range(5):
        login(client, username, WRONG)
    assert error_code(login(client, username)) == "staff_locked"

    clock.shift(timedelta(seconds=901))
    # the lock has gone and the count starts again: one slip does not lock at once
    assert error_code(login(client, username, WRONG)) == "invalid_credentials"
    assert login(client, username).status_code == 200


def test_a_zero_lockout_period_never_keeps_the_right_password_out(app, cli, client, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_LOCKOUT_SECONDS", 0)
    username = make_staff(cli)
    for _ in range(6):
        assert error_code(login(client, username, WRONG)) == "invalid_credentials"
    assert login(client, username).status_code == 200


def test_the_failure_limit_is_configurable(app, cli, client, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_MAX_FAILED_LOGINS", 2)
    username = make_staff(cli)
    for _ in range(2):
        assert error_code(login(client, username, WRONG)) == "invalid_credentials"
    assert error_code(login(client, username)) == "staff_locked"


def test_a_successful_sign_in_resets_the_failure_count(cli, client):
    username = make_staff(cli)
    for _ in range(4):
        login(client, username, WRONG)
    assert login(client, username).status_code == 200
    for _ in range(4):
        login(client, username, WRONG)
    assert login(client, username).status_code == 200


def test_failures_of_one_account_do_not_lock_another(cli, client):
    target, bystander = make_staff(cli), make_staff(cli)
    for _ in range(5):
        login(client, target, WRONG)
    assert login(client, bystander).status_code == 200


# Tokens


def test_requests_without_a_token_get_a_staff_bearer_challenge(client):
    response = client.get("/api/v1/staff/me")
    assert response.status_code == 401
    assert error_code(response) == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="staff"'


def test_an_unknown_token_is_refused(client):
    response = client.get("/api/v1/staff/me", headers=bearer("not-a-token"))
    assert response.status_code == 401
    assert error_code(response) == "token_invalid"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="staff"'


def test_an_expired_token_is_refused(app, cli, client, monkeypatch):
    monkeypatch.setitem(app.config, "STAFF_TOKEN_TTL_SECONDS", 0)
    username = make_staff(cli)
    response = login(client, username)
    assert response.json["expires_in"] == 0
    me = client.get("/api/v1/staff/me", headers=bearer(response.json["access_token"]))
    assert me.status_code == 401
    assert error_code(me) == "token_expired"
    assert me.headers["WWW-Authenticate"] == 'Bearer realm="staff"'


def test_sign_out_revokes_only_that_token(cli, client):
    username = make_staff(cli)
    token, other_device = token_for(client, username), token_for(client, username)
    response = client.post("/api/v1/staff/auth/logout", headers=bearer(token))
    assert response.status_code == 204
    assert response.data == b""

    me = client.get("/api/v1/staff/me", headers=bearer(token))
    assert me.status_code == 401
    assert error_code(me) == "token_invalid"
    assert client.post("/api/v1/staff/auth/logout", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/staff/me", headers=bearer(other_device)).status_code == 200


def test_a_resident_token_is_not_a_staff_token(cli, client):
    resident = sign_in(client)
    response = client.get("/api/v1/staff/me", headers=resident.headers)
    assert response.status_code == 401
    assert error_code(response) == "token_invalid"
    logout = client.post("/api/v1/staff/auth/logout", headers=resident.headers)
    assert logout.status_code == 401
    # nor is a staff token a resident's
    staff_token = token_for(client, make_staff(cli, "superadmin"))
    assert client.get("/api/v1/me", headers=bearer(staff_token)).status_code == 401


# Roles and permissions


@pytest.mark.parametrize("role", ["superadmin", "campaign_admin", "reviewer", "analyst"])
def test_me_lists_the_permissions_of_the_role(cli, client, role):
    token = token_for(client, make_staff(cli, role))
    me = client.get("/api/v1/staff/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json["role"] == role
    assert set(me.json["permissions"]) == EXPECTED[role]
    assert len(me.json["permissions"]) == len(EXPECTED[role])


@pytest.mark.parametrize("role", ["superadmin", "campaign_admin", "reviewer", "analyst"])
def test_the_guard_lets_through_exactly_the_roles_permissions(app, cli, client, role):
    username = make_staff(cli, role)
    token = token_for(client, username)
    for permission in ALL_PERMISSIONS:

        @staff_required(permission)
        def view():
            return current_staff().username

        with app.test_request_context(headers=bearer(token)):
            if permission in EXPECTED[role]:
                assert view() == username, permission
            else:
                with pytest.raises(Forbidden) as refused:
                    view()
                assert refused.value.status == 403
                assert refused.value.code == "forbidden_role", permission


@pytest.mark.parametrize("role", ["superadmin", "campaign_admin", "reviewer", "analyst"])
@pytest.mark.parametrize("permission", ALL_PERMISSIONS)
def test_role_allows_follows_the_design(role, permission):
    assert role_allows(role, permission) is (permission in EXPECTED[role])


def test_the_table_covers_every_role_and_no_unlisted_permission():
    assert set(ROLE_PERMISSIONS) == set(ROLES) == set(EXPECTED)
    assert set(PERMISSIONS) == set(ALL_PERMISSIONS)


def test_unknown_roles_may_do_nothing_and_unknown_permissions_are_refused_early():
    assert not role_allows("emperor", "read_stats")
    with pytest.raises(ValueError, match="unknown staff permission"):
        role_allows("superadmin", "launch_rockets")
    with pytest.raises(ValueError, match="unknown staff permission"):
        staff_required("launch_rockets")


def test_the_staff_api_is_documented_with_its_security_scheme(client):
    spec = client.get("/api/openapi.json").json
    assert spec["components"]["securitySchemes"]["staff"]["scheme"] == "bearer"
    assert "post" in spec["paths"]["/api/v1/staff/auth/login"]
    assert "post" in spec["paths"]["/api/v1/staff/auth/logout"]
    me = spec["paths"]["/api/v1/staff/me"]["get"]
    assert me["security"] == [{"staff": []}]
