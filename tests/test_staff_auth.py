"""Staff sign-in for the staff API: tokens, throttling (never a lock), expiry, sign-out, and
what each role may do."""

import hashlib
import itertools
import time
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from backend.errors import Forbidden
from backend.staff import service as staff_service
from backend.staff.guard import current_staff, staff_required
from backend.staff.models import ROLES, StaffSession, StaffSignInThrottle, StaffUser
from backend.staff.permissions import PERMISSIONS, ROLE_PERMISSIONS, role_allows
from tests.factories import TOTP_SECRETS, create_staff_user, fresh_totp_code, run_worker, sign_in

PASSWORD = "correct horse battery"
WRONG = "not the password at all"

# DESIGN.md section 1, written out by hand rather than read from backend.staff.permissions.
ALL_PERMISSIONS = [
    "review_actions",
    "manage_campaigns",
    "manage_organizations",
    "manage_rewards",
    "manage_residents",
    "read_stats",
    "manage_methodology",
    "manage_api_clients",
    "view_audit_log",
    "manage_staff",
    "verify_redemptions",
]
EXPECTED = {
    # superadmin: everything
    "superadmin": set(ALL_PERMISSIONS),
    # campaigns, check-in points, organisations, rewards, residents; may review; reads
    # statistics
    "campaign_admin": {
        "manage_campaigns",
        "manage_organizations",
        "manage_rewards",
        "verify_redemptions",
        "manage_residents",
        "review_actions",
        "read_stats",
    },
    # reviews photo evidence; reads statistics (analyst and above)
    "reviewer": {"review_actions", "read_stats"},
    # read-only statistics
    "analyst": {"read_stats"},
    # a shop's clerk: verifies redemption codes, nothing else
    "merchant": {"verify_redemptions"},
}

_names = itertools.count(1)


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


def make_staff(cli, role: str = "reviewer", password: str = PASSWORD) -> str:
    username = f"staff-{role}-{next(_names)}"
    create_staff_user(cli.app, username, role, password)
    return username


def login(client, username: str, password: str = PASSWORD, **kwargs):
    body = {"username": username, "password": password}
    return client.post("/api/v1/staff/auth/login", json=body, **kwargs)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_for(client, username: str) -> str:
    code = {"totp_code": fresh_totp_code(username)} if username in TOTP_SECRETS else {}
    response = client.post(
        "/api/v1/staff/auth/login", json={"username": username, "password": PASSWORD, **code}
    )
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def error_code(response) -> str:
    return response.json["error"]["code"]


def clock_now() -> datetime:
    return datetime.now(UTC)


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


# Throttling: failures slow further tries, never lock (issue 20, attack 4)

ATTACKER = "198.51.100.66"
OFFICE = "203.0.113.10"
ELSEWHERE = "192.0.2.77"


def from_address(address: str) -> dict:
    return {"environ_overrides": {"REMOTE_ADDR": address}}


class Superadmin:
    """The real superadmin: password and authenticator (a code of a step not used yet)."""

    def __init__(self, app, client, clock):
        self.clock = clock
        self.username = f"real-super-{next(_names)}"
        self.secret = create_staff_user(app, self.username, "superadmin", PASSWORD)
        self.client = client
        self.last_step = None

    def code(self) -> str:
        step = int(time.time()) // 30
        if self.last_step is not None and step <= self.last_step:
            # a new code appears every 30 s: the user waits for the next
            self.clock.shift(timedelta(seconds=30 * (self.last_step + 1) - time.time()))
            step = self.last_step + 1
        self.last_step = step
        return pyotp.TOTP(self.secret).generate_otp(step)

    def login(self, address: str):
        body = {"username": self.username, "password": PASSWORD, "totp_code": self.code()}
        return self.client.post("/api/v1/staff/auth/login", json=body, **from_address(address))


CHEAP = "pbkdf2:sha256:1"


@pytest.fixture
def frozen(clock):
    """The clock stands still: a wait of 1 s must not pass while a slow machine checks."""
    clock.move_to(clock_now(), tick=False)
    return clock


@pytest.fixture
def cheap_hashes(db_session, monkeypatch):
    """Tests of many wrong passwords check them against one-round hashes (each scrypt check
    costs ~0.1 s): the throttle is what they test, and it never looks at the hash."""
    monkeypatch.setattr(
        staff_service, "_dummy_password_hash", lambda: generate_password_hash("x", CHEAP)
    )

    def cheapen(username: str) -> None:
        db_session.execute(
            update(StaffUser)
            .where(StaffUser.username == username)
            .values(password_hash=generate_password_hash(PASSWORD, CHEAP))
        )
        db_session.commit()

    return cheapen


