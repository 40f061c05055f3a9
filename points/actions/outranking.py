"""A partner's verified event outranks a self-report of the same real-world event: the
same EV session's key, or (`service._settle_overlapping_trips`) a self-declared trip at the
same time. The self-report is rejected and gives any key up, what it was paid is taken back,
and the partner's resident is paid. Nothing is paid twice: the unique `Action.dedup_key`
stays the guard, freed only in the transaction that records the partner's action under it.
"""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from backend.audit import service as audit
from backend.clock import utcnow
from backend.errors import AppError
from backend.extensions import db
from backend.i18n import DEFAULT_LOCALE
from points.actions import approval
from points.actions.models import Action, ApprovalOutbox
from points.ledger import service as ledger

# A self-report of an event that a partner reports for another resident.
SUSPECTED_SQUAT = "suspected_squat"
# Where a rejected action keeps the event key it gave up.
FREED_KEY = "freed_event_key"
SUPERSEDED = _l("Superseded by a partner's verified event for the same session.")
SUPERSEDED_TRIP = _l("Superseded by a partner's verified trip at the same time.")


def free_event_key(action: Action) -> None:
    """A rejected action holds no event key: it must never block the event's owner."""
    if action.dedup_key is None:
        return
    action.details = {**(action.details or {}), FREED_KEY: action.dedup_key}
    action.dedup_key = None


def outrank_self_reports(outcomes: list[Action | AppError]) -> list[Action]:
    """Free the event keys that self-reports hold against these new partner actions.

    Per self-report holding a key: pending → rejected as superseded (flagged as a suspected
    squat when another resident's); rejected → only the key freed; approved and the same
    resident's → kept (the partner's event is then a duplicate: paid already); approved and
    another resident's → rejected and returned, for the caller to `take_back` once it holds
    the day's locks. A partner's action holding a key is never touched.
    """
    claimants: dict[str, Action] = {}
    for outcome in outcomes:
        if isinstance(outcome, Action) and outcome.dedup_key:
            claimants.setdefault(outcome.dedup_key, outcome)
    if not claimants:
        return []
    # Locked, so that a reviewer deciding the same self-report meanwhile decides before or
    # after: the actions only (not their factors, which every new action refers to), and
    # FOR NO KEY UPDATE, which lets a worker applying the action's approval insert rows
    # that refer to it while `_recount` below waits for that worker.
    holders = db.session.scalars(
        select(Action)
        .where(Action.dedup_key.in_(claimants), Action.source != "partner")
        .order_by(Action.id)
        .with_for_update(of=Action.__table__, key_share=True)
    ).all()
    superseded = []
    for held in holders:
        squat = held.resident_id != claimants[held.dedup_key].resident_id
        if held.status == "approved" and not squat:
            continue
        if held.status != "rejected" and supersede(held, SUPERSEDED, squat=squat):
            superseded.append(held)
        free_event_key(held)
    db.session.flush()
    return superseded


def supersede(action: Action, reason, *, squat: bool = False) -> bool:
    """Reject a self-report that a partner's verified event outranks; whether it had been
    approved (then the caller passes it to `take_back` once it holds the locks)."""
    was_approved = action.status == "approved"
    if was_approved:
        # Before the action changes (its key column takes the stronger lock) and before any
        # account lock: this may wait for a worker applying the action's approval, which
        # refers to the action and may wait for accounts.
        _recount(action.id)
    action.status = "rejected"
    action.reviewed_at = utcnow()
    with force_locale(DEFAULT_LOCALE):
        action.review_reason = str(reason)
    if squat:
        action.flags = [*action.flags, SUSPECTED_SQUAT]
    return was_approved


def take_back(superseded: list[Action], payees: set[int]) -> None:
    """Take back what superseded approved actions were paid (`outrank_self_reports` has
    asked the worker's appliers to take back what they counted).

    Call after `ledger.lock_days` for the payees' actions and before paying them: the
    accounts of payees and superseded residents are locked here in resident order, the
    order `ledger.credit` keeps. A balance never goes below zero: what was spent already is
    not recovered, and the action's details and the audit log say how much.
    """
    if not superseded:
        return
    ledger.lock_accounts(sorted(payees | {action.resident_id for action in superseded}))
    for action in superseded:
        # Its campaign bonuses too: paid by the worker, whose application `_recount` has
        # waited for (or removed before it ran).
        earned = action.points + ledger.bonuses_for(action.resident_id, ledger.earn_ref(action.id))
        taken = ledger.take_back(
            action.resident_id,
            f"superseded/action:{action.id}",
            earned,
            approval.verified_grams(action),
        )
        action.details = {
            **action.details,
            "points_taken_back": taken,
            "points_not_recovered": earned - taken,
        }
        audit.record(
            "action.supersede",
            "action",
            action.id,
            {"status": "approved", "points": earned},
            {
                "status": action.status,
                "review_reason": action.review_reason,
                "flags": audit.plain(action.flags),
                "points_taken_back": taken,
                "points_not_recovered": earned - taken,
            },
        )
    db.session.flush()


def _recount(action_id: int) -> None:
    """The worker applies the action again: now rejected, each applier takes back what it
    counted. Still waiting, never applied: its row goes and nothing is counted."""
    waiting = db.session.connection().execute(
        delete(ApprovalOutbox).where(ApprovalOutbox.action_id == action_id)
    )
    if waiting.rowcount == 0:
        db.session.add(ApprovalOutbox(action_id=action_id))
