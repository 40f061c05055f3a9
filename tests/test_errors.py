"""Every error has one shape, a status, a code and a message in the client's language."""

import pytest

from backend.districts import service as districts_service
from tests.factories import sign_in, staff_headers


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["fields"], dict)
    return error


def test_400_malformed_json(client):
    response = client.post(
        "/api/v1/auth/otp", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_json")


def test_401_without_token(client):
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")


def test_404_unknown_route(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(client.get("/definitely/not/here"), 404, "not_found")


def test_405_wrong_method_names_the_allowed_ones(client):
    response = client.delete("/api/v1/auth/otp")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_413_body_too_large(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "JSON_BODY_MAX_BYTES", 1024)
    response = client.post(
        "/api/v1/auth/otp", data='{"phone": "' + "1" * 2000 + '"}', content_type="application/json"
    )
    error = assert_error(response, 413, "payload_too_large")
    assert error["message"] == "请求内容不得超过 1 KB。"


def test_415_body_not_json(client):
    response = client.post(
        "/api/v1/auth/otp",
        data="phone=13800000000",
        content_type="application/x-www-form-urlencoded",
    )
    assert_error(response, 415, "unsupported_media_type")


def test_422_lists_messages_per_field(client):
    response = client.post("/api/v1/auth/login", json={"phone": "1", "extra": True})
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"phone", "code", "extra"}
    assert error["fields"]["code"] == ["缺少必填字段。"]
    assert error["fields"]["extra"] == ["未知字段。"]


def test_422_for_a_body_that_is_not_an_object(client):
    response = client.post("/api/v1/auth/otp", json=["13800000000"])
    assert_error(response, 422, "validation_error")


def test_429_is_json_with_retry_after(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT_PER_IP", "1 per hour")
    client.post("/api/v1/auth/refresh", json={"refresh_token": "x"})
    response = client.post("/api/v1/auth/refresh", json={"refresh_token": "x"})
    assert_error(response, 429, "rate_limited")
    assert response.headers["Retry-After"]


def test_500_hides_the_stack_trace(client, monkeypatch, caplog):
    def broken():
        raise RuntimeError("secret internals")

    monkeypatch.setattr(districts_service, "list_districts", broken)
    response = client.get("/api/v1/districts")
    error = assert_error(response, 500, "internal_error")
    assert "secret internals" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert error["message"] == "服务器内部错误，请稍后再试。"
    assert "secret internals" in caplog.text  # operators still see it in the log


def test_messages_are_chinese_by_default_and_english_on_request(client):
    zh = client.get("/api/v1/me")
    assert (
        zh.json["error"]["message"] == "请先登录：请求头须带 Authorization: Bearer <access_token>。"
    )
    assert zh.headers["Content-Language"] == "zh-CN"
    en = client.get("/api/v1/me", headers={"Accept-Language": "en"})
    assert (
        en.json["error"]["message"] == "Sign in first: send Authorization: Bearer <access_token>."
    )
    assert en.headers["Content-Language"] == "en"
    en_us = client.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert en_us.json["error"]["message"].startswith("Sign in first")


def test_field_messages_follow_the_language_too(client):
    me = sign_in(client)
    body = {"nickname": "x" * 40}
    zh = client.patch("/api/v1/me", json=body, headers=me.headers)
    assert zh.json["error"]["fields"]["nickname"] == ["长度须在 1 到 32 之间。"]
    en = client.patch("/api/v1/me", json=body, headers={**me.headers, "Accept-Language": "en"})
    assert en.json["error"]["fields"]["nickname"] == ["Length must be between 1 and 32."]


@pytest.mark.parametrize("path", ["/api/v1/auth/otp", "/api/v1/auth/login", "/api/v1/auth/wechat"])
def test_empty_json_body_is_a_validation_error(client, path):
    response = client.post(path, data="", content_type="application/json")
    assert response.status_code in (400, 422)
    assert "error" in response.json


# Found by fuzzing (tests/test_api_fuzz.py): input no row can hold used to reach the
# database and come back as a 500 (PostgreSQL refuses NUL in text and ids past `integer`).


@pytest.mark.parametrize("action_id", [2**31, 10**30])
def test_a_path_id_past_what_a_row_can_hold_is_404_not_500(client, action_id):
    me = sign_in(client)
    assert_error(client.get(f"/api/v1/actions/{action_id}", headers=me.headers), 404, "not_found")


def test_an_integer_past_what_the_database_holds_is_422_not_500(app, client):
    analyst = staff_headers(app, client, "analyst")
    response = client.get(f"/api/v1/stats/summary?campaign_id={10**30}", headers=analyst)
    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"campaign_id"}


def test_text_holding_a_nul_character_is_422_on_every_database(client):
    me = sign_in(client)
    response = client.patch("/api/v1/me", json={"nickname": "绿\x00行者"}, headers=me.headers)
    error = assert_error(response, 422, "validation_error")
    assert "不能包含 NUL 字符。" in error["fields"]["nickname"]