def wrong_passwords(client, clock, username: str, count: int, address: str) -> list[int]:
    """`count` wrong passwords from `address`, each after waiting out the throttle as a
    patient attacker would; the Retry-After of every refusal on the way."""
    waits = []
    failures = 0
    while failures < count:
        response = login(client, username, WRONG, **from_address(address))
        if response.status_code == 429:
            assert error_code(response) == "sign_in_throttled"
            waits.append(int(response.headers["Retry-After"]))
            clock.shift(timedelta(seconds=waits[-1]))
            continue
        assert error_code(response) == "invalid_credentials"
        failures += 1
    return waits


def test_attack_4_wrong_passwords_for_the_superadmin_never_lock_the_real_one_out(
    app, client, clock, cheap_hashes
):
    clock.move_to(clock_now(), tick=False)
    real = Superadmin(app, client, clock)
    cheap_hashes(real.username)
    assert real.login(OFFICE).status_code == 200  # the office address the user signs in from
    done, all_waits = 0, []
    for total in (5, 20, 100):
        all_waits += wrong_passwords(client, clock, real.username, total - done, ATTACKER)
        done = total
        # the attacker's next try must wait, and is refused without any check
        refused = login(client, real.username, PASSWORD, **from_address(ATTACKER))
        assert refused.status_code == 429
        assert error_code(refused) == "sign_in_throttled"
        attacker_wait = int(refused.headers["Retry-After"])
        assert attacker_wait == min(900, 2 ** (total - 4))
        # the real superadmin, from the office: at once
        assert real.login(OFFICE).status_code == 200, total
        # ... and from an address never used: at once, or after the small cap at most
        fresh = real.login(f"192.0.2.{total}")
        if fresh.status_code == 429:
            assert int(fresh.headers["Retry-After"]) <= 30
            clock.shift(timedelta(seconds=int(fresh.headers["Retry-After"])))
            fresh = real.login(f"192.0.2.{total}")
        assert fresh.status_code == 200, (total, fresh.json)
    # the attacker waited longer and longer: 1, 2, 4 ... seconds, up to 15 minutes
    assert all_waits[0] == 1
    assert max(all_waits) == 900


def test_the_attackers_waits_double_after_three_free_failures(client, cli, clock, cheap_hashes):
    clock.move_to(clock_now(), tick=False)
    username = make_staff(cli)
    cheap_hashes(username)
    answers = []
    while len(answers) < 13:
        response = login(client, username, WRONG, **from_address(ATTACKER))
        if response.status_code == 429:
            answers.append(int(response.headers["Retry-After"]))
            clock.shift(timedelta(seconds=answers[-1]))
        else:
            answers.append(response.status_code)
    assert answers == [401, 401, 401, 401, 1, 401, 2, 401, 4, 401, 8, 401, 16]


def test_a_throttled_try_checks_nothing_not_even_the_right_password(
    cli, client, clock, monkeypatch, frozen
):
    username = make_staff(cli)
    for _ in range(4):
        login(client, username, WRONG)
    checked = []
    real_check = staff_service.check_password_hash
    monkeypatch.setattr(
        staff_service, "check_password_hash", lambda *a: checked.append(1) or real_check(*a)
    )
    refused = login(client, username)
    assert refused.status_code == 429
    assert "access_token" not in refused.json
    assert checked == []
    clock.shift(timedelta(seconds=1))
    assert login(client, username).status_code == 200


def test_known_and_unknown_usernames_get_identical_answers_all_the_way(
    cli, client, clock, db_session, cheap_hashes
):
    clock.move_to(clock_now(), tick=False)
    known, suspended = make_staff(cli), make_staff(cli)
    cheap_hashes(known)
    cheap_hashes(suspended)
    db_session.execute(
        update(StaffUser).where(StaffUser.username == suspended).values(active=False)
    )
    db_session.commit()
    answers = {}
    for n, username in enumerate((known, suspended, "nobody-by-this-name")):
        seen = []
        for _ in range(14):
            response = login(client, username, WRONG, **from_address(f"198.51.100.{n}"))
            seen.append((response.status_code, response.json, response.headers.get("Retry-After")))
            if response.status_code == 429:
                clock.shift(timedelta(seconds=int(response.headers["Retry-After"])))
        answers[username] = seen
    assert answers[known] == answers[suspended] == answers["nobody-by-this-name"]
    assert {code for code, _body, _wait in answers[known]} == {401, 429}
    # the suspended user's right password gets the wrong password's answer too
    clock.shift(timedelta(hours=1))
    right = login(client, suspended, **from_address(ELSEWHERE))
    assert right.status_code == 401
    assert error_code(right) == "invalid_credentials"


def test_a_success_clears_the_count_of_its_address(cli, client, frozen):
    username = make_staff(cli)
    for _ in range(3):
        assert error_code(login(client, username, WRONG)) == "invalid_credentials"
    assert login(client, username).status_code == 200
    for _ in range(3):
        assert error_code(login(client, username, WRONG)) == "invalid_credentials"
    assert login(client, username).status_code == 200


