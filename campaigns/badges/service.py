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
from typing import Protocol

from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.clock import local_day, utcnow
from backend.extensions import db
from campaigns.badges.models import BadgeAward, Streak
from points.ledger import service as ledger
from points.ledger.models import Account
from points.methodology.service import current_methodology
from points.signals import ActionApproved

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
    if badge.points > 0:
        ledger.post_entry(resident_id, "badge", ledger_ref(resident_id, key), badge.points)
    return award


def _earned_keys(resident_id: int) -> set[str]:
    return set(
        db.session.scalars(
            select(BadgeAward.badge_key).where(BadgeAward.resident_id == resident_id)
        )
    )


# Streaks


def next_streak(streak: Streak | None, day: date) -> tuple[int, int, date]:
    """(current, best, last_day) after an action with CO2e on local `day`: the streak rule."""
    if streak is None or streak.current == 0:
        return 1, max(streak.best if streak else 0, 1), day
    if day <= streak.last_day:
        return streak.current, streak.best, streak.last_day
    current = streak.current + 1 if day == streak.last_day + timedelta(days=1) else 1
    return current, max(streak.best, current), day


def _extend_streak(resident_id: int, day: date) -> int:
    """Apply the streak rule; returns the current streak.

    An approval has already locked the resident's account row (moving its CO2e total, or
    `deferred` taking it first) until commit: one resident's approvals run one after the
    other, so the row read here cannot change before it is written back. Most actions
    fall on the streak's last day and write nothing.
    """
    # populate_existing: the session keeps objects across its commits (deferred approvals
    # commit action by action); the row is read again, not taken from an earlier one.
    streak = db.session.get(Streak, resident_id, populate_existing=True)
    current, best, last_day = next_streak(streak, day)
    if streak is None:
        db.session.add(
            Streak(resident_id=resident_id, current=current, best=best, last_day=last_day)
        )
    elif (current, best, last_day) != (streak.current, streak.best, streak.last_day):
        streak.current, streak.best, streak.last_day = current, best, last_day
    db.session.flush()  # writes only what changed
    return current


def shown_streak(streak: Streak | None, today: date) -> tuple[int, int]:
    """(current, best) as the resident sees them today: a lapsed streak is 0."""
    if streak is None:
        return 0, 0
    alive = streak.last_day >= today - timedelta(days=1)
    return (streak.current if alive else 0), streak.best


# The listener


class _Facts:
    """What the criteria ask about one approved action, each read at most once."""

    def __init__(self, event: ActionApproved, streak: int) -> None:
        self.event = event
        self.streak = streak

    @functools.cached_property
    def green_trip(self) -> bool:
        green_modes = current_methodology().green_travel["green_modes"]
        return is_green_trip(self.event.action_type, self.event.variant, green_modes)

    @functools.cached_property
    def co2e_total(self) -> int:
        # A column query, never a cached Account: the approval has just moved the total.
        total = db.session.scalar(
            select(Account.co2e_g_total).where(Account.resident_id == self.event.resident_id)
        )
        return total or 0


def is_green_trip(action_type: str, variant: str, green_modes: Collection[str]) -> bool:
    """The "green_trip" criterion: a trip by one of the methodology's green modes."""
    return action_type == "trip" and variant in green_modes


class BadgeFacts(Protocol):
    """What the criteria ask about an approved action: plain values, or read on demand."""

    @property
    def green_trip(self) -> bool: ...
    @property
    def co2e_total(self) -> int: ...  # the resident's lifetime CO2e, this action included
    @property
    def streak(self) -> int: ...  # the current streak, this action's day included


def qualifies(criterion: dict, facts: BadgeFacts) -> bool:
    """Whether an action with these facts earns a badge of this criterion (badges.json).

    Each fact is read only by the criterion that needs it.
    """
    kind = criterion["type"]
    if kind == "green_trip":
        return facts.green_trip
    if kind == "co2e_total":
        return facts.co2e_total >= criterion["at_least_g"]
    if kind == "streak_days":
        return facts.streak >= criterion["days"]
    return False  # "awarded_by": another feature awards it through award_badge


def on_action_approved(sender, event: ActionApproved, **_extra) -> None:
    """Listener of `points.signals.action_approved`: streaks and milestone badges.

    Runs in the approving transaction. Actions without CO2e (car trips) neither extend a
    streak nor earn a badge. A repeated signal changes nothing: the streak day is already
    counted and each award is unique.
    """
    if event.co2e_g <= 0:
        return
    facts = _Facts(event, streak=_extend_streak(event.resident_id, event.local_day))
    # Reading what is earned only saves needless inserts; award_badge still decides.
    earned = _earned_keys(event.resident_id)
    for badge in catalogue():
        if badge.key not in earned and qualifies(badge.criterion, facts):
            award_badge(event.resident_id, badge.key)


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
