"""The review queue: photo evidence and self-reported sessions, oldest first; approve, or
reject with a reason the resident sees. Made for the keyboard: the first item is the
current one (focused on arrival, Alt+A / Alt+R), so after a decision the next one is.

An item's own page shows the full-size photo (click to zoom), the photo it was flagged a
copy of beside it with their distance, and the resident's latest actions and earlier
rejections; keys A (approve), R (reject: to the reason first) and J (next) decide there,
and a decision there opens the next item.
"""

from __future__ import annotations

from flask import Response, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from admin.console.auth import console_page
from admin.console.form_input import load, page_of, refused
from admin.console.pages_residents import ACTION_STATUS_NAMES
from admin.console.views import console, nav_item
from admin.review import service as review
from admin.review.schemas import RejectSchema, ReviewQueueArgsSchema
from backend.districts.service import list_districts
from backend.errors import AppError
from backend.i18n import N_
from points.actions import service as actions
from points.actions.models import ACTION_TYPES, Action
from points.photos import service as photos

REVIEW = "review_actions"
QUEUE = "console/review/queue.html"
ITEM = "console/review/item.html"
# A decision sent from an item's page (return=item) opens the next item, not the queue.
FROM_ITEM = "item"

nav_item("console.review_queue", N_("Review"), REVIEW)

FLAG_NAMES = {
    "duplicate_photo": _l("Duplicate photo"),
    "suspected_squat": _l("Suspected squat of a partner's event"),
}
# The stored action says `details` and `unit` in the API's words; reviewers read their own.
DETAIL_NAMES = {
    "venue": _l("Venue"),
    "station_id": _l("Charging station"),
    "session_id": _l("Charging session"),
    "freed_event_key": _l("Event key given up"),
    "points_taken_back": _l("Points taken back"),
    "points_not_recovered": _l("Points not recovered (already spent)"),
}


def _queue_args() -> dict:
    """The queue's filter and page, kept across a decision so the reviewer stays put."""
    return {name: request.args[name] for name in ("type", "cursor") if request.args.get(name)}


def _queue_page(refusal: AppError | None = None, refused_id: int | None = None):
    args = _queue_args()
    load(ReviewQueueArgsSchema(), {"type": args["type"]} if "type" in args else {})
    page = page_of(
        actions.review_queue_query("pending_review", args.get("type")),
        Action.id,
        oldest_first=True,
    )
    districts = {d.code: d for d in list_districts()}
    items = [
        {
            "action": action,
            "photo": photos.get_photo(action.photo_id) if action.photo_id else None,
            "district": districts.get(action.district_code),
        }
        for action in page["items"]
    ]
    if refused_id not in {item["action"].id for item in items}:
        refused_id = None  # decided meanwhile, or on another page: the refusal is flashed
    context = {
        "items": items,
        "next_cursor": page["next_cursor"],
        "action_type": args.get("type"),
        "types": ACTION_TYPES,
        "flag_names": FLAG_NAMES,
        "detail_names": DETAIL_NAMES,
        "queue_args": args,
        "refused_id": refused_id,
        "reason": request.form.get("reason", ""),
    }
    if refusal is not None:
        return refused(refusal, QUEUE, **context)
    return render_template(QUEUE, errors={}, **context)


@console.route("/review")
@console_page(REVIEW)
def review_queue():
    return _queue_page()


@console.route("/review/<int:action_id>/approve", methods=["POST"])
@console_page(REVIEW)
def review_approve(action_id: int):
    try:
        action = review.approve(action_id, g.staff_session.staff_user.id)
    except AppError as exc:
        return _item_page(action_id, exc) if _from_item() else _queue_page(exc)
    if action.capped:
        flash(
            _(
                "Approved. The resident had reached today's cap, so %(points)s points were paid.",
                points=action.points,
            ),
            "info",
        )
    else:
        flash(_("Approved: %(points)s points paid.", points=action.points), "info")
    return _after_decision(action_id)


@console.route("/review/<int:action_id>/reject", methods=["POST"])
@console_page(REVIEW)
def review_reject(action_id: int):
    try:
        body = load(RejectSchema(), {"reason": request.form.get("reason", "").strip()})
        review.reject(action_id, g.staff_session.staff_user.id, body["reason"])
    except AppError as exc:
        if _from_item():
            return _item_page(action_id, exc)
        return _queue_page(exc, refused_id=action_id)
    flash(_("Rejected: the resident sees your reason."), "info")
    return _after_decision(action_id)


@console.route("/review/photos/<photo_id>.jpg")
@console_page(REVIEW)
def review_photo(photo_id: str):
    """A photo's thumbnail, for reviewers only: residents' evidence is not public."""
    thumbnail = photos.open_thumbnail(photos.get_photo(photo_id))
    return Response(
        thumbnail, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


@console.route("/review/photos/<photo_id>/full.jpg")
@console_page(REVIEW)
def review_photo_full(photo_id: str):
    """A photo as stored (re-encoded, at most PHOTO_MAX_EDGE), for reviewers only."""
    image = photos.open_image(photos.get_photo(photo_id))
    return Response(
        image, mimetype="image/jpeg", headers={"Cache-Control": "private, max-age=3600"}
    )


def _from_item() -> bool:
    return request.form.get("return") == FROM_ITEM


def _after_decision(action_id: int):
    """Back to the queue; from an item's page, on to the queue's next item."""
    if not _from_item():
        return redirect(url_for("console.review_queue", **_queue_args()))
    following = actions.next_in_queue(action_id, _queue_args().get("type"))
    if following is None:
        return redirect(url_for("console.review_queue", **_queue_args()))
    return redirect(url_for("console.review_item", action_id=following.id, **_queue_args()))


def _item_page(action_id: int, refusal: AppError | None = None):
    action = actions.get_action(action_id)
    args = _queue_args()
    if "type" in args:
        load(ReviewQueueArgsSchema(), {"type": args["type"]})
    photo = photos.get_photo(action.photo_id) if action.photo_id else None
    earlier = photos.get_photo(photo.duplicate_of_id) if photo and photo.duplicate_of_id else None
    history = current_app.config["REVIEW_HISTORY_ACTIONS"]
    district = {d.code: d for d in list_districts()}.get(action.district_code)
    following = actions.next_in_queue(action_id, args.get("type"))
    context = {
        "a": action,
        "photo": photo,
        "earlier": earlier,
        "distance": photos.reuse_distance(photo) if earlier else None,
        "district": district,
        "recent": actions.latest_of(action.resident_id, history, but=action.id),
        "rejections": actions.latest_of(
            action.resident_id, history, status="rejected", but=action.id
        ),
        "next_item": following,
        "queue_args": args,
        "flag_names": FLAG_NAMES,
        "detail_names": DETAIL_NAMES,
        "status_names": ACTION_STATUS_NAMES,
        "reason": request.form.get("reason", ""),
        "return_to": FROM_ITEM,
    }
    if refusal is not None:
        return refused(refusal, ITEM, **context)
    return render_template(ITEM, errors={}, **context)


@console.route("/review/<int:action_id>")
@console_page(REVIEW)
def review_item(action_id: int):
    return _item_page(action_id)
