"""The audit log page: every staff change, newest first, searchable by action or target and
by staff username; who, what, when (Beijing time), from which IP, and what changed.

Read-only by design: the log is append-only (database triggers refuse UPDATE and DELETE),
so this page offers no way to edit or remove an entry.
"""

from __future__ import annotations

from flask import render_template, request

from admin.console.audit_diff import diff_rows
from admin.console.auth import console_page
from admin.console.form_input import page_of
from admin.console.labels import audit_action_label, target_label
from admin.console.views import console, nav_item
from backend.audit.models import AuditEntry
from backend.audit.service import entries_query
from backend.clock import LOCAL_TZ
from backend.i18n import N_
from backend.staff.permissions import VIEW_AUDIT_LOG

nav_item("console.audit_log", N_("Audit log"), VIEW_AUDIT_LOG)

SEARCH_MAX_LENGTH = 64  # as long as the longest column searched


@console.route("/audit")
@console_page(VIEW_AUDIT_LOG)
def audit_log():
    text = request.args.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    staff = request.args.get("staff", "").strip()[:SEARCH_MAX_LENGTH]
    page = page_of(entries_query(text or None, staff or None), AuditEntry.id)
    entries = [
        {
            "entry": entry,
            "at": entry.at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"),
            "action": audit_action_label(entry.action),
            "target": target_label(entry.target_type),
            "changes": diff_rows(entry.target_type, entry.before, entry.after),
        }
        for entry in page["items"]
    ]
    return render_template(
        "console/audit.html",
        entries=entries,
        next_cursor=page["next_cursor"],
        text=text,
        staff=staff,
    )
