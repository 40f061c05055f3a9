"""The review item page and the rules editor in a real browser (Debian Chromium against a
live gunicorn server): zoom, keyboard decisions, a multiplier edited in its row."""

import pytest

from tests.browser import PASSWORD, guide_shot, make_staff, new_page, sign_in
from tests.factories import encode, photo_like, trip
from tests.live_server import live_server

# Its servers run in other processes, on the machine's clock.
pytestmark = pytest.mark.real_clock


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live-review"), workers=1) as live:
        yield live


def meal(server, headers: dict, image, key: str) -> dict:
    photo = server.upload("/api/v1/photos", "meal.jpg", encode(image, "JPEG"), headers)
    assert photo.status == 201, photo.body
    body = {"type": "clean_plate", "photo_id": photo.body["photo_id"], "venue": "端州区食堂"}
    action = server.call("POST", "/api/v1/actions", body, {**headers, "Idempotency-Key": key})
    assert action.body["status"] == "pending_review", action.body
    return action.body


def status_of(server, headers: dict, action: dict) -> str:
    return server.call("GET", f"/api/v1/actions/{action['id']}", headers=headers).body["status"]


def test_a_reviewer_zooms_the_photo_and_approves_with_the_keyboard(server, browser):
    alice = server.sign_in("13566661001")
    bob = server.sign_in("13566661002")
    meal(server, alice, photo_like(42), "alice-meal")
    # Bob's history: a meal rejected earlier, a bus ride; then a copy of Alice's photo.
    api = server.staff_headers("e2e-review-api", "reviewer")
    refused = meal(server, bob, photo_like(43), "bob-refused")
    rejected = server.call(
        "POST", f"/api/v1/staff/reviews/{refused['id']}/reject", {"reason": "照片不是餐盘"}, api
    )
    assert rejected.status == 200, rejected.body
    bus = server.call("POST", "/api/v1/actions", trip("bus"), {**bob, "Idempotency-Key": "bus"})
    assert bus.status == 201, bus.body
    copied = meal(server, bob, photo_like(42).resize((900, 675)), "bob-copy")

    page = new_page(browser, server.base_url)
    sign_in(page, make_staff(server, "e2e-reviewer-keys", "reviewer"), PASSWORD)
    page.wait_for_url("**/admin/")
    page.goto("/admin/review")
    page.click(f"#open-{copied['id']}")
    page.wait_for_selector("#review-item")
    assert "快捷键" in page.inner_text("#review-shortcuts")
    assert "相差" in page.inner_text("#duplicate-distance")
    assert page.locator("#rejections").inner_text().count("照片不是餐盘") == 1

    photo = page.locator("#full-photo")
    photo.evaluate("img => img.decode()")
    fitted = photo.bounding_box()["width"]
    natural = photo.evaluate("img => img.naturalWidth")
    photo.click()
    assert "zoomed" in (photo.get_attribute("class") or "")
    assert photo.bounding_box()["width"] == pytest.approx(natural, abs=1) and natural > fitted
    photo.click()  # and back to fit
    assert photo.bounding_box()["width"] == pytest.approx(fitted, abs=1)
    guide_shot(page, "review")

    # Keys typed in the reason field are words, not decisions.
    page.click("#reason")
    page.keyboard.type("a j r")
    assert page.locator("#review-item").count() == 1 and f"/review/{copied['id']}" in page.url
    assert status_of(server, bob, copied) == "pending_review"
    page.fill("#reason", "")
    page.locator("#item-title").click()  # out of the field
    with page.expect_navigation():
        page.keyboard.press("a")
    assert status_of(server, bob, copied) == "approved"
    assert "已通过" in page.inner_text(".flash.info")


def test_a_campaign_admin_edits_a_multiplier_in_the_table(server, browser):
    api = server.staff_headers("e2e-rules-api", "campaign_admin")
    campaign = server.published_campaign(
        api, (1, 30), title="全国低碳日 · 绿色出行", multipliers={"trip:bus": 2}, join_bonus=20
    )
    page = new_page(browser, server.base_url)
    sign_in(page, make_staff(server, "e2e-rules-admin", "campaign_admin"), PASSWORD)
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/campaigns/{campaign['id']}/edit")
    assert page.input_value("#multiplier-trip-bus") == "2"
    assert "公交" in page.inner_text("#multiplier-trip-bus-row")
    page.fill("#multiplier-trip-bus", "3")
    page.fill("#multiplier-trip-bike", "1.5")
    page.fill("#multiplier-garbage_sorting", "2")
    table = page.locator("#campaign-multipliers")
    table.scroll_into_view_if_needed()
    guide_shot(table, "campaign-rules")
    # An element's screenshot resizes the page for a moment: a click straight after it
    # can land on nothing. Enter in a field sends the form, as a user's would.
    with page.expect_navigation():
        page.press("#multiplier-garbage_sorting", "Enter")
    page.wait_for_selector("#campaign-status")
    shown = server.call("GET", f"/api/v1/staff/campaigns/{campaign['id']}", headers=api).body
    assert shown["rules"]["multipliers"] == {
        "trip:bus": 3.0,
        "trip:bike": 1.5,
        "garbage_sorting": 2.0,
    }
