"""The one approve path: a resident's own action, a reviewer's approval, a partner's events.

In the caller's transaction it writes only what the caller is told (each action's points
within the day's cap, its ledger credit and balance) and one outbox row per action; the
worker applies what approvals derive from the outbox (`points.actions.outbox`). A
self-declared action pays the methodology's percent for its type (nothing by default),
and only verified grams add to a resident's CO2e total.
"""

from __future__ import annotations

from sqlalchemy import insert

from backend.clock import utcnow
from backend.extensions import db
from points.actions.models import VERIFIED, Action, ApprovalOutbox
from points.ledger import service as ledger
from points.methodology import service as methodology_service
from points.methodology.service import Methodology

_ADD_TO_OUTBOX = insert(ApprovalOutbox)


def day_key(action: Action) -> ledger.DayKey:
    return (action.resident_id, action.local_day, action.type)


def points_wanted(methodology: Methodology, action: Action) -> int:
    """The points an action's CO2e earns before the day's cap: a self-declared action only
    the methodology's percent for its type (nothing unless it says otherwise)."""
    points = methodology_service.points_for(methodology, action.co2e_g)
    if action.verification in VERIFIED:
        return points
    return points * methodology.self_declared_percent(action.type) // 100


def verified_grams(action: Action) -> int:
    """The CO2e an action adds to its resident's total (and the badges read from it):
    verified grams only. The action itself still says its CO2e."""
    return action.co2e_g if action.verification in VERIFIED else 0


def approve(
    actions: list[Action],
    methodology: Methodology,
    *,
    so_far: dict[ledger.DayKey, int] | None = None,
) -> None:
    """Approve and pay `actions` (new or pending), in list order, under `methodology`'s
    points rules: the version their CO2e was computed with.

    `so_far` is what `ledger.lock_days` returned for their days, when the caller had to
    take the day's lock before its own checks; otherwise the days are locked here.
    """
    if so_far is None:
        so_far = ledger.lock_days({day_key(a) for a in actions})
    totals = dict(so_far)
    for action in actions:
        key = day_key(action)
        wanted = points_wanted(methodology, action)
        action.points = ledger.within_cap(
            wanted, methodology.daily_point_caps[action.type], totals[key]
        )
        action.capped = action.points < wanted
        action.status = "approved"
        totals[key] += action.points
    db.session.add_all(actions)
    db.session.flush()
    ledger.set_day_points({key: n for key, n in totals.items() if n != so_far[key]})
    ledger.credit(
        [
            ledger.Credit(a.resident_id, "earn", ledger.earn_ref(a.id), a.points, verified_grams(a))
            for a in actions
        ]
    )
    now = utcnow()
    db.session.connection().execute(
        _ADD_TO_OUTBOX, [{"action_id": a.id, "created_at": now} for a in actions]
    )
