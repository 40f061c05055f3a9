"""Staff adjustments of a resident's points: each with its reason and the staff user who
asked for it, and each the cause of exactly one `adjustment` ledger entry.

One of more than ADJUSTMENT_SECOND_APPROVAL_POINTS (either way) is first a request that
pays nothing; another staff member approves it (then it is posted, once) or rejects it.
The ledger keeps its own rule: an adjustment never takes a balance below zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.audit import service as audit
from backend.clock import utcnow
from backend.db import Base, BigId
from backend.errors import Conflict, Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from backend.staff.models import StaffUser
from points.ledger.service import post_entry

REASON_MAX_LENGTH = 200
REQUEST_STATUSES = ("pending", "approved", "rejected")


class AdjustmentRequest(Base):
    """An adjustment above the second-approval threshold, until another staff member
    decides it. Its status leaves `pending` once."""

    __tablename__ = "points_adjustment_request"
    __table_args__ = (
        CheckConstraint("delta <> 0", name="delta_not_zero"),
        CheckConstraint("reason <> ''", name="reason_given"),
        CheckConstraint("status IN ('pending', 'approved', 'rejected')", name="status_known"),
        # The four-eyes rule holds in the data too: nobody approves their own request.
        CheckConstraint(
            "status <> 'approved' OR decided_by_id <> requested_by_id", name="second_approver"
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    delta: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(REASON_MAX_LENGTH))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[datetime | None]

    requested_by: Mapped[StaffUser] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[StaffUser | None] = relationship(foreign_keys=[decided_by_id])


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
    # The approved request it pays, if it needed one: unique, so a request pays once.
    request_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("points_adjustment_request.id"), unique=True
    )


@dataclass(frozen=True)
class Adjusted:
    adjustment: PointsAdjustment
    balance_before: int
    balance_after: int


def second_approval_threshold() -> int:
    """Adjustments of more points than this (either way) need a second staff member."""
    return current_app.config["ADJUSTMENT_SECOND_APPROVAL_POINTS"]


def adjust_points(
    resident_id: int, delta: int, reason: str, staff_id: int
) -> Adjusted | AdjustmentRequest:
    """Add (or, negative, take away) points with a reason; the balance never goes below 0.

    Above the second-approval threshold nothing is paid yet: the request is returned.
    The balances returned are the ledger entry's, read under the account's lock.
    """
    reason = (reason or "").strip()
    limit = current_app.config["ADJUSTMENT_MAX_POINTS"]
    problems: dict[str, list] = {}
    if not reason:
        problems["reason"] = [_l("A reason is required.")]
    elif len(reason) > REASON_MAX_LENGTH:
        problems["reason"] = [_l("At most %(max)s characters.", max=REASON_MAX_LENGTH)]
    if delta == 0 or abs(delta) > limit:
        problems["delta"] = [
            _l("Give a number of points other than 0, at most %(max)s.", max=limit)
        ]
    if problems:
        raise ValidationFailed(fields=problems)
    _live_resident(resident_id)
    if abs(delta) > second_approval_threshold():
        request = AdjustmentRequest(
            resident_id=resident_id, delta=delta, reason=reason, requested_by_id=staff_id
        )
        db.session.add(request)
        db.session.flush()
        audit.record(
            "resident.adjustment_requested",
            "account",
            resident_id,
            None,
            {"delta": delta, "reason": reason, "request_id": request.id},
        )
        return request
    return _post(resident_id, delta, reason, staff_id)


def _live_resident(resident_id: int) -> Resident:
    resident = db.session.get(Resident, resident_id)
    if resident is None:
        raise NotFound()
    if resident.status == "deleted":
        raise Conflict(_l("This resident's account is deleted."), code="resident_deleted")
    return resident


def _post(
    resident_id: int, delta: int, reason: str, staff_id: int, request_id: int | None = None
) -> Adjusted:
    # One savepoint for the row and its entry: a refused entry leaves no orphan adjustment.
    with db.session.begin_nested():
        row = PointsAdjustment(
            resident_id=resident_id,
            delta=delta,
            reason=reason,
            staff_user_id=staff_id,
            request_id=request_id,
        )
        db.session.add(row)
        db.session.flush()
        # A new row's id is a new cause: the entry is always posted, never a duplicate.
        entry = post_entry(resident_id, "adjustment", f"adjustment:{row.id}", delta)
    done = Adjusted(row, entry.balance_after - delta, entry.balance_after)
    after = {"balance": done.balance_after, "delta": delta, "reason": reason}
    after["adjustment_id"] = row.id
    if request_id is not None:
        after["request_id"] = request_id
    audit.record(
        "resident.adjust_points", "account", resident_id, {"balance": done.balance_before}, after
    )
    return done


def get_request(request_id: int) -> AdjustmentRequest:
    request = db.session.get(AdjustmentRequest, request_id)
    if request is None:
        raise NotFound(_l("No such adjustment request."))
    return request


def _decide(request: AdjustmentRequest, status: str, staff_id: int) -> None:
    """Move the request out of `pending`, once: of two decisions at the same moment, the
    second waits for the first's commit and finds it decided."""
    decided = db.session.execute(
        update(AdjustmentRequest)
        .where(AdjustmentRequest.id == request.id, AdjustmentRequest.status == "pending")
        .values(status=status, decided_by_id=staff_id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if decided != 1:
        raise Conflict(_l("This adjustment was decided already."), code="adjustment_decided")
    db.session.refresh(request)


def approve_adjustment(request_id: int, staff_id: int) -> Adjusted:
    """A second staff member approves a request: it is posted through the one adjustment
    path, once. The requester may not approve their own."""
    request = get_request(request_id)
    if request.requested_by_id == staff_id:
        raise Forbidden(
            _l("Another staff member must approve an adjustment you asked for."),
            code="adjustment_own_request",
        )
    _live_resident(request.resident_id)
    _decide(request, "approved", staff_id)
    return _post(
        request.resident_id, request.delta, request.reason, request.requested_by_id, request.id
    )


def reject_adjustment(request_id: int, staff_id: int) -> AdjustmentRequest:
    """Reject a request (its requester may withdraw it): nothing is paid."""
    request = get_request(request_id)
    _decide(request, "rejected", staff_id)
    audit.record(
        "resident.adjustment_rejected",
        "account",
        request.resident_id,
        {"request_id": request.id, "status": "pending"},
        {"request_id": request.id, "status": "rejected", "delta": request.delta},
    )
    return request


def pending_requests_query():
    """Requests waiting for a decision (paginated by the caller)."""
    return select(AdjustmentRequest).where(AdjustmentRequest.status == "pending")


def pending_requests_of(resident_id: int) -> list[AdjustmentRequest]:
    """One resident's requests waiting for a decision, oldest first (a handful at most)."""
    query = pending_requests_query().where(AdjustmentRequest.resident_id == resident_id)
    return list(db.session.scalars(query.order_by(AdjustmentRequest.id)))
