"""Deferred approvals: the listeners of a partner batch's actions, run after the response.

A partner batch commits its actions with their points, caps, ledger entries and balances
(all the partner is told), and one `deferred_approval` row per action. What the listeners
derive (campaign counts and bonuses, streaks and badges, leaderboards, statistics) is
applied here afterwards, oldest first, one action per transaction under the resident's
account row, as an inline approval is. Each listener counts an action once anyway: an
action applied twice would change nothing.

Rows outlive a worker killed after its response: the next batches pick them up (each
applies a bounded number after its response, so a backlog never keeps one worker busy
past its timeout), and `flask points apply-deferred` applies them all on demand.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from backend.extensions import db
from points.actions.models import Action, DeferredApproval
from points.actions.service import approved_event
from points.ledger import service as ledger
from points.signals import action_approved


def apply_deferred(limit: int | None = None) -> int:
    """Apply deferred approvals, oldest first, all or up to `limit`; how many it applied."""
    applied = 0
    while limit is None or applied < limit:
        with db.write_intent():
            done = _apply_next()
            db.session.commit()
        if not done:
            break
        applied += 1
    return applied


def _apply_next() -> bool:
    # One action per transaction, as inline: its listeners take their rows table by table
    # in one order. Several actions in one transaction would take a second action's
    # leaderboard rows after the first's statistics rows, and deadlock against an inline
    # approval taking them the other way round (PostgreSQL). Grouping 25 saved ~15%.
    # SKIP LOCKED: workers applying at once take different actions (PostgreSQL; SQLite
    # writers queue anyway).
    action_id = db.session.scalar(
        select(DeferredApproval.action_id)
        .order_by(DeferredApproval.action_id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if action_id is None:
        return False
    action = db.session.get(Action, action_id)
    # The account first, as a resident's own action takes it before the listeners' rows.
    ledger.lock_account(action.resident_id)
    action_approved.send("points", event=approved_event(action))
    db.session.execute(delete(DeferredApproval).where(DeferredApproval.action_id == action_id))
    return True
