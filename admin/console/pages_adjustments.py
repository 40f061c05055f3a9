"""Adjustments waiting for a second staff member: the list, approve and reject.

An adjustment above ADJUSTMENT_SECOND_APPROVAL_POINTS is asked for on a resident's page
and pays nothing until someone else approves it here (or on that resident's page).
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from admin.console.auth import console_page
from admin.console.form_input import page_of
from admin.console.views import console, nav_item
from backend.i18n import N_
from points.ledger import adjustments

MANAGE = "manage_residents"

nav_item("console.adjustment_requests", N_("Adjustments to approve"), MANAGE)


def _back():
    """Where the decision was made: a console page (never elsewhere), or the list."""
    target = request.form.get("next", "")
    if target.startswith("/admin/") and not target.startswith("//"):
        return redirect(target)
    return redirect(url_for("console.adjustment_requests"))


@console.route("/adjustments")
@console_page(MANAGE)
def adjustment_requests():
    page = page_of(
        adjustments.pending_requests_query(), adjustments.AdjustmentRequest.id, oldest_first=True
    )
    return render_template(
        "console/residents/adjustments.html",
        requests=page["items"],
        next_cursor=page["next_cursor"],
        threshold=adjustments.second_approval_threshold(),
    )


@console.route("/adjustments/<int:request_id>/approve", methods=["POST"])
@console_page(MANAGE)
def adjustment_approve(request_id: int):
    # A refusal (own request, decided already, too few points) is the console's error
    # page: the list it came from may have changed meanwhile.
    done = adjustments.approve_adjustment(request_id, g.staff_session.staff_user.id)
    flash(
        _(
            "Approved: %(points)s points adjusted; the balance is now %(balance)s.",
            points=done.adjustment.delta,
            balance=done.balance_after,
        ),
        "info",
    )
    return _back()


@console.route("/adjustments/<int:request_id>/reject", methods=["POST"])
@console_page(MANAGE)
def adjustment_reject(request_id: int):
    adjustments.reject_adjustment(request_id, g.staff_session.staff_user.id)
    flash(_("Rejected: no points were adjusted."), "info")
    return _back()
