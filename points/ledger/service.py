"""Posting entries, the one way a balance changes, and reading accounts and history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from backend.clock import local_day, utcnow
from backend.errors import ValidationFailed
from backend.extensions import db
from points.ledger.models import Account, DailyPoints, LedgerAllocation, LedgerEntry

EARNING_KINDS = ("earn", "campaign_bonus", "checkin", "badge")


class InsufficientPoints(ValidationFailed):
    code = "insufficient_points"
    message = _l("Not enough points.")


def ensure_account(resident_id: int) -> None:
    """Open the resident's account if they have none."""
    db.insert_ignoring_conflict(Account, resident_id=resident_id, balance=0, co2e_g_total=0)


def post_entry(resident_id: int, kind: str, ref: str, delta: int) -> LedgerEntry | None:
    """Append an entry and move the balance with it; None if this cause was already posted.

    The balance update holds the account row until commit, so concurrent entries for one
    resident are ordered and each `balance_after` is exact.
    """
    balance = _move_balance(resident_id, delta)
    if balance is None:
        raise InsufficientPoints()
    session = db.session
    entry = session.scalar(
        db.upsert(LedgerEntry)
        .values(resident_id=resident_id, kind=kind, ref=ref, delta=delta, balance_after=balance)
        .on_conflict_do_nothing(index_elements=[LedgerEntry.kind, LedgerEntry.ref])
        .returning(LedgerEntry)
    )
    if entry is None:
        # This cause was posted before: the balance goes back (its row is still ours).
        _move_balance(resident_id, -delta)
        return None
    if delta < 0:
        _allocate(entry, -delta)
    return entry


def _move_balance(resident_id: int, delta: int) -> int | None:
    """Add `delta` unless the balance would go below zero; the new balance, or None."""
    statement = (
        update(Account)
        .where(Account.resident_id == resident_id, Account.balance + delta >= 0)
        .values(balance=Account.balance + delta, updated_at=utcnow())
        .returning(Account.balance)
    )
    balance = db.session.execute(statement).scalar_one_or_none()
    if balance is None:
        # No account yet (or too low a balance): open it, whoever wins that race, and try
        # again. A refusal costs two more statements; a payment to an open account none.
        ensure_account(resident_id)
        balance = db.session.execute(statement).scalar_one_or_none()
    return balance


def unspent_credits(resident_id: int, before=None) -> list[tuple[int, int]]:
    """(credit entry id, points left) oldest first; their sum is the balance."""
    allocated = func.coalesce(func.sum(LedgerAllocation.amount), 0)
    query = (
        select(LedgerEntry.id, LedgerEntry.delta - allocated)
        .outerjoin(LedgerAllocation, LedgerAllocation.credit_entry_id == LedgerEntry.id)
        .where(LedgerEntry.resident_id == resident_id, LedgerEntry.delta > 0)
        .group_by(LedgerEntry.id, LedgerEntry.delta)
        .having(LedgerEntry.delta - allocated > 0)
        .order_by(LedgerEntry.id)
    )
    if before is not None:
        query = query.where(LedgerEntry.created_at < before)
    return [(entry_id, left) for entry_id, left in db.session.execute(query)]


def _allocate(debit: LedgerEntry, amount: int) -> None:
    """Spend the oldest unspent credits first (the account row is already locked)."""
    for credit_id, left in unspent_credits(debit.resident_id):
        used = min(left, amount)
        db.session.add(
            LedgerAllocation(debit_entry_id=debit.id, credit_entry_id=credit_id, amount=used)
        )
        amount -= used
        if amount == 0:
            break
    db.session.flush()


def expire_points(resident_id: int, cutoff, run_day: date) -> LedgerEntry | None:
    """Expire what is left of credits older than `cutoff`; once per resident and run day."""
    ensure_account(resident_id)
    # Lock the account first, so the credits we read are not being spent meanwhile.
    db.session.execute(
        update(Account).where(Account.resident_id == resident_id).values(updated_at=utcnow())
    )
    stale = sum(left for _, left in unspent_credits(resident_id, before=cutoff))
    if stale == 0:
        return None
    return post_entry(
        resident_id, "expire", f"expire:{run_day.isoformat()}/resident:{resident_id}", -stale
    )


def add_co2e(resident_id: int, grams: int) -> None:
    statement = (
        update(Account)
        .where(Account.resident_id == resident_id)
        .values(co2e_g_total=Account.co2e_g_total + grams, updated_at=utcnow())
    )
    if db.session.execute(statement).rowcount == 0:
        ensure_account(resident_id)
        db.session.execute(statement)


def lock_day(resident_id: int, day: date, action_type: str) -> int:
    """Lock the resident's points row for a local day and action type; its points so far.

    One statement makes the row if it is missing and locks it until commit (an upsert's
    update takes the row lock on PostgreSQL; SQLite write transactions begin IMMEDIATE).
    Rules that count the day's actions (caps, meals per day) take this lock first, so
    concurrent requests of one resident are decided one after the other.
    """
    row = DailyPoints
    statement = db.upsert(row).values(
        resident_id=resident_id, local_day=day, action_type=action_type, points=0
    )
    return db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[row.resident_id, row.local_day, row.action_type],
            set_={"points": row.points},
        ).returning(row.points)
    ).scalar_one()


def grant_within_cap(
    resident_id: int, day: date, action_type: str, wanted: int, cap: int, *, so_far: int
) -> int:
    """Reserve up to `wanted` points of the day's cap for this action type; returns the grant.

    `so_far` is what `lock_day` returned in this transaction: the row is locked since.
    """
    granted = max(0, min(wanted, cap - so_far))
    if granted:
        row = DailyPoints
        db.session.execute(
            update(row)
            .where(
                row.resident_id == resident_id,
                row.local_day == day,
                row.action_type == action_type,
            )
            .values(points=row.points + granted)
        )
    return granted


@dataclass(frozen=True)
class AccountSummary:
    balance: int
    co2e_g_total: int
    points_today: int
    points_earned_total: int


def account_summary(resident_id: int) -> AccountSummary:
    account = db.session.get(Account, resident_id)
    today = local_day(utcnow())
    points_today = db.session.scalar(
        select(func.coalesce(func.sum(DailyPoints.points), 0)).where(
            DailyPoints.resident_id == resident_id, DailyPoints.local_day == today
        )
    )
    earned = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(
            LedgerEntry.resident_id == resident_id, LedgerEntry.kind.in_(EARNING_KINDS)
        )
    )
    return AccountSummary(
        balance=account.balance if account else 0,
        co2e_g_total=account.co2e_g_total if account else 0,
        points_today=points_today,
        points_earned_total=earned,
    )


def ledger_query(resident_id: int):
    return select(LedgerEntry).where(LedgerEntry.resident_id == resident_id)
