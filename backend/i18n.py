"""Language of messages: Chinese (zh-CN) by default, English when the client asks for it.

Message ids are English; backend/translations holds the Chinese catalogue. marshmallow's
own field messages are catalogued here so that they are translated like ours.
"""

from __future__ import annotations

import re

from flask import Flask, Response, has_request_context, request, session
from flask_babel import Babel, get_locale, gettext
from flask_babel import lazy_gettext as _l

SUPPORTED_LOCALES = ("zh", "en")
DEFAULT_LOCALE = "zh"

babel = Babel()


def N_(message: str) -> str:
    """Marks a message id for extraction (`pybabel extract -k N_`) without translating it."""
    return message


# marshmallow's fixed messages, listed so that extraction puts them in the catalogue.
MARSHMALLOW_MESSAGES = (
    _l("Missing data for required field."),
    _l("Unknown field."),
    _l("Field may not be null."),
    _l("Invalid input type."),
    _l("Invalid value."),
    _l("Invalid input."),
    _l("Invalid type."),
    _l("Not a valid string."),
    _l("Not a valid integer."),
    _l("Not a valid number."),
    _l("Not a valid boolean."),
    _l("Not a valid datetime."),
    _l("Not a valid date."),
    _l("Not a valid list."),
    _l("Not a valid mapping type."),
    _l("Not a valid UUID."),
    _l("Not a valid URL."),
    _l("Not a valid utf-8 string."),
    _l("Number too large."),
    _l("Special numeric values (nan or infinity) are not permitted."),
    _l("String does not match expected pattern."),
)

# marshmallow's messages with values in them: matched, then translated with the values.
_PATTERNS = (
    (
        re.compile(r"^Length must be between (?P<min>\d+) and (?P<max>\d+)\.$"),
        N_("Length must be between %(min)s and %(max)s."),
    ),
    (re.compile(r"^Longer than maximum length (?P<max>\d+)\.$"), N_("At most %(max)s characters.")),
    (
        re.compile(r"^Shorter than minimum length (?P<min>\d+)\.$"),
        N_("At least %(min)s characters."),
    ),
    (re.compile(r"^Must be one of: (?P<choices>.*)\.$"), N_("Must be one of: %(choices)s.")),
    (
        re.compile(
            r"^Must be greater than or equal to (?P<min>\S+) and less than or equal to "
            r"(?P<max>\S+)\.$"
        ),
        N_("Must be between %(min)s and %(max)s."),
    ),
    (
        re.compile(r"^Must be greater than or equal to (?P<min>\S+)\.$"),
        N_("Must be at least %(min)s."),
    ),
    (re.compile(r"^Must be less than or equal to (?P<max>\S+)\.$"), N_("Must be at most %(max)s.")),
    (re.compile(r"^Must be greater than (?P<min>\S+)\.$"), N_("Must be greater than %(min)s.")),
)


def translate_message(message: str) -> str:
    for pattern, template in _PATTERNS:
        match = pattern.match(message)
        if match:
            return gettext(template, **match.groupdict())
    return gettext(message)


def select_locale() -> str:
    """The console's language switch (kept in the session) wins over Accept-Language."""
    if not has_request_context():
        return DEFAULT_LOCALE
    chosen = session.get("lang")
    if chosen in SUPPORTED_LOCALES:
        return chosen
    return request.accept_languages.best_match(SUPPORTED_LOCALES, default=DEFAULT_LOCALE)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale

    @app.after_request
    def _content_language(response: Response) -> Response:
        locale = str(get_locale())
        response.headers.setdefault("Content-Language", "zh-CN" if locale == "zh" else locale)
        return response
