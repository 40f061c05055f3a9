"""WeChat mini-program login: exchange a `wx.login` code for the user's openid.

The fake adapter (development, tests) derives a stable openid from the code; the HTTP
adapter calls jscode2session.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Protocol


class WechatCodeInvalid(Exception):
    """WeChat says the code is invalid, expired or already used."""


class WechatUnavailable(Exception):
    """WeChat could not be asked."""


class WechatLogin(Protocol):
    def openid_for(self, code: str) -> str: ...


class FakeWechatLogin:
    """Any code works and the same code is the same user; codes starting 'invalid' fail."""

    def openid_for(self, code: str) -> str:
        if code.startswith("invalid"):
            raise WechatCodeInvalid(code)
        return "fake-" + hashlib.sha256(code.encode()).hexdigest()[:28]


class HttpWechatLogin:
    # jscode2session errcodes meaning the code itself is bad (not a service problem)
    CODE_ERRORS = frozenset({40029, 40163, 40226})

    def __init__(self, app_id: str, app_secret: str, api_base: str, timeout: float = 5.0):
        self.app_id = app_id
        self.app_secret = app_secret
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout

    def openid_for(self, code: str) -> str:
        query = urllib.parse.urlencode(
            {
                "appid": self.app_id,
                "secret": self.app_secret,
                "js_code": code,
                "grant_type": "authorization_code",
            }
        )
        url = f"{self.api_base}/sns/jscode2session?{query}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read().decode())
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise WechatUnavailable(type(exc).__name__) from exc
        errcode = body.get("errcode") or 0
        if errcode in self.CODE_ERRORS:
            raise WechatCodeInvalid(str(errcode))
        if errcode or not body.get("openid"):
            raise WechatUnavailable(f"errcode {errcode}")
        return body["openid"]


def login_from_config(config: Mapping) -> WechatLogin:
    if config["WECHAT_LOGIN"] == "http":
        return HttpWechatLogin(
            config["WECHAT_APP_ID"], config["WECHAT_APP_SECRET"], config["WECHAT_API_BASE"]
        )
    return FakeWechatLogin()
