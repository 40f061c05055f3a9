"""Keeping the rollups: every approved action is added in the transaction that approves it.

`on_action_approved` (points' signal) counts each action once over all actions. A
campaign's copy is counted when its `campaign_action` row is inserted (an ORM insert
event): blinker does not order listeners, so the campaigns listener may run after ours.
Both write with Core statements on the transaction's connection; the counters every
approval shares (day sums, participant counts) are added just before the commit
(`db.add_at_commit`), so a busy day's rows are not held locked through the rest of the
approval. A resident's first action of a day in a cell also counts that day by the
resident's previous active day there (`stats_participant_previous`), which answers
distinct residents over any range of days without reading a row per resident.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy import case, event, func, select
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
from backend.extensions import db
from campaigns.leaderboards.service import period_keys as leaderboard_period_keys
from campaigns.models import CampaignAction
from points.actions.models import Action
from points.signals import ActionApproved

# What a rollup needs of an action, read from the action row itself (as the rebuild does).
FACT_COLUMNS = (
    Action.resident_id,
    Action.type,
    Action.variant,
    Action.district_code,
    Action.local_day,
    Action.co2e_g,
    Action.points,
    Action.distance_m,
    Action.factor_version,
)
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
    def from_event(cls, event: ActionApproved) -> Fact:
        return cls(
            resident_id=event.resident_id,
            action_type=event.action_type,
            variant=event.variant,
            district_code=event.district_code or NO_DISTRICT,
            local_day=event.local_day,
            co2e_g=event.co2e_g,
            points=event.points,
            distance_m=event.distance_m or 0,
            factor_version=event.factor_version,
        )

    @classmethod
    def from_row(cls, row) -> Fact:
        return cls(
            resident_id=row.resident_id,
            action_type=row.type,
            variant=row.variant,
            district_code=row.district_code or NO_DISTRICT,
            local_day=row.local_day,
            co2e_g=row.co2e_g,
            points=row.points,
            distance_m=row.distance_m or 0,
            factor_version=row.factor_version,
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
    keys = leaderboard_period_keys(day)
    return day_period_key(day), keys["week"], keys["month"]


# Listeners


def on_action_approved(sender, event: ActionApproved, **_extra) -> None:
    """Listener of `points.signals.action_approved`: add the action to the rollups once."""
    connection = db.session.connection()
    if _first_count(connection, event.action_id, ALL_ACTIONS):
        add_fact(connection, ALL_ACTIONS, Fact.from_event(event))


def on_campaign_action_inserted(_mapper, connection: Connection, target: CampaignAction) -> None:
    """After a `campaign_action` insert: add the action to that campaign's rollups once."""
    if _first_count(connection, target.action_id, target.campaign_id):
        row = connection.execute(select(*FACT_COLUMNS).where(Action.id == target.action_id)).one()
        add_fact(connection, target.campaign_id, Fact.from_row(row))


def count_campaign_actions() -> None:
    """Listen for `campaign_action` inserts (SQLAlchemy ignores a second registration)."""
    event.listen(CampaignAction, "after_insert", on_campaign_action_inserted)


def _first_count(connection: Connection, action_id: int, campaign_id: int) -> bool:
    """Mark the action counted for this campaign (or all actions); False if it was
    already (a repeated signal)."""
    first = (
        db.upsert(StatsCountedAction)
        .values(action_id=action_id, campaign_id=campaign_id)
        .on_conflict_do_nothing()
        .returning(sa.literal(1))
    )
    return connection.execute(first).scalar() is not None


def add_fact(connection: Connection, campaign_id: int, fact: Fact) -> None:
    """Day sums, first-seen participant rows, and the counters of rows first seen now."""
    db.add_at_commit(
        StatsDay,
        DAY_KEY,
        DAY_SUMS,
        [
            dict(zip(DAY_KEY, fact.day_key(campaign_id), strict=True))
            | dict(zip(DAY_SUMS, fact.sums(), strict=True))
        ],
    )
    # Sorted keys: concurrent approvals take shared rows in one order and cannot deadlock.
    cells = sorted(
        (campaign_id, kind, district, key)
        for key in period_keys(fact.local_day)
        for kind, district in fact.cells()
    )
    # Rows go as parameter lists (one statement, "insertmanyvalues"): SQLAlchemy compiles
    # the statement once instead of building a VALUES clause of a dozen rows each time.
    seen = (
        db.upsert(StatsParticipant)
        .on_conflict_do_nothing()
        .returning(*(StatsParticipant.__table__.c[name] for name in CELL_KEY))
    )
    first_seen = sorted(
        tuple(row)
        for row in connection.execute(
            seen,
            [
                dict(zip(CELL_KEY, cell, strict=True), resident_id=fact.resident_id)
                for cell in cells
            ],
        )
    )
    if not first_seen:
        return
    db.add_at_commit(
        StatsParticipantCount,
        CELL_KEY,
        ("participants",),
        [dict(zip(CELL_KEY, cell, strict=True), participants=1) for cell in first_seen],
    )
    day_key = day_period_key(fact.local_day)
    new_days = [cell[:3] for cell in first_seen if cell[3] == day_key]
    if new_days:
        _add_previous(connection, fact, new_days)


def _neighbour_days(connection: Connection, fact: Fact, cell: tuple) -> tuple[str, str | None]:
    """The resident's active days in the cell just before and just after the fact's day.

    Read from the resident's actions already counted in this rollup (not merely approved:
    an approved action whose figures are still to be applied is not a neighbour yet, it
    will find this day when it is counted). One resident's actions are counted one after
    the other (each first updates the resident's account row), so a concurrent count
    cannot slip a day in between unseen.
    """
    campaign_id, kind, district = cell
    day = Action.local_day
    query = (
        select(
            func.max(case((day < fact.local_day, day))),
            func.min(case((day > fact.local_day, day))),
        )
        .join(
            StatsCountedAction,
            (StatsCountedAction.action_id == Action.id)
            & (StatsCountedAction.campaign_id == campaign_id),
        )
        .where(Action.resident_id == fact.resident_id)
    )
    if kind != ALL:
        query = query.where(Action.type == kind)
    if district != ALL:
        query = query.where(func.coalesce(Action.district_code, NO_DISTRICT) == district)
    before, after = connection.execute(query).one()
    return (
        NO_PREVIOUS if before is None else day_period_key(_as_date(before)),
        None if after is None else day_period_key(_as_date(after)),
    )


def _as_date(value) -> date:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _add_previous(connection: Connection, fact: Fact, cells: list[tuple]) -> None:
    """A day newly active in these cells: count it by the resident's previous day, and
    the resident's next active day (an approval out of order) now follows this one."""
    day_key = day_period_key(fact.local_day)
    changes: dict[tuple, int] = {}
    for cell in cells:
        before, after = _neighbour_days(connection, fact, cell)
        for key, delta in (
            ((*cell, day_key, before), 1),
            ((*cell, after, before), -1),
            ((*cell, after, day_key), 1),
        ):
            if key[3] is not None:
                changes[key] = changes.get(key, 0) + delta
    names = (*CELL_KEY, "previous_key")
    rows = [dict(zip(names, key, strict=True), residents=n) for key, n in sorted(changes.items())]
    db.add_at_commit(StatsParticipantPrevious, names, ("residents",), rows)
