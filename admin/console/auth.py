"""Console sign-in: a staff session behind an HttpOnly, SameSite cookie; throttling and
password rules are the staff service's. `console_page(permission)` guards every page.

Signing in takes one or two steps. The password step (throttled, one answer for unknown,
suspended and wrong) opens a session at once for staff without a second factor. For the
others it leaves a *pending* sign-in in the signed cookie, good for
STAFF_SECOND_STEP_SECONDS: enrolled users give a TOTP code (/admin/login/code); a
superadmin who has none enrols (/admin/login/totp: a QR code and the secret in text,
confirmed by a current code). No staff session exists before the last step, so a pending
user can open nothing else.
"""

from __future__ import annotations

from functools import wraps

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from backend.clock import utcnow
from backend.errors import AppError, Unauthorized
from backend.extensions import db
from backend.staff import service as staff
from backend.staff import totp
from backend.staff.models import StaffUser
from backend.staff.permissions import (
    READ_STATS,
    VERIFY_REDEMPTIONS,
    check_permission,
    role_allows,
)

SESSION_KEY = "staff_token"
PENDING_KEY = "staff_pending"


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


def home_of(user: StaffUser) -> str:
    """Where a role lands: the dashboard, or for a merchant the one page they may open."""
    if not role_allows(user.role, READ_STATS) and role_allows(user.role, VERIFY_REDEMPTIONS):
        return url_for("console.redemption_verify_form")
    return url_for("console.dashboard")


def _safe_next(target: str, user: StaffUser) -> str:
    # Only paths of this console: never an open redirect.
    if not target.startswith("/admin/") or target.startswith("//"):
        return home_of(user)
    return target


def _open_session(user: StaffUser, attempt, target: str):
    token, _session = staff.finish_sign_in(user, attempt)
    _fresh_session()  # a fresh session on sign-in: no fixation
    session[SESSION_KEY] = token
    session.permanent = True
    return redirect(_safe_next(target, user))


def _fresh_session() -> None:
    """An empty session keeping only the chosen language."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def _refused(template: str, error: AppError, **context):
    flash(str(error.message), "error")
    response = make_response(render_template(template, **context), error.status)
    response.headers.update(error.headers)
    return response


def login_page():
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        try:
            user, attempt = staff.check_password(username, password, request.remote_addr)
        except AppError as exc:  # a wrong password, or a throttled try (429)
            return _refused("console/login.html", exc, username=username)
        target = request.args.get("next", "")
        if not user.needs_totp:
            return _open_session(user, attempt, target)
        _fresh_session()
        seconds = current_app.config["STAFF_SECOND_STEP_SECONDS"]
        session[PENDING_KEY] = {
            "id": user.id,
            "until": utcnow().timestamp() + seconds,
            "next": _safe_next(target, user),
        }
        step = "console.login_code" if user.totp_enrolled else "console.totp_enrol"
        return redirect(url_for(step))
    return render_template("console/login.html", username="")


def _pending_user() -> StaffUser | None:
    """The staff user whose password step passed moments ago, if any."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict) or pending.get("until", 0) < utcnow().timestamp():
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(StaffUser, pending.get("id"))
    if user is None or not user.active:
        session.pop(PENDING_KEY, None)
        return None
    return user


def _back_to_login():
    flash(_("Sign in again: the password step expired."), "error")
    return redirect(url_for("console.login"))


def code_page():
    """The second step: a current TOTP code."""
    user = _pending_user()
    if user is None:
        return _back_to_login()
    if not user.totp_enrolled:
        return redirect(url_for("console.totp_enrol"))
    if request.method == "POST":
        code = request.form.get("code", "")
        try:
            attempt = staff.check_code(user, code, request.remote_addr)
        except AppError as exc:
            return _refused("console/login_code.html", exc)
        return _open_session(user, attempt, session[PENDING_KEY]["next"])
    return render_template("console/login_code.html")


def enrol_page():
    """A pending user without a second factor sets one up: scan, then enter a code."""
    user = _pending_user()
    if user is None:
        return _back_to_login()
    if user.totp_enrolled:
        return redirect(url_for("console.login_code"))
    if request.method == "POST":
        if user.totp_secret is None:  # no secret shown yet: show one
            return redirect(url_for("console.totp_enrol"))
        code = request.form.get("code", "")
        try:
            # First: the throttle commits its count before the request writes anything.
            attempt = staff.confirm_enrolment(user, code, request.remote_addr)
        except AppError as exc:
            secret = _grouped(totp.secret_of(user))
            return _refused("console/totp_enrol.html", exc, secret=secret)
        flash(_("Two-step verification is on."), "info")
        return _open_session(user, attempt, session[PENDING_KEY]["next"])
    # The secret waits for its first code; the same one on every visit (already scanned).
    secret = totp.start_enrolment(user)
    return render_template("console/totp_enrol.html", secret=_grouped(secret))


def enrol_qr():
    """The waiting secret's QR code, as SVG: for the pending user only, never cached."""
    user = _pending_user()
    if user is None or user.totp_enrolled or user.totp_secret is None:
        abort(404)
    uri = totp.provisioning_uri(user.username, totp.secret_of(user))
    response = make_response(totp.qr_svg(uri))
    response.headers["Content-Type"] = "image/svg+xml"
    response.headers["Cache-Control"] = "no-store"
    return response


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def logout_page():
    staff_session = current_staff_or_none()
    if staff_session is not None:
        staff.sign_out(staff_session)
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("console.login"))
