"""Bulk benchmark data: residents, and day by day their approved actions in time order.

Each action is decided by the rules the app applies when it approves one (factor
arithmetic, daily caps, campaign bonuses, streaks, badges) using the app's own functions,
and written with bulk inserts; the read models the worker keeps are then
derived from those rows in set-based SQL (`loadtests.bigdb.readmodels`).
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from backend.clock import LOCAL_TZ, local_day, utcnow
from backend.districts.models import District
from backend.extensions import db
from backend.residents.models import Resident
from backend.residents.phone import encrypt_phone, mask_phone, phone_hmac
from backend.staff import service as staff
from campaigns import service as campaigns
from campaigns.badges.models import BadgeAward
from campaigns.models import Campaign
from campaigns.organizations.models import Membership, Organization
from loadtests.bigdb import organizations, population, readmodels
from loadtests.bigdb.books import Books
from loadtests.bigdb.sink import BulkSink
from points.actions.models import Action
from points.ledger.models import LedgerEntry
from points.methodology import service as methodology_service

REVIEWER = "bench-reviewer"  # approves the generated actions that wait for review
RESIDENT_BATCH = 50_000
Progress = Callable[[str, int], Callable[[int], None]]  # (label, length) -> advance(n)

RESIDENT_COLUMNS = (
    "id",
    "phone_hmac",
    "phone_encrypted",
    "phone_masked",
    "nickname",
    "district_code",
    "community",
    "status",
    "created_at",
    "updated_at",
)


class GenerationRefused(ValueError):
    """The database is not one the generator can fill consistently."""


def bench_phone(resident_id: int) -> str:
    """Generated residents' numbers: 199 and the resident id, recognisable and derivable."""
    return f"199{resident_id:08d}"


@dataclass(frozen=True)
class Plan:
    residents: int
    actions: int
    days: int = 30
    seed: int = 1
    now: datetime = field(default_factory=utcnow)


@dataclass
class Summary:
    residents: int = 0
    actions: int = 0
    ledger_entries: int = 0
    campaign_actions: int = 0
    enrolments: int = 0
    badges: int = 0
    first_resident_id: int = 0
    organizations: dict = field(default_factory=dict)  # rows per table
    read_models: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)  # wall time per phase


# Campaigns: (title, share of targeted residents enrolled, start and end relative to the
# window, districts: "all" or "central", multipliers, join bonus).
CAMPAIGNS = (
    (
        "绿色出行月（压测数据）",
        0.20,
        (-5, 20),
        "all",
        {"trip:bus": 2, "trip:rail": 2, "trip:bike": 1.5},
        50,
    ),
    ("垃圾分类在行动（压测数据）", 0.12, (1 / 3, 10), "central", {"garbage_sorting": 2}, 20),
    ("光盘行动（压测数据）", 0.08, (1 / 2, 30), "outer", {"clean_plate": 3}, 0),
)


