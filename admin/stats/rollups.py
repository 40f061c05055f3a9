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
from datetime import date

from sqlalchemy import func, select
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
from points.signals import ApprovedAction

DAY_KEY = ("local_day", "campaign_id", "action_type", "variant", "district_code", "factor_version")
DAY_SUMS = ("actions", "co2e_g", "points", "distance_m")
CELL_KEY = ("campaign_id", "action_type", "district_code", "period_key")


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
        )

    def day_key(self, campaign_id: int) -> tuple:
        return (
            self.local_day,
            campaign_id,
            self.action_type,
            self.variant,
            self.district_code,
            self.factor_version,
        )

    def sums(self) -> tuple[int, int, int, int]:
        return (1, self.co2e_g, self.points, self.distance_m)

    def cells(self) -> list[tuple[str, str]]:
        """(action type, district) of every participant counter the action belongs to."""
        kind, district = self.action_type, self.district_code
        return [(kind, district), (kind, ALL), (ALL, district), (ALL, ALL)]


def day_period_key(day: date) -> str:
    return f"d{day.isoformat()}"


def period_keys(day: date) -> tuple[str, str, str]:
    """The day's own key, its ISO week's and its month's (the leaderboards' spelling)."""
    keys = board_period_keys(day)
    return day_period_key(day), keys["week"], keys["month"]


# Applying approved actions


def add_to_rollups(batch: list[ApprovedAction]) -> list:
    """Applier of approved actions: count each once over all actions and once for each
    campaign that counted it (the campaigns' applier runs first)."""
    connection = db.session.connection()
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
    return []  # the rollups credit nothing


def add_facts(connection: Connection, counted: list[tuple[int, Fact]]) -> None:
    """Day sums, first-seen participant rows, and the counters of rows first seen now,
    for (campaign or ALL_ACTIONS, fact) pairs counted for the first time."""
    db.add_at_commit(
        StatsDay,
        DAY_KEY,
        DAY_SUMS,
        [
            dict(zip(DAY_KEY, fact.day_key(campaign_id), strict=True))
            | dict(zip(DAY_SUMS, fact.sums(), strict=True))
            for campaign_id, fact in counted
        ],
    )
    # Sorted keys: concurrent batches take shared rows in one order and cannot deadlock.
    sightings = sorted(
        {
            (campaign_id, kind, district, key, fact.resident_id)
            for campaign_id, fact in counted
            for key in period_keys(fact.local_day)
            for kind, district in fact.cells()
        }
    )
    names = (*CELL_KEY, "resident_id")
    first_seen = sorted(
        tuple(row)
        for row in connection.execute(
            db.upsert(StatsParticipant)
            .on_conflict_do_nothing()
            .returning(*(StatsParticipant.__table__.c[name] for name in names)),
            [dict(zip(names, sighting, strict=True)) for sighting in sightings],
        )
    )
    if not first_seen:
        return
    db.add_at_commit(
        StatsParticipantCount,
        CELL_KEY,
        ("participants",),
        [dict(zip(CELL_KEY, row[:4], strict=True), participants=1) for row in first_seen],
    )
    new_days = [row for row in first_seen if row[3].startswith(DAY_PREFIX)]
    if new_days:
        _add_previous(connection, new_days)


DAY_PREFIX = "d"  # day keys sort among themselves: "d2026-11-24" < "d2026-11-25" < "e"


def _add_previous(connection: Connection, new_days: list[tuple]) -> None:
    """Days newly active in their cells: count each by the resident's previous active day
    there, and re-link the resident's next active day (an approval out of order).

    The resident's active days in a cell are their day rows in `stats_participant`. Only
    days from the batch's earliest new day on can change their previous day: those rows
    are read, with the latest day before them per cell.
    """
    residents = sorted({row[4] for row in new_days})
    campaigns = sorted({row[0] for row in new_days})
    earliest = min(row[3] for row in new_days)
    p = StatsParticipant
    group = (p.campaign_id, p.action_type, p.district_code, p.resident_id)
    mine = p.resident_id.in_(residents) & p.campaign_id.in_(campaigns)
    before = {
        tuple(row[:4]): row[4]
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
        days.setdefault(tuple(row[:4]), []).append(row[4])
    new_by_group: dict[tuple, set[str]] = {}
    for campaign_id, kind, district, key, resident_id in new_days:
        new_by_group.setdefault((campaign_id, kind, district, resident_id), set()).add(key)
    changes: dict[tuple, int] = {}
    for group_key, new in new_by_group.items():
        campaign_id, kind, district, _resident = group_key
        start = before.get(group_key, NO_PREVIOUS)
        after = sorted(days.get(group_key, []))  # includes the new days (inserted above)
        old = [day for day in after if day not in new]
        for sequence, delta in ((old, -1), (after, 1)):
            previous = start
            for day in sequence:
                link = (campaign_id, kind, district, day, previous)
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
