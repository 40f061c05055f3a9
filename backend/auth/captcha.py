"""Human verification before a code is texted: a captcha ticket checked by an adapter.

The fake adapter (development, tests) passes FAKE_PASS_TICKET and nothing else; the HTTP
adapter asks a siteverify endpoint (the protocol Cloudflare Turnstile, hCaptcha and
reCAPTCHA share: a form POST of secret, response and remoteip; a JSON answer with
`success`). Production refuses the fake adapter.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Protocol

#: The one ticket the fake adapter passes; documented for clients' developers.
FAKE_PASS_TICKET = "fake-captcha-pass"  # noqa: S105 - the fake adapter's, refused in production


class CaptchaUnavailable(Exception):
    """The verification service could not be asked."""


class CaptchaVerifier(Protocol):
    def passes(self, ticket: str, client_ip: str) -> bool: ...


class FakeCaptchaVerifier:
    def passes(self, ticket: str, client_ip: str) -> bool:
        return ticket == FAKE_PASS_TICKET


class HttpCaptchaVerifier:
    def __init__(self, verify_url: str, secret: str, timeout: float = 5.0) -> None:
        self.verify_url = verify_url
        self.secret = secret
        self.timeout = timeout

    def passes(self, ticket: str, client_ip: str) -> bool:
        form = urllib.parse.urlencode(
            {"secret": self.secret, "response": ticket, "remoteip": client_ip}
        ).encode()
        # The configured endpoint (production requires https://)
        request = urllib.request.Request(self.verify_url, data=form, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read().decode())
        except (urllib.error.URLError, TimeoutError, ValueError) as exc:
            raise CaptchaUnavailable(type(exc).__name__) from exc
        if not isinstance(body, dict):
            raise CaptchaUnavailable("not a JSON object")
        return body.get("success") is True


def verifier_from_config(config: Mapping) -> CaptchaVerifier:
    if config["CAPTCHA_VERIFIER"] == "http":
        return HttpCaptchaVerifier(config["CAPTCHA_VERIFY_URL"], config["CAPTCHA_SECRET"])
    return FakeCaptchaVerifier()
