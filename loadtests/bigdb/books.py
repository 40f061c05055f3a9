"""One generated day at a time: the decisions an approval takes, and the rows they write.

Per resident it keeps what the app keeps in its tables (balance, lifetime CO2e, streak,
badges, enrolments); per day it applies the daily caps, pays earn entries, campaign
bonuses and badges in the order of the worker's appliers, and hands the rows to the sink.
Every decision is the app's own function (caps, points, bonuses, ledger references,
streaks, badge criteria); only the bookkeeping of the rows is done here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from backend.clock import LOCAL_TZ
from campaigns import service as campaigns
from campaigns.badges.models import BadgeAward, Streak
from campaigns.badges.service import catalogue, is_green_trip, ledger_ref, next_streak, qualifies
from campaigns.counting import bonus_points, bonus_ref
from campaigns.models import CampaignAction, Enrolment
from points.actions.models import Action
from points.ledger.models import Account, DailyPoints, LedgerEntry
from points.ledger.service import earn_ref, within_cap
from points.methodology import service as methodology_service

if TYPE_CHECKING:  # the generator drives the books; only its type is named here
    from loadtests.bigdb.generate import Generator

ACTION_COLUMNS = (
    "id",
    "resident_id",
    "type",
    "variant",
    "quantity_milli",
    "unit",
    "distance_m",
    "started_at",
    "ended_at",
    "occurred_at",
    "local_day",
    "co2e_g",
    "points",
    "capped",
    "status",
    "flags",
    "factor_id",
    "factor_version",
    "source",
    "verification",
    "dedup_key",
    "details",
    "district_code",
    "reviewed_at",
    "reviewed_by",
    "created_at",
)
LEDGER_COLUMNS = ("id", "resident_id", "kind", "ref", "delta", "balance_after", "created_at")
DAILY_COLUMNS = ("resident_id", "local_day", "action_type", "points")
CAMPAIGN_ACTION_COLUMNS = (
    "campaign_id",
    "action_id",
    "resident_id",
    "co2e_g",
    "bonus_points",
    "created_at",
)
ENROLMENT_COLUMNS = ("campaign_id", "resident_id", "enrolled_at")
BADGE_COLUMNS = ("id", "resident_id", "badge_key", "awarded_at")
ACCOUNT_COLUMNS = ("resident_id", "balance", "co2e_g_total", "updated_at")
STREAK_COLUMNS = ("resident_id", "current", "best", "last_day", "updated_at")


class _StreakView:
    """What `next_streak` reads of a streak row."""

    __slots__ = ("best", "current", "last_day")

    def __init__(self, current: int, best: int, last_day: date | None) -> None:
        self.current, self.best, self.last_day = current, best, last_day


class _Facts:
    """What the badge criteria ask about one action (`BadgeFacts`), as plain values."""

    __slots__ = ("co2e_total", "green_trip", "streak")

    def __init__(self, green_trip: bool, co2e_total: int, streak: int) -> None:
        self.green_trip, self.co2e_total, self.streak = green_trip, co2e_total, streak


class Books:
    """Running state per resident, and the rows of one day waiting to be written."""

    def __init__(self, generator: Generator, residents: int) -> None:
        self.g = generator
        self.balance = [0] * residents
        self.co2e = [0] * residents
        self.last_change: list[datetime | None] = [None] * residents
        self.streak_current = [0] * residents
        self.streak_best = [0] * residents
        self.streak_last: list[date | None] = [None] * residents
        self.badges = bytearray(residents)
        self.enrolled: dict[int, list[tuple[int, datetime]]] = {}
        self.next_action = 1
        self.next_entry = generator.next_id(LedgerEntry.id)
        self.next_badge = generator.next_id(BadgeAward.id)
        self.badge_rules = [
            (1 << bit, badge.key, badge.criterion, badge.points)
            for bit, badge in enumerate(catalogue())
        ]
        self.join_badge = next(
            (bit, key, points)
            for bit, key, _criterion, points in self.badge_rules
            if key == campaigns.JOIN_BADGE
        )

    # Rows of the day

    def _reset_rows(self) -> None:
        self.actions: list[tuple] = []
        self.entries: list[tuple] = []
        self.campaign_actions: list[tuple] = []
        self.enrolments: list[tuple] = []
        self.awards: list[tuple] = []

    def post(self, index: int, kind: str, ref: str, delta: int, at: datetime) -> None:
        balance = self.balance[index] + delta
        self.balance[index] = balance
        self.last_change[index] = at
        self.entries.append(
            (self.next_entry, self.g.first_id + index, kind, ref, delta, balance, at)
        )
        self.next_entry += 1

    def award(self, index: int, bit: int, key: str, points: int, at: datetime) -> None:
        self.badges[index] |= bit
        resident_id = self.g.first_id + index
        self.awards.append((self.next_badge, resident_id, key, at))
        self.next_badge += 1
        if points > 0:
            self.post(index, "badge", ledger_ref(resident_id, key), points, at)

    def process_day(self, day: date, specs: list[tuple], enrolments: list[tuple]) -> None:
        g = self.g
        self._reset_rows()
        midnight = datetime.combine(day, datetime.min.time(), LOCAL_TZ).astimezone(UTC)
        now = g.plan.now
        rng = g.rng
        factors, caps = g.factors, g.caps
        version = g.methodology.version
        co2e_grams = methodology_service.co2e_grams
        points_for = methodology_service.points_for
        review = g.methodology.review
        day_points: dict[tuple[int, str], int] = {}
        events = sorted(specs + enrolments)
        for event in events:
            second, kind_of_event, index = event[0], event[1], event[2]
            at = midnight + timedelta(seconds=second)
            if kind_of_event == 1:
                self._enrol(index, event[3], at)
                continue
            _, _, _, kind, variant, quantity, distance_m, duration = event
            resident_id = g.first_id + index
            action_id = self.next_action
            self.next_action += 1
            factor = factors[(kind, variant)]
            co2e = co2e_grams(quantity, factor)
            wanted = points_for(g.methodology, co2e)
            key = (index, kind)
            used = day_points.get(key, 0)
            granted = within_cap(wanted, caps[kind], used)
            day_points[key] = used + granted
            created = min(at + timedelta(seconds=rng.randrange(5, 300)), now)
            reviewed_at = reviewed_by = None
            approved_at = created
            # Trips carry a trace that passed; sorting comes from the smart bins' feed.
            source, verification = (
                ("self_reported", "trace") if kind == "trip" else ("partner", "partner")
            )
            if review.get(kind) == "self_reported":
                source, verification = "self_reported", "reviewed"
                reviewed_at = min(created + timedelta(seconds=rng.randrange(600, 21_600)), now)
                reviewed_by = g.reviewer_id
                approved_at = reviewed_at
            dedup_key, details = None, {}
            if kind == "ev_charging":
                station = f"ZQ-CP-{rng.randrange(1, 400):04d}"
                session = f"bench-{action_id}"
                dedup_key = f"ev:{station}:{session}"
                details = {"station_id": station, "session_id": session}
            district = g.district[index]
            self.actions.append(
                (
                    action_id,
                    resident_id,
                    kind,
                    variant,
                    quantity,
                    factor.unit,
                    distance_m,
                    at - timedelta(seconds=duration) if duration else None,
                    at if duration else None,
                    at,
                    day,
                    co2e,
                    granted,
                    granted < wanted,
                    "approved",
                    [],
                    factor.id,
                    version,
                    source,
                    verification,
                    dedup_key,
                    details,
                    district,
                    reviewed_at,
                    reviewed_by,
                    created,
                )
            )
            if granted:
                self.post(index, "earn", earn_ref(action_id), granted, approved_at)
            self.co2e[index] += co2e
            self.last_change[index] = approved_at
            # The appliers, in the app's order: campaigns, badges (leaderboards and
            # statistics are derived from the rows afterwards).
            joined = self.enrolled.get(index)
            if joined:
                self._campaign_bonuses(
                    joined, index, action_id, kind, variant, co2e, granted, at, approved_at
                )
            if co2e > 0:
                self._badges(index, kind, variant, day, approved_at)
        g.sink.write(Action.__table__, ACTION_COLUMNS, self.actions)
        g.sink.write(
            DailyPoints.__table__,
            DAILY_COLUMNS,
            [(g.first_id + i, day, kind, points) for (i, kind), points in day_points.items()],
        )
        g.sink.write(LedgerEntry.__table__, LEDGER_COLUMNS, self.entries)
        g.sink.write(Enrolment.__table__, ENROLMENT_COLUMNS, self.enrolments)
        g.sink.write(CampaignAction.__table__, CAMPAIGN_ACTION_COLUMNS, self.campaign_actions)
        g.sink.write(BadgeAward.__table__, BADGE_COLUMNS, self.awards)
        summary = g.summary
        summary.actions += len(self.actions)
        summary.ledger_entries += len(self.entries)
        summary.campaign_actions += len(self.campaign_actions)
        summary.enrolments += len(self.enrolments)
        summary.badges += len(self.awards)

    def _enrol(self, index: int, position: int, at: datetime) -> None:
        campaign = self.g.campaigns[position]
        resident_id = self.g.first_id + index
        self.enrolled.setdefault(index, []).append((position, at))
        self.enrolments.append((campaign.id, resident_id, at))
        bonus = campaign.rules_at(at).join_bonus
        if bonus:
            ref = campaigns.join_ref(campaign.id, resident_id)
            self.post(index, "campaign_bonus", ref, bonus, at)
        bit, key, points = self.join_badge
        if not self.badges[index] & bit:
            self.award(index, bit, key, points, at)

    def _campaign_bonuses(
        self, joined, index, action_id, kind, variant, co2e, granted, occurred, approved_at
    ) -> None:
        g = self.g
        for position, enrolled_at in joined:
            campaign = g.campaigns[position]
            if not (
                enrolled_at <= approved_at
                and campaign.starts_at <= occurred < campaign.ends_at
                and campaign.targets(g.district[index])
            ):
                continue
            percent = campaign.rules_at(occurred).multiplier_percent(kind, variant)
            bonus = bonus_points(granted, percent)
            self.campaign_actions.append(
                (campaign.id, action_id, g.first_id + index, co2e, bonus, approved_at)
            )
            if bonus:
                ref = bonus_ref(campaign.id, action_id)
                self.post(index, "campaign_bonus", ref, bonus, approved_at)

    def _badges(self, index: int, kind: str, variant: str, day: date, at: datetime) -> None:
        view = _StreakView(
            self.streak_current[index], self.streak_best[index], self.streak_last[index]
        )
        current, best, last = next_streak(view if view.last_day else None, day)
        self.streak_current[index], self.streak_best[index], self.streak_last[index] = (
            current,
            best,
            last,
        )
        earned = self.badges[index]
        facts = _Facts(is_green_trip(kind, variant, self.g.green_modes), self.co2e[index], current)
        for bit, key, criterion, points in self.badge_rules:
            if not earned & bit and qualifies(criterion, facts):
                self.award(index, bit, key, points, at)

    def finish(self) -> None:
        """Accounts and streaks, from the state the days left behind."""
        g = self.g
        accounts, streaks = [], []
        for index, changed in enumerate(self.last_change):
            if changed is None:
                continue
            resident_id = g.first_id + index
            accounts.append((resident_id, self.balance[index], self.co2e[index], changed))
            if self.streak_last[index] is not None:
                streaks.append(
                    (
                        resident_id,
                        self.streak_current[index],
                        self.streak_best[index],
                        self.streak_last[index],
                        changed,
                    )
                )
        g.sink.write(Account.__table__, ACCOUNT_COLUMNS, accounts)
        g.sink.write(Streak.__table__, STREAK_COLUMNS, streaks)
