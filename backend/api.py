"""flask-smorest, customised once: the Api, Blueprint and Schema every package uses.

Bodies are JSON only (anything else is 415), bounded in size, depth and number length
(backend.json_bounds), unknown fields are refused (a view that declares no body refuses
every field), numbers and path ids stay within what the database holds, and the document
lists every error status an operation answers (no catch-all `default`) in the shape the
error handler renders.
"""

from __future__ import annotations

import copy
import http
import typing
from collections.abc import Mapping
from datetime import datetime

import flask
import flask_smorest
import marshmallow as ma
from apispec import BasePlugin
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from swagger_ui_bundle import swagger_ui_path
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from backend.clock import local_moment

OPENAPI_SETTINGS = {
    "API_TITLE": "Zhaoqing carbon-inclusive API (肇庆碳普惠)",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Served from the swagger-ui-bundle package: the docs work with no network.
    "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
}


# PostgreSQL's `integer`: every id column and every count a client may send fits in it.
INT_MAX = 2**31 - 1
BINARY = {"type": "string", "format": "binary"}


class Schema(ma.Schema):
    """Every API schema. Every moment it dumps, whatever its field, is shown with the
    Asia/Shanghai offset (RFC 3339, `+08:00`): converted here, once, as it is read."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    def get_attribute(self, obj: typing.Any, attr: str, default: typing.Any) -> typing.Any:
        value = super().get_attribute(obj, attr, default)
        return local_moment(value) if isinstance(value, datetime) else value

    def on_bind_field(self, field_name: str, field_obj: ma.fields.Field) -> None:
        if not field_obj.dump_only:
            _storable(field_obj)

    @ma.pre_load
    def _whole_numbers(self, data: typing.Any, **kwargs) -> typing.Any:
        """A number with a fraction is no integer: marshmallow would cut 112.465 to 112
        (points and grams must be what the client meant, or refused)."""
        if not isinstance(data, Mapping):
            return data
        errors = {}
        for name, field in self.load_fields.items():
            key = field.data_key or name
            value = data.get(key)
            if (
                isinstance(field, ma.fields.Integer)
                and isinstance(value, float)
                and not value.is_integer()
            ):
                errors[key] = [field.error_messages["invalid"]]
        if errors:
            raise ma.ValidationError(errors)
        return data


def _no_nul(value: str) -> None:
    if "\x00" in value:
        # In a list: a lazy message alone would be read as a sequence of characters.
        raise ma.ValidationError([_l("Must not contain the NUL character.")])


def _storable(field: ma.fields.Field) -> None:
    """Input the database cannot store is the client's error (422), not ours (500), and
    the same on SQLite and PostgreSQL: integers past `integer`, text holding NUL.

    A bound field is a shallow copy sharing its validators and inner fields with the
    declared one: they are replaced, never changed in place."""
    if isinstance(field, ma.fields.Integer):
        ranges = [v for v in field.validators if isinstance(v, ma.validate.Range)]
        low = any(r.min is not None for r in ranges)
        high = any(r.max is not None for r in ranges)
        if not (low and high):
            bound = ma.validate.Range(
                min=None if low else -INT_MAX - 1, max=None if high else INT_MAX
            )
            field.validators = [*field.validators, bound]
    elif isinstance(field, ma.fields.String):
        field.validators = [*field.validators, _no_nul]
    elif isinstance(field, ma.fields.List):
        field.inner = copy.copy(field.inner)
        _storable(field.inner)
    elif isinstance(field, ma.fields.Dict):
        for part in ("key_field", "value_field"):
            if getattr(field, part) is not None:
                setattr(field, part, copy.copy(getattr(field, part)))
                _storable(getattr(field, part))


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an id past what a row can hold matches nothing (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=INT_MAX, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


class ErrorDetailSchema(Schema):
    code = ma.fields.String(required=True, metadata={"description": "machine-readable, snake_case"})
    message = ma.fields.String(required=True, metadata={"description": "zh-CN, or en on request"})
    fields = ma.fields.Dict(
        required=True, metadata={"description": "per-field messages; empty when none"}
    )


class ErrorSchema(Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class JsonOnlyParser(FlaskParser):
    """A body in any other media type is refused with 415 instead of read as empty."""

    # Form fields beside an upload are refused like unknown JSON fields (the schema's
    # RAISE). Query strings keep webargs' default: a parameter nobody reads is ignored,
    # unless a view asks otherwise (the DRB statistics do).
    DEFAULT_UNKNOWN_BY_LOCATION: typing.ClassVar = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "files": None,
    }

    def _raw_load_json(self, req: flask.Request) -> typing.Any:
        if not core.is_json(req.mimetype):
            # One byte tells whether a body came: a large one is never read to refuse it.
            if req.content_length or req.stream.read(1):
                raise UnsupportedMediaType()
            return core.missing
        if not req.get_data(cache=True):
            return core.missing
        # The app's bounded parser (backend.json_bounds), shared with request.get_json and
        # its cache: a refusal is 400 invalid_json with the reason.
        return req.get_json(force=True)

    def load_files(self, req: flask.Request, schema: ma.Schema) -> typing.Any:
        # Form fields beside the files are fields too: unknown ones are refused, not ignored.
        return self._makeproxy(CombinedMultiDict([req.files, req.form]), schema)


class CommonErrorResponses(BasePlugin):
    """Documents the errors an operation answers by its kind, so no view repeats them:
    401 and 403 where it names a security requirement, 404 where its path names an
    object, 400, 413 and 415 where it reads a JSON body, and 422 besides where it takes
    none (a field sent there is refused). Other errors are documented on their views
    (`@blp.alt_response`)."""

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        for method, operation in (operations or {}).items():
            statuses = []
            if operation.get("security"):
                statuses += [401, 403]
            if path and "{" in path:
                statuses.append(404)
            if "application/json" in operation.get("requestBody", {}).get("content", {}):
                statuses += [400, 413, 415]
            elif method in _BODY_METHODS and "requestBody" not in operation:
                # Blueprint.add_url_rule refuses any field sent to it (NoBodySchema).
                statuses += [400, 413, 415, 422]
            responses = operation.setdefault("responses", {})
            for status in statuses:
                if status not in responses and str(status) not in responses:
                    responses[status] = http.HTTPStatus(status).name


class SchemaExamples(BasePlugin):
    """A schema class's OPENAPI_EXAMPLE (a body the server accepts, or an answer it gives)
    is its component's example."""

    def schema_helper(self, name, definition, **kwargs) -> dict | None:
        schema = kwargs.get("schema")
        schema_class = schema if isinstance(schema, type) else type(schema)
        example = getattr(schema_class, "OPENAPI_EXAMPLE", None)
        return None if example is None else {"example": example}


