"""The console blueprint: sign-in, language, password, and the page registry.

Pages live in modules of their own (admin/console/pages_*.py) and register on `console`.
"""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from admin.console import auth, labels, submissions
from admin.console.labels import ROLE_NAMES, TYPE_NAMES, VERIFICATION_NAMES
from backend.errors import HTTP_ERRORS, AppError, ValidationFailed, handle_http_exception
from backend.i18n import SUPPORTED_LOCALES
from backend.staff import service as staff
from backend.staff.permissions import role_allows

console = Blueprint(
    "console",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
csrf = CSRFProtect()
log = logging.getLogger(__name__)

# (endpoint, label msgid, permission): the navigation, filtered by the signed-in role.
NAVIGATION: list[tuple[str, str, str | None]] = []
# The order admins read the menu in, whatever order page modules are imported in.
NAVIGATION_ORDER = (
    "console.dashboard",
    "console.statistics",
    "console.campaigns",
    "console.organizations",
    "console.organization_report_page",
    "console.review_queue",
    "console.rewards",
    "console.redemption_verify_form",
    "console.residents",
    "console.adjustment_requests",
    "console.methodology",
    "console.clients",
    "console.staff",
    "console.audit_log",
)


def nav_item(endpoint: str, label: str, permission: str | None) -> None:
    NAVIGATION.append((endpoint, label, permission))
    NAVIGATION.sort(key=lambda item: NAVIGATION_ORDER.index(item[0]))


@console.before_request
def _protect_forms():
    if request.method == "POST":
        csrf.protect()
        return submissions.claim_or_replay()
    return None


@console.after_request
def _remember_submission(response):
    # Runs before the app's boundary commits: the answer is kept with the work.
    return submissions.remember(response) if request.method == "POST" else response


console.add_app_template_global(submissions.form_tokens, "form_tokens")
labels.register(console)


@console.app_template_global("staff_may")
def staff_may(permission: str) -> bool:
    """Whether the signed-in staff member's role holds `permission`: a page links to
    another only for those who may open it."""
    staff_session = getattr(g, "staff_session", None)
    return staff_session is not None and role_allows(staff_session.staff_user.role, permission)


@console.app_context_processor
def _navigation():
    staff_session = getattr(g, "staff_session", None)
    if staff_session is None:
        return {
            "navigation": [],
            "staff_user": None,
            "type_names": TYPE_NAMES,
            "verification_names": VERIFICATION_NAMES,
        }
    role = staff_session.staff_user.role
    items = [(e, label) for e, label, p in NAVIGATION if p is None or role_allows(role, p)]
    return {
        "navigation": items,
        "staff_user": staff_session.staff_user,
        "role_name": ROLE_NAMES[role],
        "home_url": auth.home_of(staff_session.staff_user),
        "type_names": TYPE_NAMES,
        "verification_names": VERIFICATION_NAMES,
    }


@console.errorhandler(CSRFError)
def _csrf_refused(error):
    return render_template(
        "console/error.html",
        status=400,
        message=_(
            "The form expired or was not sent from this console. Reload the page and try again."
        ),
    ), 400


@console.errorhandler(AppError)
def _refused(error: AppError):
    # A service refusal (unknown id, bad cursor, a conflict) is a page for people in a
    # browser; the app's JSON error handler answers API clients.
    return render_template(
        "console/error.html", status=error.status, message=str(error.message)
    ), error.status


@console.errorhandler(403)
def _forbidden(error):
    return render_template(
        "console/error.html", status=403, message=_("Your role may not open this page.")
    ), 403


@console.errorhandler(404)
def _not_found(error):
    return render_template("console/error.html", status=404, message=_("No such page.")), 404


def _in_console() -> bool:
    return request.path == "/admin" or request.path.startswith("/admin/")


@console.app_errorhandler(404)
@console.app_errorhandler(405)
def _no_route(error: HTTPException):
    """A path no console page answers is still a console page (with the menu for staff
    signed in); outside /admin/ the API's JSON error, as before."""
    if not _in_console():
        return handle_http_exception(error)
    g.staff_session = auth.current_staff_or_none()
    status = error.code or 404
    message = _("No such page.") if status == 404 else HTTP_ERRORS[status][1]
    return render_template("console/error.html", status=status, message=message), status


@console.errorhandler(Exception)
def _failed(error: Exception):
    """A console page that fails shows the console's 500 page (the trace goes to the
    log); an error the app has a handler of its own for keeps it."""
    if isinstance(error, HTTPException):
        status = error.code or 500
        message = HTTP_ERRORS.get(status, HTTP_ERRORS[500])[1]
        return render_template("console/error.html", status=status, message=message), status
    handlers = current_app.error_handler_spec.get(None, {}).get(None, {})
    for cls in type(error).__mro__:
        if cls is Exception:
            break
        if cls in handlers:
            return handlers[cls](error)
    log.exception("console page failed", exc_info=error)
    message = HTTP_ERRORS[500][1]
    return render_template("console/error.html", status=500, message=message), 500


@console.route("/login", methods=["GET", "POST"])
def login():
    return auth.login_page()


@console.route("/login/code", methods=["GET", "POST"])
def login_code():
    return auth.code_page()


@console.route("/login/totp", methods=["GET", "POST"])
def totp_enrol():
    return auth.enrol_page()


@console.route("/login/totp.svg")
def totp_qr():
    return auth.enrol_qr()


@console.route("/logout", methods=["POST"])
def logout():
    return auth.logout_page()


@console.route("/lang/<code>", methods=["POST"])
def switch_language(code: str):
    if code not in SUPPORTED_LOCALES:
        abort(404)
    session["lang"] = code
    target = request.form.get("next", "")
    return redirect(target if target.startswith("/admin/") else url_for("console.dashboard"))


@console.route("/password", methods=["GET", "POST"])
@auth.console_page()
def change_password():
    if request.method == "POST":
        try:
            staff.change_password(
                g.staff_session.staff_user,
                request.form.get("current", ""),
                request.form.get("new", ""),
            )
        except ValidationFailed as exc:
            flash(str(exc.message), "error")
            return render_template("console/password.html"), 422
        flash(_("Your password was changed."), "info")
        return redirect(url_for("console.dashboard"))
    return render_template("console/password.html")
