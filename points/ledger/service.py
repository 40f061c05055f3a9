"""Posting entries, the one way a balance changes, and reading accounts and history.

Statements that return no ORM object run on the session's connection: through the
session, the ORM looks for the objects an UPDATE touches, which cost more than the
statement itself on the path of every action.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, insert, literal, select, update

from backend.clock import LOCAL_TZ, local_day, utcnow
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
    """Append a spend, refund, adjustment or expiry and move the balance with it; None if
    this cause was already posted. Earnings go through `credit`.

    The balance update holds the account row until commit, so concurrent entries for one
    resident are ordered and each `balance_after` is exact.
    """
    if kind in EARNING_KINDS:
        raise ValueError(f"{kind} is an earning: post it with credit()")
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
    balance = db.session.connection().execute(statement).scalar_one_or_none()
    if balance is None:
        # No account yet (or too low a balance): open it, whoever wins that race, and try
        # again. A refusal costs two more statements; a payment to an open account none.
        ensure_account(resident_id)
        balance = db.session.connection().execute(statement).scalar_one_or_none()
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
    # Lock the account first, so the credits we read are not being spent meanwhile.
    lock_account(resident_id)
    stale = sum(left for _, left in unspent_credits(resident_id, before=cutoff))
    if stale == 0:
        return None
    return post_entry(
        resident_id, "expire", f"expire:{run_day.isoformat()}/resident:{resident_id}", -stale
    )


def earn_ref(action_id: int) -> str:
    """The cause of an action's own points (an `earn` entry)."""
    return f"action:{action_id}"


