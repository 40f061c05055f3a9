"""Creation reports (绿色家庭、绿色学校、绿色社区、节约型机关 创建): per organisation and per
kind over a period — members, participation, verified CO2e, green-travel share, actions by
type — for staff and the DRB, with the DRB statistics' small-cell rules.

Read from the worker's figures (`organization_period`, `organization_kind_period`), never
from actions. What may be shown:

- Whole months only (a month, quarter, year or range of months): a week or a day inside a
  month would publish its remainder by subtraction.
- Households never appear one by one (a family is fewer than k people): only as their
  kind's total.
- Within a period, `admin.stats.suppression.protect` hides every cell behind 1 to k-1
  participants and adds complements so that no family — a kind's organisations, an
  organisation's action types, a kind's types, a type's organisations — lets a hidden
  cell be recovered as a total less what is shown.
- Over several months, a cell hidden in any of its months' own reports is hidden in the
  longer period too: the period less its other months would otherwise be that month.

The suppression does not depend on the query's filter: a filtered report shows part of
the same table, so two queries can't be differenced into a hidden cell.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select

from admin.stats import periods
from admin.stats.figures import min_residents
from admin.stats.periods import Period
from admin.stats.suppression import Group, protect
from backend.clock import LOCAL_TZ, utcnow
from backend.errors import ValidationFailed
from backend.extensions import db
from campaigns.organizations.figures import PERIOD_SUMS
from campaigns.organizations.models import (
    ALL_TYPES,
    ORGANIZATION_KINDS,
    STAFF_KINDS,
    Membership,
    Organization,
    OrganizationKindParticipant,
    OrganizationKindPeriod,
    OrganizationMemberTotal,
    OrganizationPeriodTotal,
)

SUMS = PERIOD_SUMS  # what the worker adds up per cell
FIGURES = ("participants", *SUMS, "participation_rate", "green_share")
TYPE_FIGURES = ("participants", "actions", "verified_actions", "co2e_g", "points")

ID_BATCH = 1000  # organisation ids per IN list
Cell = Hashable  # ("kind", kind[, type]) or ("org", id[, type])


def resolve_report_period(period: str | None, start: str | None, end: str | None) -> Period:
    """The stats' calendar periods, whole months only."""
    resolved = periods.resolve(period, start, end)
    if not resolved.whole_months:
        message = _l(
            "Organisation reports are given for whole months: a month, quarter, year or "
            "range of months."
        )
        raise ValidationFailed(message, code="period_not_aligned", fields={"period": [message]})
    return resolved


def _keys(period: Period) -> list[str]:
    """The figures' keys whose sum is the period: its own key, or its months'."""
    if period.kind == "month":
        return [f"m{period.start:%Y-%m}"]
    if period.kind == "quarter":
        return [f"q{period.start.year}-{(period.start.month - 1) // 3 + 1}"]
    if period.kind == "year":
        return [f"y{period.start.year}"]
    return [f"m{month.start:%Y-%m}" for month in period.months]


@dataclass
class Table:
    """One period's figures: additive sums and distinct participants per cell."""

    sums: dict[Cell, dict[str, int]]
    participants: dict[Cell, int]


