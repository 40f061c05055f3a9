"""Who is calling: the resident behind a Bearer access token."""

from __future__ import annotations

from functools import wraps

from flask import g
from flask_babel import lazy_gettext as _l

from backend.auth import service
from backend.auth.models import ResidentSession
from backend.errors import Unauthorized
from backend.residents.models import Resident
from backend.tokens import bearer_token

BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="resident"'}


def resident_required(view):
    """Refuse the request unless it carries a live resident access token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        if token is None:
            raise Unauthorized(
                _l("Sign in first: send Authorization: Bearer <access_token>."),
                headers=BEARER_CHALLENGE,
            )
        try:
            g.resident_session = service.authenticate(token)
        except Unauthorized as exc:
            exc.headers.update(BEARER_CHALLENGE)
            raise
        return view(*args, **kwargs)

    return wrapper


def current_session() -> ResidentSession:
    return g.resident_session


def current_resident() -> Resident:
    return g.resident_session.resident
