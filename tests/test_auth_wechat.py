"""WeChat mini-program login, with the fake adapter and the HTTP adapter."""

import pytest

from backend.auth.wechat import HttpWechatLogin
from tests.factories import privacy_version
from tests.fake_http import fake_json_api


def test_same_wechat_code_signs_in_the_same_resident(client):
    first = client.post(
        "/api/v1/auth/wechat", json={"code": "wx-code-1", "privacy_version": privacy_version()}
    )
    again = client.post(
        "/api/v1/auth/wechat", json={"code": "wx-code-1", "privacy_version": privacy_version()}
    )
    other = client.post(
        "/api/v1/auth/wechat", json={"code": "wx-code-2", "privacy_version": privacy_version()}
    )
    assert first.status_code == 200
    assert first.json["resident"]["wechat_linked"] is True
    assert first.json["resident"]["phone_masked"] is None
    assert again.json["resident"]["id"] == first.json["resident"]["id"]
    assert other.json["resident"]["id"] != first.json["resident"]["id"]
    headers = {"Authorization": f"Bearer {first.json['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_invalid_wechat_code_is_refused(client):
    response = client.post(
        "/api/v1/auth/wechat", json={"code": "invalid-code", "privacy_version": privacy_version()}
    )
    assert response.status_code == 401
    assert response.json["error"]["code"] == "wechat_code_invalid"


def test_wechat_code_must_be_present(client):
    response = client.post(
        "/api/v1/auth/wechat", json={"code": "", "privacy_version": privacy_version()}
    )
    assert response.status_code == 422
    assert "code" in response.json["error"]["fields"]


def jscode2session(path: str, query: dict) -> dict:
    """Answers like api.weixin.qq.com/sns/jscode2session."""
    code = query["js_code"]
    if code == "used":
        return {"errcode": 40163, "errmsg": "code been used"}
    if code == "busy":
        return {"errcode": -1, "errmsg": "system error"}
    return {"openid": f"openid-for-{code}", "session_key": "k"}


@pytest.fixture
def wechat_server(app, monkeypatch):
    with fake_json_api(jscode2session) as (base, seen):
        login = HttpWechatLogin("wx-app", "wx-secret", base, timeout=2)
        monkeypatch.setitem(app.extensions, "wechat_login", login)
        yield seen


def test_http_adapter_exchanges_the_code_with_jscode2session(client, wechat_server):
    response = client.post(
        "/api/v1/auth/wechat", json={"code": "abc", "privacy_version": privacy_version()}
    )
    assert response.status_code == 200
    path, query = wechat_server[0]
    assert path == "/sns/jscode2session"
    assert query == {
        "appid": "wx-app",
        "secret": "wx-secret",
        "js_code": "abc",
        "grant_type": "authorization_code",
    }


def test_http_adapter_maps_wechat_errors(client, wechat_server):
    used = client.post(
        "/api/v1/auth/wechat", json={"code": "used", "privacy_version": privacy_version()}
    )
    assert used.status_code == 401
    assert used.json["error"]["code"] == "wechat_code_invalid"
    busy = client.post(
        "/api/v1/auth/wechat", json={"code": "busy", "privacy_version": privacy_version()}
    )
    assert busy.status_code == 502
    assert busy.json["error"]["code"] == "wechat_unavailable"


def test_http_adapter_reports_an_unreachable_wechat(app, client, monkeypatch):
    monkeypatch.setitem(
        app.extensions, "wechat_login", HttpWechatLogin("a", "s", "http://127.0.0.1:9", timeout=1)
    )
    response = client.post(
        "/api/v1/auth/wechat", json={"code": "abc", "privacy_version": privacy_version()}
    )
    assert response.status_code == 502
    assert response.json["error"]["code"] == "wechat_unavailable"