def _read(keys: list[str], organizations: dict[int, Organization]) -> Table:
    """The sums of `keys` and, for one key, its participants (kept by the worker); for a
    range of months, the distinct members counted across them."""
    sums: dict[Cell, dict[str, int]] = {}
    participants: dict[Cell, int] = {}
    single = len(keys) == 1
    org, kind = OrganizationPeriodTotal, OrganizationKindPeriod
    # The listed organisations by their keys: households (most rows) are never read here.
    ids = sorted(organizations)
    for start in range(0, len(ids), ID_BATCH):
        rows = db.session.execute(
            select(
                org.organization_id,
                org.action_type,
                func.sum(org.participants),
                *(func.sum(getattr(org, name)) for name in SUMS),
            )
            .where(org.organization_id.in_(ids[start : start + ID_BATCH]), org.period_key.in_(keys))
            .group_by(org.organization_id, org.action_type)
        )
        for organization_id, action_type, count, *values in rows:
            cell = _org_cell(organization_id, action_type)
            sums[cell] = dict(zip(SUMS, map(int, values), strict=True))
            if single:
                participants[cell] = int(count)
    rows = db.session.execute(
        select(
            kind.kind,
            kind.action_type,
            func.sum(kind.participants),
            *(func.sum(getattr(kind, name)) for name in SUMS),
        )
        .where(kind.period_key.in_(keys))
        .group_by(kind.kind, kind.action_type)
    )
    for kind_name, action_type, count, *values in rows:
        cell = _kind_cell(kind_name, action_type)
        sums[cell] = dict(zip(SUMS, map(int, values), strict=True))
        if single:
            participants[cell] = int(count)
    if not single:  # a range of months: residents counted once across them
        member, kp = OrganizationMemberTotal, OrganizationKindParticipant
        for start in range(0, len(ids), ID_BATCH):
            rows = db.session.execute(
                select(
                    member.organization_id,
                    member.action_type,
                    func.count(func.distinct(member.resident_id)),
                )
                .where(
                    member.organization_id.in_(ids[start : start + ID_BATCH]),
                    member.period_key.in_(keys),
                )
                .group_by(member.organization_id, member.action_type)
            )
            for organization_id, action_type, count in rows:
                participants[_org_cell(organization_id, action_type)] = int(count)
        rows = db.session.execute(
            select(kp.kind, kp.action_type, func.count(func.distinct(kp.resident_id)))
            .where(kp.period_key.in_(keys))
            .group_by(kp.kind, kp.action_type)
        )
        for kind_name, action_type, count in rows:
            participants[_kind_cell(kind_name, action_type)] = int(count)
    return Table(sums, participants)


def _org_cell(organization_id: int, action_type: str) -> Cell:
    return (
        ("org", organization_id)
        if action_type == ALL_TYPES
        else ("org", organization_id, action_type)
    )


def _kind_cell(kind: str, action_type: str) -> Cell:
    return ("kind", kind) if action_type == ALL_TYPES else ("kind", kind, action_type)


def _families(table: Table, organizations: dict[int, Organization]) -> list[Group]:
    """The additive relations between the cells of a table."""
    types = sorted({cell[2] for cell in table.participants if len(cell) == 3})
    by_kind: dict[str, list[int]] = defaultdict(list)
    for organization in organizations.values():
        by_kind[organization.kind].append(organization.id)
    families = []
    for kind in ORGANIZATION_KINDS:
        families.append(Group(("kind", kind), tuple(("kind", kind, t) for t in types)))
        members = by_kind.get(kind, [])
        if members:
            families.append(Group(("kind", kind), tuple(("org", i) for i in members)))
            for action_type in types:
                families.append(
                    Group(
                        ("kind", kind, action_type), tuple(("org", i, action_type) for i in members)
                    )
                )
    for organization_id in organizations:
        families.append(
            Group(("org", organization_id), tuple(("org", organization_id, t) for t in types))
        )
    return families


def _hidden(table: Table, organizations: dict[int, Organization], also: Iterable[Cell] = ()) -> set:
    families = _families(table, organizations)
    cells: dict[Cell, int] = {}
    for family in families:
        for cell in (family.total, *family.members):
            cells.setdefault(cell, table.participants.get(cell, 0))
    return protect(cells, families, min_residents(), hidden=also)


def _members(period: Period, organizations: dict[int, Organization]) -> dict[Cell, int]:
    """Members at some time of the period, per organisation and per kind."""
    start = datetime.combine(period.start, time(), LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(), LOCAL_TZ).astimezone(UTC)
    rows = db.session.execute(
        select(Membership.organization_id, Membership.kind, func.count())
        .where(
            Membership.joined_at < end,
            or_(Membership.left_at.is_(None), Membership.left_at >= start),
        )
        .group_by(Membership.organization_id, Membership.kind)
    )
    members: dict[Cell, int] = defaultdict(int)
    for organization_id, kind, count in rows:
        if organization_id in organizations:
            members[("org", organization_id)] = count
        members[("kind", kind)] += count
    return members


