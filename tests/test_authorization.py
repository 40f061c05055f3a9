"""Who may call what: one table of every route, checked for every kind of caller.

A route without a row in ROUTES fails the first test, so nothing ships unguarded by
accident. Then: residents see only their own data (another's is 404) and no body may set
a field the server owns (422, nothing changes).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest

from backend.staff.permissions import (
    MANAGE_API_CLIENTS,
    MANAGE_CAMPAIGNS,
    MANAGE_METHODOLOGY,
    MANAGE_ORGANIZATIONS,
    MANAGE_RESIDENTS,
    MANAGE_REWARDS,
    MANAGE_STAFF,
    READ_STATS,
    REVIEW_ACTIONS,
    ROLE_PERMISSIONS,
    VERIFY_REDEMPTIONS,
    VIEW_AUDIT_LOG,
    role_allows,
)
from tests.factories import (
    console_sign_in,
    create_partner,
    csrf_token,
    database_rows,
    delete_account,
    form_tokens,
    link_partner_account,
    make_campaign,
    make_reward,
    partner_signature,
    record,
    redeem,
    run_worker,
    sign_in,
    staff_headers,
    trip,
    upload_photo,
)

ROLES = sorted(ROLE_PERMISSIONS)


@dataclass(frozen=True)
class Access:
    """Who may call a route: `who` names the credential, `permission` the staff right."""

    who: str  # public | resident | partner | stats | metrics | staff | console | console_public
    permission: str | None = None
    ends_session: bool = False  # sign-out and account deletion: called on their own
    optional: bool = False  # registered only by some configurations


PUBLIC = Access("public")
RESIDENT = Access("resident")
PARTNER = Access("partner")
STATS = Access("stats", READ_STATS)
CONSOLE_PUBLIC = Access("console_public")
METRICS = Access("metrics")  # operators: a bearer of METRICS_TOKEN


def staff(permission: str | None = None, **flags) -> Access:
    return Access("staff", permission, **flags)


def console(permission: str | None = None, **flags) -> Access:
    return Access("console", permission, **flags)


# Every route of the app, as DESIGN.md section 1 and README's console table assign it.
ROUTES: dict[tuple[str, str], Access] = {
    # public
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): METRICS,
    ("GET", "/static/<path:filename>"): PUBLIC,
    ("GET", "/api/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/api/docs/assets/<path:filename>"): PUBLIC,
    ("GET", "/api/v1/districts"): PUBLIC,
    ("GET", "/api/v1/legal/privacy"): PUBLIC,
    ("GET", "/api/v1/methodology"): PUBLIC,
    ("GET", "/api/v1/partners"): PUBLIC,
    ("POST", "/api/v1/auth/otp"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/wechat"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,
    ("POST", "/api/v1/staff/auth/login"): PUBLIC,
    # residents
    ("POST", "/api/v1/auth/logout"): Access("resident", ends_session=True),
    ("GET", "/api/v1/me"): RESIDENT,
    ("PATCH", "/api/v1/me"): RESIDENT,
    ("GET", "/api/v1/me/account"): RESIDENT,
    ("GET", "/api/v1/me/ledger"): RESIDENT,
    ("GET", "/api/v1/me/badges"): RESIDENT,
    ("GET", "/api/v1/me/export"): RESIDENT,
    ("POST", "/api/v1/me/delete-account"): Access("resident", ends_session=True),
    ("POST", "/api/v1/me/phone"): Access("resident", ends_session=True),
    ("POST", "/api/v1/me/consents"): RESIDENT,
    ("DELETE", "/api/v1/me/consents/<scope>"): RESIDENT,
    ("GET", "/api/v1/me/partner-links"): RESIDENT,
    ("POST", "/api/v1/me/partner-links"): RESIDENT,
    ("DELETE", "/api/v1/me/partner-links/<int:link_id>"): RESIDENT,
    ("GET", "/api/v1/me/redemptions"): RESIDENT,
    ("POST", "/api/v1/me/redemptions/<int:redemption_id>/cancel"): RESIDENT,
    ("GET", "/api/v1/me/redemptions/<int:redemption_id>/qr.png"): RESIDENT,
    ("GET", "/api/v1/me/share-card.png"): RESIDENT,
    ("GET", "/api/v1/me/campaigns"): RESIDENT,
    ("POST", "/api/v1/organizations"): RESIDENT,
    ("POST", "/api/v1/organizations/join"): RESIDENT,
    ("GET", "/api/v1/me/organizations"): RESIDENT,
    ("DELETE", "/api/v1/me/organizations/<int:organization_id>"): RESIDENT,
    ("GET", "/api/v1/organizations/<int:organization_id>"): RESIDENT,
    ("GET", "/api/v1/organizations/<int:organization_id>/members"): RESIDENT,
    ("DELETE", "/api/v1/organizations/<int:organization_id>/members/<int:member_id>"): RESIDENT,
    ("POST", "/api/v1/organizations/<int:organization_id>/invite-code"): RESIDENT,
    ("GET", "/api/v1/organizations/<int:organization_id>/invite.png"): RESIDENT,
    ("POST", "/api/v1/me/children"): RESIDENT,
    ("GET", "/api/v1/me/children"): RESIDENT,
    ("DELETE", "/api/v1/me/children/<int:child_id>"): RESIDENT,
    ("POST", "/api/v1/me/children/<int:child_id>/actions"): RESIDENT,
    ("GET", "/api/v1/me/children/<int:child_id>/actions"): RESIDENT,
    ("GET", "/api/v1/me/checkins"): RESIDENT,
    ("GET", "/api/v1/actions"): RESIDENT,
    ("POST", "/api/v1/actions"): RESIDENT,
    ("GET", "/api/v1/actions/<int:action_id>"): RESIDENT,
    ("POST", "/api/v1/photos"): RESIDENT,
    ("GET", "/api/v1/photos/<photo_id>"): RESIDENT,
    ("GET", "/api/v1/campaigns"): RESIDENT,
    ("GET", "/api/v1/campaigns/<int:campaign_id>"): RESIDENT,
    ("GET", "/api/v1/campaigns/<int:campaign_id>/organizations"): RESIDENT,
    ("POST", "/api/v1/campaigns/<int:campaign_id>/enrol"): RESIDENT,
    ("POST", "/api/v1/checkins"): RESIDENT,
    ("GET", "/api/v1/rewards"): RESIDENT,
    ("POST", "/api/v1/rewards/<int:reward_id>/redeem"): RESIDENT,
    ("GET", "/api/v1/leaderboards/residents"): RESIDENT,
    ("GET", "/api/v1/leaderboards/districts"): RESIDENT,
    ("GET", "/api/v1/leaderboards/communities"): RESIDENT,
    ("GET", "/api/v1/leaderboards/organizations"): RESIDENT,
    # partners
    ("POST", "/api/v1/partner/events"): PARTNER,
    ("POST", "/api/v1/partner/links"): PARTNER,
    # DRB statistics: a stats key, or staff holding read_stats
    ("GET", "/api/v1/stats/summary"): STATS,
    ("GET", "/api/v1/stats/organizations"): STATS,
    ("GET", "/api/v1/stats/organizations/export.csv"): STATS,
    ("GET", "/api/v1/stats/organizations/export.xlsx"): STATS,
    ("GET", "/api/v1/stats/campaigns/<int:campaign_id>/impact"): STATS,
    ("GET", "/api/v1/stats/timeseries"): STATS,
    ("GET", "/api/v1/stats/green-travel"): STATS,
    ("GET", "/api/v1/stats/export.csv"): STATS,
    ("GET", "/api/v1/stats/export.xlsx"): STATS,
    # staff API
    ("POST", "/api/v1/staff/auth/logout"): staff(ends_session=True),
    ("GET", "/api/v1/staff/me"): staff(),
    ("GET", "/api/v1/staff/campaigns"): staff(MANAGE_CAMPAIGNS),
    ("GET", "/api/v1/staff/organizations"): staff(MANAGE_ORGANIZATIONS),
    ("POST", "/api/v1/staff/organizations"): staff(MANAGE_ORGANIZATIONS),
    ("GET", "/api/v1/staff/organizations/<int:organization_id>"): staff(MANAGE_ORGANIZATIONS),
    (
        "POST",
        "/api/v1/staff/organizations/<int:organization_id>/members/<int:resident_id>/role",
    ): staff(MANAGE_ORGANIZATIONS),
    ("POST", "/api/v1/staff/organizations/<int:organization_id>/close"): staff(
        MANAGE_ORGANIZATIONS
    ),
    ("POST", "/api/v1/staff/campaigns"): staff(MANAGE_CAMPAIGNS),
    ("GET", "/api/v1/staff/campaigns/<int:campaign_id>"): staff(MANAGE_CAMPAIGNS),
    ("PATCH", "/api/v1/staff/campaigns/<int:campaign_id>"): staff(MANAGE_CAMPAIGNS),
    ("POST", "/api/v1/staff/campaigns/<int:campaign_id>/publish"): staff(MANAGE_CAMPAIGNS),
    ("POST", "/api/v1/staff/campaigns/<int:campaign_id>/end"): staff(MANAGE_CAMPAIGNS),
    ("GET", "/api/v1/staff/campaigns/<int:campaign_id>/checkin-points"): staff(MANAGE_CAMPAIGNS),
    ("POST", "/api/v1/staff/campaigns/<int:campaign_id>/checkin-points"): staff(MANAGE_CAMPAIGNS),
    ("GET", "/api/v1/staff/checkin-points/<int:point_id>/poster.png"): staff(MANAGE_CAMPAIGNS),
    ("POST", "/api/v1/staff/checkin-points/<int:point_id>/rotate"): staff(MANAGE_CAMPAIGNS),
    ("PUT", "/api/v1/staff/checkin-points/<int:point_id>/location"): staff(MANAGE_CAMPAIGNS),
    ("GET", "/api/v1/staff/reviews"): staff(REVIEW_ACTIONS),
    ("POST", "/api/v1/staff/reviews/<int:action_id>/approve"): staff(REVIEW_ACTIONS),
    ("POST", "/api/v1/staff/reviews/<int:action_id>/reject"): staff(REVIEW_ACTIONS),
    ("GET", "/api/v1/staff/photos/<photo_id>/thumbnail"): staff(REVIEW_ACTIONS),
    ("GET", "/api/v1/staff/rewards"): staff(MANAGE_REWARDS),
    ("POST", "/api/v1/staff/rewards"): staff(MANAGE_REWARDS),
    ("GET", "/api/v1/staff/rewards/<int:reward_id>"): staff(MANAGE_REWARDS),
    ("PATCH", "/api/v1/staff/rewards/<int:reward_id>"): staff(MANAGE_REWARDS),
    ("POST", "/api/v1/staff/rewards/<int:reward_id>/stock"): staff(MANAGE_REWARDS),
    ("GET", "/api/v1/staff/rewards/<int:reward_id>/redemptions"): staff(MANAGE_REWARDS),
    ("POST", "/api/v1/staff/redemptions/verify"): staff(VERIFY_REDEMPTIONS),
    ("POST", "/api/v1/staff/residents/<int:resident_id>/suspend"): staff(MANAGE_RESIDENTS),
    ("POST", "/api/v1/staff/residents/<int:resident_id>/restore"): staff(MANAGE_RESIDENTS),
    # web console (a session cookie; the bearer header means nothing there)
    ("GET", "/admin/static/<path:filename>"): CONSOLE_PUBLIC,
    ("GET", "/admin/login"): CONSOLE_PUBLIC,
    ("POST", "/admin/login"): CONSOLE_PUBLIC,
    # the second sign-in step: only for whoever just passed the password step
    ("GET", "/admin/login/code"): CONSOLE_PUBLIC,
    ("POST", "/admin/login/code"): CONSOLE_PUBLIC,
    ("GET", "/admin/login/totp"): CONSOLE_PUBLIC,
    ("POST", "/admin/login/totp"): CONSOLE_PUBLIC,
    ("GET", "/admin/login/totp.svg"): CONSOLE_PUBLIC,
    ("POST", "/admin/lang/<code>"): CONSOLE_PUBLIC,
    ("POST", "/admin/logout"): console(ends_session=True),
    ("GET", "/admin/password"): console(),
    ("POST", "/admin/password"): console(),
    ("GET", "/admin/"): console(READ_STATS),
    ("GET", "/admin/statistics"): console(READ_STATS),
    ("GET", "/admin/statistics/export.<any(csv, xlsx):extension>"): console(READ_STATS),
    ("GET", "/admin/reports/organizations"): console(READ_STATS),
    ("GET", "/admin/reports/organizations/export.<any(csv, xlsx):extension>"): console(READ_STATS),
    ("GET", "/admin/methodology"): console(READ_STATS),
    ("POST", "/admin/methodology/publish"): console(MANAGE_METHODOLOGY),
    ("GET", "/admin/campaigns"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/campaigns/new"): console(MANAGE_CAMPAIGNS),
    ("POST", "/admin/campaigns/new"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/campaigns/<int:campaign_id>"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/campaigns/<int:campaign_id>/progress"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/campaigns/<int:campaign_id>/impact"): console(READ_STATS),
    ("GET", "/admin/campaigns/<int:campaign_id>/edit"): console(MANAGE_CAMPAIGNS),
    ("POST", "/admin/campaigns/<int:campaign_id>/edit"): console(MANAGE_CAMPAIGNS),
    ("POST", "/admin/campaigns/<int:campaign_id>/publish"): console(MANAGE_CAMPAIGNS),
    ("POST", "/admin/campaigns/<int:campaign_id>/end"): console(MANAGE_CAMPAIGNS),
    ("POST", "/admin/campaigns/<int:campaign_id>/checkin-points"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/checkin-points/<int:point_id>/poster.png"): console(MANAGE_CAMPAIGNS),
    ("POST", "/admin/checkin-points/<int:point_id>/rotate"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/checkin-points/<int:point_id>"): console(MANAGE_CAMPAIGNS),
    ("POST", "/admin/checkin-points/<int:point_id>/location"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/checkin-points/<int:point_id>/screen"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/checkin-points/<int:point_id>/screen.png"): console(MANAGE_CAMPAIGNS),
    ("GET", "/admin/organizations"): console(MANAGE_ORGANIZATIONS),
    ("GET", "/admin/organizations/new"): console(MANAGE_ORGANIZATIONS),
    ("POST", "/admin/organizations/new"): console(MANAGE_ORGANIZATIONS),
    ("GET", "/admin/organizations/<int:organization_id>"): console(MANAGE_ORGANIZATIONS),
    ("POST", "/admin/organizations/<int:organization_id>/rotate"): console(MANAGE_ORGANIZATIONS),
    ("POST", "/admin/organizations/<int:organization_id>/members/role"): console(
        MANAGE_ORGANIZATIONS
    ),
    ("POST", "/admin/organizations/<int:organization_id>/members/remove"): console(
        MANAGE_ORGANIZATIONS
    ),
    ("GET", "/admin/organizations/<int:organization_id>/poster.png"): console(MANAGE_ORGANIZATIONS),
    ("GET", "/admin/review"): console(REVIEW_ACTIONS),
    ("POST", "/admin/review/<int:action_id>/approve"): console(REVIEW_ACTIONS),
    ("POST", "/admin/review/<int:action_id>/reject"): console(REVIEW_ACTIONS),
    ("GET", "/admin/review/photos/<photo_id>.jpg"): console(REVIEW_ACTIONS),
    ("GET", "/admin/review/<int:action_id>"): console(REVIEW_ACTIONS),
    ("GET", "/admin/review/photos/<photo_id>/full.jpg"): console(REVIEW_ACTIONS),
    ("GET", "/admin/rewards"): console(MANAGE_REWARDS),
    ("GET", "/admin/rewards/new"): console(MANAGE_REWARDS),
    ("POST", "/admin/rewards/new"): console(MANAGE_REWARDS),
    ("GET", "/admin/rewards/<int:reward_id>"): console(MANAGE_REWARDS),
    ("GET", "/admin/rewards/<int:reward_id>/edit"): console(MANAGE_REWARDS),
    ("POST", "/admin/rewards/<int:reward_id>/edit"): console(MANAGE_REWARDS),
    ("POST", "/admin/rewards/<int:reward_id>/stock"): console(MANAGE_REWARDS),
    ("GET", "/admin/redemptions/verify"): console(VERIFY_REDEMPTIONS),
    ("POST", "/admin/redemptions/verify"): console(VERIFY_REDEMPTIONS),
    ("GET", "/admin/residents"): console(MANAGE_RESIDENTS),
    ("POST", "/admin/residents/search"): console(MANAGE_RESIDENTS),
    ("GET", "/admin/residents/<int:resident_id>"): console(MANAGE_RESIDENTS),
    ("POST", "/admin/residents/<int:resident_id>/suspend"): console(MANAGE_RESIDENTS),
    ("POST", "/admin/residents/<int:resident_id>/restore"): console(MANAGE_RESIDENTS),
    ("POST", "/admin/residents/<int:resident_id>/adjust"): console(MANAGE_RESIDENTS),
    ("GET", "/admin/adjustments"): console(MANAGE_RESIDENTS),
    ("POST", "/admin/adjustments/<int:request_id>/approve"): console(MANAGE_RESIDENTS),
    ("POST", "/admin/adjustments/<int:request_id>/reject"): console(MANAGE_RESIDENTS),
    ("GET", "/admin/clients"): console(MANAGE_API_CLIENTS),
    ("POST", "/admin/clients/partners"): console(MANAGE_API_CLIENTS),
    ("POST", "/admin/clients/partners/<int:partner_id>/revoke"): console(MANAGE_API_CLIENTS),
    ("POST", "/admin/clients/drb-keys"): console(MANAGE_API_CLIENTS),
    ("POST", "/admin/clients/drb-keys/<int:key_id>/revoke"): console(MANAGE_API_CLIENTS),
    ("GET", "/admin/audit"): console(VIEW_AUDIT_LOG),
    ("GET", "/admin/staff"): console(MANAGE_STAFF),
    ("POST", "/admin/staff"): console(MANAGE_STAFF),
    ("POST", "/admin/staff/<int:staff_id>/role"): console(MANAGE_STAFF),
    ("POST", "/admin/staff/<int:staff_id>/password"): console(MANAGE_STAFF),
    ("POST", "/admin/staff/<int:staff_id>/disable"): console(MANAGE_STAFF),
    ("POST", "/admin/staff/<int:staff_id>/enable"): console(MANAGE_STAFF),
}

# Stand-ins for path variables: ids nobody has, so a permitted call changes nothing.
_SAMPLES = {"path": "nothing-here.css", "any": "csv", "code": "en"}
_VARIABLE = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


def concrete(rule: str) -> str:
    return _VARIABLE.sub(lambda m: _SAMPLES.get(m.group(1) or m.group(2), "999999"), rule)


def rows(*kinds: str) -> list[tuple[str, str, Access]]:
    return [
        (method, rule, access)
        for (method, rule), access in ROUTES.items()
        if access.who in kinds and not access.ends_session
    ]


def app_routes(app) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def call(client, method: str, rule: str, headers: dict | None = None, **kwargs):
    return client.open(concrete(rule), method=method, headers=headers or {}, **kwargs)


def assert_json_error(response, status: int | tuple[int, ...]) -> None:
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.request.path, response.status_code)
    body = response.get_json()
    assert body is not None and set(body) == {"error"}, response.request.path
    assert set(body["error"]) == {"code", "message", "fields"}
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["error"]["code"])


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def drb_key(app) -> str:
    result = app.test_cli_runner().invoke(args=["drb-key", "create", "发改局"])
    assert result.exit_code == 0, result.output
    return next(word for word in result.output.split() if word.startswith("drb_"))


@pytest.fixture
def partner(app) -> dict:
    return create_partner(app, "肇庆公交", "trip:bus")


# --- the table ---------------------------------------------------------------------------


def test_every_route_has_a_row_and_every_row_a_route(app):
    routes = app_routes(app)
    missing = routes - ROUTES.keys()
    assert missing == set(), f"routes without an access row: {sorted(missing)}"
    stale = {key for key, access in ROUTES.items() if not access.optional} - routes
    assert stale == set(), f"rows for routes that do not exist: {sorted(stale)}"


def test_the_table_names_only_declared_permissions():
    for access in ROUTES.values():
        if access.permission is not None:
            role_allows("superadmin", access.permission)  # raises on an unknown name


# --- each kind of caller -------------------------------------------------------------------


def test_anonymous_callers_get_401_or_the_sign_in_page(client):
    for method, rule, access in rows("resident", "partner", "stats", "staff"):
        response = call(client, method, rule)
        assert_json_error(response, 401)
        if access.who != "partner":
            assert response.headers["WWW-Authenticate"].startswith("Bearer realm="), rule
    for method, rule, _ in rows("console"):
        response = call(client, method, rule)
        # A form without its CSRF token is refused before anything else (400).
        assert response.status_code in (302, 400), rule
        if response.status_code == 302:
            assert response.headers["Location"].startswith("/admin/login"), rule
    for method, rule, _ in rows("public"):
        response = call(client, method, rule)
        assert response.status_code not in (401, 403) and response.status_code < 500, rule


def test_a_resident_token_opens_resident_routes_and_nothing_else(client):
    me = sign_in(client)
    for method, rule, _ in rows("partner", "stats", "staff"):
        assert_json_error(call(client, method, rule, me.headers), 401)
    for method, rule, _ in rows("console"):
        response = call(client, method, rule, me.headers)
        assert response.status_code in (302, 400), rule  # a bearer token is no console session
    for method, rule, _ in rows("resident"):
        response = call(client, method, rule, me.headers)
        assert response.status_code not in (401, 403) and response.status_code < 500, rule
    assert client.get("/api/v1/me", headers=me.headers).status_code == 200


def test_a_staff_token_is_not_a_resident_or_partner_credential(app, client):
    admin = staff_headers(app, client, "superadmin")
    for method, rule, _ in rows("resident", "partner"):
        assert_json_error(call(client, method, rule, admin), 401)


def test_a_drb_key_reads_statistics_and_nothing_else(client, drb_key):
    for method, rule, _ in rows("resident", "partner", "staff"):
        assert_json_error(call(client, method, rule, bearer(drb_key)), 401)
    for method, rule, _ in rows("stats"):
        # A route naming a campaign answers 404 for the sample id: let in, nothing found
        allowed = (200, 404) if "<" in rule else (200,)
        assert call(client, method, rule, bearer(drb_key)).status_code in allowed, rule
    assert client.get("/admin/", headers=bearer(drb_key)).status_code == 302


def test_only_the_metrics_token_opens_the_metrics(app, client, drb_key, monkeypatch):
    metrics_token = "operators-metrics-token-for-this-test-0123456789"
    monkeypatch.setitem(app.config, "METRICS_TOKEN", metrics_token)
    others = [
        {},
        sign_in(client).headers,
        staff_headers(app, client, "superadmin"),
        bearer(drb_key),
        bearer(metrics_token + "x"),
    ]
    for method, rule, _ in rows("metrics"):
        for headers in others:
            assert_json_error(call(client, method, rule, headers), 401)
        assert call(client, method, rule, bearer(metrics_token)).status_code == 200
    for method, rule, _ in rows("resident", "partner", "stats", "staff"):
        assert_json_error(call(client, method, rule, bearer(metrics_token)), 401)


def test_a_partner_signature_opens_only_the_partner_feed(client, partner):
    raw = json.dumps({"events": []}).encode()
    signed = {
        **partner_signature(partner["key"], partner["secret"], raw),
        "Content-Type": "application/json",
    }
    for method, rule, _ in rows("resident", "stats", "staff"):
        assert_json_error(call(client, method, rule, signed, data=raw), 401)
    feed = client.post("/api/v1/partner/events", data=raw, headers=signed)
    assert feed.status_code == 422  # authenticated; an empty batch is refused by its schema


@pytest.mark.parametrize("role", ROLES)
def test_each_staff_role_gets_exactly_its_permissions(app, client, role):
    headers = staff_headers(app, client, role)
    for method, rule, access in rows("staff", "stats"):
        response = call(client, method, rule, headers)
        allowed = access.permission is None or role_allows(role, access.permission)
        if allowed:
            assert response.status_code not in (401, 403), (role, method, rule, response.json)
            assert response.status_code < 500, (role, method, rule)
        else:
            assert_json_error(response, 403)
            assert response.json["error"]["code"] == "forbidden_role"
    assert client.get("/api/v1/staff/me", headers=headers).json["role"] == role


@pytest.mark.parametrize("role", ROLES)
def test_each_staff_role_opens_exactly_its_console_pages(app, client, role):
    console_sign_in(app, client, role)
    token = csrf_token(client, "/admin/password")
    for method, rule, access in rows("console"):
        data = form_tokens(token) if method == "POST" else None
        response = call(client, method, rule, data=data)
        allowed = access.permission is None or role_allows(role, access.permission)
        assert response.status_code != 500, (role, rule)
        if allowed:
            assert response.status_code != 403, (role, method, rule)
            assert not response.headers.get("Location", "").startswith("/admin/login"), rule
        else:
            assert response.status_code == 403, (role, method, rule, response.status_code)


def test_sign_outs_end_only_the_callers_session(app, client):
    alice, bob = sign_in(client), sign_in(client)
    assert client.post("/api/v1/auth/logout", headers=alice.headers).status_code == 204
    assert client.get("/api/v1/me", headers=alice.headers).status_code == 401
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 200
    first, second = (staff_headers(app, client, "analyst") for _ in range(2))
    assert client.post("/api/v1/staff/auth/logout", headers=first).status_code == 204
    assert client.get("/api/v1/staff/me", headers=first).status_code == 401
    assert client.get("/api/v1/staff/me", headers=second).status_code == 200
    deleted = delete_account(client, bob)
    assert deleted.status_code in (200, 204)
    assert client.get("/api/v1/me", headers=bob.headers).status_code == 401


# --- residents see only themselves --------------------------------------------------------


@pytest.fixture
def admin(app, client):
    return staff_headers(app, client, "superadmin")


def _resident_with_everything(client, admin, partner, reward):
    """A resident with an action, a photo and a meal waiting for review, a redemption,
    a partner link, entries and (likely) a badge."""
    me = sign_in(client)
    trips = [record(client, me, trip("bus", 8, 30, ended_minutes_ago=5 + 40 * i)) for i in (0, 1)]
    assert all(t.status_code == 201 for t in trips)
    photo_id = upload_photo(client, me, seed=11)
    meal = record(client, me, {"type": "clean_plate", "photo_id": photo_id, "venue": "食堂"})
    assert meal.status_code == 201 and meal.json["status"] == "pending_review"
    redemption = redeem(client, me, reward)
    assert redemption.status_code == 201, redemption.json
    link = link_partner_account(client, partner, me, "CARD-1")
    return {
        "who": me,
        "actions": [t.json["id"] for t in trips] + [meal.json["id"]],
        "photo_id": photo_id,
        "redemption": redemption.json,
        "link_id": link["id"],
    }


def test_another_residents_data_is_404_and_untouched(client, admin, partner, db_session):
    reward = make_reward(client, admin, cost_points=1, stock=5)
    alice = _resident_with_everything(client, admin, partner, reward)
    bob = sign_in(client)
    assert record(client, bob, trip("walk", 2, 30)).status_code == 201
    before = database_rows(db_session)

    for action_id in alice["actions"]:
        assert_json_error(client.get(f"/api/v1/actions/{action_id}", headers=bob.headers), 404)
    redemption_id = alice["redemption"]["redemption_id"]
    for method, path in (
        ("GET", f"/api/v1/me/redemptions/{redemption_id}/qr.png"),
        ("POST", f"/api/v1/me/redemptions/{redemption_id}/cancel"),
        ("DELETE", f"/api/v1/me/partner-links/{alice['link_id']}"),
    ):
        assert_json_error(client.open(path, method=method, headers=bob.headers), 404)
    # The same answer as for ids nobody has: nothing tells that these exist.
    assert client.get("/api/v1/actions/999999", headers=bob.headers).json == (
        client.get(f"/api/v1/actions/{alice['actions'][0]}", headers=bob.headers).json
    )
    meal = {"type": "clean_plate", "photo_id": alice["photo_id"]}
    stolen = record(client, bob, meal)
    assert_json_error(stolen, 422)
    assert stolen.json["error"]["code"] == "photo_not_found"
    thumbnail = f"/api/v1/staff/photos/{alice['photo_id']}/thumbnail"
    assert_json_error(client.get(thumbnail, headers=bob.headers), 401)
    # A resident id in a query is no way to read someone else: it is ignored.
    alice_id = alice["who"].resident["id"]
    for path in ("/api/v1/actions", "/api/v1/me/ledger", "/api/v1/me/redemptions"):
        response = client.get(f"{path}?resident_id={alice_id}", headers=bob.headers)
        assert response.status_code == 200
        assert all(
            item.get("resident_id", bob.resident["id"]) != alice_id
            for item in response.json["items"]
        )
    listed = client.get(f"/api/v1/actions?resident_id={alice_id}", headers=bob.headers).json
    assert {a["id"] for a in listed["items"]}.isdisjoint(alice["actions"])
    redemptions = client.get(f"/api/v1/me/redemptions?resident_id={alice_id}", headers=bob.headers)
    assert redemptions.json["items"] == []
    assert database_rows(db_session) == before


def test_ledger_account_badges_and_export_are_only_ever_the_callers(client, admin, partner):
    reward = make_reward(client, admin, cost_points=1, stock=5)
    alice = _resident_with_everything(client, admin, partner, reward)
    bob = sign_in(client)
    record(client, bob, trip("walk", 2, 30))
    run_worker(client)  # badges and bonuses are the worker's entries
    alice_headers, bob_headers = alice["who"].headers, bob.headers

    def get(path, headers):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        return response.json

    alice_entries = {e["id"] for e in get("/api/v1/me/ledger", alice_headers)["items"]}
    bob_ledger = get("/api/v1/me/ledger", bob_headers)["items"]
    assert alice_entries and not alice_entries & {e["id"] for e in bob_ledger}
    assert not any(e["ref"] == f"action:{a}" for e in bob_ledger for a in alice["actions"])
    bob_balance = get("/api/v1/me/account", bob_headers)["balance"]
    assert bob_balance == sum(e["delta"] for e in bob_ledger)
    alice_ledger = get("/api/v1/me/ledger", alice_headers)["items"]
    assert get("/api/v1/me/account", alice_headers)["balance"] == sum(
        e["delta"] for e in alice_ledger
    )
    assert get("/api/v1/me/redemptions", bob_headers)["items"] == []
    assert get("/api/v1/me/partner-links", bob_headers)["items"] == []
    assert {a["id"] for a in get("/api/v1/actions", bob_headers)["items"]}.isdisjoint(
        alice["actions"]
    )
    export = json.dumps(get("/api/v1/me/export", bob_headers), ensure_ascii=False)
    assert alice["redemption"]["code"] not in export
    assert alice["who"].phone not in export
    assert alice["photo_id"] not in export
    earned = [b["key"] for b in get("/api/v1/me/badges", alice_headers)["items"] if b["earned"]]
    assert earned
    carol = sign_in(client)  # nothing done yet: nothing of Alice's shows
    badges = get("/api/v1/me/badges", carol.headers)
    assert [b for b in badges["items"] if b["earned"]] == []
    assert badges["streak"]["current"] == 0
    me = get("/api/v1/me", bob_headers)
    assert me["id"] == bob.resident["id"] != alice["who"].resident["id"]


# --- mass assignment -------------------------------------------------------------------------


@pytest.fixture
def world(app, client, admin, partner):
    """Something of every kind for a body to try to change."""
    me = sign_in(client)
    for i in range(3):
        assert (
            record(client, me, trip("bus", 8, 30, ended_minutes_ago=5 + 40 * i)).status_code == 201
        )
    reward = make_reward(client, admin, cost_points=1, stock=5)
    redemption = redeem(client, me, reward).json
    campaign = make_campaign(client, admin, multipliers={"trip:bus": 2})
    draft = make_campaign(client, admin, publish=False)
    meal = record(client, me, {"type": "clean_plate", "photo_id": upload_photo(client, me)})
    return {
        "me": me,
        "admin": admin,
        "partner": partner,
        "reward": reward["id"],
        "redemption": redemption,
        "campaign": campaign["id"],
        "draft": draft["id"],
        "pending": meal.json["id"],
    }


def _reward_body():
    return {
        "title": "券",
        "merchant_name": "商户",
        "cost_points": 5,
        "stock": 3,
        "valid_from": "2026-01-01T00:00:00+00:00",
        "valid_until": "2099-01-01T00:00:00+00:00",
    }


def _campaign_body():
    return {
        "title": "活动",
        "starts_at": "2026-01-01T00:00:00+00:00",
        "ends_at": "2099-01-01T00:00:00+00:00",
    }


# (who, method, path with {placeholders} from `world`, body, the server-owned field); a
# body that holds times is made by a function when the test runs, on its pinned clock.
MASS_ASSIGNMENT = [
    ("resident", "POST", "/api/v1/actions", lambda: {**trip("bus"), "points": 9999}, "points"),
    (
        "resident",
        "POST",
        "/api/v1/actions",
        lambda: {**trip("bus"), "status": "approved"},
        "status",
    ),
    ("resident", "POST", "/api/v1/actions", lambda: {**trip("bus"), "co2e_g": 10**6}, "co2e_g"),
    (
        "resident",
        "POST",
        "/api/v1/actions",
        lambda: {**trip("bus"), "resident_id": 1},
        "resident_id",
    ),
    ("resident", "POST", "/api/v1/actions", lambda: {**trip("bus"), "capped": False}, "capped"),
    (
        "resident",
        "POST",
        "/api/v1/actions",
        lambda: {**trip("bus"), "factor_version": "0"},
        "factor_version",
    ),
    ("resident", "PATCH", "/api/v1/me", {"nickname": "x", "balance": 10**6}, "balance"),
    ("resident", "PATCH", "/api/v1/me", {"role": "superadmin"}, "role"),
    ("resident", "PATCH", "/api/v1/me", {"points": 10**6}, "points"),
    ("resident", "POST", "/api/v1/rewards/{reward}/redeem", {"points": 0}, "points"),
    ("resident", "POST", "/api/v1/rewards/{reward}/redeem", {"cost_points": 0}, "cost_points"),
    ("resident", "POST", "/api/v1/rewards/{reward}/redeem", {"resident_id": 1}, "resident_id"),
    ("resident", "POST", "/api/v1/campaigns/{campaign}/enrol", {"join_bonus": 500}, "join_bonus"),
    ("resident", "POST", "/api/v1/campaigns/{campaign}/enrol", {"status": "x"}, "status"),
    ("resident", "POST", "/api/v1/me/redemptions/{redemption}/cancel", {"status": "x"}, "status"),
    (
        "resident",
        "POST",
        "/api/v1/checkins",
        {
            "token": "t" * 20,
            "location": {"lat": 23.07, "lon": 112.47, "accuracy_m": 10},
            "points": 1,
        },
        "points",
    ),
    (
        "resident",
        "POST",
        "/api/v1/me/partner-links",
        {"partner_key": "{partner_key}", "resident_id": 1},
        "resident_id",
    ),
    ("staff", "POST", "/api/v1/staff/rewards", {**_reward_body(), "stock_left": 0}, "stock_left"),
    ("staff", "PATCH", "/api/v1/staff/rewards/{reward}", {"stock_left": 1000}, "stock_left"),
    ("staff", "PATCH", "/api/v1/staff/rewards/{reward}", {"stock": 1000}, "stock"),
    (
        "staff",
        "POST",
        "/api/v1/staff/rewards/{reward}/stock",
        {"delta": 1, "stock_left": 9},
        "stock_left",
    ),
    (
        "staff",
        "POST",
        "/api/v1/staff/campaigns",
        {**_campaign_body(), "status": "published"},
        "status",
    ),
    ("staff", "PATCH", "/api/v1/staff/campaigns/{campaign}", {"status": "ended"}, "status"),
    ("staff", "PATCH", "/api/v1/staff/campaigns/{campaign}", {"created_by": 1}, "created_by"),
    ("staff", "POST", "/api/v1/staff/campaigns/{draft}/publish", {"status": "ended"}, "status"),
    (
        "staff",
        "POST",
        "/api/v1/staff/campaigns/{campaign}/end",
        {"ends_at": "2099-01-01"},
        "ends_at",
    ),
    ("staff", "POST", "/api/v1/staff/reviews/{pending}/approve", {"points": 1000}, "points"),
    (
        "staff",
        "POST",
        "/api/v1/staff/reviews/{pending}/reject",
        {"reason": "r", "status": "approved"},
        "status",
    ),
    (
        "staff",
        "POST",
        "/api/v1/staff/redemptions/verify",
        {"code": "ABCDEFGH", "status": "issued"},
        "status",
    ),
    (
        "public",
        "POST",
        "/api/v1/staff/auth/login",
        {"username": "u", "password": "p", "role": "superadmin"},
        "role",
    ),
    ("public", "POST", "/api/v1/auth/otp", {"phone": "13900000000", "dev_code": "1"}, "dev_code"),
]


def _fill(value, world):
    names = {
        "reward": world["reward"],
        "campaign": world["campaign"],
        "draft": world["draft"],
        "pending": world["pending"],
        "redemption": world["redemption"]["redemption_id"],
        "partner_key": world["partner"]["key"],
    }
    if callable(value):
        return _fill(value(), world)
    if isinstance(value, str):
        return value.format(**names)
    if isinstance(value, dict):
        return {k: _fill(v, world) for k, v in value.items()}
    return value


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "field"),
    MASS_ASSIGNMENT,
    ids=[f"{m} {p} {f}" for _, m, p, _, f in MASS_ASSIGNMENT],
)
def test_server_owned_fields_in_a_body_are_422_and_change_nothing(
    client, db_session, world, who, method, path, body, field
):
    headers = {"resident": world["me"].headers, "staff": world["admin"], "public": {}}[who]
    headers = {**headers, "Idempotency-Key": f"mass-{field}"}
    before = database_rows(db_session)
    response = client.open(
        _fill(path, world), method=method, json=_fill(body, world), headers=headers
    )
    assert_json_error(response, 422)
    assert field in response.json["error"]["fields"], response.json
    assert database_rows(db_session) == before


def test_an_empty_body_still_works_where_none_is_declared(client, world):
    reward = world["reward"]
    headers = {**world["me"].headers, "Idempotency-Key": "empty-object"}
    assert (
        client.post(f"/api/v1/rewards/{reward}/redeem", json={}, headers=headers).status_code == 201
    )
    enrol = f"/api/v1/campaigns/{world['campaign']}/enrol"
    assert client.post(enrol, headers=world["me"].headers).status_code == 201


def test_server_owned_fields_in_a_partner_event_reject_that_event(client, world):
    partner, me = world["partner"], world["me"]
    events = [
        {"event_id": "owned", "resident": me.phone, **trip("bus", 8, 30), "points": 999},
        {"event_id": "fine", "resident": me.phone, **trip("bus", 3, 15, ended_minutes_ago=200)},
    ]
    raw = json.dumps({"events": events}).encode()
    response = client.post(
        "/api/v1/partner/events",
        data=raw,
        headers={
            **partner_signature(partner["key"], partner["secret"], raw),
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 200
    owned, fine = response.json["results"]
    assert owned["status"] == "rejected" and "points" in owned["error"]["fields"]
    assert fine["status"] == "accepted"
