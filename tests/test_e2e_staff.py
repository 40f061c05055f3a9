"""Staff management in a real browser: a superadmin creates a merchant (the first password
shown once), the merchant signs in, lands on the verify page and verifies a resident's
code; the audit log shows both changes in Chinese with before and after."""

import pytest

from tests.browser import PASSWORD, guide_shot, new_page, sign_in
from tests.factories import totp_secret_in, trips_in_a_row
from tests.live_server import live_server

# Its servers run in other processes, on the machine's clock.
pytestmark = pytest.mark.real_clock


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live-staff"), workers=2) as live:
        yield live


def redemption_code(server) -> str:
    """A resident earns points with two bus trips and redeems a reward: its code."""
    from datetime import UTC, datetime, timedelta

    admin = server.staff_headers("e2e-staff-campaigns", "campaign_admin")
    now = datetime.now(UTC)
    reward = server.call(
        "POST",
        "/api/v1/staff/rewards",
        {
            "title": "鼎湖山景区门票",
            "merchant_name": "鼎湖山景区",
            "cost_points": 200,
            "stock": 10,
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
        },
        admin,
    )
    assert reward.status == 201, reward.body
    resident = server.sign_in("13566660077")
    for n, body in enumerate(trips_in_a_row(2, "bus", ended_minutes_ago=10)):
        headers = {**resident, "Idempotency-Key": f"e2e-staff-trip-{n}"}
        assert server.call("POST", "/api/v1/actions", body, headers).status == 201
    headers = {**resident, "Idempotency-Key": "e2e-staff-redeem"}
    redeemed = server.call("POST", f"/api/v1/rewards/{reward.body['id']}/redeem", None, headers)
    assert redeemed.status == 201, redeemed.body
    return redeemed.body["code"]


def test_a_superadmin_creates_a_merchant_who_verifies_a_code(server, browser):
    code = redemption_code(server)
    output = server.flask(
        "staff", "create", "e2e-root", "--role", "superadmin", "--password", PASSWORD, "--totp"
    )
    admin = new_page(browser, server.base_url)
    sign_in(admin, "e2e-root", PASSWORD, totp_secret_in(output))
    admin.wait_for_url("**/admin/")
    admin.click("nav >> text=员工")
    admin.wait_for_url("**/admin/staff")
    admin.fill("#staff-username", "dinghu-shop")
    admin.select_option("#staff-new-role", "merchant")
    admin.click("#staff-submit")
    assert "只在本页显示一次" in admin.inner_text("#shown-once")
    password = admin.inner_text("#shown-password")
    admin.click("#back-to-staff")
    admin.wait_for_url("**/admin/staff")
    row = admin.locator('tr[data-username="dinghu-shop"]')
    assert "商户核销员" in row.inner_text() and "从未" in row.inner_text()
    guide_shot(admin, "staff")

    clerk = new_page(browser, server.base_url)
    sign_in(clerk, "dinghu-shop", password)
    clerk.wait_for_url("**/admin/redemptions/verify")
    nav = clerk.inner_text("nav")
    assert "核销兑换码" in nav and "奖品" not in nav.replace("核销兑换码", "")
    clerk.fill("#redemption-code", code)
    clerk.click("#verify")
    result = clerk.inner_text("#verify-result")
    assert "鼎湖山景区门票" in result and "13566660077"[-4:] not in result
    guide_shot(clerk, "merchant-verify")
    clerk.goto("/admin/residents")
    assert "无权" in clerk.content() or "403" in clerk.content()

    admin.goto("/admin/audit")
    log = admin.inner_text("#audit-entries")
    assert "创建工作人员" in log and "核销兑换码" in log and "商户核销员" in log
    assert password not in admin.content()
    guide_shot(admin, "audit")
