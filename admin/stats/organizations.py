"""Organisation figures against raw: `flask stats check` compares them, `flask stats
rebuild` replaces them.

Raw says: an approved action (applied by the worker) counts for every organisation whose
membership of its resident covered its moment (joined_at <= occurred_at < left_at, or not
left), in each of its periods (`figures.period_keys`), under its type and ALL_TYPES, with
what `figures.contribution` says it adds. A member row holds the member's sums in the
period; `participants` (on the ALL_TYPES row) is the number of member rows.

A superseded action is taken back but its member keeps their row (at zero) and their
place among the participants: the check accepts a member row raw does not know only when
all its sums are zero; a rebuild leaves such rows out.

Raw is read once in day order: the member rows of a week or month are compared as soon
as raw has no more for it, so only the open periods' rows are held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import and_, delete, exists, func, or_, select, text

from backend.extensions import db
from campaigns.organizations.figures import (
    MEMBER_SUMS,
    PERIOD_SUMS,
    GreenModes,
    contribution,
    period_keys,
)
from campaigns.organizations.models import (
    ALL_TYPES,
    Membership,
    OrganizationAction,
    OrganizationMemberTotal,
    OrganizationPeriodTotal,
)
from points.actions.models import Action, ApprovalOutbox
from points.actions.outbox import APPROVED_COLUMNS

BATCH = 5000
COUNTED = (Action.status == "approved") & ~exists().where(ApprovalOutbox.action_id == Action.id)
COVERS = and_(
    Membership.resident_id == Action.resident_id,
    Membership.joined_at <= Action.occurred_at,
    or_(Membership.left_at.is_(None), Action.occurred_at < Membership.left_at),
)


def _raw_pairs():
    """(approved action, organisation it counts for), in day order."""
    return db.session.execute(
        select(*APPROVED_COLUMNS, Membership.organization_id)
        .join(Membership, COVERS)
        .where(COUNTED)
        .order_by(Action.local_day, Action.id, Membership.organization_id)
        .execution_options(yield_per=BATCH)
    )


def expected() -> Iterator[tuple[str, dict, dict]]:
    """(period key, its member rows, its organisation rows) as raw says, each period as
    soon as raw has no more for it. Member rows: (org, member) -> MEMBER_SUMS; organisation
    rows: (org, type) -> PERIOD_SUMS + participants."""
    green = GreenModes()
    members: dict[str, dict[tuple, list[int]]] = {}
    periods: dict[str, dict[tuple, list[int]]] = {}
    current: tuple[str, ...] = ()
    for row in _raw_pairs():
        keys = period_keys(row.local_day)
        if keys != current:
            for key in current:
                if key not in keys:
                    yield key, members.pop(key), periods.pop(key)
            current = keys
        sums = contribution(row, green)
        org = row.organization_id
        for key in keys:
            mine = members.setdefault(key, {}).setdefault(
                (org, row.resident_id), [0] * len(MEMBER_SUMS)
            )
            for index, name in enumerate(MEMBER_SUMS):
                mine[index] += sums[name]
            for kind in (row.action_type, ALL_TYPES):
                totals = periods.setdefault(key, {}).setdefault((org, kind), [0] * len(PERIOD_SUMS))
                for index, name in enumerate(PERIOD_SUMS):
                    totals[index] += sums[name]
    for key in list(members):
        yield key, members.pop(key), periods.pop(key)


def _participants(members: dict[tuple, list[int]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for org, _member in members:
        counts[org] = counts.get(org, 0) + 1
    return counts


def check() -> list[str]:
    """Every difference between the organisation tables and raw."""
    differences: list[str] = []
    p = OrganizationPeriodTotal
    stored_periods: dict[str, dict[tuple, list[int]]] = {}
    stored_participants: dict[tuple[str, int], int] = {}
    for row in db.session.execute(
        select(
            p.period_key,
            p.organization_id,
            p.action_type,
            p.participants,
            *(p.__table__.c[n] for n in PERIOD_SUMS),
        )
    ):
        key, org, kind, participants, *sums = row
        stored_periods.setdefault(key, {})[(org, kind)] = list(sums)
        if kind == ALL_TYPES:
            stored_participants[(key, org)] = participants
        elif participants:
            differences.append(
                f"organisation {org} {key} type {kind}: participants {participants} off the '*' row"
            )
    seen: set[str] = set()
    for key, members, periods in expected():
        seen.add(key)
        differences.extend(
            _compare_key(key, members, periods, stored_periods.pop(key, {}), stored_participants)
        )
    for key in sorted(stored_periods):
        differences.extend(_compare_key(key, {}, {}, stored_periods[key], stored_participants))
    differences.extend(_compare_counted())
    return differences


def _compare_key(
    key: str,
    members: dict[tuple, list[int]],
    periods: dict[tuple, list[int]],
    stored: dict[tuple, list[int]],
    stored_participants: dict[tuple[str, int], int],
) -> Iterator[str]:
    zero = [0] * len(PERIOD_SUMS)
    for org, kind in sorted(stored.keys() | periods.keys(), key=str):
        table, raw = stored.get((org, kind), zero), periods.get((org, kind), zero)
        if table != raw:
            yield (
                f"organisation {org} {key} type {kind}: table {_sums(PERIOD_SUMS, table)}; "
                f"raw {_sums(PERIOD_SUMS, raw)}"
            )
    m = OrganizationMemberTotal
    rows = {
        (org, member): list(sums)
        for org, member, *sums in db.session.execute(
            select(
                m.organization_id, m.resident_id, *(m.__table__.c[n] for n in MEMBER_SUMS)
            ).where(m.period_key == key)
        )
    }
    # Counts only: the operator's terminal needs no resident ids to see what is wrong.
    wrong: dict[int, list[int]] = {}  # org -> [differing, missing, extra]
    for pair in rows.keys() | members.keys():
        table, raw = rows.get(pair), members.get(pair)
        org = pair[0]
        if raw is None:
            if any(table):
                wrong.setdefault(org, [0, 0, 0])[2] += 1  # zero rows: taken back, kept
        elif table is None:
            wrong.setdefault(org, [0, 0, 0])[1] += 1
        elif table != raw:
            wrong.setdefault(org, [0, 0, 0])[0] += 1
    for org in sorted(wrong):
        differing, missing, extra = wrong[org]
        yield (
            f"organisation {org} {key} member rows: {differing} differ from raw, "
            f"{missing} missing, {extra} with figures raw does not have"
        )
    table_rows = _participants(rows)
    for org in sorted(
        table_rows.keys()
        | _participants(members).keys()
        | {o for (k, o) in stored_participants if k == key}
    ):
        stored = stored_participants.get((key, org), 0)
        if stored != table_rows.get(org, 0):
            yield (
                f"organisation {org} {key} participants: table {stored}, "
                f"member rows {table_rows.get(org, 0)} (raw {_participants(members).get(org, 0)})"
            )


def _sums(names, values) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip(names, values, strict=True))


def _compare_counted() -> Iterator[str]:
    counted = OrganizationAction
    checks = {
        "organisation actions not counted": select(func.count())
        .select_from(Action)
        .join(Membership, COVERS)
        .where(
            COUNTED,
            ~select(counted.action_id)
            .where(
                counted.action_id == Action.id,
                counted.organization_id == Membership.organization_id,
            )
            .exists(),
        ),
        "organisation actions counted but not approved, or not while a member": select(func.count())
        .select_from(counted)
        .where(
            ~select(Action.id)
            .join(Membership, COVERS)
            .where(
                Action.id == counted.action_id,
                Membership.organization_id == counted.organization_id,
                Action.status == "approved",
            )
            .exists()
        ),
    }
    for label, query in checks.items():
        number = db.session.scalar(query)
        if number:
            yield f"{label}: {number}"


# Rebuilding


def rebuild() -> dict[str, int]:
    """Replace the organisation tables with what raw says; the caller commits."""
    if db.dialect == "postgresql":
        # The applier inserts into organization_action first: holding it makes the
        # worker wait until the rebuild commits, so nothing is lost or counted twice.
        db.session.execute(text("LOCK TABLE organization_action IN EXCLUSIVE MODE"))
    for model in (OrganizationAction, OrganizationMemberTotal, OrganizationPeriodTotal):
        db.session.execute(delete(model))
    connection = db.session.connection()
    written = {"organization_action": 0, "organization_member_period": 0, "organization_period": 0}
    pairs = []
    for row in _raw_pairs():
        pairs.append(
            {
                "action_id": row.action_id,
                "organization_id": row.organization_id,
                "member_id": row.resident_id,
            }
        )
        if len(pairs) >= BATCH:
            connection.execute(OrganizationAction.__table__.insert(), pairs)
            written["organization_action"] += len(pairs)
            pairs = []
    if pairs:
        connection.execute(OrganizationAction.__table__.insert(), pairs)
        written["organization_action"] += len(pairs)
    for key, members, periods in expected():
        member_rows = [
            {"organization_id": org, "period_key": key, "resident_id": member}
            | dict(zip(MEMBER_SUMS, sums, strict=True))
            for (org, member), sums in members.items()
        ]
        participants = _participants(members)
        period_rows = [
            {"organization_id": org, "period_key": key, "action_type": kind}
            | dict(zip(PERIOD_SUMS, sums, strict=True))
            | {"participants": participants.get(org, 0) if kind == ALL_TYPES else 0}
            for (org, kind), sums in periods.items()
        ]
        for model, rows in (
            (OrganizationMemberTotal, member_rows),
            (OrganizationPeriodTotal, period_rows),
        ):
            for start in range(0, len(rows), BATCH):
                connection.execute(model.__table__.insert(), rows[start : start + BATCH])
            written[model.__tablename__] += len(rows)
    return written
