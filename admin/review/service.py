"""A reviewer's decision on an action: the points pipeline decides, and the decision is
recorded once in the audit log, from the console's queue and the staff API alike.

Only the record is ours: it can move, whole, to the function that decides.
"""

from __future__ import annotations

from sqlalchemy import select

from backend.audit import service as audit
from backend.extensions import db
from points.actions import service as actions
from points.actions.models import Action

# What a decision changes, and what identifies the action; its details and evidence stay out.
DECISION_COLUMNS = (
    "resident_id",
    "type",
    "variant",
    "co2e_g",
    "points",
    "capped",
    "status",
    "reviewed_at",
    "reviewed_by",
    "review_reason",
)


def _decision(action_id: int) -> dict | None:
    # Columns, not the row: a row loaded now would be the one the decision's locked read
    # then finds in the session, unrefreshed, and decide on.
    columns = [getattr(Action, name) for name in DECISION_COLUMNS]
    row = db.session.execute(select(*columns).where(Action.id == action_id)).first()
    return None if row is None else {k: audit.plain(v) for k, v in row._asdict().items()}


def approve(action_id: int, staff_id: int) -> Action:
    before = _decision(action_id)
    action = actions.approve(action_id, staff_id)
    audit.record("action.approve", "action", action.id, before, _decision(action.id))
    return action


def reject(action_id: int, staff_id: int, reason: str) -> Action:
    before = _decision(action_id)
    action = actions.reject(action_id, staff_id, reason)
    audit.record("action.reject", "action", action.id, before, _decision(action.id))
    return action
