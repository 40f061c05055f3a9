"""Awarding badges (once per resident, by a unique key) and keeping streaks.

Streak rule: a day counts when the resident has an approved action with CO2e on it
(Asia/Shanghai). An action on the day after the streak's last day extends it; one on a
later day starts a new streak of 1; one on the last day or an earlier day changes nothing.
A streak not extended by yesterday or today reads as 0 (its best stays).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from typing import NamedTuple

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.clock import local_day, utcnow
from backend.extensions import db
from backend.residents import tombstones
from campaigns.badges.models import BadgeAward, Streak
from points.ledger import service as ledger
from points.ledger.models import Account
from points.methodology.service import current_methodology
from points.signals import ApprovedAction

CRITERIA = ("green_trip", "co2e_total", "streak_days", "awarded_by")


class UnknownBadge(KeyError):
    """No badge with this key in badges.json: a programming error of the caller."""


@dataclass(frozen=True)
class Badge:
    key: str
    name: str
    name_en: str
    description: str
    description_en: str
    criterion: dict
    points: int


@functools.cache
def catalogue() -> tuple[Badge, ...]:
    """The badges of the packaged data file, in its order; read once per process."""
    data = json.loads(resources.files("campaigns.badges").joinpath("badges.json").read_text())
    badges = tuple(Badge(**row) for row in data["badges"])
    for badge in badges:
        if badge.criterion["type"] not in CRITERIA or badge.points < 0:
            raise ValueError(f"badge {badge.key}: unknown criterion or negative points")
    return badges


def get_badge(key: str) -> Badge:
    for badge in catalogue():
        if badge.key == key:
            return badge
    raise UnknownBadge(key)


def ledger_ref(resident_id: int, key: str) -> str:
    # The ledger's (kind, ref) is unique across residents: the ref names both.
    return f"badge:{key}/resident:{resident_id}"


def award_badge(resident_id: int, key: str) -> BadgeAward | None:
    """Award a badge and pay its points; None if the resident already has it.

    The public way for other features (campaigns) to award a badge. Runs in the caller's
    transaction; the unique (resident_id, badge_key) decides, whatever the concurrency.
    """
    badge = get_badge(key)
    session = db.session
    try:
        with session.begin_nested():
            award = BadgeAward(resident_id=resident_id, badge_key=key, awarded_at=utcnow())
            session.add(award)
            session.flush()
    except IntegrityError:
        # Already awarded, in this transaction or a concurrent one that committed first.
        if key in _earned_keys(resident_id):
            return None
        raise
    if badge.points > 0 and not tombstones.kept_used(resident_id, "badge", key):
        ledger.credit(
            [ledger.Credit(resident_id, "badge", ledger_ref(resident_id, key), badge.points)]
        )
    return award


def _earned_keys(resident_id: int) -> set[str]:
    return set(
        db.session.scalars(
            select(BadgeAward.badge_key).where(BadgeAward.resident_id == resident_id)
        )
    )


# Streaks


class StreakState(NamedTuple):
    current: int
    best: int
    last_day: date


def next_streak(streak: Streak | StreakState | None, day: date) -> StreakState:
    """The streak after an action with CO2e on local `day`: the streak rule."""
    if streak is None or streak.current == 0:
        return StreakState(1, max(streak.best if streak else 0, 1), day)
    if day <= streak.last_day:
        return StreakState(streak.current, streak.best, streak.last_day)
    current = streak.current + 1 if day == streak.last_day + timedelta(days=1) else 1
    return StreakState(current, max(streak.best, current), day)


def shown_streak(streak: Streak | None, today: date) -> tuple[int, int]:
    """(current, best) as the resident sees them today: a lapsed streak is 0."""
    if streak is None:
        return 0, 0
    alive = streak.last_day >= today - timedelta(days=1)
    return (streak.current if alive else 0), streak.best


# Applying approved actions


@dataclass(frozen=True)
class MilestoneFacts:
    """What the criteria ask about a resident after some approved actions."""

    green_trip: bool  # one of them was a green trip
    co2e_total: int  # the resident's lifetime CO2e avoided
    streak: int  # the longest current streak reached meanwhile


def is_green_trip(action_type: str, variant: str, green_modes: Collection[str]) -> bool:
    """The "green_trip" criterion: a trip by one of the methodology's green modes."""
    return action_type == "trip" and variant in green_modes


def qualifies(criterion: dict, facts: MilestoneFacts) -> bool:
    """The badge rule: whether `facts` earn a badge of this criterion (badges.json)."""
    kind = criterion["type"]
    if kind == "green_trip":
        return facts.green_trip
    if kind == "co2e_total":
        return facts.co2e_total >= criterion["at_least_g"]
    if kind == "streak_days":
        return facts.streak >= criterion["days"]
    return False  # "awarded_by": another feature awards it through award_badge