def lock_accounts(resident_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Open missing accounts and hold them until commit, in resident order; each one's
    (balance, CO2e total): `credit` for many residents at once."""
    table = Account.__table__
    column = table.c
    residents = sorted(set(resident_ids))
    connection = db.session.connection()
    now = utcnow()
    connection.execute(
        db.upsert(table).on_conflict_do_nothing(),
        [{"resident_id": r, "balance": 0, "co2e_g_total": 0, "updated_at": now} for r in residents],
    )
    locked = connection.execute(
        select(column.resident_id, column.balance, column.co2e_g_total)
        .where(column.resident_id.in_(residents))
        .order_by(column.resident_id)
        .with_for_update()
    )
    return {resident_id: (balance, co2e) for resident_id, balance, co2e in locked}


def lock_account(resident_id: int) -> None:
    """Hold the resident's account row until commit (opening it if missing), as a
    payment does: what is decided under it is decided one after the other."""
    ensure_account(resident_id)
    db.session.connection().execute(
        update(Account).where(Account.resident_id == resident_id).values(updated_at=utcnow())
    )


def within_cap(wanted: int, cap: int, so_far: int) -> int:
    """What an action wanting `wanted` points is granted when `so_far` of the cap is used."""
    return max(0, min(wanted, cap - so_far))


DayKey = tuple[int, date, str]  # resident, local day, action type


def lock_days(keys: set[DayKey]) -> dict[DayKey, int]:
    """Lock the resident's points rows of local days and action types, making missing ones;
    each row's points so far. One statement, in key order.

    An upsert's update takes the row lock on PostgreSQL; SQLite write transactions begin
    IMMEDIATE. Rules that count a day's actions (caps, meals per day) take this lock
    first, so concurrent requests of one resident are decided one after the other.

    Key order is the lock order: two batches, or a batch and a resident's own request
    (one row, then the account), cannot wait on each other in a circle.
    """
    ordered = sorted(keys)
    rows = db.session.connection().execute(
        _lock_days_statement(db.dialect),
        [{"resident_id": r, "local_day": d, "action_type": t, "points": 0} for r, d, t in ordered],
    )
    return {(r, d, t): points for r, d, t, points in rows}


# The statements of every action's path are built once: building one costs about what
# executing it does.


@functools.cache
def _lock_days_statement(dialect: str):
    row = DailyPoints
    return (
        db.upsert(row)
        .on_conflict_do_update(
            index_elements=[row.resident_id, row.local_day, row.action_type],
            set_={"points": row.points},
        )
        .returning(row.resident_id, row.local_day, row.action_type, row.points)
    )


_DAY = DailyPoints.__table__.c
_SET_DAY_POINTS = (
    update(DailyPoints.__table__)
    .where(
        _DAY.resident_id == bindparam("r"),
        _DAY.local_day == bindparam("d"),
        _DAY.action_type == bindparam("t"),
    )
    .values(points=bindparam("p"))
)
_ACCOUNT = Account.__table__.c
_CREDIT_ONE = (
    update(Account.__table__)
    .where(_ACCOUNT.resident_id == bindparam("r"))
    .values(
        balance=_ACCOUNT.balance + bindparam("points"),
        co2e_g_total=_ACCOUNT.co2e_g_total + bindparam("grams"),
        updated_at=bindparam("now"),
    )
    .returning(_ACCOUNT.balance, _ACCOUNT.co2e_g_total)
)
_ADD_ENTRIES = insert(LedgerEntry.__table__)


def set_day_points(points: dict[DayKey, int]) -> None:
    """Write the new totals of rows `lock_days` locked in this transaction."""
    if not points:
        return  # every action was capped at nothing: no row changes
    db.session.connection().execute(
        _SET_DAY_POINTS,
        [{"r": r, "d": d, "t": t, "p": p} for (r, d, t), p in sorted(points.items())],
    )


@dataclass(frozen=True)
class Credit:
    """Points (and CO2e avoided) earned for one cause: an action, a bonus, a badge..."""

    resident_id: int
    kind: str  # one of EARNING_KINDS
    ref: str
    points: int
    co2e_g: int = 0


def credit(credits: list[Credit]) -> None:
    """The one way points are earned: each credit's entry (when it has points) and CO2e.

    Accounts are opened if missing and locked in resident order (the order `lock_days`
    keeps), and each entry's `balance_after` follows from the locked balance, in list
    order. A cause already posted breaks the unique (kind, ref): the transaction fails
    rather than pay twice. Callers guard their causes with a key of their own (an action
    id, a campaign_action or badge_award row), so that never happens by design.
    """
    if any(c.kind not in EARNING_KINDS or c.points < 0 for c in credits):
        raise ValueError("credit takes earnings of zero or more points")
    now = utcnow()
    table = Account.__table__
    column = table.c
    connection = db.session.connection()
    residents = sorted({c.resident_id for c in credits})
    if len(residents) == 1:
        # One resident (a resident's own action): one statement locks and moves the account.
        points = sum(c.points for c in credits)
        grant = {
            "r": residents[0],
            "points": points,
            "grams": sum(c.co2e_g for c in credits),
            "now": now,
        }
        moved = connection.execute(_CREDIT_ONE, grant).one_or_none()
        if moved is None:
            ensure_account(residents[0])
            moved = connection.execute(_CREDIT_ONE, grant).one()
        opening = moved.balance - points
        accounts = {residents[0]: [opening, moved.co2e_g_total]}
        write_back = False
    else:
        accounts = {r: list(amounts) for r, amounts in lock_accounts(residents).items()}
        write_back = True
    entries = []
    for c in credits:
        account = accounts[c.resident_id]
        if write_back:
            account[1] += c.co2e_g
        if c.points:
            account[0] += c.points
            entries.append(
                {
                    "resident_id": c.resident_id,
                    "kind": c.kind,
                    "ref": c.ref,
                    "delta": c.points,
                    "balance_after": account[0],
                    "created_at": now,
                }
            )
    if entries:
        connection.execute(_ADD_ENTRIES, entries)
    if write_back:
        connection.execute(
            update(table)
            .where(column.resident_id == bindparam("r"))
            .values(balance=bindparam("b"), co2e_g_total=bindparam("c"), updated_at=now),
            [{"r": r, "b": b, "c": c} for r, (b, c) in sorted(accounts.items())],
        )


def first_open_day(now: datetime) -> date:
    """The earliest local day an action may still be recorded on (ACTION_MAX_AGE_DAYS)."""
    return local_day(now - timedelta(days=current_app.config["ACTION_MAX_AGE_DAYS"]))


def caps_kept_until(resident_id: int, now: datetime) -> datetime | None:
    """Until when the resident's points of days still open to recording bound a successor:
    the last moment an action of the latest such day can be recorded (the Beijing midnight
    ending it, plus ACTION_MAX_AGE_DAYS). None if it earned nothing on those days."""
    last = db.session.scalar(
        select(func.max(DailyPoints.local_day)).where(
            DailyPoints.resident_id == resident_id,
            DailyPoints.local_day >= first_open_day(now),
            DailyPoints.points > 0,
        )
    )
    if last is None:
        return None
    midnight = datetime.combine(last + timedelta(days=1), time(), LOCAL_TZ)
    return midnight + timedelta(days=current_app.config["ACTION_MAX_AGE_DAYS"])


def carry_day_points(deleted_id: int, successor_id: int, now: datetime) -> None:
    """A successor of a deleted account starts its days still open to recording with the
    points that account earned on them: the same caps bind both. One statement, while the
    successor is being created, or binds the phone (its own points of those days add up)."""
    day = DailyPoints.__table__.c
    statement = db.upsert(DailyPoints.__table__).from_select(
        ["resident_id", "local_day", "action_type", "points"],
        select(literal(successor_id), day.local_day, day.action_type, day.points).where(
            day.resident_id == deleted_id,
            day.local_day >= first_open_day(now),
            day.points > 0,
        ),
    )
    # A resident binding the phone may have earned on those days already: the points add.
    db.session.connection().execute(
        statement.on_conflict_do_update(
            index_elements=[day.resident_id, day.local_day, day.action_type],
            set_={"points": day.points + statement.excluded.points},
        )
    )


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


def bonuses_for(resident_id: int, cause: str) -> int:
    """The points of a resident's bonus entries (campaign bonuses) earned through `cause`
    (`action:<id>`): their refs name it last, `campaign:<id>/action:<id>`."""
    # int(): PostgreSQL sums integers as numeric
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.delta), 0)).where(
                LedgerEntry.resident_id == resident_id,
                LedgerEntry.kind == "campaign_bonus",
                LedgerEntry.ref.like(f"%/{cause}"),
            )
        )
    )


def take_back(resident_id: int, ref: str, points: int, co2e_g: int) -> int:
    """Take back an earning that should not have been paid (an action superseded by a
    verified one): up to `points` as an `adjustment` entry under `ref`, never below a zero
    balance, and its CO2e from the lifetime total; the points taken. Nothing if `ref` was
    posted before. The caller holds the account (`lock_accounts`).
    """
    balance = (
        db.session.connection()
        .execute(select(Account.balance).where(Account.resident_id == resident_id))
        .scalar_one()
    )
    taken = min(points, balance)
    if taken and post_entry(resident_id, "adjustment", ref, -taken) is None:
        return 0
    db.session.connection().execute(
        update(Account)
        .where(Account.resident_id == resident_id)
        .values(co2e_g_total=Account.co2e_g_total - co2e_g, updated_at=utcnow())
    )
    return taken
