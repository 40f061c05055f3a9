"""Phone numbers: normalised, looked up by HMAC, stored encrypted, shown masked.

The plain number exists only in memory while a request handles it.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app

from backend import encryption

_SEPARATORS = re.compile(r"[\s\-().]")
_MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_PHONE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")


class InvalidPhone(ValueError):
    pass


def normalise_phone(raw: str) -> str:
    """Mainland China mobile number as 11 digits; country prefixes and separators dropped."""
    phone = _SEPARATORS.sub("", raw or "")
    for prefix in ("+86", "0086", "86"):
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            phone = phone[len(prefix) :]
            break
    if not _MAINLAND_MOBILE.match(phone):
        raise InvalidPhone(raw)
    return phone


def phone_hmac(phone: str) -> str:
    key = current_app.config["PHONE_HMAC_KEY"].encode()
    return hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()


def encrypt_phone(phone: str) -> str:
    return encryption.encrypt(phone)


def decrypt_phone(token: str) -> str:
    return encryption.decrypt(token)


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


def redact_phones(text: str) -> str:
    """Mask anything that looks like a mobile number (for log lines)."""
    return _PHONE_IN_TEXT.sub(r"\1****\3", text)
