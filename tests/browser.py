"""Headless Debian Chromium driven by Playwright, for the console's end-to-end tests.

Screenshots go to test-artifacts/screenshots/<database>/ (not committed). The staff
guide's pictures (docs/CONSOLE.md) are taken by the same tests: `make screenshots` runs
them with GUIDE_SCREENSHOTS=docs/screenshots, so a test run never rewrites the repository.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parent.parent
# The machine has no network beyond package registries: keep Chromium from calling home.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def screenshot_dir() -> Path:
    database = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    directory = ROOT / "test-artifacts" / "screenshots" / database
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, base_url: str) -> Page:
    context = browser.new_context(
        base_url=base_url,
        locale="zh-CN",
        accept_downloads=True,
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def shoot(page: Page, name: str) -> Path:
    # Viewport only: a full-page capture resizes the page, and a click straight after it
    # can land on nothing.
    path = screenshot_dir() / f"{name}.png"
    page.screenshot(path=str(path))
    return path


# The password the browser tests give the staff they create on a live server.
PASSWORD = "live server staff password"


def make_staff(server, username: str, role: str) -> str:
    server.flask("staff", "create", username, "--role", role, "--password", PASSWORD)
    return username


def guide_shot(page_or_element, name: str) -> Path:
    """A picture for the staff guide: under docs/screenshots/ when `make screenshots` asks
    (GUIDE_SCREENSHOTS), else beside the other screenshots of the run."""
    wanted = os.environ.get("GUIDE_SCREENSHOTS")
    directory = ROOT / wanted if wanted else screenshot_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.png"
    page_or_element.screenshot(path=str(path))
    return path


def sign_in(page: Page, username: str, password: str, totp_secret: str | None = None) -> None:
    """The console's sign-in form; with a TOTP secret (superadmins), the code step too."""
    page.goto("/admin/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#sign-in")
    if totp_secret is not None:
        import pyotp

        page.wait_for_url("**/admin/login/code")
        page.fill("#totp-code", pyotp.TOTP(totp_secret).now())
        page.click("#verify-code")
