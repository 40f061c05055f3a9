"""The console in a real browser: headless Debian Chromium against a live gunicorn server."""

import pytest

from tests.browser import chromium, new_page, shoot, sign_in
from tests.live_server import live_server

PASSWORD = "live server staff password"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live-console"), workers=2) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def make_staff(server, username: str, role: str) -> str:
    server.flask("staff", "create", username, "--role", role, "--password", PASSWORD)
    return username


def test_sign_in_and_out_in_chinese(server, browser):
    username = make_staff(server, "e2e-analyst", "analyst")
    page = new_page(browser, server.base_url)
    sign_in(page, username, PASSWORD)
    page.wait_for_url("**/admin/")
    assert "概览" in page.content()
    shoot(page, "dashboard")
    page.click("#sign-out")
    page.wait_for_url("**/admin/login")
    page.goto("/admin/")
    assert "/admin/login" in page.url


def test_lockout_after_five_wrong_passwords(server, browser):
    username = make_staff(server, "e2e-locked", "reviewer")
    page = new_page(browser, server.base_url)
    for _ in range(5):
        sign_in(page, username, "definitely not it")
        assert page.locator(".flash.error").count() == 1
    sign_in(page, username, PASSWORD)
    assert "/admin/login" in page.url
    assert page.locator(".flash.error").count() == 1
    shoot(page, "login-locked")


def test_a_form_with_a_forged_csrf_token_is_refused(server, browser):
    username = make_staff(server, "e2e-csrf", "reviewer")
    page = new_page(browser, server.base_url)
    page.goto("/admin/login")
    page.locator("form:has(#sign-in) input[name=csrf_token]").evaluate(
        "input => input.value = 'forged'"
    )
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#sign-in")
    assert "表单已过期" in page.content()
    shoot(page, "csrf-refused")
