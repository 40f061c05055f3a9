"""Rate limits' storage: bound to the app, and refused requests when it cannot be reached.

The limits protect sign-in codes, sign-in attempts and residents' actions: without their
storage they cannot be kept, so those requests fail closed (503, never a 500 and never
unlimited); every other request is served as usual.
"""

from __future__ import annotations

import logging
import math
import time

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from flask_limiter import RateLimitExceeded
from limits.errors import StorageError

from backend.auth.guard import current_resident
from backend.errors import ServiceUnavailable, TooManyRequests, handle_app_error
from backend.extensions import limiter

log = logging.getLogger(__name__)

# How soon a client may try again when the storage is down: a restart or failover's time
RETRY_AFTER_SECONDS = 30


def _storage_down(error: StorageError):
    log.error("rate limit storage unreachable, request refused: %s", error.storage_error)
    return handle_app_error(
        ServiceUnavailable(
            _l("Limits cannot be checked just now; try again shortly."),
            code="rate_limit_unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    )


def _limited(_error: RateLimitExceeded):
    """429 rate_limited, with Retry-After: when the breached limit lets a request in again."""
    breached = limiter.current_limit
    try:
        seconds = math.ceil(breached.reset_at - time.time()) if breached else RETRY_AFTER_SECONDS
    except StorageError:
        seconds = RETRY_AFTER_SECONDS
    return handle_app_error(TooManyRequests(headers={"Retry-After": str(max(1, seconds))}))


def per_resident(setting: str, scope: str):
    """A limit on a resident's POSTs, read from `setting`: apply it inside
    resident_required (decorators run outermost last), so the resident is known."""
    return limiter.limit(
        lambda: current_app.config[setting],
        key_func=lambda: f"resident:{current_resident().id}",
        scope=scope,
        methods=["POST"],
    )


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _limited)
    app.register_error_handler(StorageError, _storage_down)