def award_milestones(batch: list[ApprovedAction]) -> list[ledger.Credit]:
    """Applier of approved actions: streaks and milestone badges, for the whole batch.

    Actions without CO2e (car trips), and those not verified (self-declared), neither
    extend a streak nor earn a badge. The
    worker holds the batch's accounts, so no one else moves these residents' streaks.
    """
    counted = [a for a in batch if a.co2e_g > 0 and a.counts_as_verified]
    if not counted:
        return []
    residents = sorted({a.resident_id for a in counted})
    streaks = _extend_streaks(residents, counted)
    green_modes = current_methodology().green_travel["green_modes"]
    green = {a.resident_id for a in counted if is_green_trip(a.action_type, a.variant, green_modes)}
    totals = dict(
        db.session.execute(
            select(Account.resident_id, Account.co2e_g_total).where(
                Account.resident_id.in_(residents)
            )
        ).all()
    )
    earned = set(
        db.session.execute(
            select(BadgeAward.resident_id, BadgeAward.badge_key).where(
                BadgeAward.resident_id.in_(residents)
            )
        ).all()
    )
    now = utcnow()
    wanted = []
    for resident_id in residents:
        facts = MilestoneFacts(
            resident_id in green, totals.get(resident_id, 0), streaks[resident_id]
        )
        for badge in catalogue():
            if (resident_id, badge.key) not in earned and qualifies(badge.criterion, facts):
                wanted.append(
                    {"resident_id": resident_id, "badge_key": badge.key, "awarded_at": now}
                )
    if not wanted:
        return []
    # The unique (resident, badge) decides; reading what is earned only saves inserts.
    awarded = db.session.connection().execute(
        db.upsert(BadgeAward)
        .on_conflict_do_nothing()
        .returning(BadgeAward.resident_id, BadgeAward.badge_key),
        wanted,
    )
    points = {badge.key: badge.points for badge in catalogue()}
    # A badge a deleted account was paid for is awarded again, but not paid again.
    paid_before = tombstones.kept_subjects(residents, "badge")
    return [
        ledger.Credit(resident_id, "badge", ledger_ref(resident_id, key), points[key])
        for resident_id, key in sorted(map(tuple, awarded))
        if points[key] > 0 and (resident_id, key) not in paid_before
    ]


def bonuses_kept(resident_id: int, now: datetime) -> list[tombstones.Kept]:
    """Badges a deleted account was paid for: a successor is not paid them again for
    TOMBSTONE_BONUS_DAYS."""
    until = now + timedelta(days=current_app.config["TOMBSTONE_BONUS_DAYS"])
    paid = {badge.key for badge in catalogue() if badge.points > 0}
    return [
        tombstones.Kept("badge", key, 1, until) for key in sorted(_earned_keys(resident_id) & paid)
    ]


def _extend_streaks(residents: list[int], counted: list[ApprovedAction]) -> dict[int, int]:
    """Apply the streak rule to each action in order; per resident the longest current
    streak reached (what a streak badge asks). Writes only the rows that changed."""
    stored = {
        streak.resident_id: streak
        for streak in db.session.scalars(
            select(Streak)
            .where(Streak.resident_id.in_(residents))
            .execution_options(populate_existing=True)
        )
    }
    state: dict[int, Streak | StreakState | None] = dict.fromkeys(residents)
    state.update(stored)
    reached = dict.fromkeys(residents, 0)
    for action in counted:
        after = next_streak(state[action.resident_id], action.local_day)
        state[action.resident_id] = after
        reached[action.resident_id] = max(reached[action.resident_id], after.current)
    now = utcnow()
    changed = [
        {
            "resident_id": r,
            "current": s.current,
            "best": s.best,
            "last_day": s.last_day,
            "updated_at": now,
        }
        for r, s in state.items()
        if isinstance(s, StreakState)
        and (
            r not in stored
            or (s.current, s.best, s.last_day)
            != (stored[r].current, stored[r].best, stored[r].last_day)
        )
    ]
    if changed:
        statement = db.upsert(Streak)
        db.session.connection().execute(
            statement.on_conflict_do_update(
                index_elements=[Streak.resident_id],
                set_={
                    name: statement.excluded[name]
                    for name in ("current", "best", "last_day", "updated_at")
                },
            ),
            changed,
        )
    return reached


# Reading


@dataclass(frozen=True)
class BadgeStatus:
    key: str
    name: str
    description: str
    points: int
    earned: bool
    awarded_at: datetime | None


@dataclass(frozen=True)
class StreakStatus:
    current: int
    best: int


@dataclass(frozen=True)
class MyBadges:
    items: list[BadgeStatus]
    streak: StreakStatus


def my_badges(resident_id: int) -> MyBadges:
    """Every badge with whether and when the resident earned it, and their streak."""
    awarded = dict(
        db.session.execute(
            select(BadgeAward.badge_key, BadgeAward.awarded_at).where(
                BadgeAward.resident_id == resident_id
            )
        ).all()
    )
    english = str(get_locale()) == "en"
    items = [
        BadgeStatus(
            key=badge.key,
            name=badge.name_en if english else badge.name,
            description=badge.description_en if english else badge.description,
            points=badge.points,
            earned=badge.key in awarded,
            awarded_at=awarded.get(badge.key),
        )
        for badge in catalogue()
    ]
    current, best = shown_streak(db.session.get(Streak, resident_id), local_day(utcnow()))
    return MyBadges(items=items, streak=StreakStatus(current=current, best=best))