def test_failures_of_one_account_do_not_slow_another(cli, client, frozen):
    target, bystander = make_staff(cli), make_staff(cli)
    for _ in range(4):
        login(client, target, WRONG)
    assert login(client, target).status_code == 429
    assert login(client, bystander).status_code == 200


def test_failures_spread_over_many_addresses_slow_the_username_a_little(
    cli, client, clock, cheap_hashes
):
    clock.move_to(clock_now(), tick=False)
    username = make_staff(cli)
    cheap_hashes(username)
    for n in range(10):  # one try from each of ten addresses: all free
        assert login(client, username, WRONG, **from_address(f"10.0.0.{n}")).status_code == 401
    # the username's own count: each further failure from anywhere delays the next try
    for n, wait in enumerate((1, 2, 4, 8, 16, 30, 30)):
        assert login(client, username, WRONG, **from_address(f"10.0.1.{n}")).status_code == 401
        refused = login(client, username, **from_address(ELSEWHERE))
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(wait)
        clock.shift(timedelta(seconds=wait))
    assert login(client, username, **from_address(ELSEWHERE)).status_code == 200


def test_failures_are_forgotten_a_day_after_the_last(cli, client, clock, frozen):
    username = make_staff(cli)
    for _ in range(4):
        login(client, username, WRONG)
    clock.shift(timedelta(hours=24, seconds=1))
    for _ in range(3):  # a full allowance of free failures again
        assert error_code(login(client, username, WRONG)) == "invalid_credentials"
    assert login(client, username).status_code == 200


def test_a_try_whose_clock_reads_a_moment_earlier_is_not_told_to_wait(client, clock, frozen):
    """Workers read the clock before they take their turn: the try served second may have
    read it a millisecond before the first. Within the free failures, no try waits."""
    first = clock_now()
    for n in range(3):
        clock.move_to(first - timedelta(milliseconds=n), tick=False)
        response = login(client, f"earlier-{n}", WRONG, **from_address(ATTACKER))
        assert error_code(response) == "invalid_credentials", n


def test_one_address_trying_many_usernames_is_slowed(cli, client, clock, cheap_hashes):
    clock.move_to(clock_now(), tick=False)
    for n in range(20):  # spraying: one wrong password for each of 20 usernames, all free
        assert error_code(login(client, f"guess-{n}", WRONG, **from_address(ATTACKER))) == (
            "invalid_credentials"
        )
    assert login(client, "guess-20", WRONG, **from_address(ATTACKER)).status_code == 401
    refused = login(client, "guess-21", WRONG, **from_address(ATTACKER))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    # staff elsewhere are not slowed by it
    assert login(client, make_staff(cli), **from_address(OFFICE)).status_code == 200


def test_the_thresholds_are_settings(app, cli, client, monkeypatch, frozen):
    monkeypatch.setitem(app.config, "STAFF_THROTTLE_FREE_FAILURES", 0)
    monkeypatch.setitem(app.config, "STAFF_THROTTLE_BASE_SECONDS", 7)
    username = make_staff(cli)
    assert error_code(login(client, username, WRONG)) == "invalid_credentials"
    refused = login(client, username)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "7"


def test_ipv6_addresses_of_one_slash_64_count_as_one(cli, client, frozen):
    username = make_staff(cli)
    for n in range(4):
        login(client, username, WRONG, **from_address(f"2001:db8:1:2::{n + 1}"))
    assert login(client, username, **from_address("2001:db8:1:2::99")).status_code == 429
    assert login(client, username, **from_address("2001:db8:1:3::1")).status_code == 200


def test_the_counters_name_no_username_and_no_address(cli, client, db_session):
    username = make_staff(cli)
    login(client, username, WRONG, **from_address(ATTACKER))
    rows = db_session.execute(select(StaffSignInThrottle)).scalars().all()
    assert len(rows) == 3  # the username, the address, and both
    stored = repr([(row.key, row.failures) for row in rows])
    assert username not in stored and ATTACKER not in stored


def test_the_worker_forgets_stale_counters(cli, client, clock, db_session):
    username = make_staff(cli)
    login(client, username, WRONG)
    clock.shift(timedelta(days=2))
    run_worker(client)
    db_session.expire_all()
    assert db_session.execute(select(StaffSignInThrottle)).scalars().all() == []


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


@pytest.mark.parametrize(
    "role", ["superadmin", "campaign_admin", "reviewer", "analyst", "merchant"]
)
def test_me_lists_the_permissions_of_the_role(cli, client, role):
    token = token_for(client, make_staff(cli, role))
    me = client.get("/api/v1/staff/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json["role"] == role
    assert set(me.json["permissions"]) == EXPECTED[role]
    assert len(me.json["permissions"]) == len(EXPECTED[role])


@pytest.mark.parametrize(
    "role", ["superadmin", "campaign_admin", "reviewer", "analyst", "merchant"]
)
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


@pytest.mark.parametrize(
    "role", ["superadmin", "campaign_admin", "reviewer", "analyst", "merchant"]
)
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
