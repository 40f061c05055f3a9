"""GET /api/v1/legal/privacy: the privacy notice, public, in the caller's language."""

from __future__ import annotations

import functools
import json
from importlib import resources

import marshmallow as ma
from flask.views import MethodView
from flask_babel import get_locale

from backend.api import Blueprint, Schema
from backend.i18n import DEFAULT_LOCALE

blp = Blueprint("legal", __name__, url_prefix="/api/v1/legal", description="Legal notices")


@functools.cache
def privacy_notice() -> dict:
    return json.loads(resources.files("backend.legal").joinpath("privacy.json").read_text("utf-8"))


class PrivacySchema(Schema):
    version = ma.fields.String(metadata={"description": "accept this version when signing up"})
    text = ma.fields.String()
    updated_at = ma.fields.String()


@blp.route("/privacy")
class Privacy(MethodView):
    @blp.response(200, PrivacySchema)
    def get(self):
        """The privacy notice: what is collected, why, for how long, and what is kept after
        an account is deleted"""
        notice = privacy_notice()
        language = str(get_locale() or DEFAULT_LOCALE).split("_")[0]
        text = notice["text"].get(language, notice["text"][DEFAULT_LOCALE])
        return {"version": notice["version"], "text": text, "updated_at": notice["updated_at"]}
