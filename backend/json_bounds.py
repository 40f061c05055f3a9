"""Request bodies, bounded: a JSON body's size per route family, its nesting depth and the
length of its numbers are checked before the parser does any work, so no body of any shape
or size costs much or gives a 500.

One parser (`loads`) serves Flask's `request.get_json` (the app's JSON provider, as the rate
limiter and the idempotency check read bodies) and the API's argument parser alike; a
refusal is 400 `invalid_json` naming its reason.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import flask
from flask import current_app
from flask.json.provider import DefaultJSONProvider
from flask_babel import lazy_gettext as _l

from backend.errors import InvalidJson

# The setting that bounds a JSON body unless its view names another (`json_body_limit`).
DEFAULT_BODY_LIMIT = "JSON_BODY_MAX_BYTES"

# A JSON string, escapes included: brackets inside one do not nest. Unrolled, so linear.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# A \u escape of a surrogate: only then can a string hold half a pair.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


@dataclass(frozen=True)
class JsonLimits:
    max_depth: int
    max_number_chars: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> JsonLimits:
        return cls(config["JSON_MAX_DEPTH"], config["JSON_MAX_NUMBER_CHARS"])


class JsonRefused(json.JSONDecodeError):
    """A body the API does not parse; `reason` says why in the client's language.

    A JSONDecodeError (so a ValueError), so every caller that handles a malformed body
    handles this one too, `request.get_json(silent=True)` included."""

    def __init__(self, reason: Any, doc: str = "", pos: int = 0) -> None:
        super().__init__("refused", doc, pos)
        self.reason = reason


def loads(data: bytes | str, limits: JsonLimits) -> Any:
    """The value of a JSON text in UTF-8, or JsonRefused: too deep, a number too long or
    out of range, NaN or Infinity, a duplicate key, a lone surrogate, or not JSON at all."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonRefused(_l("The body is not UTF-8 text.")) from exc
    else:
        text = data
    if _deeper_than(text, limits.max_depth):
        raise JsonRefused(
            _l(
                "The body nests arrays and objects deeper than %(depth)s levels.",
                depth=limits.max_depth,
            )
        )
    try:
        value = json.loads(
            text,
            parse_int=lambda s: int(_short_number(s, limits)),
            parse_float=lambda s: _finite(float(_short_number(s, limits))),
            parse_constant=_refuse_constant,
            object_pairs_hook=_object,
        )
    except JsonRefused:
        raise
    except json.JSONDecodeError as exc:
        raise JsonRefused(
            _l(
                "The body is not valid JSON (line %(line)s, column %(column)s).",
                line=exc.lineno,
                column=exc.colno,
            ),
            exc.doc,
            exc.pos,
        ) from exc
    except RecursionError as exc:  # not reachable within the depth bound; never a 500
        raise JsonRefused(_l("The body nests arrays and objects too deeply.")) from exc
    if _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(value)
    return value


def _deeper_than(text: str, max_depth: int) -> bool:
    """Whether arrays and objects nest deeper than `max_depth`, found without recursion
    (Python's parser recurses once per level: 1,500 levels were a RecursionError)."""
    if text.count("[") + text.count("{") <= max_depth:
        return False  # the common case: too few brackets to nest that deep
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > max_depth


def _short_number(text: str, limits: JsonLimits) -> str:
    # Before int() or float() reads it: a 5,000-digit integer costs quadratic time (and
    # is past Python's own limit, a ValueError that was a 500).
    if len(text) > limits.max_number_chars:
        raise JsonRefused(
            _l(
                "The body holds a number longer than %(length)s characters.",
                length=limits.max_number_chars,
            )
        )
    return text


def _finite(value: float) -> float:
    if not math.isfinite(value):  # 1e999
        raise JsonRefused(_l("The body holds a number too large to represent."))
    return value


def _refuse_constant(name: str) -> None:
    raise JsonRefused(_l("The body holds NaN or Infinity, which JSON does not allow."))


def _object(pairs: list[tuple[str, Any]]) -> dict:
    # Two values for one key would be read differently by different parsers.
    value = dict(pairs)
    if len(value) != len(pairs):
        raise JsonRefused(_l("The body names the same key twice in one object."))
    return value


def _refuse_lone_surrogates(value: Any) -> None:
    # Half a surrogate pair cannot be stored or sent as UTF-8 (a 500 later on): encoding
    # the parsed value finds one wherever it hides, keys included.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise JsonRefused(_l("The body holds text that is not valid Unicode.")) from exc


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with every body it reads parsed by `loads` within the app's limits."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, JsonLimits.from_config(self._app.config))


class BoundedRequest(flask.Request):
    """A JSON body may be as large as its route needs (the view's `json_body_limit`, a
    setting's name, else JSON_BODY_MAX_BYTES); other bodies (photo uploads, console forms)
    keep MAX_CONTENT_LENGTH. Past the limit Werkzeug answers 413 before reading the body."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is not None or not current_app:
            return super().max_content_length
        config = current_app.config
        if not self.is_json:
            return config["MAX_CONTENT_LENGTH"]
        view = current_app.view_functions.get(self.endpoint) if self.endpoint else None
        declared = getattr(getattr(view, "view_class", view), "json_body_limit", None)
        return config[declared or DEFAULT_BODY_LIMIT]

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, JsonRefused):
            raise InvalidJson(e.reason)
        return super().on_json_loading_failed(e)


def install(app: flask.Flask) -> None:
    """Make every body this app reads bounded (call before anything reads one)."""
    app.request_class = BoundedRequest
    app.json = BoundedJSONProvider(app)
