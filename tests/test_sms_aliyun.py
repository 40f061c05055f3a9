"""The Aliyun SMS adapter: a signed SendSms call; a refusal sends nothing and writes nothing."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, quote, urlparse

import pytest
from sqlalchemy import func, select

from backend.auth.models import OtpChallenge
from backend.auth.sms import AliyunSmsSender
from tests.factories import new_phone

SECRET = "aliyun-secret"


def expected_signature(params: dict) -> str:
    """Aliyun's RPC signature, written out independently of the adapter."""
    enc = lambda s: quote(s, safe="~")  # noqa: E731
    canonical = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params))
    to_sign = f"GET&{enc('/')}&{enc(canonical)}"
    mac = hmac.new(f"{SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


class FakeDysms(BaseHTTPRequestHandler):
    received: list = []
    answer = {"Code": "OK", "Message": "OK"}

    def do_GET(self):
        params = dict(parse_qsl(urlparse(self.path).query, keep_blank_values=True))
        type(self).received.append(params)
        payload = json.dumps(type(self).answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def aliyun(app, monkeypatch):
    server = HTTPServer(("127.0.0.1", 0), FakeDysms)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sender = AliyunSmsSender(
        "key-id", SECRET, "肇庆碳普惠", "SMS_123", f"http://127.0.0.1:{server.server_port}/"
    )
    monkeypatch.setitem(app.extensions, "sms_sender", sender)
    FakeDysms.received = []
    FakeDysms.answer = {"Code": "OK", "Message": "OK"}
    yield FakeDysms
    server.shutdown()
    server.server_close()


def test_code_is_sent_through_a_signed_sendsms_call_and_not_shown(client, aliyun):
    phone = new_phone()
    response = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 202
    assert "dev_code" not in response.json
    params = aliyun.received[0]
    signature = params.pop("Signature")
    assert signature == expected_signature(params)
    assert params["Action"] == "SendSms"
    assert params["PhoneNumbers"] == phone
    assert params["SignName"] == "肇庆碳普惠"
    assert params["TemplateCode"] == "SMS_123"
    code = json.loads(params["TemplateParam"])["code"]
    login = client.post("/api/v1/auth/login", json={"phone": phone, "code": code})
    assert login.status_code == 200


def test_provider_refusal_is_502_and_leaves_no_challenge(client, db_session, aliyun):
    aliyun.answer = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "limit"}
    before = db_session.scalar(select(func.count()).select_from(OtpChallenge))
    response = client.post("/api/v1/auth/otp", json={"phone": new_phone()})
    assert response.status_code == 502
    assert response.json["error"]["code"] == "sms_unavailable"
    assert db_session.scalar(select(func.count()).select_from(OtpChallenge)) == before
