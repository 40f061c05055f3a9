"""Staff management, for superadmins: every staff user with their role, access, second
factor and last sign-in (Beijing time); create one (a first password generated and shown
once), change a role, reset a password (shown once; their sessions end), disable or
enable. Each change is confirmed on its form; the rules (nobody changes their own role or
access, an active superadmin always remains) are the staff service's.
"""

from __future__ import annotations

from flask import flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.console.auth import console_page
from admin.console.form_input import refused
from admin.console.views import ROLE_NAMES, console, nav_item
from backend.errors import AppError, ValidationFailed
from backend.extensions import db
from backend.i18n import N_
from backend.staff import service
from backend.staff.models import ROLES
from backend.staff.permissions import MANAGE_STAFF

LIST = "console/staff/list.html"
SHOWN_ONCE = "console/staff/password.html"

nav_item("console.staff", N_("Staff"), MANAGE_STAFF)


def confirmed() -> None:
    """A destructive change is made only with its form's confirmation box ticked."""
    if request.form.get("confirm") != "yes":
        raise ValidationFailed(
            _l("Tick the box to confirm this change."),
            code="confirmation_required",
            fields={"confirm": [_l("Tick the box to confirm this change.")]},
        )


def _list_page(refusal: AppError | None = None, **form):
    context = {
        "staff_users": db.session.scalars(service.staff_query()).all(),
        "roles": ROLES,
        "role_names": ROLE_NAMES,
        "me": g.staff_session.staff_user,
        "form": form,
    }
    if refusal is not None:
        return refused(refusal, LIST, with_fields=True, **context)
    return render_template(LIST, errors={}, **context)


def _password_page(user, password: str, created: bool):
    """The one page that shows a password: never cached, never shown again."""
    page = render_template(
        SHOWN_ONCE, user=user, password=password, created=created, role_names=ROLE_NAMES
    )
    response = make_response(page)
    response.headers["Cache-Control"] = "no-store"
    return response


def _acting():
    return g.staff_session.staff_user


@console.route("/staff")
@console_page(MANAGE_STAFF)
def staff():
    return _list_page()


@console.route("/staff", methods=["POST"])
@console_page(MANAGE_STAFF)
def staff_create():
    username = request.form.get("username", "").strip()
    role = request.form.get("role", "")
    try:
        user, password = service.add_staff(username, role)
    except AppError as exc:
        return _list_page(exc, username=username, role=role)
    return _password_page(user, password, created=True)


@console.route("/staff/<int:staff_id>/role", methods=["POST"])
@console_page(MANAGE_STAFF)
def staff_role(staff_id: int):
    try:
        confirmed()
        user = service.change_role(_acting(), staff_id, request.form.get("role", ""))
    except AppError as exc:
        return _list_page(exc)
    flash(
        _("%(username)s is now: %(role)s.", username=user.username, role=ROLE_NAMES[user.role]),
        "info",
    )
    return redirect(url_for("console.staff"))


@console.route("/staff/<int:staff_id>/password", methods=["POST"])
@console_page(MANAGE_STAFF)
def staff_password(staff_id: int):
    try:
        confirmed()
        user, password = service.reset_password(_acting(), staff_id)
    except AppError as exc:
        return _list_page(exc)
    return _password_page(user, password, created=False)


@console.route("/staff/<int:staff_id>/disable", methods=["POST"])
@console_page(MANAGE_STAFF)
def staff_disable(staff_id: int):
    try:
        confirmed()
        user = service.set_active(_acting(), staff_id, False)
    except AppError as exc:
        return _list_page(exc)
    flash(_("%(username)s is disabled and signed out.", username=user.username), "info")
    return redirect(url_for("console.staff"))


@console.route("/staff/<int:staff_id>/enable", methods=["POST"])
@console_page(MANAGE_STAFF)
def staff_enable(staff_id: int):
    try:
        user = service.set_active(_acting(), staff_id, True)
    except AppError as exc:
        return _list_page(exc)
    flash(_("%(username)s may sign in again.", username=user.username), "info")
    return redirect(url_for("console.staff"))
