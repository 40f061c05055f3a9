"""Resident pages: look-up by masked phone, full phone (through the HMAC) or nickname; a
resident's account, actions and ledger; suspend and restore; adjust points with a reason.

A full phone number is typed into a POST form only, so it never lands in a URL, a log
line or a page: the page shows it masked.
"""

from __future__ import annotations

import marshmallow as ma
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.console import labels
from admin.console.auth import console_page
from admin.console.form_input import PAGE_SIZE, load, page_of, refused
from admin.console.pages_staff import confirmed
from admin.console.views import console, nav_item
from backend.api import Schema
from backend.districts.service import get_district
from backend.errors import AppError
from backend.i18n import N_
from backend.pagination import paginate
from backend.residents import service as resident_service
from backend.residents.models import Resident
from points.actions.models import Action
from points.actions.service import own_actions_query
from points.ledger.adjustments import AdjustmentRequest, adjust_points, pending_requests_of
from points.ledger.descriptions import described
from points.ledger.models import LedgerEntry
from points.ledger.service import account_summary, ledger_query
from points.partner import service as partners

MANAGE = "manage_residents"
LIST = "console/residents/list.html"
SHOW = "console/residents/show.html"

nav_item("console.residents", N_("Residents"), MANAGE)

STATUS_NAMES = labels.STATUS_NAMES["resident"]
ACTION_STATUS_NAMES = labels.STATUS_NAMES["action"]
KIND_NAMES = labels.LEDGER_KIND_NAMES
LINK_STATUS_NAMES = labels.STATUS_NAMES["partner_link"]


class AdjustmentForm(Schema):
    """The form's types only; the rules (a reason, a bound, no negative balance) are the
    adjustment service's."""

    delta = ma.fields.Integer(required=True)
    reason = ma.fields.String(load_default="")


def _list_page(search: resident_service.ResidentSearch):
    page = page_of(search.query, Resident.id)
    return render_template(
        LIST,
        residents=page["items"],
        next_cursor=None if search.by_phone else page["next_cursor"],
        shown=search.shown,
        searched=bool(search.shown),
        status_names=STATUS_NAMES,
    )


def _resident_page(resident_id: int, refusal: AppError | None = None):
    resident = resident_service.get_resident(resident_id)
    # Two lists on one page, each with its own cursor argument.
    actions = paginate(
        own_actions_query(resident_id),
        Action.id,
        PAGE_SIZE,
        request.args.get("actions_cursor") or None,
    )
    ledger = described(  # each entry with what it is for, in the reader's language
        paginate(
            ledger_query(resident_id),
            LedgerEntry.id,
            PAGE_SIZE,
            request.args.get("ledger_cursor") or None,
        )
    )
    context = {
        "resident": resident,
        "district": get_district(resident.district_code) if resident.district_code else None,
        "account": account_summary(resident_id),
        "actions": actions,
        "ledger": ledger,
        "status_names": STATUS_NAMES,
        "action_status_names": ACTION_STATUS_NAMES,
        "kind_names": KIND_NAMES,
        "partner_links": partners.links_of(resident_id),
        "link_status_names": LINK_STATUS_NAMES,
        "adjust_form": request.form if refusal is not None else {},
        "adjustment_requests": pending_requests_of(resident_id),
    }
    if refusal is not None:
        return refused(refusal, SHOW, **context)
    return render_template(SHOW, errors={}, **context)


@console.route("/residents")
@console_page(MANAGE)
def residents():
    return _list_page(resident_service.search_residents(request.args.get("q", "")))


@console.route("/residents/search", methods=["POST"])
@console_page(MANAGE)
def resident_search():
    search = resident_service.search_residents(request.form.get("q", ""))
    if not search.by_phone:
        # A masked number or a nickname may sit in the URL: the page can be bookmarked.
        return redirect(url_for("console.residents", q=search.shown or None))
    found = page_of(search.query, Resident.id)["items"]
    if found:  # the HMAC is unique: one resident at most
        return redirect(url_for("console.resident", resident_id=found[0].id))
    flash(_("No resident has this phone number."), "info")
    return _list_page(search)


@console.route("/residents/<int:resident_id>")
@console_page(MANAGE)
def resident(resident_id: int):
    return _resident_page(resident_id)


@console.route("/residents/<int:resident_id>/suspend", methods=["POST"])
@console_page(MANAGE)
def resident_suspend(resident_id: int):
    try:
        confirmed()
        resident_service.suspend_resident(resident_id, request.form.get("reason"))
    except AppError as exc:
        return _resident_page(resident_id, exc)
    flash(_("The resident is suspended: their app is signed out until restored."), "info")
    return redirect(url_for("console.resident", resident_id=resident_id))


@console.route("/residents/<int:resident_id>/restore", methods=["POST"])
@console_page(MANAGE)
def resident_restore(resident_id: int):
    try:
        resident_service.restore_resident(resident_id, request.form.get("reason"))
    except AppError as exc:
        return _resident_page(resident_id, exc)
    flash(_("The resident is restored and may use the app again."), "info")
    return redirect(url_for("console.resident", resident_id=resident_id))


@console.route("/residents/<int:resident_id>/adjust", methods=["POST"])
@console_page(MANAGE)
def resident_adjust(resident_id: int):
    try:
        body = load(AdjustmentForm(), {k: request.form.get(k, "") for k in ("delta", "reason")})
        done = adjust_points(
            resident_id, body["delta"], body["reason"], g.staff_session.staff_user.id
        )
    except AppError as exc:
        return _resident_page(resident_id, exc)
    if isinstance(done, AdjustmentRequest):
        flash(
            _(
                "An adjustment of %(points)s points needs a second staff member's approval: "
                "nothing is paid until another staff member approves it.",
                points=done.delta,
            ),
            "info",
        )
        anchor = "adjustment-requests-card"
    else:
        flash(_("The points were adjusted."), "info")
        anchor = "ledger"
    return redirect(url_for("console.resident", resident_id=resident_id, _anchor=anchor))
