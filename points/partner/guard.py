"""Which partner signed this request (X-Partner-Key, X-Timestamp, X-Signature)."""

from functools import wraps

from flask import g, request

from points.partner import service


def partner_signed(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.partner = service.verify_request(
            request.headers.get("X-Partner-Key"),
            request.headers.get("X-Timestamp"),
            request.headers.get("X-Signature"),
            request.get_data(cache=True),
        )
        return view(*args, **kwargs)

    return wrapper


def current_partner():
    return g.partner
