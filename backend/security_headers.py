"""Security headers on every response: a Content-Security-Policy without inline script,
no framing, no MIME sniffing, and referrers kept to this site.

One page needs an inline script, flask-smorest's Swagger UI at /api/docs: its policy
allows exactly the scripts it renders, by their hashes, and nothing else inline.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: over HTTPS flask-wtf refuses a console form without a same-origin
    # Referer. Other sites never see a console address.
    "Referrer-Policy": "same-origin",
}
# Pages rendered by a library with an inline script: allowed by the script's hash.
INLINE_SCRIPT_ENDPOINTS = frozenset({"api-docs.openapi_swagger_ui"})
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def policy(extra_script_sources: tuple[str, ...] = ()) -> str:
    directives = dict(POLICY)
    if extra_script_sources:
        directives["script-src"] = " ".join((POLICY["script-src"], *extra_script_sources))
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _script_hashes(html: str) -> tuple[str, ...]:
    return tuple(
        f"'sha256-{base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()}'"
        for body in _INLINE_SCRIPT.findall(html)
    )


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response: Response) -> Response:
        hashes: tuple[str, ...] = ()
        if request.endpoint in INLINE_SCRIPT_ENDPOINTS and not response.direct_passthrough:
            hashes = _script_hashes(response.get_data(as_text=True))
        response.headers["Content-Security-Policy"] = policy(hashes)
        for name, value in HEADERS.items():
            response.headers[name] = value
        return response
