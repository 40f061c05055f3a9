"""WeChat mini-program login, with the fake adapter and the HTTP adapter."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from backend.auth.wechat import HttpWechatLogin


def test_same_wechat_code_signs_in_the_same_resident(client):
    first = client.post("/api/v1/auth/wechat", json={"code": "wx-code-1"})
    again = client.post("/api/v1/auth/wechat", json={"code": "wx-code-1"})
    other = client.post("/api/v1/auth/wechat", json={"code": "wx-code-2"})
    assert first.status_code == 200
    assert first.json["resident"]["wechat_linked"] is True
    assert first.json["resident"]["phone_masked"] is None
    assert again.json["resident"]["id"] == first.json["resident"]["id"]
    assert other.json["resident"]["id"] != first.json["resident"]["id"]
    headers = {"Authorization": f"Bearer {first.json['access_token']}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_invalid_wechat_code_is_refused(client):
    response = client.post("/api/v1/auth/wechat", json={"code": "invalid-code"})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "wechat_code_invalid"


def test_wechat_code_must_be_present(client):
    response = client.post("/api/v1/auth/wechat", json={"code": ""})
    assert response.status_code == 422
    assert "code" in response.json["error"]["fields"]


class FakeJscode2session(BaseHTTPRequestHandler):
    """Answers like api.weixin.qq.com/sns/jscode2session."""

    seen: list = []

    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        type(self).seen.append((urlparse(self.path).path, query))
        code = query["js_code"][0]
        if code == "used":
            body = {"errcode": 40163, "errmsg": "code been used"}
        elif code == "busy":
            body = {"errcode": -1, "errmsg": "system error"}
        else:
            body = {"openid": f"openid-for-{code}", "session_key": "k"}
        payload = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def wechat_server(app, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), FakeJscode2session)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setitem(
        app.extensions, "wechat_login", HttpWechatLogin("wx-app", "wx-secret", base, timeout=2)
    )
    FakeJscode2session.seen = []
    yield base
    server.shutdown()
    server.server_close()


def test_http_adapter_exchanges_the_code_with_jscode2session(client, wechat_server):
    response = client.post("/api/v1/auth/wechat", json={"code": "abc"})
    assert response.status_code == 200
    path, query = FakeJscode2session.seen[0]
    assert path == "/sns/jscode2session"
    assert query == {
        "appid": ["wx-app"],
        "secret": ["wx-secret"],
        "js_code": ["abc"],
        "grant_type": ["authorization_code"],
    }


def test_http_adapter_maps_wechat_errors(client, wechat_server):
    used = client.post("/api/v1/auth/wechat", json={"code": "used"})
    assert used.status_code == 401
    assert used.json["error"]["code"] == "wechat_code_invalid"
    busy = client.post("/api/v1/auth/wechat", json={"code": "busy"})
    assert busy.status_code == 502
    assert busy.json["error"]["code"] == "wechat_unavailable"


def test_http_adapter_reports_an_unreachable_wechat(app, client, monkeypatch):
    monkeypatch.setitem(
        app.extensions, "wechat_login", HttpWechatLogin("a", "s", "http://127.0.0.1:9", timeout=1)
    )
    response = client.post("/api/v1/auth/wechat", json={"code": "abc"})
    assert response.status_code == 502
    assert response.json["error"]["code"] == "wechat_unavailable"
