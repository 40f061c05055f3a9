"""Cursor pagination: {"items": [...], "next_cursor": "..." | null}, by id."""

from __future__ import annotations

import base64
import binascii

import marshmallow as ma
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select

from backend.api import Schema
from backend.errors import ValidationFailed
from backend.extensions import db


class PageArgsSchema(Schema):
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=100))
    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page of `item_schema` items, named for the OpenAPI document."""
    return type(
        name,
        (Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema)),
            "next_cursor": ma.fields.String(allow_none=True),
        },
    )


def _encode(last_id: int) -> str:
    return encode_key((last_id,))


def _decode(cursor: str) -> int:
    return decode_key(cursor, 1)[0]


def encode_key(values: tuple[int, ...]) -> str:
    """A cursor for a page ordered by several non-negative integers (a total, then an id)."""
    text = ":".join(str(value) for value in values)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_key(cursor: str, length: int) -> tuple[int, ...]:
    """The `length` integers of a cursor `encode_key` made; 422 invalid_cursor otherwise."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        parts = base64.urlsafe_b64decode(padded.encode()).decode().split(":")
        values = tuple(int(part) for part in parts)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ValidationFailed(
            fields={"cursor": [_l("Not a valid cursor.")]}, code="invalid_cursor"
        ) from exc
    if len(values) != length or any(value < 0 for value in values):
        raise ValidationFailed(
            fields={"cursor": [_l("Not a valid cursor.")]}, code="invalid_cursor"
        )
    return values


def paginate(
    query: Select, id_column, limit: int, cursor: str | None, *, oldest_first: bool = False
) -> dict:
    """One page of `query` ordered by `id_column` (newest first unless told), after `cursor`."""
    if cursor:
        after = _decode(cursor)
        query = query.where(id_column > after if oldest_first else id_column < after)
    order = id_column.asc() if oldest_first else id_column.desc()
    rows = list(db.session.scalars(query.order_by(order).limit(limit + 1)))
    next_cursor = _encode(getattr(rows[limit - 1], id_column.key)) if len(rows) > limit else None
    return {"items": rows[:limit], "next_cursor": next_cursor}
