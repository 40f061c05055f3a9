"""Methodology pages: the factors in force with units and sources, every version before,
and publishing a new version from a complete methodology file (pasted or uploaded).

Every staff role may read the factors behind the figures; publishing is its own permission.
A published version is never edited: the service refuses one that exists.
"""

from __future__ import annotations

import json

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.console.auth import console_page
from admin.console.form_input import refused
from admin.console.views import console, nav_item
from backend.errors import AppError, ValidationFailed
from backend.i18n import N_
from backend.staff.permissions import MANAGE_METHODOLOGY, READ_STATS, role_allows
from points.methodology import service

PAGE = "console/methodology.html"

nav_item("console.methodology", N_("Methodology"), READ_STATS)


def _page(refusal: AppError | None = None, content: str | None = None):
    in_force = service.current_methodology()
    may_publish = role_allows(g.staff_session.staff_user.role, MANAGE_METHODOLOGY)
    if content is None and may_publish:
        # The version in force as a file: edit it, give it a new version, publish.
        content = json.dumps(service.methodology_file(in_force), ensure_ascii=False, indent=2)
    context = {
        "in_force": in_force,
        "history": service.methodology_history(),
        "may_publish": may_publish,
        "content": content or "",
    }
    if refusal is not None:
        return refused(refusal, PAGE, **context)
    return render_template(PAGE, errors={}, **context)


def _submitted_text() -> str:
    """The uploaded file if one was chosen, else the pasted text."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValidationFailed(fields={"file": [_l("The file is not UTF-8 text.")]}) from exc
    return request.form.get("content", "")


@console.route("/methodology")
@console_page(READ_STATS)
def methodology():
    return _page()


@console.route("/methodology/publish", methods=["POST"])
@console_page(MANAGE_METHODOLOGY)
def methodology_publish():
    text = request.form.get("content", "")
    try:
        text = _submitted_text()
        published = service.publish_methodology(text)
    except AppError as exc:
        return _page(exc, text)
    flash(
        _(
            "Methodology %(version)s is published and in force for new actions.",
            version=published.version,
        ),
        "info",
    )
    return redirect(url_for("console.methodology"))
