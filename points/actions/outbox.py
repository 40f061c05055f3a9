"""Applying the approval outbox: what approvals derive, a batch of actions at a time.

The worker claims the oldest rows together with their residents, skipping any row whose
row or resident another worker holds (SKIP LOCKED on PostgreSQL): workers at once take
different residents, so they run side by side, and each batch is alone with its
residents' streaks, board rows and statistics rows. A resident's rows are applied in
order, unless two claims reach the same resident at the same instant (then a later row
may go first: the streak and the board's district follow the order rows are applied in,
as they follow approvals). It hands the batch to every package's applier in
`points.signals.APPLIER_ORDER`, posts what they credit (campaign bonuses, badges) in one
`ledger.credit` at the end, and deletes the rows in the same transaction: a batch is
applied whole or not at all, and a row deleted is an action applied exactly once. The
caller owns the transaction.

Lock order: the claim waits for nothing (it skips); requests do not lock resident rows.
The appliers then touch only rows of the batch's residents, the accounts last (their
credits, in resident order), and the counters every batch shares are written at commit
in one order (`db.add_at_commit`): a batch holds no lock a payment needs until its end.
A request holds its day's cap row, then the account, and waits on nothing after it: a
batch may wait for a request's account, never the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from backend.clock import utcnow
from backend.extensions import db
from backend.residents.models import Resident
from points.actions.models import Action, ApprovalOutbox
from points.ledger import service as ledger
from points.signals import ApprovedAction, appliers

# An approved action as the derived figures see it, named as `ApprovedAction`'s fields:
# the worker's batches and the statistics' rebuild read actions through these.
APPROVED_COLUMNS = (
    Action.id.label("action_id"),
    Action.resident_id,
    Action.type.label("action_type"),
    Action.variant,
    Action.co2e_g,
    Action.points,
    Action.capped,
    Action.occurred_at,
    Action.local_day,
    Action.district_code,
    Action.source,
    Action.verification,
    Action.status,
    Action.distance_m,
    Action.factor_version,
)


def apply_batch(limit: int) -> int:
    """Apply up to `limit` of the oldest outbox rows; how many were applied."""
    claimed = db.session.execute(
        select(ApprovalOutbox.id, ApprovalOutbox.action_id)
        .join(Action, Action.id == ApprovalOutbox.action_id)
        .join(Resident, Resident.id == Action.resident_id)
        .order_by(ApprovalOutbox.id)
        .limit(limit)
        # FOR NO KEY UPDATE: a resident row so held still lets requests insert rows
        # that refer to it (their foreign keys take KEY SHARE); only workers take it.
        .with_for_update(
            skip_locked=True, key_share=True, of=(ApprovalOutbox.__table__, Resident.__table__)
        )
    ).all()
    if not claimed:
        return 0
    order = {action_id: position for position, (_, action_id) in enumerate(claimed)}
    rows = db.session.execute(select(*APPROVED_COLUMNS).where(Action.id.in_(order))).all()
    batch = sorted(
        (ApprovedAction(**row._mapping) for row in rows), key=lambda a: order[a.action_id]
    )
    credits = [credit for applier in appliers() for credit in applier(batch)]
    if credits:
        ledger.credit(credits)
    db.session.execute(
        delete(ApprovalOutbox).where(ApprovalOutbox.id.in_([row_id for row_id, _ in claimed]))
    )
    return len(claimed)


@dataclass(frozen=True)
class Backlog:
    rows: int
    oldest_created_at: datetime | None

    @property
    def oldest_age_s(self) -> float:
        if self.oldest_created_at is None:
            return 0.0
        return max(0.0, (utcnow() - self.oldest_created_at).total_seconds())


def backlog() -> Backlog:
    """Rows waiting and when the oldest was written (readiness and metrics)."""
    rows = db.session.scalar(select(func.count()).select_from(ApprovalOutbox))
    oldest = db.session.scalar(
        select(ApprovalOutbox.created_at).order_by(ApprovalOutbox.id).limit(1)
    )
    return Backlog(rows=rows, oldest_created_at=oldest)
