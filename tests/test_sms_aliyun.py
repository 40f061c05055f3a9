"""The Aliyun SMS adapter: a signed SendSms call; a refusal sends nothing and writes nothing."""

import base64
import hashlib
import hmac
import json
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from backend.auth.models import OtpChallenge
from backend.auth.sms import AliyunSmsSender
from tests.factories import new_phone, privacy_version
from tests.fake_http import fake_json_api

SECRET = "aliyun-secret"


def expected_signature(params: dict) -> str:
    """Aliyun's RPC signature, written out independently of the adapter."""
    enc = lambda s: quote(s, safe="~")  # noqa: E731
    canonical = "&".join(f"{enc(k)}={enc(params[k])}" for k in sorted(params))
    to_sign = f"GET&{enc('/')}&{enc(canonical)}"
    mac = hmac.new(f"{SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


@pytest.fixture
def aliyun(app, monkeypatch):
    """A fake Dysms endpoint; set `answer["Code"]` to make it refuse."""
    answer = {"Code": "OK", "Message": "OK"}
    with fake_json_api(lambda path, query: answer) as (base, seen):
        sender = AliyunSmsSender("key-id", SECRET, "肇庆碳普惠", "SMS_123", base + "/")
        monkeypatch.setitem(app.extensions, "sms_sender", sender)
        yield answer, seen


def test_code_is_sent_through_a_signed_sendsms_call_and_not_shown(client, aliyun):
    phone = new_phone()
    response = client.post("/api/v1/auth/otp", json={"phone": phone})
    assert response.status_code == 202
    assert "dev_code" not in response.json
    _answer, seen = aliyun
    params = dict(seen[0][1])
    signature = params.pop("Signature")
    assert signature == expected_signature(params)
    assert params["Action"] == "SendSms"
    assert params["PhoneNumbers"] == phone
    assert params["SignName"] == "肇庆碳普惠"
    assert params["TemplateCode"] == "SMS_123"
    code = json.loads(params["TemplateParam"])["code"]
    login = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    assert login.status_code == 200


def test_provider_refusal_is_502_and_leaves_no_challenge(client, db_session, aliyun):
    answer, _seen = aliyun
    answer["Code"] = "isv.BUSINESS_LIMIT_CONTROL"
    before = db_session.scalar(select(func.count()).select_from(OtpChallenge))
    response = client.post("/api/v1/auth/otp", json={"phone": new_phone()})
    assert response.status_code == 502
    assert response.json["error"]["code"] == "sms_unavailable"
    assert db_session.scalar(select(func.count()).select_from(OtpChallenge)) == before
