"""Bearer tokens: random, shown once, stored only as a digest."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import TypeVar

from flask import request
from flask_babel import lazy_gettext as _l

from backend.errors import Unauthorized

Session = TypeVar("Session")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    # 256 random bits need no slow hash: a plain digest makes a stolen table useless.
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def authenticate_bearer(authenticate: Callable[[str], Session], realm: str) -> Session:
    """The session behind the request's bearer token; 401 with a challenge otherwise."""
    challenge = {"WWW-Authenticate": f'Bearer realm="{realm}"'}
    token = bearer_token()
    if token is None:
        raise Unauthorized(
            _l("Sign in first: send Authorization: Bearer <access_token>."), headers=challenge
        )
    try:
        return authenticate(token)
    except Unauthorized as exc:
        exc.headers.update(challenge)
        raise
