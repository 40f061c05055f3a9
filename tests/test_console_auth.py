"""Console sign-in: cookies, CSRF, throttling, sign-out, password change, language switch."""

from datetime import UTC, datetime

from tests.factories import STAFF_PASSWORD, console_post, console_sign_in, csrf_token


def test_pages_need_a_signed_in_staff_user(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


def test_sign_in_sets_an_httponly_samesite_cookie_and_opens_the_dashboard(app, client):
    console_sign_in(app, client, "reviewer")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "概览" in page.get_data(as_text=True)


def test_forms_without_a_csrf_token_are_refused(app, client):
    username = console_sign_in(app, client, "reviewer")
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    response = client.post("/admin/login", data={"username": username, "password": STAFF_PASSWORD})
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)


def test_wrong_passwords_slow_the_attacker_not_the_real_user(app, client, clock):
    clock.move_to(datetime.now(UTC), tick=False)
    username = console_sign_in(app, client, "analyst")  # signed in from 127.0.0.1 before
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin/")})
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "198.51.100.66"

    def attempt(who, password):
        return who.post(
            "/admin/login",
            data={"username": username, "password": password, "csrf_token": csrf_token(who)},
        )

    for _ in range(4):
        wrong = attempt(attacker, "not the password!")
        assert wrong.status_code == 401
        assert "用户名或密码错误" in wrong.get_data(as_text=True)
    throttled = attempt(attacker, STAFF_PASSWORD)  # even the right password: not checked
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert "登录失败次数过多，请在 1 秒后再试" in throttled.get_data(as_text=True)
    # the real user, from their own address, signs in at once
    assert attempt(client, STAFF_PASSWORD).status_code == 302
    # an unknown username gets the very same pages
    unknown = attacker.post(
        "/admin/login",
        data={"username": "nobody", "password": "x", "csrf_token": csrf_token(attacker)},
    )
    assert unknown.status_code == 401
    assert "用户名或密码错误" in unknown.get_data(as_text=True)


def test_sign_out_ends_the_session(app, client):
    console_sign_in(app, client, "analyst")
    assert console_post(client, "/admin/logout").status_code == 302
    assert client.get("/admin/").status_code == 302


def test_next_never_leaves_the_console(app, client):
    username = f"nx-{id(client)}"
    app.test_cli_runner().invoke(
        args=["staff", "create", username, "--role", "analyst", "--password", STAFF_PASSWORD]
    )
    response = client.post(
        "/admin/login?next=https://evil.example/",
        data={"username": username, "password": STAFF_PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"] == "/admin/"


def test_password_change_needs_the_current_password(app, client):
    console_sign_in(app, client, "reviewer")
    wrong = console_post(
        client,
        "/admin/password",
        {"current": "nope", "new": "a brand new password"},
        "/admin/password",
    )
    assert wrong.status_code == 422
    ok = console_post(
        client,
        "/admin/password",
        {"current": STAFF_PASSWORD, "new": "a brand new password"},
        "/admin/password",
    )
    assert ok.status_code == 302


def test_language_switch_changes_the_console_to_english(app, client):
    console_sign_in(app, client, "analyst")
    console_post(client, "/admin/lang/en", {"next": "/admin/"})
    assert "Dashboard" in client.get("/admin/").get_data(as_text=True)
    console_post(client, "/admin/lang/zh", {"next": "/admin/"})
    assert "概览" in client.get("/admin/").get_data(as_text=True)
