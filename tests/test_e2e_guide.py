"""Every page of the console's menu, in Chromium, on the demo's data, as the demo's
superadmin and merchant sign in with the credentials file: each answers, draws under the
console's policy, and is photographed for the staff guide (`make screenshots`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import guide_shot, new_page, sign_in
from tests.test_e2e_console import watch_policy

# The demo server runs on the machine's clock, as `make demo` does.
pytestmark = pytest.mark.real_clock


def credentials(server) -> dict:
    path = Path(server.env["INSTANCE_PATH"]) / "demo-credentials.json"
    return {user["role"]: user for user in json.loads(path.read_text())["staff"]}


def test_every_menu_page_renders_on_the_demo_data_and_is_photographed(demo_server, browser):
    staff = credentials(demo_server)
    page = new_page(browser, demo_server.base_url)
    violations = watch_policy(page)
    admin = staff["superadmin"]
    sign_in(page, admin["username"], admin["password"], totp_secret=admin["totp_secret"])
    page.wait_for_url("**/admin/")
    links = page.locator("nav.main a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/admin/staff" in targets and "/admin/audit" in targets
    for target in targets:
        response = page.goto(target)
        assert response.status == 200, target
        guide_shot(page, "page-" + (target.strip("/").replace("/", "-") or "dashboard"))
    assert violations == []

    clerk = new_page(browser, demo_server.base_url)
    merchant = staff["merchant"]
    sign_in(clerk, merchant["username"], merchant["password"])
    clerk.wait_for_url("**/admin/redemptions/verify")
    menu = clerk.locator("nav.main a")
    assert [menu.nth(i).get_attribute("href") for i in range(menu.count())] == [
        "/admin/redemptions/verify"
    ]
