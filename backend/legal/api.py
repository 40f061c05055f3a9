"""GET /api/v1/legal/privacy: the privacy notice, public, in the caller's language."""

from __future__ import annotations

import marshmallow as ma
from flask.views import MethodView
from flask_babel import get_locale

from backend.api import Blueprint, Schema
from backend.i18n import DEFAULT_LOCALE
from backend.legal.notice import privacy_notice

blp = Blueprint("legal", __name__, url_prefix="/api/v1/legal", description="Legal notices")


class PrivacySchema(Schema):
    version = ma.fields.String(
        metadata={
            "description": "send it as privacy_version when signing up, or to "
            "POST /api/v1/me/consents",
            "example": "2026-12-03",
        }
    )
    text = ma.fields.String(metadata={"description": "plain text, paragraphs split by blank lines"})
    updated_at = ma.fields.String(metadata={"example": "2026-12-03T00:00:00+08:00"})


@blp.route("/privacy")
class Privacy(MethodView):
    @blp.response(200, PrivacySchema)
    def get(self):
        """The privacy notice in force (zh; en with Accept-Language: en): what is collected,
        why, for how long, the separate location consent, withdrawal, and what is kept after
        an account is deleted"""
        notice = privacy_notice()
        language = str(get_locale() or DEFAULT_LOCALE).split("_")[0]
        text = notice.texts.get(language, notice.texts[DEFAULT_LOCALE])
        return {"version": notice.version, "text": text, "updated_at": notice.updated_at}