class Generator:
    def __init__(self, plan: Plan, progress: Progress) -> None:
        self.plan = plan
        self.progress = progress
        self.rng = random.Random(plan.seed)
        self.summary = Summary()
        self.connection = db.session.connection()
        self.sink = BulkSink(self.connection)
        self.methodology = methodology_service.current_methodology()
        self.factors = {(f.action_type, f.variant): f for f in self.methodology.factors}
        self.caps = self.methodology.daily_point_caps
        self.bounds = self.methodology.plausibility
        self.green_modes = set(self.methodology.green_travel["green_modes"])
        self.hours = {kind: population.Hours.of(w) for kind, w in population.HOURLY.items()}

    # Set-up

    def refuse_unless_empty(self) -> None:
        if db.session.scalar(select(Action.id).limit(1)) is not None:
            raise GenerationRefused(
                "the database already has actions: generate into a freshly migrated database "
                "(flask db upgrade; flask refdata load)"
            )

    def next_id(self, column) -> int:
        return (db.session.scalar(select(func.max(column))) or 0) + 1

    def _reviewer_id(self) -> int:
        user = staff.find_staff(REVIEWER)
        if user is None:
            # Nobody signs in as the reviewer: its password is never shown.
            user = staff.create_staff(REVIEWER, "reviewer", staff.generate_password())
        return user.id

    def _campaigns(self, window_start: datetime, districts: list[District]) -> list[Campaign]:
        central = [d.code for d in districts if d.central_city]
        outer = [d.code for d in districts if not d.central_city]
        made = []
        span = self.plan.now - window_start
        for title, _share, (start, end), where, multipliers, join_bonus in CAMPAIGNS:
            starts_at = (
                window_start + timedelta(days=start)
                if isinstance(start, int)
                else window_start + span * start
            )
            campaign = campaigns.create_campaign(
                {
                    "title": title,
                    "description": "由 flask bench generate 生成的压测活动。",
                    "starts_at": starts_at,
                    "ends_at": self.plan.now + timedelta(days=end),
                    "district_codes": {"all": [], "central": central, "outer": outer}[where],
                    "multipliers": multipliers,
                    "join_bonus": join_bonus,
                },
                staff_id=None,
            )
            campaigns.publish_campaign(campaign.id)
            made.append(campaign)
        return made

    # Residents

    def _residents(self, districts: list[District]) -> None:
        plan, rng = self.plan, self.rng
        self.first_id = first = self.next_id(Resident.id)
        self.summary.first_resident_id = first
        codes = [d.code for d in districts]
        weights = [population.CENTRAL_WEIGHT if d.central_city else 1.0 for d in districts]
        central = {d.code for d in districts if d.central_city}
        self.district: list[str | None] = []
        self.central: list[bool] = []
        cumulative, total = [], 0.0
        advance = self.progress("residents", plan.residents)
        registered_from = plan.now - timedelta(days=plan.days + 365)
        for start in range(0, plan.residents, RESIDENT_BATCH):
            rows = []
            for index in range(start, min(start + RESIDENT_BATCH, plan.residents)):
                resident_id = first + index
                code = (
                    None
                    if rng.random() < population.NO_DISTRICT_SHARE
                    else rng.choices(codes, weights)[0]
                )
                self.district.append(code)
                self.central.append(code in central)
                total += population.propensity(rng)
                cumulative.append(total)
                phone = bench_phone(resident_id)
                created = registered_from + timedelta(seconds=rng.randrange(365 * 86_400))
                nickname = (
                    f"{rng.choice(population.NICKNAMES)}{rng.randrange(1, 10_000)}"
                    if rng.random() < 0.7
                    else None
                )
                community = rng.choice(population.COMMUNITIES) if rng.random() < 0.5 else None
                rows.append(
                    (
                        resident_id,
                        phone_hmac(phone),
                        encrypt_phone(phone),
                        mask_phone(phone),
                        nickname,
                        code,
                        community,
                        "active",
                        created,
                        created,
                    )
                )
            self.sink.write(Resident.__table__, RESIDENT_COLUMNS, rows)
            advance(len(rows))
        self.propensity = cumulative
        self.summary.residents = plan.residents

    # Enrolments

    def _enrolment_events(self, campaigns_made: list[Campaign]) -> dict[date, list[tuple]]:
        """(second of the local day, 1, resident index, campaign position) per local day."""
        rng, plan = self.rng, self.plan
        by_day: dict[date, list[tuple]] = defaultdict(list)
        for position, campaign in enumerate(campaigns_made):
            share = CAMPAIGNS[position][1]
            open_for = (plan.now - campaign.starts_at).total_seconds()
            for index in range(plan.residents):
                if not campaign.targets(self.district[index]) or rng.random() >= share:
                    continue
                # Most join early; some only after a while.
                moment = campaign.starts_at + timedelta(seconds=open_for * rng.random() ** 2)
                local = moment.astimezone(LOCAL_TZ)
                second = local.hour * 3600 + local.minute * 60 + local.second
                by_day[local.date()].append((second, 1, index, position))
        return by_day

    # Days

    def _day_counts(self, days: list[date], today_share: float) -> list[int]:
        weights = [
            (population.WEEKEND_FACTOR if day.weekday() >= 5 else 1.0)
            * (today_share if i == len(days) - 1 else 1.0)
            for i, day in enumerate(days)
        ]
        total = sum(weights)
        exact = [self.plan.actions * w / total for w in weights]
        counts = [int(x) for x in exact]
        by_remainder = sorted(range(len(days)), key=lambda i: exact[i] - counts[i], reverse=True)
        for i in by_remainder[: self.plan.actions - sum(counts)]:
            counts[i] += 1
        return counts

    def _type_for(self, rng: random.Random, taken: dict, index: int) -> str:
        kind = rng.choices(self._type_names, self._type_weights)[0]
        if kind == "clean_plate":
            meals = taken.get((index, "clean_plate"), 0)
            if meals >= self.bounds["clean_plate"]["max_per_day"]:
                return "trip"
        elif kind == "ev_charging" and taken.get((index, "ev_charging"), 0) >= 1:
            return "trip"  # one charging session a day at most
        return kind

    def _spec(self, rng: random.Random, kind: str, index: int, before: int) -> tuple:
        """(second of day, 0, index, kind, variant, quantity_milli, distance_m, seconds)."""
        second = self.hours[kind].second_of_day(rng, before)
        if kind == "trip":
            weights = self._modes_central if self.central[index] else self._modes_outer
            mode = rng.choices(self._mode_names, weights)[0]
            median, sigma, low, high = population.MODE_DISTANCE.get(mode, (5.0, 0.6, 10, 30))
            bounds = self.bounds["trip"][mode]
            km = population.lognormal_km(rng, median, sigma)
            tenths = max(2, min(int(km * 10), int(bounds["max_km"] * 10)))
            speed = min(rng.uniform(low, high), bounds["max_kmh"] * 0.95)
            # Whole seconds rounded up: the plausible speed is never exceeded.
            duration = max(60, int(tenths * 360 / speed) + 1)
            distance_m = tenths * 100
            unit = self.factors[("trip", mode)].unit
            quantity = 1000 if unit == "trip" else distance_m
            return (second, 0, index, kind, mode, quantity, distance_m, duration)
        if kind == "garbage_sorting":
            category = rng.choices(self._garbage_names, self._garbage_weights)[0]
            low, high = population.GARBAGE_KG[category]
            high = min(high, self.bounds["garbage_sorting"]["max_kg_per_action"])
            tenths = max(1, int(rng.uniform(low, high) * 10))
            return (second, 0, index, kind, category, tenths * 100, None, 0)
        if kind == "clean_plate":
            return (second, 0, index, kind, "meal", 1000, None, 0)
        high = min(population.EV_KWH[1], self.bounds["ev_charging"]["max_kwh_per_session"])
        tenths = int(rng.uniform(population.EV_KWH[0], high) * 10)
        return (second, 0, index, kind, "kwh", tenths * 100, None, 0)

    def _prepare_choices(self) -> None:
        self._type_names = [
            k for k in population.TYPE_WEIGHTS if any(t == k for t, _ in self.factors)
        ]
        self._type_weights = [population.TYPE_WEIGHTS[k] for k in self._type_names]
        self._mode_names = [v for t, v in self.factors if t == "trip"]
        self._modes_central = [population.MODE_WEIGHTS_CENTRAL.get(m, 1) for m in self._mode_names]
        self._modes_outer = [population.MODE_WEIGHTS_OUTER.get(m, 1) for m in self._mode_names]
        self._garbage_names = [v for t, v in self.factors if t == "garbage_sorting"]
        self._garbage_weights = [population.GARBAGE_WEIGHTS.get(c, 1) for c in self._garbage_names]

    def run(self) -> Summary:
        plan = self.plan
        self.refuse_unless_empty()
        self._prepare_choices()
        today = local_day(plan.now)
        days = [today - timedelta(days=plan.days - 1 - i) for i in range(plan.days)]
        window_start = datetime.combine(days[0], datetime.min.time(), LOCAL_TZ).astimezone(UTC)
        districts = list(db.session.scalars(select(District).order_by(District.sort_order)))
        self.reviewer_id = self._reviewer_id()
        self.campaigns = self._campaigns(window_start, districts)
        clock = time.monotonic()
        self._residents(districts)
        self.summary.organizations = organizations.generate_memberships(
            self.sink,
            random.Random(plan.seed + 1),
            (self.next_id(Organization.id), self.next_id(Membership.id)),
            self.first_id,
            self.district,
            organizations.window_of(days),
            current_app.config["HOUSEHOLD_MAX_MEMBERS"],
        )
        self.sink.drain()  # the books read the next ids on this connection
        self.summary.seconds["residents"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        self.books = Books(self, plan.residents)
        enrolments = self._enrolment_events(self.campaigns)
        for day in sorted(d for d in enrolments if d < days[0]):
            self.books.process_day(day, [], enrolments.pop(day))
        now_local = plan.now.astimezone(LOCAL_TZ)
        now_second = now_local.hour * 3600 + now_local.minute * 60 + now_local.second
        mix = sum(
            population.TYPE_WEIGHTS[k] * self.hours[k].share_before(now_second)
            for k in self._type_names
        ) / sum(self._type_weights)
        counts = self._day_counts(days, mix)
        advance = self.progress("actions", plan.actions)
        for day, count in zip(days, counts, strict=True):
            before = now_second if day == today else 86_400
            specs = self._day_specs(count, before)
            self.books.process_day(day, specs, enrolments.pop(day, []))
            advance(count)
        self.books.finish()
        self.sink.drain()
        self.summary.seconds["actions"] = round(time.monotonic() - clock, 1)
        self.summary.read_models = readmodels.build(
            self.connection, days, self.progress, self.summary.seconds
        )
        seconds = self.summary.seconds

        def timed(table: str, took: float) -> None:
            seconds[table] = round(seconds.get(table, 0) + took, 1)

        self.summary.read_models |= organizations.build_figures(
            self.connection, days, self.methodology.green_travel["green_modes"], timed
        )
        readmodels.reset_sequences(
            self.connection, (Resident, Action, LedgerEntry, BadgeAward, Organization, Membership)
        )
        return self.summary

    def _day_specs(self, count: int, before: int) -> list[tuple]:
        rng = self.rng
        if count == 0:
            return []
        active = max(1, round(count / population.ACTIONS_PER_ACTIVE_DAY))
        picked = set()
        picks = rng.choices(range(self.plan.residents), cum_weights=self.propensity, k=active)
        picked.update(picks)
        residents = list(picked)
        taken: dict[tuple[int, str], int] = {}
        specs = []
        for _ in range(count):
            index = residents[rng.randrange(len(residents))]
            kind = self._type_for(rng, taken, index)
            taken[(index, kind)] = taken.get((index, kind), 0) + 1
            specs.append(self._spec(rng, kind, index, before))
        return specs


def sample_resident_ids(first_id: int, residents: int, count: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return sorted(first_id + i for i in rng.sample(range(residents), min(count, residents)))


def generate(plan: Plan, progress: Progress) -> Summary:
    """Fill the database per `plan`; the caller commits."""
    return Generator(plan, progress).run()
