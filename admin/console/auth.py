"""Console sign-in: a staff session behind an HttpOnly, SameSite cookie; lockout and
password rules are the staff service's. `console_page(permission)` guards every page."""

from __future__ import annotations

from functools import wraps

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from backend.errors import Unauthorized
from backend.staff import service as staff
from backend.staff.permissions import check_permission, role_allows

SESSION_KEY = "staff_token"


def current_staff_or_none():
    token = session.get(SESSION_KEY)
    if not token:
        return None
    try:
        return staff.authenticate(token)
    except Unauthorized:
        session.pop(SESSION_KEY, None)
        return None


def console_page(permission: str | None = None):
    """Signed-in staff only; with a permission, only roles that hold it (403 otherwise)."""
    if permission is not None:
        check_permission(permission)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            staff_session = current_staff_or_none()
            if staff_session is None:
                return redirect(url_for("console.login", next=request.full_path))
            g.staff_session = staff_session
            if permission is not None and not role_allows(
                staff_session.staff_user.role, permission
            ):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def login_page():
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        try:
            token, _session = staff.sign_in(username, password)
        except Unauthorized as exc:
            flash(str(exc.message), "error")
            return render_template("console/login.html", username=username), 401
        session.clear()  # a fresh session on sign-in: no fixation
        session[SESSION_KEY] = token
        session.permanent = True
        target = request.args.get("next", "")
        # Only paths of this console: never an open redirect.
        if not target.startswith("/admin/") or target.startswith("//"):
            target = url_for("console.dashboard")
        return redirect(target)
    return render_template("console/login.html", username="")


def logout_page():
    staff_session = current_staff_or_none()
    if staff_session is not None:
        staff.sign_out(staff_session)
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("console.login"))
