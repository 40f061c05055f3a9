"""Encryption at rest for what must be readable again (phone numbers, partner secrets).

Fernet keys from ENCRYPTION_KEYS: the first encrypts, every key decrypts (rotation).
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


@lru_cache(maxsize=4)
def _cipher(keys: str) -> MultiFernet:
    return MultiFernet([Fernet(k.strip().encode()) for k in keys.split(",") if k.strip()])


def encrypt(text: str) -> str:
    return _cipher(current_app.config["ENCRYPTION_KEYS"]).encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _cipher(current_app.config["ENCRYPTION_KEYS"]).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("ciphertext cannot be read with the configured keys") from exc
