"""flask-smorest, customised once: the Api, Blueprint and Schema every package uses.

Bodies are JSON only (anything else is 415), unknown fields are refused, and the
documented error payload is the one the error handler renders.
"""

from __future__ import annotations

import typing

import flask
import flask_smorest
import marshmallow as ma
from swagger_ui_bundle import swagger_ui_path
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import UnsupportedMediaType

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


class Schema(ma.Schema):
    class Meta:
        unknown = ma.RAISE
        ordered = True


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

    def _raw_load_json(self, req: flask.Request) -> typing.Any:
        if not core.is_json(req.mimetype):
            if req.content_length or req.get_data(cache=True):
                raise UnsupportedMediaType()
            return core.missing
        return core.parse_json(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonOnlyParser()


class Api(flask_smorest.Api):
    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self) -> None:
        # backend.errors renders every error, flask-smorest's included.
        pass

    def init_app(self, app: flask.Flask, *args, **kwargs) -> None:
        super().init_app(app, *args, **kwargs)
        app.add_url_rule(
            "/api/docs/assets/<path:filename>",
            endpoint="swagger_ui_assets",
            view_func=_swagger_ui_asset,
        )


def _swagger_ui_asset(filename: str) -> flask.Response:
    return flask.send_from_directory(str(swagger_ui_path), filename)
