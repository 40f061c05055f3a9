"""API client pages: partner keys (bus, bike-share, charging operators and smart bins that
push signed batches) and the DRB's statistics keys: list, create, revoke.

A new secret is shown once, on the page that answers the creation, and never again: the
partner secret is stored encrypted, the DRB key only as a digest, and neither is logged.
"""

from __future__ import annotations

import marshmallow as ma
from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.console.auth import console_page
from admin.console.form_input import load, refused
from admin.console.views import console, nav_item
from admin.stats import keys as drb_keys
from backend.api import Schema
from backend.errors import AppError, NotFound
from backend.i18n import N_
from backend.staff.permissions import MANAGE_API_CLIENTS
from points.actions.models import ACTION_TYPES
from points.methodology.service import current_methodology
from points.partner import clients as partner_clients
from points.partner import service as partners

LIST = "console/clients/list.html"
CREATED = "console/clients/created.html"

nav_item("console.clients", N_("API clients"), MANAGE_API_CLIENTS)


def _allowed_choices() -> list[str]:
    """What a partner may be allowed to report: a whole action type, or one variant of it
    (the variants of the methodology in force)."""
    variants = sorted((f.action_type, f.variant) for f in current_methodology().factors)
    choices = []
    for action_type in ACTION_TYPES:
        choices.append(action_type)
        choices.extend(f"{t}:{v}" for t, v in variants if t == action_type)
    return choices


def _partner_form(choices: list[str]) -> type[Schema]:
    return Schema.from_dict(
        {
            "name": ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64)),
            "allowed": ma.fields.List(
                ma.fields.String(validate=ma.validate.OneOf(choices)),
                required=True,
                validate=ma.validate.Length(min=1, error=_l("Tick at least one action type.")),
            ),
        },
        name="PartnerForm",
    )


class DrbKeyForm(Schema):
    # Its own field name: both forms share one page, and a refusal is shown beside its form.
    drb_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=80))


def _list_page(refusal: AppError | None = None):
    context = {
        "partners": partners.all_partners(),
        "drb_keys": drb_keys.list_keys(),
        "choices": _allowed_choices(),
        "form": request.form if refusal is not None else {},
    }
    if refusal is not None:
        return refused(refusal, LIST, **context)
    return render_template(LIST, errors={}, **context)


def _created_page(**context):
    """The one page that shows a new secret: never cached, never shown again."""
    response = make_response(render_template(CREATED, **context))
    response.headers["Cache-Control"] = "no-store"
    return response


@console.route("/clients")
@console_page(MANAGE_API_CLIENTS)
def clients():
    return _list_page()


@console.route("/clients/partners", methods=["POST"])
@console_page(MANAGE_API_CLIENTS)
def partner_create():
    choices = _allowed_choices()
    body = {
        "name": request.form.get("name", "").strip(),
        "allowed": request.form.getlist("allowed"),
    }
    try:
        form = load(_partner_form(choices)(), body)
    except AppError as exc:
        return _list_page(exc)
    # The form allows only known action types: the service has nothing left to refuse.
    partner, secret = partner_clients.create_partner(form["name"], form["allowed"])
    return _created_page(kind="partner", name=partner.name, key=partner.key, secret=secret)


@console.route("/clients/partners/<int:partner_id>/revoke", methods=["POST"])
@console_page(MANAGE_API_CLIENTS)
def partner_revoke(partner_id: int):
    partner_clients.revoke_partner(partners.get_partner(partner_id).key)
    flash(_("The partner key is revoked: its signed requests are refused from now on."), "info")
    return redirect(url_for("console.clients", _anchor="partners"))


@console.route("/clients/drb-keys", methods=["POST"])
@console_page(MANAGE_API_CLIENTS)
def drb_key_create():
    try:
        form = load(DrbKeyForm(), {"drb_name": request.form.get("drb_name", "").strip()})
    except AppError as exc:
        return _list_page(exc)
    row, key = drb_keys.create_key(form["drb_name"])
    return _created_page(kind="drb", name=row.name, key=None, secret=key)


@console.route("/clients/drb-keys/<int:key_id>/revoke", methods=["POST"])
@console_page(MANAGE_API_CLIENTS)
def drb_key_revoke(key_id: int):
    try:
        drb_keys.revoke_key(key_id)
    except drb_keys.ApiKeyError as exc:  # the only refusal: no key with this id
        raise NotFound(_l("No such API key.")) from exc
    flash(_("The DRB key is revoked: statistics requests with it are refused."), "info")
    return redirect(url_for("console.clients", _anchor="drb-keys"))
