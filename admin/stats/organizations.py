"""Organisation figures against raw: `flask stats check` compares them, `flask stats
rebuild` replaces them.

Raw says: an approved action (applied by the worker) counts for every organisation whose
membership of its resident covered its moment (joined_at <= occurred_at < left_at, or not
left) — a child's also for its guardian's organisations other than households, the
guardian being the member — in each of its periods (`figures.period_keys`), under its
type and ALL_TYPES, with what `figures.contribution` says it adds. A member row holds
the member's sums in the period and type; a row's `participants` is the number of its
member rows. A kind's row is the sum of its organisations' rows; its participants are
the distinct members behind them (one kind participant row each).

A superseded action is taken back but its member keeps their row (at zero) and their
place among the participants: the check accepts a member row raw does not know only when
all its sums are zero; a rebuild leaves such rows out.

Raw is read once in day order: the member rows of a week or month are compared as soon
as raw has no more for it, so only the open periods' rows are held in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import and_, delete, exists, func, or_, select, text
from sqlalchemy.orm import aliased

from backend.extensions import db
from backend.residents.models import Resident
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
    Organization,
    OrganizationAction,
    OrganizationKindParticipant,
    OrganizationKindPeriod,
    OrganizationMemberTotal,
    OrganizationPeriodTotal,
)
from points.actions.models import Action, ApprovalOutbox
from points.actions.outbox import APPROVED_COLUMNS

BATCH = 5000
COUNTED = (Action.status == "approved") & ~exists().where(ApprovalOutbox.action_id == Action.id)
ACTOR = aliased(Resident)  # the action's resident: a child's guardian counts it elsewhere
COVERS = and_(
    or_(
        Membership.resident_id == Action.resident_id,
        and_(Membership.resident_id == ACTOR.guardian_id, Membership.kind != "household"),
    ),
    Membership.joined_at <= Action.occurred_at,
    or_(Membership.left_at.is_(None), Action.occurred_at < Membership.left_at),
)


def _raw_pairs():
    """(approved action, organisation it counts for), in day order."""
    return db.session.execute(
        select(
            *APPROVED_COLUMNS,
            Membership.organization_id,
            Membership.resident_id.label("member_id"),
        )
        .join(ACTOR, ACTOR.id == Action.resident_id)
        .join(Membership, COVERS)
        .where(COUNTED)
        .order_by(Action.local_day, Action.id, Membership.organization_id)
        .execution_options(yield_per=BATCH)
    )


def _kinds() -> dict[int, str]:
    return dict(db.session.execute(select(Organization.id, Organization.kind)).all())


@dataclass
class Period:
    """One period's figures as raw says: member rows (org, type, member), organisation
    rows (org, type) and kind rows (kind, type) of sums; kind participants."""

    members: dict[tuple, list[int]] = field(default_factory=dict)
    periods: dict[tuple, list[int]] = field(default_factory=dict)
    kinds: dict[tuple, list[int]] = field(default_factory=dict)
    kind_members: set[tuple] = field(default_factory=set)  # (kind, type, member)


def _add(table: dict, key: tuple, names: tuple[str, ...], sums: dict[str, int]) -> None:
    row = table.setdefault(key, [0] * len(names))
    for index, name in enumerate(names):
        row[index] += sums[name]


def expected() -> Iterator[tuple[str, Period]]:
    """(period key, what raw says of it), each period as soon as raw has no more for it."""
    green = GreenModes()
    kinds = _kinds()
    open_periods: dict[str, Period] = {}
    current: tuple[str, ...] = ()
    for row in _raw_pairs():
        keys = period_keys(row.local_day)
        if keys != current:
            for key in current:
                if key not in keys:
                    yield key, open_periods.pop(key)
            current = keys
        sums = contribution(row, green)
        org, kind, member = row.organization_id, kinds[row.organization_id], row.member_id
        for key in keys:
            period = open_periods.setdefault(key, Period())
            for action_type in (row.action_type, ALL_TYPES):
                _add(period.members, (org, action_type, member), MEMBER_SUMS, sums)
                _add(period.periods, (org, action_type), PERIOD_SUMS, sums)
                _add(period.kinds, (kind, action_type), PERIOD_SUMS, sums)
                period.kind_members.add((kind, action_type, member))
    for key in list(open_periods):
        yield key, open_periods.pop(key)


def _count(rows) -> dict[tuple, int]:
    counts: dict[tuple, int] = {}
    for *cell, _member in rows:
        counts[tuple(cell)] = counts.get(tuple(cell), 0) + 1
    return counts


def _stored(model, cells: tuple[str, ...], key: str) -> dict[tuple, tuple[list[int], int]]:
    """(cell) -> (sums, participants) of a period's stored rows."""
    columns = [model.__table__.c[name] for name in (*cells, *PERIOD_SUMS, "participants")]
    return {
        tuple(row[: len(cells)]): (list(row[len(cells) : -1]), row[-1])
        for row in db.session.execute(select(*columns).where(model.period_key == key))
    }


def check() -> list[str]:
    """Every difference between the organisation tables and raw."""
    differences: list[str] = []
    keys = set(db.session.scalars(select(OrganizationPeriodTotal.period_key).distinct())) | set(
        db.session.scalars(select(OrganizationKindPeriod.period_key).distinct())
    )
    for key, period in expected():
        keys.discard(key)
        differences.extend(_compare_key(key, period))
    for key in sorted(keys):
        differences.extend(_compare_key(key, Period()))
    differences.extend(_compare_counted())
    return differences


