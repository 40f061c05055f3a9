"""Keeping the rollups: the worker adds each batch of approved actions, set-based.

Each action is counted once over all actions and once for every campaign that counted
it (`stats_counted_action`), one statement per table for the whole batch; the counters
every batch shares (day sums, participant counts) are added just before the commit
(`db.add_at_commit`), in one order. A resident's first action of a day in a cell also
counts that day by the resident's previous active day there
(`stats_participant_previous`), which answers distinct residents over any range of days
without reading a row per resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.engine import Connection

from admin.stats.models import (
    ALL,
    ALL_ACTIONS,
    NO_DISTRICT,
    NO_PREVIOUS,
    StatsCountedAction,
    StatsDay,
    StatsParticipant,
    StatsParticipantCount,
    StatsParticipantPrevious,
)
from backend.clock import period_keys as board_period_keys
from backend.extensions import db
from campaigns.models import CampaignAction
from points.actions.models import VERIFIED, Action
from points.actions.outbox import APPROVED_COLUMNS
from points.signals import ApprovedAction

DAY_KEY = (
    "local_day",
    "campaign_id",
    "action_type",
    "variant",
    "district_code",
    "factor_version",
    "verification",
)
DAY_SUMS = ("actions", "co2e_g", "points", "distance_m")
CELL_KEY = ("campaign_id", "action_type", "district_code", "verified", "period_key")


@dataclass(frozen=True)
class Fact:
    """One approved action as the rollups see it."""

    resident_id: int
    action_type: str
    variant: str
    district_code: str
    local_day: date
    co2e_g: int
    points: int
    distance_m: int
    factor_version: str
    verification: str

    @property
    def verified(self) -> bool:
        return self.verification in VERIFIED

    @classmethod
    def from_approved(cls, action: ApprovedAction) -> Fact:
        """From an approved action, or a row of `outbox.APPROVED_COLUMNS` (the rebuild's)."""
        return cls(
            resident_id=action.resident_id,
            action_type=action.action_type,
            variant=action.variant,
            district_code=action.district_code or NO_DISTRICT,
            local_day=action.local_day,
            co2e_g=action.co2e_g,
            points=action.points,
            distance_m=action.distance_m or 0,
            factor_version=action.factor_version,
            verification=action.verification,
        )

    def day_key(self, campaign_id: int) -> tuple:
        return (
            self.local_day,
            campaign_id,
            self.action_type,
            self.variant,
            self.district_code,
            self.factor_version,
            self.verification,
        )

    def sums(self) -> tuple[int, int, int, int]:
        return (1, self.co2e_g, self.points, self.distance_m)

    def cells(self) -> list[tuple[str, str, bool]]:
        """(action type, district, verified) of every participant counter of the action."""
        kind, district, verified = self.action_type, self.district_code, self.verified
        return [
            (kind, district, verified),
            (kind, ALL, verified),
            (ALL, district, verified),
            (ALL, ALL, verified),
        ]


def day_period_key(day: date) -> str:
    return f"d{day.isoformat()}"


def period_keys(day: date) -> tuple[str, str, str]:
    """The day's own key, its ISO week's and its month's (the leaderboards' spelling)."""
    keys = board_period_keys(day)
    return day_period_key(day), keys["week"], keys["month"]


# Applying approved actions


def add_to_rollups(batch: list[ApprovedAction]) -> list:
    """Applier of approved actions: count each once over all actions and once for each
    campaign that counted it (the campaigns' applier runs first). An action whose status
    is no longer "approved" (superseded by a stronger event after it was counted) is taken
    back out of whatever counted it."""
    connection = db.session.connection()
    current = {a.action_id: a for a in batch}  # a row applied twice in a batch counts once
    approved = [a for a in current.values() if a.status == "approved"]
    withdrawn = [a for a in current.values() if a.status != "approved"]
    if approved:
        _count(connection, approved)
    if withdrawn:
        _take_back(connection, withdrawn)
    return []  # the rollups credit nothing


def _count(connection: Connection, batch: list[ApprovedAction]) -> None:
    facts = {a.action_id: Fact.from_approved(a) for a in batch}
    pairs = [{"action_id": a.action_id, "campaign_id": ALL_ACTIONS} for a in batch]
    pairs += [
        {"action_id": action_id, "campaign_id": campaign_id}
        for campaign_id, action_id in connection.execute(
            select(CampaignAction.campaign_id, CampaignAction.action_id).where(
                CampaignAction.action_id.in_(facts)
            )
        )
    ]
    pairs.sort(key=lambda pair: (pair["action_id"], pair["campaign_id"]))
    first = connection.execute(
        db.upsert(StatsCountedAction)
        .on_conflict_do_nothing()
        .returning(StatsCountedAction.campaign_id, StatsCountedAction.action_id),
        pairs,
    )
    counted = [
        (campaign_id, facts[action_id]) for campaign_id, action_id in sorted(map(tuple, first))
    ]
    if counted:
        add_facts(connection, counted)


def add_facts(connection: Connection, counted: list[tuple[int, Fact]]) -> None:
    """Day sums, first-seen participant rows, and the counters of rows first seen now,
    for (campaign or ALL_ACTIONS, fact) pairs counted for the first time."""
    db.add_at_commit(StatsDay, DAY_KEY, DAY_SUMS, _day_rows(counted, 1))
    names = (*CELL_KEY, "resident_id")
    first_seen = sorted(
        tuple(row)
        for row in connection.execute(
            db.upsert(StatsParticipant)
            .on_conflict_do_nothing()
            .returning(*(StatsParticipant.__table__.c[name] for name in names)),
            [dict(zip(names, sighting, strict=True)) for sighting in _sightings(counted)],
        )
    )
    if not first_seen:
        return
    _count_sightings(first_seen, 1)
    new_days = [row for row in first_seen if row[PERIOD].startswith(DAY_PREFIX)]
    if new_days:
        _relink(connection, new_days, [])


PERIOD = CELL_KEY.index("period_key")  # in a sighting (*CELL_KEY, resident_id)


def _day_rows(counted: list[tuple[int, Fact]], sign: int) -> list[dict]:
    return [
        dict(zip(DAY_KEY, fact.day_key(campaign_id), strict=True))
        | dict(zip(DAY_SUMS, (sign * value for value in fact.sums()), strict=True))
        for campaign_id, fact in counted
    ]


def _sightings(counted: list[tuple[int, Fact]]) -> list[tuple]:
    """(*CELL_KEY, resident_id) of every participant row the facts belong to, sorted:
    concurrent batches take shared rows in one order and cannot deadlock."""
    return sorted(
        {
            (campaign_id, kind, district, verified, key, fact.resident_id)
            for campaign_id, fact in counted
            for key in period_keys(fact.local_day)
            for kind, district, verified in fact.cells()
        }
    )


def _count_sightings(sightings: list[tuple], sign: int) -> None:
    db.add_at_commit(
        StatsParticipantCount,
        CELL_KEY,
        ("participants",),
        [dict(zip(CELL_KEY, row[:-1], strict=True), participants=sign) for row in sightings],
    )


# Taking back an action superseded after it was counted


def _take_back(connection: Connection, batch: list[ApprovedAction]) -> None:
    """Subtract the actions from every rollup that counted them (`stats_counted_action`
    says which did; its rows go), and drop the participant rows no other counted action
    of the resident keeps."""
    facts = {a.action_id: Fact.from_approved(a) for a in batch}
    taken = connection.execute(
        delete(StatsCountedAction)
        .where(StatsCountedAction.action_id.in_(sorted(facts)))
        .returning(StatsCountedAction.campaign_id, StatsCountedAction.action_id)
    )
    counted = [(campaign_id, facts[action_id]) for campaign_id, action_id in sorted(taken)]
    if not counted:
        return
    db.add_at_commit(StatsDay, DAY_KEY, DAY_SUMS, _day_rows(counted, -1))
    candidates = _sightings(counted)
    kept = set(_sightings(_still_counted(connection, counted)))
    gone = [row for row in candidates if row not in kept]
    if not gone:
        return
    names = (*CELL_KEY, "resident_id")
    table = StatsParticipant.__table__
    connection.execute(
        delete(table).where(*(table.c[name] == bindparam(f"b_{name}") for name in names)),
        [{f"b_{name}": value for name, value in zip(names, row, strict=True)} for row in gone],
    )
    _count_sightings(gone, -1)
    gone_days = [row for row in gone if row[PERIOD].startswith(DAY_PREFIX)]
    if gone_days:
        _relink(connection, [], gone_days)


def _still_counted(connection: Connection, counted: list[tuple[int, Fact]]) -> list:
    """(campaign, fact) of the counted actions of the same residents in the same weeks
    and months: what keeps a participant row."""
    days = [fact.local_day for _, fact in counted]
    first = min(min(d.replace(day=1), d - timedelta(days=d.weekday())) for d in days)
    last = max(max(d + timedelta(days=37), d + timedelta(days=6 - d.weekday())) for d in days)
    rows = connection.execute(
        select(*APPROVED_COLUMNS, StatsCountedAction.campaign_id)
        .join(StatsCountedAction, StatsCountedAction.action_id == Action.id)
        .where(
            Action.resident_id.in_(sorted({fact.resident_id for _, fact in counted})),
            StatsCountedAction.campaign_id.in_(sorted({c for c, _ in counted})),
            Action.local_day.between(first, last),
        )
    )
    return [(row.campaign_id, Fact.from_approved(row)) for row in rows]


DAY_PREFIX = "d"  # day keys sort among themselves: "d2026-11-24" < "d2026-11-25" < "e"


def _relink(connection: Connection, added: list[tuple], removed: list[tuple]) -> None:
    """Day rows just added to or removed from `stats_participant`: count each resident's
    new days by their previous active day in the cell, and re-link the days around them
    (an approval out of order, or a day that is no longer active).

    The resident's active days in a cell are their day rows in `stats_participant`. Only
    days from the earliest changed day on can change their previous day: those rows are
    read, with the latest day before them per cell.
    """
    changed = added + removed
    residents = sorted({row[-1] for row in changed})
    campaigns = sorted({row[0] for row in changed})
    earliest = min(row[PERIOD] for row in changed)
    p = StatsParticipant
    group = (p.campaign_id, p.action_type, p.district_code, p.verified, p.resident_id)
    mine = p.resident_id.in_(residents) & p.campaign_id.in_(campaigns)
    before = {
        tuple(row[:-1]): row[-1]
        for row in connection.execute(
            select(*group, func.max(p.period_key))
            .where(mine, p.period_key >= DAY_PREFIX, p.period_key < earliest)
            .group_by(*group)
        )
    }
    days: dict[tuple, list[str]] = {}
    for row in connection.execute(
        select(*group, p.period_key).where(
            mine, p.period_key >= earliest, p.period_key < chr(ord(DAY_PREFIX) + 1)
        )
    ):
        days.setdefault(tuple(row[:-1]), []).append(row[-1])
    changes_by_group: dict[tuple, tuple[set[str], set[str]]] = {}
    for rows, side in ((added, 0), (removed, 1)):
        for *cell, key, resident_id in rows:
            entry = changes_by_group.setdefault((*cell, resident_id), (set(), set()))
            entry[side].add(key)
    changes: dict[tuple, int] = {}
    for group_key, (new, old_only) in changes_by_group.items():
        cell = group_key[:-1]
        start = before.get(group_key, NO_PREVIOUS)
        after = sorted(days.get(group_key, []))  # as the rows stand now
        old = sorted((set(after) - new) | old_only)
        for sequence, delta in ((old, -1), (after, 1)):
            previous = start
            for day in sequence:
                link = (*cell, day, previous)
                changes[link] = changes.get(link, 0) + delta
                previous = day
    names = (*CELL_KEY, "previous_key")
    rows = [
        dict(zip(names, key, strict=True), residents=n)
        for key, n in sorted(changes.items())
        if n != 0
    ]
    if rows:
        db.add_at_commit(StatsParticipantPrevious, names, ("residents",), rows)
