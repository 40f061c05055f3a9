"""One-time submission tokens: every console form that changes data acts once.

Each rendered form carries a fresh token beside its CSRF token (`form_tokens()`). The
first POST with it claims it as a key of the Idempotency-Key table (scope "console",
unique in the database, so exact across workers); the same form sent again (a double
click, a reload, Back and send) does nothing new and answers as the first did: the same
redirect with the same messages. A refused submission releases its token for the retry.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time

from flask import (
    Response,
    current_app,
    flash,
    g,
    make_response,
    message_flashed,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from admin.console.auth import current_staff_or_none
from backend import idempotency
from backend.errors import Conflict

FIELD = "submission_token"
SCOPE = "console"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
# POSTs that change no console data: signing in and out, the language, a search.
NOT_SUBMISSIONS = frozenset(
    {"console.login", "console.logout", "console.switch_language", "console.resident_search"}
)
# How often a second submission looks whether the first one has answered.
_POLL_SECONDS = 0.05


def form_tokens() -> Markup:
    """The hidden fields every console POST form carries: CSRF and a one-time token."""
    return Markup(
        '<input type="hidden" name="csrf_token" value="{}">'
        '<input type="hidden" name="{}" value="{}">'
    ).format(generate_csrf(), FIELD, secrets.token_urlsafe(24))


def _form_digest() -> str:
    """What was sent: the path and query, every field but the tokens, every file's bytes."""
    fields = sorted(
        (name, value)
        for name, values in request.form.lists()
        if name not in ("csrf_token", FIELD)
        for value in values
    )
    files = []
    for name, upload in request.files.items(multi=True):
        files.append((name, upload.filename, hashlib.sha256(upload.read()).hexdigest()))
        upload.stream.seek(0)  # the view reads it again
    canonical = json.dumps([request.full_path, fields, sorted(files)], ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _page(status: int, message: str) -> Response:
    page = render_template("console/error.html", status=status, message=message)
    return make_response(page, status)


def claim_or_replay() -> Response | None:
    """Before a console POST: claim its token (None: go on to the view), or answer the
    same form sent again without running the view."""
    if request.endpoint in NOT_SUBMISSIONS:
        return None
    staff_session = current_staff_or_none()
    if staff_session is None:
        return None  # the page's guard sends the visitor to sign in; nothing changes
    token = request.form.get(FIELD, "")
    if not _TOKEN.fullmatch(token):
        return _page(
            400,
            _("The form was sent without its one-time token. Reload the page and try again."),
        )
    principal = f"staff:{staff_session.staff_user_id}"
    digest = _form_digest()
    deadline = time.monotonic() + current_app.config["CONSOLE_SUBMISSION_WAIT_SECONDS"]
    while True:
        claim, earlier = idempotency.claim_key(SCOPE, principal, token, digest)
        if claim is not None:
            idempotency.hold(claim)
            g.console_submission = claim
            g.console_flashes = []
            return None
        if earlier.request_hash != digest:
            return _page(
                422,
                _("This form was sent already with other values. Reload the page to send it anew."),
            )
        if earlier.response_status is not None:
            return _replay(earlier.response_body or {})
        if idempotency.abandoned(earlier):
            idempotency.release(earlier)  # its request died: this one does the work
            continue
        if time.monotonic() >= deadline:
            return _page(
                409,
                _(
                    "This form is still being processed. Reload the page in a moment to see "
                    "its result."
                ),
            )
        # The first submission is at work: look again shortly (claim_key read it in a
        # transaction of its own, so nothing is held while waiting).
        time.sleep(_POLL_SECONDS)


def _replay(answer: dict) -> Response:
    for category, message in answer.get("flashes", []):
        flash(message, category)
    if answer.get("location"):
        return redirect(answer["location"])
    # The first answer was a page of its own (a secret shown once, a verified code): it
    # is not kept, only that the work was done.
    return make_response(
        render_template(
            "console/error.html",
            status=_("Already done"),
            message=_(
                "This form was sent already and was done once; its result was shown in "
                "answer to the first submission."
            ),
        )
    )


@message_flashed.connect
def _collect_flash(_app, message: str, category: str, **_extra) -> None:
    collected = g.get("console_flashes")
    if collected is not None:
        collected.append([category, str(message)])


def remember(response: Response) -> Response:
    """After a console POST's view, before the boundary commits: keep its answer with its
    work, so the same form sent again answers the same."""
    claim = g.pop("console_submission", None)
    if claim is None or response.status_code >= 400:
        return response  # a refusal's token is released after the boundary
    answer = {
        "location": response.location if 300 <= response.status_code < 400 else None,
        "flashes": g.get("console_flashes", []),
    }
    try:
        idempotency.answer(claim, response.status_code, answer)
    except Conflict as exc:  # a retry took the claim over: its answer stands, ours rolls back
        return _page(exc.status, str(exc.message))
    return response