class NoBodySchema(Schema):
    """The body of a view that declares none: nothing, or an empty JSON object."""


_BODY_METHODS = ("post", "put", "patch", "delete")
_BODY_LOCATIONS = frozenset({"json", "form", "files"})


def _declares_body(method: typing.Callable) -> bool:
    arguments = getattr(method, "_apidoc", {}).get("arguments", {})
    return any(p.get("in") in _BODY_LOCATIONS for p in arguments.get("parameters", []))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonOnlyParser()

    def arguments(self, schema, *, location="json", required=None, **kwargs):
        # A body is documented as required when its schema has a required field: an
        # all-optional body (a PATCH) may be left out, and the server reads it as {}.
        if required is None:
            instance = schema() if isinstance(schema, type) else schema
            required = location != "json" or any(f.required for f in instance.fields.values())
        return super().arguments(schema, location=location, required=required, **kwargs)

    def response(self, status_code, schema=None, *, content_type=None, **kwargs):
        # A file (PNG, CSV, XLSX...) is documented as bytes of its media type.
        if schema is None and content_type and not core.is_json(content_type):
            schema = BINARY
        return super().response(status_code, schema, content_type=content_type, **kwargs)

    def add_url_rule(self, rule, endpoint=None, view_func=None, *args, **kwargs):
        # A field sent to a view without a body schema (redeem, enrol, approve...) is
        # refused like any unknown field (422), never silently ignored: clients learn at
        # once that points, status or a resident id cannot be set that way.
        if isinstance(view_func, type) and issubclass(view_func, MethodView):
            for name in _BODY_METHODS:
                method = getattr(view_func, name, None)
                if method is not None and not _declares_body(method):
                    refusing = self.ARGUMENTS_PARSER.use_kwargs(NoBodySchema, location="json")
                    setattr(view_func, name, refusing(method))
        return super().add_url_rule(rule, endpoint, view_func, *args, **kwargs)


_JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"))
_NULL_OBJECT = {"type": "object", "nullable": True}
_NULL_ONLY = {**_NULL_OBJECT, "enum": [None]}


def constant2properties(self, field: ma.fields.Field, ret: dict) -> dict:
    """A Constant is documented as the one value it is, with that value's type (apispec
    gives it no type: a typed client would read it as anything)."""
    if not isinstance(field, ma.fields.Constant) or "type" in ret:
        return {}
    kind = next((name for cls, name in _JSON_TYPES if isinstance(field.constant, cls)), None)
    return {} if kind is None else {"type": kind, "enum": [field.constant]}


def nullable_nested2properties(self, field: ma.fields.Field, ret: dict) -> dict:
    """A nested schema that may be null, documented as that schema or the null value:
    apispec's `anyOf: [ref, {type: object, nullable: true}]` allows any object as the
    second choice, which generated clients read as a second, empty model."""
    options = ret.get("anyOf")
    if not isinstance(field, ma.fields.Nested) or not options or _NULL_OBJECT not in options:
        return {}
    return {"anyOf": [_NULL_ONLY if option == _NULL_OBJECT else option for option in options]}


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema
    # No catch-all: every status an operation answers is listed (CommonErrorResponses).
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _init_spec(self, *, extra_plugins=None, **kwargs) -> None:
        plugins = [CommonErrorResponses(), SchemaExamples(), *(extra_plugins or ())]
        super()._init_spec(extra_plugins=plugins, **kwargs)
        for function in (constant2properties, nullable_nested2properties):
            self.ma_plugin.converter.add_attribute_function(function)

    def _register_error_handlers(self) -> None:
        # backend.errors renders every error, flask-smorest's included.
        pass

    def init_app(self, app: flask.Flask, *args, **kwargs) -> None:
        app.url_map.converters["int"] = IdConverter
        super().init_app(app, *args, **kwargs)
        app.add_url_rule(
            "/api/docs/assets/<path:filename>",
            endpoint="swagger_ui_assets",
            view_func=_swagger_ui_asset,
        )


def _swagger_ui_asset(filename: str) -> flask.Response:
    return flask.send_from_directory(str(swagger_ui_path), filename)
