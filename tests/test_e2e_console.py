"""The console in a real browser: headless Debian Chromium against a live gunicorn server."""

import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from tests.browser import PASSWORD, make_staff, new_page, shoot, sign_in
from tests.factories import local, totp_secret_in
from tests.live_server import live_server

# Its servers run in other processes, on the machine's clock: this module's own clock is
# not pinned either, and its assertions hold whatever the day or the hour.
pytestmark = pytest.mark.real_clock


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live-console"), workers=2) as live:
        yield live


def make_superadmin(server, username: str) -> str:
    """A superadmin enrolled at creation (`--totp`); returns the TOTP secret printed."""
    output = server.flask(
        "staff", "create", username, "--role", "superadmin", "--password", PASSWORD, "--totp"
    )
    return totp_secret_in(output)


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


def test_wrong_passwords_slow_further_tries_with_a_clear_message(server, browser):
    username = make_staff(server, "e2e-throttled", "reviewer")
    page = new_page(browser, server.base_url)
    messages = []
    # the waits double (1, 2, 4 ... s) after three free failures: soon longer than a try
    while len(messages) < 12 and not any("登录失败次数过多" in m for m in messages):
        sign_in(page, username, "definitely not it")
        assert page.locator(".flash.error").count() == 1
        messages.append(page.inner_text(".flash.error"))
    assert "/admin/login" in page.url
    assert messages[:3] == ["用户名或密码错误。"] * 3
    assert "登录失败次数过多" in messages[-1]
    shoot(page, "login-throttled")


def test_a_superadmin_enrols_a_second_factor_by_qr_code(server, browser):
    import pyotp

    username = make_staff(server, "e2e-enrol", "superadmin")
    page = new_page(browser, server.base_url)
    sign_in(page, username, PASSWORD)
    page.wait_for_url("**/admin/login/totp")
    qr = page.locator("#totp-qr")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    shoot(page, "totp-enrol")
    secret = page.inner_text("#totp-secret").replace(" ", "")
    page.fill("#totp-code", pyotp.TOTP(secret).now())
    page.click("#confirm-totp")
    page.wait_for_url("**/admin/")
    assert "概览" in page.content()


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


def pending_meal(server) -> tuple[int, dict]:
    """A Clean Plate meal waiting for review: its action id and its resident's headers."""
    from tests.factories import encode, photo_like

    headers = server.sign_in("13566660001")
    photo = server.upload("/api/v1/photos", "meal.jpg", encode(photo_like(42), "JPEG"), headers)
    assert photo.status == 201, photo.body
    body = {"type": "clean_plate", "photo_id": photo.body["photo_id"], "venue": "端州区食堂"}
    action = server.call("POST", "/api/v1/actions", body, {**headers, "Idempotency-Key": "meal"})
    assert action.body["status"] == "pending_review"
    return action.body["id"], headers


def test_a_campaign_admin_runs_a_campaign_and_reviews_evidence(server, browser):
    action_id, resident = pending_meal(server)
    username = make_staff(server, "e2e-admin", "campaign_admin")
    page = new_page(browser, server.base_url)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, username, PASSWORD)
    page.wait_for_url("**/admin/")

    page.goto("/admin/campaigns/new")
    page.fill("#campaign-title", "全国低碳日 · 绿色出行")
    now = datetime.now(UTC)  # the server's clock: this module's is not pinned
    page.fill("#campaign-starts-at", local(now - timedelta(days=1)))
    page.fill("#campaign-ends-at", local(now + timedelta(days=30)))
    page.fill("#campaign-join-bonus", "50")
    page.fill("#campaign-checkin-points", "20")
    shoot(page, "campaign-form")
    page.click("#save-campaign")
    page.wait_for_selector("#campaign-status")
    page.click("#publish")
    page.wait_for_selector("#checkin-points")
    assert "published" in page.inner_text("#campaign-status") or "已发布" in page.inner_text(
        "#campaign-status"
    )
    page.fill("#point-name", "星湖绿道打卡点")
    page.fill("#point-place", "端州区星湖湿地公园东门")
    page.fill("#point-latitude", "23.0790")
    page.fill("#point-longitude", "112.4560")
    page.click("#create-point")
    poster_link = page.locator("[id^=poster-]").first
    with page.expect_download() as download_info:
        poster_link.click()
    poster = download_info.value.path()
    from PIL import Image

    with Image.open(poster) as image:
        assert image.size == (1240, 1754)
    shoot(page, "campaign")

    page.goto("/admin/review")
    page.wait_for_selector(f"#item-{action_id}")
    shoot(page, "review-queue")
    page.click(f"#approve-{action_id}")
    page.wait_for_load_state()
    assert page.locator(f"#item-{action_id}").count() == 0
    approved = server.call("GET", "/api/v1/actions", headers=resident)
    assert approved.body["items"][0]["status"] == "approved"

    resident_id = server.call("GET", "/api/v1/me", headers=resident).body["id"]
    before = server.call("GET", "/api/v1/me/account", headers=resident).body["balance"]
    page.goto(f"/admin/residents/{resident_id}")
    page.fill("#adjust-delta", "88")
    page.fill("#adjust-reason", "线下活动补发积分")
    page.dblclick("#adjust-submit")  # issue 20, attack 5: a double submit adjusts once
    page.wait_for_selector("#resident-ledger")
    shoot(page, "resident")
    after = server.call("GET", "/api/v1/me/account", headers=resident).body["balance"]
    assert after == before + 88
    ledger = server.call("GET", "/api/v1/me/ledger", headers=resident).body["items"]
    assert (ledger[0]["kind"], ledger[0]["delta"]) == ("adjustment", 88)
    assert [e["kind"] for e in ledger].count("adjustment") == 1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the answer itself is what is compared


