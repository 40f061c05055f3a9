"""Reading console forms through the API's own schemas, and showing what they hold:
Beijing-time inputs, kg for grams, field messages; a service's refusal is shown as a
console page with its status, never as the JSON error of the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import marshmallow as ma
from flask import Response, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _

from admin.console.labels import field_label, quantity_label
from admin.console.views import console
from backend.clock import LOCAL_TZ
from backend.errors import AppError, ValidationFailed
from backend.i18n import translate_message
from backend.pagination import paginate

PAGE_SIZE = 20
# What <input type="datetime-local"> shows and sends: minutes, no offset (Beijing time).
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def local_input(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime(LOCAL_INPUT) if moment else ""


@console.app_template_filter("beijing")
def beijing(moment: datetime | None) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if moment else "—"


@console.app_template_filter("co2e")
def co2e(grams: int | None) -> str:
    grams = grams or 0
    if grams < 1000:
        return quantity_label(grams, "g")
    return quantity_label(f"{grams / 1000:,.1f}", "kg")


def kg_input(grams: int | None) -> str:
    return "" if grams is None else str(Decimal(grams) / 1000)


def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, list | tuple):
        return [text for item in messages for text in _flatten(item)]
    if isinstance(messages, dict):
        return [text for item in messages.values() for text in _flatten(item)]
    return [translate_message(str(messages))]


def field_messages(fields: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per form field, the messages of a schema or a service (nested ones flattened)."""
    return {str(name): _flatten(messages) for name, messages in fields.items()}


def load(schema: ma.Schema, body: dict) -> dict:
    """Load a form body with the API's schema; its refusal is the API's ValidationFailed."""
    try:
        return schema.load(body)
    except ma.ValidationError as exc:
        raise ValidationFailed(fields=exc.normalized_messages()) from exc


def blank_to_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def flash_refusal(exc: AppError, *, with_fields: bool = False) -> None:
    flash(str(exc.message), "error")
    if with_fields:  # a button has no fields to show messages beside
        for name, messages in field_messages(exc.fields).items():
            for message in messages:
                flash(f"{field_label(None, name)}{_(': ')}{message}", "error")


def refused(exc: AppError, template: str, *, with_fields: bool = False, **context) -> Response:
    """Show the page again with the refusal flashed and each field's messages beside it."""
    flash_refusal(exc, with_fields=with_fields)
    page = render_template(template, errors=field_messages(exc.fields), **context)
    return make_response(page, exc.status)


def page_of(query, id_column, *, oldest_first: bool = False) -> dict:
    """One page of `query` after the `cursor` query argument."""
    cursor = request.args.get("cursor") or None
    return paginate(query, id_column, PAGE_SIZE, cursor, oldest_first=oldest_first)


@console.app_template_global("cursor_url")
def cursor_url(cursor: str | None) -> str:
    """This page with the same filters at another cursor (None: the first page)."""
    args = {**(request.view_args or {}), **request.args.to_dict(), "cursor": cursor}
    return url_for(request.endpoint, **args)