def _compare_key(key: str, raw: Period) -> Iterator[str]:
    zero = [0] * len(PERIOD_SUMS)
    m = OrganizationMemberTotal
    stored_members = {
        (org, action_type, member): list(sums)
        for org, action_type, member, *sums in db.session.execute(
            select(
                m.organization_id,
                m.action_type,
                m.resident_id,
                *(m.__table__.c[n] for n in MEMBER_SUMS),
            ).where(m.period_key == key)
        )
    }
    k = OrganizationKindParticipant
    stored_kind_members = set(
        db.session.execute(
            select(k.kind, k.action_type, k.resident_id).where(k.period_key == key)
        ).all()
    )
    kinds = _kinds()
    participants = _count(stored_members)
    kind_participants = _count(stored_kind_members)
    for label, stored, expected_sums, counted in (
        (
            "organisation",
            _stored(OrganizationPeriodTotal, ("organization_id", "action_type"), key),
            raw.periods,
            participants,
        ),
        (
            "kind",
            _stored(OrganizationKindPeriod, ("kind", "action_type"), key),
            raw.kinds,
            kind_participants,
        ),
    ):
        for cell in sorted(stored.keys() | expected_sums.keys(), key=str):
            table, number = stored.get(cell, (zero, 0))
            if table != expected_sums.get(cell, zero):
                yield (
                    f"{label} {cell[0]} {key} type {cell[1]}: table {_sums(PERIOD_SUMS, table)}; "
                    f"raw {_sums(PERIOD_SUMS, expected_sums.get(cell, zero))}"
                )
            if number != counted.get(cell, 0):
                yield (
                    f"{label} {cell[0]} {key} type {cell[1]}: participants {number}, "
                    f"participant rows {counted.get(cell, 0)}"
                )
    # Counts only: the operator's terminal needs no resident ids to see what is wrong.
    wrong: dict[int, list[int]] = {}  # org -> [differing, missing, extra]
    for cell in stored_members.keys() | raw.members.keys():
        table, expected_row = stored_members.get(cell), raw.members.get(cell)
        org = cell[0]
        if expected_row is None:
            if any(table):
                wrong.setdefault(org, [0, 0, 0])[2] += 1  # zero rows: taken back, kept
        elif table is None:
            wrong.setdefault(org, [0, 0, 0])[1] += 1
        elif table != expected_row:
            wrong.setdefault(org, [0, 0, 0])[0] += 1
    for org in sorted(wrong):
        differing, missing, extra = wrong[org]
        yield (
            f"organisation {org} {key} member rows: {differing} differ from raw, "
            f"{missing} missing, {extra} with figures raw does not have"
        )
    # A kind's participants are its organisations' members, each once.
    behind = {(kinds[org], action_type, member) for org, action_type, member in stored_members}
    if behind != stored_kind_members:
        yield (
            f"kinds {key}: {len(stored_kind_members - behind)} participant rows without a "
            f"member row, {len(behind - stored_kind_members)} member rows without one"
        )


def _sums(names, values) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip(names, values, strict=True))


def _compare_counted() -> Iterator[str]:
    counted = OrganizationAction
    checks = {
        "organisation actions not counted": select(func.count())
        .select_from(Action)
        .join(ACTOR, ACTOR.id == Action.resident_id)
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
            .join(ACTOR, ACTOR.id == Action.resident_id)
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
    models = (
        OrganizationAction,
        OrganizationMemberTotal,
        OrganizationPeriodTotal,
        OrganizationKindParticipant,
        OrganizationKindPeriod,
    )
    for model in models:
        db.session.execute(delete(model))
    connection = db.session.connection()
    written = {model.__tablename__: 0 for model in models}

    def insert(model, rows: list[dict]) -> None:
        for start in range(0, len(rows), BATCH):
            connection.execute(model.__table__.insert(), rows[start : start + BATCH])
        written[model.__tablename__] += len(rows)

    pairs = []
    for row in _raw_pairs():
        pairs.append(
            {
                "action_id": row.action_id,
                "organization_id": row.organization_id,
                "member_id": row.member_id,
            }
        )
        if len(pairs) >= BATCH:
            insert(OrganizationAction, pairs)
            pairs = []
    insert(OrganizationAction, pairs)
    for key, period in expected():
        participants = _count(period.members)
        kind_participants = _count(period.kind_members)
        insert(
            OrganizationMemberTotal,
            [
                {"organization_id": org, "period_key": key, "action_type": t, "resident_id": member}
                | dict(zip(MEMBER_SUMS, sums, strict=True))
                for (org, t, member), sums in period.members.items()
            ],
        )
        insert(
            OrganizationPeriodTotal,
            [
                {"organization_id": org, "period_key": key, "action_type": t}
                | dict(zip(PERIOD_SUMS, sums, strict=True))
                | {"participants": participants.get((org, t), 0)}
                for (org, t), sums in period.periods.items()
            ],
        )
        insert(
            OrganizationKindParticipant,
            [
                {"kind": kind, "period_key": key, "action_type": t, "resident_id": member}
                for kind, t, member in sorted(period.kind_members)
            ],
        )
        insert(
            OrganizationKindPeriod,
            [
                {"kind": kind, "period_key": key, "action_type": t}
                | dict(zip(PERIOD_SUMS, sums, strict=True))
                | {"participants": kind_participants.get((kind, t), 0)}
                for (kind, t), sums in period.kinds.items()
            ],
        )
    return written