def test_one_form_sent_twice_at_once_to_two_workers_adjusts_once(server, browser):
    """Issue 20, attack 5 across processes: the token's claim is a unique key in the
    database, so the second copy waits for the first's answer and repeats it."""
    resident = server.sign_in("13566660002")
    resident_id = server.call("GET", "/api/v1/me", headers=resident).body["id"]
    username = make_staff(server, "e2e-twice", "campaign_admin")
    page = new_page(browser, server.base_url)
    sign_in(page, username, PASSWORD)
    page.wait_for_url("**/admin/")
    page.goto(f"/admin/residents/{resident_id}")
    fields = {
        name: page.locator(f"#adjust-form input[name={name}]").get_attribute("value")
        for name in ("csrf_token", "submission_token")
    }
    cookie = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    body = urllib.parse.urlencode({**fields, "delta": "7", "reason": "并发提交"}).encode()
    opener = urllib.request.build_opener(_NoRedirect)

    def send(_n: int) -> tuple[int, str]:
        request = urllib.request.Request(
            f"{server.base_url}/admin/residents/{resident_id}/adjust",
            data=body,
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with opener.open(request, timeout=30) as answer:
                return answer.status, answer.headers.get("Location", "")
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers.get("Location", "")

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, range(2)))
    assert answers[0] == answers[1] and answers[0][0] == 302, answers
    assert server.call("GET", "/api/v1/me/account", headers=resident).body["balance"] == 7
    ledger = server.call("GET", "/api/v1/me/ledger", headers=resident).body["items"]
    assert [e["delta"] for e in ledger] == [7]


def test_a_reviewer_is_refused_the_campaign_pages(server, browser):
    username = make_staff(server, "e2e-reviewer", "reviewer")
    page = new_page(browser, server.base_url)
    sign_in(page, username, PASSWORD)
    page.wait_for_url("**/admin/")
    response = page.goto("/admin/campaigns")
    assert response.status == 403
    assert "无权" in page.content()
    shoot(page, "reviewer-refused")


def watch_policy(page) -> list[str]:
    """Every Content-Security-Policy violation the page reports, from any of its loads."""
    reported: list[str] = []
    page.on(
        "console",
        lambda message: (
            reported.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.expose_function("reportViolation", lambda text: reported.append(text))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "window.reportViolation(e.violatedDirective + ' ' + e.blockedURI))"
    )
    return reported


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_main_page_renders_for_a_superadmin(server, browser, language):
    username = f"e2e-super-{language}"
    secret = make_superadmin(server, username)
    page = new_page(browser, server.base_url)
    violations = watch_policy(page)
    sign_in(page, username, PASSWORD, totp_secret=secret)
    page.wait_for_url("**/admin/")
    if language == "en":
        page.click("header form button.link >> nth=0")  # the language switch
        page.wait_for_load_state()
        assert "Dashboard" in page.content()
    links = page.locator("nav.main a")
    targets = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(targets) == 14
    for target in targets:
        response = page.goto(target)
        assert response.status == 200, target
        shoot(page, f"{language}-{target.strip('/').replace('/', '-') or 'dashboard'}")
    assert violations == []


def test_the_api_docs_work_under_their_policy(server, browser):
    page = new_page(browser, server.base_url)
    violations = watch_policy(page)
    page.goto("/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Zhaoqing" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock-tag")  # the operations, from /api/openapi.json
    assert violations == []
