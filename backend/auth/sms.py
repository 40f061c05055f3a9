"""SMS senders: the console sender for development, Aliyun SMS for production.

The console sender also lets the API return the code as `dev_code`; production refuses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

from backend.residents.phone import mask_phone

log = logging.getLogger(__name__)


class SmsDeliveryFailed(Exception):
    """The provider did not accept the message."""


class SmsSender(Protocol):
    #: Whether clients may be shown the code (development only).
    shows_code: bool

    def send_code(self, phone: str, code: str) -> None: ...


class ConsoleSmsSender:
    shows_code = True

    def send_code(self, phone: str, code: str) -> None:
        log.info("SMS code for %s: %s (console sender, development only)", mask_phone(phone), code)


def _percent(value: str) -> str:
    return urllib.parse.quote(value, safe="~")


class AliyunSmsSender:
    """Aliyun Dysms SendSms with the RPC signature (HMAC-SHA1, signature version 1.0)."""

    shows_code = False

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        sign_name: str,
        template_code: str,
        endpoint: str = "https://dysmsapi.aliyuncs.com/",
        timeout: float = 5.0,
    ) -> None:
        self.access_key_id = access_key_id
        self.access_key_secret = access_key_secret
        self.sign_name = sign_name
        self.template_code = template_code
        self.endpoint = endpoint
        self.timeout = timeout

    def signed_query(self, params: Mapping[str, str]) -> str:
        canonical = "&".join(f"{_percent(k)}={_percent(v)}" for k, v in sorted(params.items()))
        string_to_sign = "GET&" + _percent("/") + "&" + _percent(canonical)
        digest = hmac.new(
            (self.access_key_secret + "&").encode(), string_to_sign.encode(), hashlib.sha1
        ).digest()
        signature = base64.b64encode(digest).decode()
        return f"Signature={_percent(signature)}&{canonical}"

    def send_code(self, phone: str, code: str) -> None:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": phone,
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({"code": code}),
            "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        url = self.endpoint + "?" + self.signed_query(params)
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read().decode())
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise SmsDeliveryFailed(f"Aliyun SMS unreachable: {type(exc).__name__}") from exc
        if body.get("Code") != "OK":
            # The provider's message names the error, never the number.
            raise SmsDeliveryFailed(f"Aliyun SMS refused: {body.get('Code')}")


def sender_from_config(config: Mapping) -> SmsSender:
    if config["SMS_SENDER"] == "aliyun":
        return AliyunSmsSender(
            access_key_id=config["ALIYUN_SMS_ACCESS_KEY_ID"],
            access_key_secret=config["ALIYUN_SMS_ACCESS_KEY_SECRET"],
            sign_name=config["ALIYUN_SMS_SIGN_NAME"],
            template_code=config["ALIYUN_SMS_TEMPLATE_CODE"],
            endpoint=config["ALIYUN_SMS_ENDPOINT"],
        )
    return ConsoleSmsSender()
