"""The console blueprint: sign-in, language, password, and the page registry.

Pages live in modules of their own (admin/console/pages_*.py) and register on `console`.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError, CSRFProtect

from admin.console import auth, submissions
from backend.errors import AppError, ValidationFailed
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

ROLE_NAMES = {
    "superadmin": _l("Super administrator"),
    "campaign_admin": _l("Campaign administrator"),
    "reviewer": _l("Reviewer"),
    "analyst": _l("Analyst"),
    "merchant": _l("Merchant (verifies codes)"),
}

# Action types as the console names them, on every page.
TYPE_NAMES = {
    "trip": _l("Trip"),
    "garbage_sorting": _l("Garbage sorting"),
    "clean_plate": _l("Clean Plate meal"),
    "ev_charging": _l("EV charging"),
}

# How each action was verified (points.actions.models.VERIFICATIONS), on every page.
VERIFICATION_NAMES = {
    "partner": _l("Verified by a partner"),
    "trace": _l("Verified by a GPS trace"),
    "reviewed": _l("Verified by a reviewer"),
    "self_declared": _l("Self-declared"),
}

# (endpoint, label msgid, permission): the navigation, filtered by the signed-in role.
NAVIGATION: list[tuple[str, str, str | None]] = []
# The order admins read the menu in, whatever order page modules are imported in.
NAVIGATION_ORDER = (
    "console.dashboard",
    "console.statistics",
    "console.campaigns",
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
