"""One error type for the whole app and one handler that renders every error.

Services raise `AppError` subclasses; Werkzeug's, webargs' and Flask-Limiter's errors are
rendered in the same shape: {"error": {"code", "message", "fields"}}.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask, has_request_context, jsonify, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

from backend.i18n import translate_message

log = logging.getLogger(__name__)


class AppError(Exception):
    """A refusal a client can act on: status, machine-readable code, message, fields."""

    status: int = 400
    code: str = "bad_request"
    message: Any = _l("The request could not be processed.")

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        fields: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        self.fields = dict(fields or {})
        self.headers = dict(headers or {})
        super().__init__(self.code)


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class InvalidJson(AppError):
    """A JSON body refused before or while parsing it; the message names the reason."""

    status = 400
    code = "invalid_json"
    message = _l("The body is not valid JSON.")


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = _l("Sign in first.")


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = _l("You may not do this.")


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = _l("No such resource.")


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = _l("The request conflicts with the current state.")


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    message = _l("The request body is too large.")


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"
    message = _l("Some fields are not valid.")


class Busy(AppError):
    """Too much of some expensive work at once: the client retries after Retry-After."""

    status = 503
    code = "busy"
    message = _l("The server is busy; try again in a few seconds.")


class UpstreamUnavailable(AppError):
    status = 502
    code = "upstream_unavailable"
    message = _l("An external service did not answer; try again later.")


class TooManyRequests(AppError):
    """A limit the service counts itself (in the database); give Retry-After in headers."""

    status = 429
    code = "rate_limited"
    message = _l("Too many requests; slow down and try again later.")


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    message = _l("The service is not ready; try again later.")


# Codes and messages for errors raised by Flask, Werkzeug and the extensions.
HTTP_ERRORS: dict[int, tuple[str, Any]] = {
    400: ("bad_request", _l("The request could not be understood.")),
    401: ("unauthorized", _l("Sign in first.")),
    403: ("forbidden", _l("You may not do this.")),
    404: ("not_found", _l("No such resource.")),
    405: ("method_not_allowed", _l("This method is not allowed here.")),
    409: ("conflict", _l("The request conflicts with the current state.")),
    413: ("payload_too_large", _l("The request body is too large.")),
    415: ("unsupported_media_type", _l("Send the body as application/json.")),
    422: ("validation_error", _l("Some fields are not valid.")),
    429: ("rate_limited", _l("Too many requests; slow down and try again later.")),
    500: ("internal_error", _l("Something went wrong on our side.")),
    502: ("upstream_unavailable", _l("An external service did not answer; try again later.")),
    503: ("service_unavailable", _l("The service is not ready; try again later.")),
}


def _translate_messages(messages: Any) -> Any:
    """Translate marshmallow's field messages (catalogued in backend.i18n)."""
    if isinstance(messages, str):
        return translate_message(messages)
    if isinstance(messages, list):
        return [_translate_messages(m) for m in messages]
    if isinstance(messages, dict):
        return {str(k): _translate_messages(v) for k, v in messages.items()}
    return str(messages)  # a lazy message renders in the request's language


def error_response(
    status: int, code: str, message: Any, fields: Mapping[str, Any] | None = None, headers=None
):
    body = {"error": {"code": code, "message": str(message), "fields": dict(fields or {})}}
    response = jsonify(body)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_app_error(error: AppError):
    return error_response(
        error.status, error.code, error.message, _translate_messages(error.fields), error.headers
    )


def handle_http_exception(error: HTTPException):
    status = error.code or 500
    code, message = HTTP_ERRORS.get(status, ("http_error", error.description))
    fields: dict[str, Any] = {}
    headers: dict[str, str] = {}
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if status == 400 and messages:
        # webargs reports an unparseable JSON body this way
        code, message = "invalid_json", _l("The body is not valid JSON.")
    elif isinstance(messages, dict):
        # webargs nests messages by location (json, query, files...): clients want fields
        for location_messages in messages.values():
            if isinstance(location_messages, dict):
                fields.update(location_messages)
            else:
                fields.setdefault("_schema", []).extend(location_messages)
    if data.get("headers"):
        headers.update(data["headers"])
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if status == 413 and has_request_context() and request.max_content_length:
        message = _l(
            "The request body may be at most %(kilobytes)s KB.",
            kilobytes=request.max_content_length // 1024,
        )
    if status == 429:
        retry_after = getattr(error, "retry_after", None)
        if retry_after:
            headers["Retry-After"] = str(retry_after)
    return error_response(status, code, message, _translate_messages(fields), headers)


def handle_unexpected(error: Exception):
    # The stack trace goes to the log, never to the client.
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    log.exception("unhandled error", exc_info=error)
    return handle_http_exception(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