def _shown(sums: dict[str, int] | None, participants: int, members: int | None) -> dict:
    sums = sums or dict.fromkeys(SUMS, 0)
    return {
        "participants": participants,
        **sums,
        "participation_rate": round(participants / members, 4) if members else None,
        "green_share": round(sums["green_trips"] / sums["trips"], 4) if sums["trips"] else None,
        "suppressed": False,
    }


def _null(names: Iterable[str]) -> dict:
    return dict.fromkeys(names) | {"suppressed": True}


def organization_report(
    period: Period, kind: str | None = None, district_code: str | None = None
) -> dict:
    """The creation report of a period; `kind` and `district_code` only choose which
    rows are listed (the suppression is the whole table's).

    The whole report of a period is kept for ORGANIZATION_REPORT_CACHE_SECONDS in the
    process: working out its suppression takes about a second on the 10M-action database
    (docs/PERFORMANCE.md), and monthly figures a few minutes old serve a creation report;
    `generated_at` says when they were read."""
    ttl = current_app.config["ORGANIZATION_REPORT_CACHE_SECONDS"]
    kept = current_app.extensions.setdefault("organization_reports", {})
    with _computing:
        found = kept.get(period.label)
        now = utcnow()
        if found is None or (now - found[0]).total_seconds() >= ttl:
            found = (now, _whole_report(period))
            if ttl > 0:
                kept[period.label] = found
    report = found[1]
    return {
        **report,
        "kind": kind,
        "district_code": district_code,
        "kinds": [row for row in report["kinds"] if kind in (None, row["kind"])],
        "organizations": [
            row
            for row in report["organizations"]
            if kind in (None, row["kind"]) and district_code in (None, row["district_code"])
        ],
    }


_computing = threading.Lock()  # one computation at a time per process


def _whole_report(period: Period) -> dict:
    organizations = {
        o.id: o
        for o in db.session.scalars(
            select(Organization).where(Organization.kind.in_(STAFF_KINDS)).order_by(Organization.id)
        )
    }
    table = _read(_keys(period), organizations)
    also: set = set()
    if period.kind != "month":
        for month in period.months:
            month_table = _read(_keys(month), organizations)
            also |= _hidden(month_table, organizations)
    hidden = _hidden(table, organizations, also)
    members = _members(period, organizations)
    types = sorted({cell[2] for cell in table.participants if len(cell) == 3})

    def figures(cell: Cell) -> dict:
        if cell in hidden:
            return _null(FIGURES)
        return _shown(table.sums.get(cell), table.participants.get(cell, 0), members.get(cell))

    def by_type(cell: Cell) -> list[dict]:
        result = []
        for action_type in types:
            part = (*cell, action_type)
            if table.participants.get(part, 0) == 0:
                continue
            if part in hidden or cell in hidden:
                values = _null(TYPE_FIGURES)
            else:
                sums = table.sums.get(part, {})
                values = {
                    "participants": table.participants[part],
                    **{name: sums.get(name, 0) for name in TYPE_FIGURES[1:]},
                    "suppressed": False,
                }
            result.append({"action_type": action_type, **values})
        return result

    kinds = []
    for kind_name in ORGANIZATION_KINDS:
        cell = ("kind", kind_name)
        kinds.append(
            {
                "kind": kind_name,
                "organizations": db.session.scalar(
                    select(func.count()).where(Organization.kind == kind_name)
                )
                if kind_name == "household"
                else sum(1 for o in organizations.values() if o.kind == kind_name),
                "members": members.get(cell, 0),
                **figures(cell),
                "by_type": by_type(cell),
            }
        )
    listed = []
    for organization in organizations.values():
        cell = ("org", organization.id)
        listed.append(
            {
                "id": organization.id,
                "name": organization.name,
                "kind": organization.kind,
                "district_code": organization.district_code,
                "street": organization.street,
                "status": organization.status,
                "members": members.get(cell, 0),
                **figures(cell),
                "by_type": by_type(cell),
            }
        )
    listed.sort(key=lambda row: (row["suppressed"], -(row["co2e_g"] or 0), row["id"]))
    return {
        "period": {
            "label": period.label,
            "kind": period.kind,
            "start": period.start,
            "end": period.end,
        },
        "min_residents": min_residents(),
        "generated_at": utcnow(),
        "kinds": kinds,
        "organizations": listed,
    }
