"""Staff adjustments of a resident's points: each with its reason and the staff user who
made it, and each the cause of exactly one `adjustment` ledger entry.

The ledger keeps its own rule: an adjustment never takes a balance below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.audit import service as audit
from backend.clock import utcnow
from backend.db import Base, BigId
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from points.ledger.service import post_entry

REASON_MAX_LENGTH = 200
# A bound on one adjustment: a typo of a few extra digits must not mint a fortune.
MAX_ADJUSTMENT = 1_000_000


class PointsAdjustment(Base):
    __tablename__ = "points_adjustment"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("reason <> ''", name="reason_given"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(REASON_MAX_LENGTH))
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Adjusted:
    adjustment: PointsAdjustment
    balance_before: int
    balance_after: int


def adjust_points(resident_id: int, delta: int, reason: str, staff_id: int) -> Adjusted:
    """Add (or, negative, take away) points with a reason; the balance never goes below 0.

    The balances returned are the ledger entry's, read under the account's lock.
    """
    reason = (reason or "").strip()
    problems: dict[str, list] = {}
    if not reason:
        problems["reason"] = [_l("A reason is required.")]
    elif len(reason) > REASON_MAX_LENGTH:
        problems["reason"] = [_l("At most %(max)s characters.", max=REASON_MAX_LENGTH)]
    if delta == 0 or abs(delta) > MAX_ADJUSTMENT:
        problems["delta"] = [
            _l("Give a number of points other than 0, at most %(max)s.", max=MAX_ADJUSTMENT)
        ]
    if problems:
        raise ValidationFailed(fields=problems)
    resident = db.session.get(Resident, resident_id)
    if resident is None:
        raise NotFound()
    if resident.status == "deleted":
        raise Conflict(_l("This resident's account is deleted."), code="resident_deleted")
    # One savepoint for the row and its entry: a refused entry leaves no orphan adjustment.
    with db.session.begin_nested():
        row = PointsAdjustment(
            resident_id=resident_id, delta=delta, reason=reason, staff_user_id=staff_id
        )
        db.session.add(row)
        db.session.flush()
        # A new row's id is a new cause: the entry is always posted, never a duplicate.
        entry = post_entry(resident_id, "adjustment", f"adjustment:{row.id}", delta)
    done = Adjusted(row, entry.balance_after - delta, entry.balance_after)
    audit.record(
        "resident.adjust_points",
        "account",
        resident_id,
        {"balance": done.balance_before},
        {"balance": done.balance_after, "delta": delta, "reason": reason, "adjustment_id": row.id},
    )
    return done
