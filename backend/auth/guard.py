"""Who is calling: the resident behind a Bearer access token."""

from __future__ import annotations

from functools import wraps

from flask import g

from backend.auth import service
from backend.auth.models import ResidentSession
from backend.residents.models import Resident
from backend.tokens import authenticate_bearer


def resident_required(view):
    """Refuse the request unless it carries a live resident access token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.resident_session = authenticate_bearer(service.authenticate, realm="resident")
        return view(*args, **kwargs)

    return wrapper


def current_session() -> ResidentSession:
    return g.resident_session


def current_resident() -> Resident:
    return g.resident_session.resident
