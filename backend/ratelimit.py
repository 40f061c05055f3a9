"""Rate limits' storage: bound to the app, and refused requests when it cannot be reached.

The limits protect sign-in codes, sign-in attempts and residents' actions: without their
storage they cannot be kept, so those requests fail closed (503, never a 500 and never
unlimited); every other request is served as usual.
"""

from __future__ import annotations

import logging

from flask import Flask
from flask_babel import lazy_gettext as _l
from limits.errors import StorageError

from backend.errors import ServiceUnavailable, handle_app_error
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


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    app.register_error_handler(StorageError, _storage_down)
