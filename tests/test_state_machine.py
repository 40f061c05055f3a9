"""The points economy against a model: random runs of sign-ins, actions (with replayed,
conflicting and released idempotency keys), caps, reviews, campaigns and their bonuses,
check-ins, redemptions, cancellations and staff adjustments, all through the HTTP API and
the console. After every step each balance must equal the model's and its entries, no
balance may be negative, stock and redemptions must add up and no cause may pay twice.

Each example runs inside a savepoint rolled back at its end, so each starts from the same
database; the staff users are signed in once, before the first.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from admin.demo_traces import straight_trace
from backend.clock import local_day
from backend.config import Config
from backend.extensions import db, limiter
from campaigns.badges.service import catalogue as badge_catalogue
from tests.conftest import assert_ledger_invariants
from tests.factories import (
    SignedIn,
    console_sign_in,
    csrf_token,
    encode,
    form_tokens,
    photo_like,
    run_worker,
    sign_in,
    staff_headers,
    upload,
)

DISTRICTS = (None, "441202", "441223")
MULTIPLIER_KEYS = ("trip", "trip:bus", "trip:walk", "garbage_sorting", "clean_plate", "ev_charging")
EARNING_KINDS = ("earn", "campaign_bonus", "checkin", "badge")
# Check-in points stand at 七星岩; residents check in a few metres from them.
POINT_LOCATION = {"latitude": 23.0707, "longitude": 112.4720}
NEAR = {"lat": 23.07075, "lon": 112.47205, "accuracy_m": 15}
OVERLAP_TOLERANCE = timedelta(seconds=Config().trip_overlap_tolerance_seconds)

_keys = itertools.count(1)
_photo_seeds = itertools.count(10_000)


def new_key(prefix: str) -> str:
    return f"sm-{prefix}-{next(_keys)}"


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def percent(multiplier: float) -> int:
    return int((Decimal(str(multiplier)) * 100).to_integral_value(ROUND_HALF_UP))


# --- the model ---------------------------------------------------------------------------


@dataclass(eq=False)
class ResidentModel:
    who: SignedIn
    id: int
    district: str | None
    balance: int = 0
    entries: Counter = field(default_factory=Counter)  # (kind, delta) -> how many
    daily: Counter = field(default_factory=Counter)  # (local day, action type) -> points
    meals: Counter = field(default_factory=Counter)  # local day -> Clean Plate meals held
    photos: list = field(default_factory=list)  # photo ids used for actions
    co2e_total: int = 0  # verified grams only
    trips: list = field(default_factory=list)  # (started, ended) of recorded trips
    streak: tuple[int, int, date] | None = None  # (current, best, last day)
    badges: set = field(default_factory=set)
    action_keys: dict = field(default_factory=dict)  # key -> the action it recorded
    redeem_keys: dict = field(default_factory=dict)  # key -> (reward id, response body)
    # Keys of refused requests, by scope ("actions", "redeem"): free to use again.
    released: dict = field(default_factory=lambda: {"actions": set(), "redeem": set()})

    def __repr__(self) -> str:
        return f"<resident {self.id} in {self.district}>"

    def book(self, kind: str, delta: int) -> None:
        """An entry the app must have posted."""
        assert self.balance + delta >= 0, "the model itself would go negative"
        self.balance += delta
        self.entries[(kind, delta)] += 1

    @property
    def earned_total(self) -> int:
        return sum(d * n for (kind, d), n in self.entries.items() if kind in EARNING_KINDS)

    def extend_streak(self, day: date) -> int:
        """The streak rule of README.md, "Badges and streaks"."""
        if self.streak is None:
            self.streak = (1, 1, day)
        elif day > self.streak[2]:
            current = self.streak[0] + 1 if day == self.streak[2] + timedelta(days=1) else 1
            self.streak = (current, max(self.streak[1], current), day)
        return self.streak[0]


@dataclass(eq=False)
class ActionModel:
    id: int
    resident: ResidentModel
    type: str
    variant: str
    co2e: int
    occurred_at: datetime
    district: str | None
    status: str
    key: str
    body: dict
    response: dict
    granted: int = 0  # base points paid
    # A trip's trace and a partner verify; a reviewer's approval too; sorting the resident
    # reports is their word alone: it pays the methodology's percent (nothing), and counts
    # for no CO2e total, bonus, streak or badge.
    verified: bool = True

    def __repr__(self) -> str:
        return f"<action {self.id} {self.type}:{self.variant} {self.status}>"

    @property
    def day(self) -> date:
        return local_day(self.occurred_at)


@dataclass
class Rules:
    effective_from: datetime
    multipliers: dict  # "type" or "type:variant" -> percent
    join_bonus: int
    checkin_points: int

    def percent(self, action_type: str, variant: str) -> int:
        specific = self.multipliers.get(f"{action_type}:{variant}")
        return specific if specific is not None else self.multipliers.get(action_type, 100)


@dataclass(eq=False)
class CampaignModel:
    id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    district_codes: list
    rules: list  # of Rules, by effective_from
    enrolled: set = field(default_factory=set)
    points: list = field(default_factory=list)  # its check-in points

    def __repr__(self) -> str:
        return f"<campaign {self.id} {self.status} {self.district_codes}>"

    def rules_at(self, when: datetime) -> Rules:
        current = self.rules[0]
        for rules in self.rules:
            if rules.effective_from <= when:
                current = rules
        return current

    def targets(self, district: str | None) -> bool:
        return not self.district_codes or district in self.district_codes


@dataclass(eq=False)
class PointModel:
    id: int
    campaign: CampaignModel
    points: int
    token: str
    ends_at: datetime
    old_tokens: list = field(default_factory=list)
    days: set = field(default_factory=set)  # (resident id, local day) already paid

    def __repr__(self) -> str:
        return f"<check-in point {self.id} of campaign {self.campaign.id}>"


@dataclass(eq=False)
class RewardModel:
    id: int
    cost: int
    stock_left: int
    stock_total: int
    limit: int | None

    def __repr__(self) -> str:
        return f"<reward {self.id} cost {self.cost} stock {self.stock_left} limit {self.limit}>"


@dataclass(eq=False)
class RedemptionModel:
    id: int
    code: str
    reward: RewardModel
    resident: ResidentModel
    points: int
    status: str = "issued"

    def __repr__(self) -> str:
        return f"<redemption {self.id} of reward {self.reward.id} {self.status}>"


@dataclass
class World:
    """What every example shares: the app, clients, staff signed in once, the methodology."""

    client: object
    console: object
    connection: sa.Connection
    reviewer: dict
    admin: dict
    console_csrf: str
    methodology: dict

    def factor_mg(self, action_type: str, variant: str) -> tuple[int, str]:
        for row in self.methodology["factors"]:
            if (row["action_type"], row["variant"]) == (action_type, variant):
                milligrams = Decimal(str(row["avoided_g_per_unit"])) * 1000
                return int(milligrams), row["unit"]
        raise AssertionError(f"no factor for {action_type}:{variant}")


# --- strategies --------------------------------------------------------------------------

# Seconds before now: mostly today and yesterday, up to six and a half days back, and a
# few minutes ahead (within the clock skew the server tolerates).
ages = st.builds(
    lambda days, seconds: days * 86_400 + seconds,
    st.sampled_from((0, 0, 0, 1, 1, 2, 6)),
    st.integers(-200, 12 * 3600),
)

trips = st.fixed_dictionaries(
    {
        "type": st.just("trip"),
        "mode": st.sampled_from(("walk", "bike", "bus", "rail", "car")),
        "tenths_km": st.integers(1, 300),
        "slack_minutes": st.integers(1, 40),
        "age": ages,
    }
)
sortings = st.fixed_dictionaries(
    {
        "type": st.just("garbage_sorting"),
        "category": st.sampled_from(("recyclable", "kitchen", "hazardous", "other")),
        "tenths_kg": st.integers(1, 300),
        "age": st.one_of(st.none(), ages),  # None: no occurred_at, the server's now
    }
)
meals = st.fixed_dictionaries(
    {
        "type": st.just("clean_plate"),
        "reuse_photo": st.booleans(),
        "age": ages,
    }
)
charges = st.fixed_dictionaries(
    {
        "type": st.just("ev_charging"),
        "tenths_kwh": st.integers(1, 1500),
        "session": st.integers(1, 8),  # a small pool: duplicates happen
        "age": ages,
    }
)
action_specs = st.one_of(trips, trips, sortings, sortings, meals, charges)
key_choices = st.sampled_from(("fresh", "fresh", "fresh", "released", "borrowed"))


@dataclass(frozen=True)
class Refused:
    """The error an API call is expected to answer with."""

    status: int
    code: str


# --- the machine -------------------------------------------------------------------------


class PointsEconomy(RuleBasedStateMachine):
    residents = Bundle("residents")
    campaigns = Bundle("campaigns")
    rewards = Bundle("rewards")

    def __init__(self, world: World) -> None:
        super().__init__()
        self.world = world
        self.client = world.client
        # Each example starts from the same database: a savepoint rolled back at teardown.
        db.session.remove()
        self.example = world.connection.begin_nested()
        limiter.reset()
        self.people: dict[int, ResidentModel] = {}
        self.all_actions: list[ActionModel] = []
        self.outbox: list[ActionModel] = []  # approved, not yet applied by the worker
        self.all_campaigns: list[CampaignModel] = []
        self.all_rewards: list[RewardModel] = []
        self.redemption_list: list[RedemptionModel] = []
        self.ev_sessions: set[tuple[str, str]] = set()
        self.touched: set[int] = set()

    def teardown(self) -> None:
        db.session.remove()
        self.example.rollback()

    # helpers ------------------------------------------------------------------------------

    def post(self, path: str, who: ResidentModel | None = None, **kwargs):
        if who is not None:
            kwargs["headers"] = {**who.who.headers, **kwargs.get("headers", {})}
            self.touched.add(who.id)
        return self.client.post(path, **kwargs)

    def staff(self, method: str, path: str, json: dict | None = None, role: str = "admin"):
        headers = self.world.reviewer if role == "reviewer" else self.world.admin
        return self.client.open(path, method=method, json=json, headers=headers)

    @staticmethod
    def expect_error(response, status: int, code: str) -> None:
        assert response.status_code == status, (status, code, response.json)
        assert response.json["error"]["code"] == code, response.json

    def methodology(self) -> dict:
        return self.world.methodology

    # residents ---------------------------------------------------------------------------

    def _sign_in(self, district: str | None) -> ResidentModel:
        who = sign_in(self.client)
        if district is not None:
            patched = self.client.patch(
                "/api/v1/me", json={"district_code": district}, headers=who.headers
            )
            assert patched.status_code == 200, patched.json
        person = ResidentModel(who, who.resident["id"], district)
        self.people[person.id] = person
        self.touched.add(person.id)
        return person

    @initialize(target=residents, district=st.sampled_from(DISTRICTS))
    def first_resident(self, district):
        """The first resident starts with points (an adjustment), so redemptions happen even
        in runs that record few actions."""
        person = self._sign_in(district)
        self.adjust(person, 1000)
        return person

    @precondition(lambda self: len(self.people) < 5)
    @rule(target=residents, district=st.sampled_from(DISTRICTS))
    def another_resident(self, district):
        return self._sign_in(district)

    @rule(who=residents, district=st.sampled_from(DISTRICTS))
    def move(self, who, district):
        response = self.client.patch(
            "/api/v1/me", json={"district_code": district}, headers=who.who.headers
        )
        assert response.status_code == 200, response.json
        assert response.json["district_code"] == district
        who.district = district

    # actions -----------------------------------------------------------------------------

    def _body(self, who: ResidentModel, spec: dict, now: datetime) -> dict:
        when = None if spec["age"] is None else now - timedelta(seconds=spec["age"])
        kind = spec["type"]
        if kind == "trip":
            bounds = self.methodology()["plausibility"]["trip"][spec["mode"]]
            km = min(spec["tenths_km"], bounds["max_km"] * 10) / 10
            minutes = math.ceil(km * 60 / bounds["max_kmh"]) + spec["slack_minutes"]
            started = when - timedelta(minutes=minutes)
            return {
                "type": "trip",
                "mode": spec["mode"],
                "distance_km": km,
                "started_at": started.isoformat(),
                "ended_at": when.isoformat(),
                "trace": straight_trace(started, when, km),  # a verified trip
            }
        if kind == "garbage_sorting":
            body = {
                "type": kind,
                "category": spec["category"],
                "weight_kg": spec["tenths_kg"] / 10,
            }
            if when is not None:
                body["occurred_at"] = when.isoformat()
            return body
        if kind == "clean_plate":
            if spec["reuse_photo"] and who.photos:
                photo_id = who.photos[0]
            else:
                image = encode(photo_like(next(_photo_seeds), (320, 240)), "JPEG", quality=80)
                uploaded = upload(self.client, who.who, image)
                assert uploaded.status_code == 201, uploaded.json
                photo_id = uploaded.json["photo_id"]
            return {
                "type": kind,
                "photo_id": photo_id,
                "venue": "端州区食堂",
                "occurred_at": when.isoformat(),
            }
        return {
            "type": kind,
            "energy_kwh": spec["tenths_kwh"] / 10,
            "station_id": "ZQ-EV-01",
            "session_id": f"s{spec['session']}",
            "occurred_at": when.isoformat(),
        }

    def _co2e(self, body: dict) -> tuple[str, int]:
        """(variant, grams): quantity in thousandths times milligrams per unit, rounded down."""
        kind = body["type"]
        variant, quantity = {
            "trip": lambda: (body["mode"], body["distance_km"]),
            "garbage_sorting": lambda: (body["category"], body["weight_kg"]),
            "clean_plate": lambda: ("meal", 1),
            "ev_charging": lambda: ("kwh", body["energy_kwh"]),
        }[kind]()
        milligrams, unit = self.world.factor_mg(kind, variant)
        milli = 1000 if unit == "trip" else int(Decimal(str(quantity)) * 1000)
        return variant, milli * milligrams // 1_000_000

    def _refusal(self, who: ResidentModel, body: dict, day: date) -> Refused | None:
        """What the rules refuse before anything is stored, in the order they are checked."""
        if body["type"] == "trip":
            started, ended = moment(body["started_at"]), moment(body["ended_at"])
            for other in who.trips:
                if min(ended, other[1]) - max(started, other[0]) > OVERLAP_TOLERANCE:
                    return Refused(422, "overlapping_trip")
        if body["type"] == "clean_plate":
            if who.meals[day] >= self.methodology()["plausibility"]["clean_plate"]["max_per_day"]:
                return Refused(422, "implausible_action")
            if body["photo_id"] in who.photos:
                return Refused(409, "photo_already_used")
        ev_session = (body.get("station_id"), body.get("session_id"))
        if body["type"] == "ev_charging" and ev_session in self.ev_sessions:
            return Refused(409, "duplicate_action")
        return None

    def _pay(self, action: ActionModel) -> tuple[int, bool]:
        """An approved action: base points within the day's cap and its CO2e, at once; the
        worker derives the rest from the outbox (`_derive`)."""
        who = action.resident
        wanted = action.co2e // self.methodology()["grams_per_point"]
        if not action.verified:
            percent = self.methodology()["self_declared_points_percent"][action.type]
            wanted = wanted * percent // 100
        cap = self.methodology()["daily_point_caps"][action.type]
        granted = max(0, min(wanted, cap - who.daily[(action.day, action.type)]))
        who.daily[(action.day, action.type)] += granted
        if granted:
            who.book("earn", granted)
        if action.verified:
            who.co2e_total += action.co2e
        action.granted = granted
        self.outbox.append(action)
        return granted, granted < wanted

    def _derive(self, action: ActionModel) -> None:
        """What the worker applies for an approved action: campaign bonuses on what was
        paid, then streak and badges (README.md, "How caps and bonuses combine")."""
        who = action.resident
        granted = action.granted
        if not action.verified:
            return  # counts for no campaign, streak or badge
        for campaign in self.all_campaigns:
            if (
                campaign.status in ("published", "ended")
                and campaign.starts_at <= action.occurred_at < campaign.ends_at
                and who.id in campaign.enrolled
                and campaign.targets(action.district)
            ):
                rate = campaign.rules_at(action.occurred_at).percent(action.type, action.variant)
                bonus = granted * (rate - 100) // 100 if rate > 100 else 0
                if bonus:
                    who.book("campaign_bonus", bonus)
        if action.co2e > 0:
            streak = who.extend_streak(action.day)
            green_modes = self.methodology()["green_travel"]["green_modes"]
            for badge in badge_catalogue():
                criterion = badge.criterion
                earned = {
                    "green_trip": action.type == "trip" and action.variant in green_modes,
                    "co2e_total": who.co2e_total >= criterion.get("at_least_g", 0),
                    "streak_days": streak >= criterion.get("days", 0),
                }.get(criterion["type"], False)
                if earned and badge.key not in who.badges:
                    who.badges.add(badge.key)
                    if badge.points:
                        who.book("badge", badge.points)

    @rule()
    def worker_applies(self):
        """The worker applies every approval waiting in the outbox, oldest first."""
        run_worker(self.client)
        for action in self.outbox:
            self._derive(action)
            self.touched.add(action.resident.id)
        self.outbox.clear()

    def _choose_key(self, who: ResidentModel, choice: str) -> str:
        if choice == "released" and who.released["actions"]:
            return min(who.released["actions"])
        if choice == "borrowed":
            # Another resident's key is no business of this one's: a new request.
            theirs = sorted(
                key
                for other in self.people.values()
                if other is not who
                for key in other.action_keys
                if key not in who.action_keys
            )
            if theirs:
                return theirs[0]
        return new_key("action")

    @rule(
        who=residents, specs=st.lists(st.tuples(action_specs, key_choices), min_size=1, max_size=4)
    )
    def act(self, who, specs):
        """A few actions in a row (one a step would rarely reach a cap). Hypothesis leans
        towards the first rule of its order (no target, fewest arguments, then by name):
        this is the one most invariants are about, so it is named to come first."""
        for spec, key_choice in specs:
            self._record(who, spec, key_choice)

    def _record(self, who: ResidentModel, spec: dict, key_choice: str) -> None:
        now = datetime.now(UTC)
        body = self._body(who, spec, now)
        key = self._choose_key(who, key_choice)
        time_field = "ended_at" if body["type"] == "trip" else "occurred_at"
        sent_at = moment(body[time_field]) if time_field in body else None
        refusal = self._refusal(who, body, local_day(sent_at or now))
        response = self.post("/api/v1/actions", who, json=body, headers={"Idempotency-Key": key})
        if refusal is not None:
            self.expect_error(response, refusal.status, refusal.code)
            who.released["actions"].add(key)
            return
        assert response.status_code == 201, response.json
        who.released["actions"].discard(key)
        created = response.json
        occurred = moment(created["occurred_at"])
        if sent_at is not None:
            assert occurred == sent_at
        variant, co2e = self._co2e(body)
        review = self.methodology()["review"][body["type"]] == "self_reported"
        action = ActionModel(
            id=created["id"],
            resident=who,
            type=body["type"],
            variant=variant,
            co2e=co2e,
            occurred_at=occurred,
            district=who.district,
            status="pending_review" if review else "approved",
            key=key,
            body=body,
            response=created,
            # Sorting is self-declared; a pending action is verified once a reviewer approves.
            verified=body["type"] != "garbage_sorting",
        )
        assert created["verification"] == (
            "trace" if body["type"] == "trip" else "self_declared"
        ), created
        assert (created["type"], created["variant"]) == (action.type, variant)
        assert created["co2e_g"] == co2e, (created, co2e)
        assert created["status"] == action.status, created
        if body["type"] == "clean_plate":
            who.meals[action.day] += 1
            who.photos.append(body["photo_id"])
        if body["type"] == "ev_charging":
            self.ev_sessions.add((body["station_id"], body["session_id"]))
        if body["type"] == "trip":
            who.trips.append((moment(body["started_at"]), moment(body["ended_at"])))
        if action.status == "approved":
            granted, capped = self._pay(action)
            assert (created["points"], created["capped"]) == (granted, capped), created
        else:
            assert created["points"] == 0, created
        who.action_keys[key] = action
        self.all_actions.append(action)

    @precondition(lambda self: self.all_actions)
    @rule(data=st.data(), other_body=st.booleans())
    def resend(self, data, other_body):
        """The same key again: with the same body, the first answer and nothing paid; with
        another body, 422."""
        action = self._draw_action(data, self.all_actions)
        body = self._other_body(action.body) if other_body else action.body
        response = self.post(
            "/api/v1/actions", action.resident, json=body, headers={"Idempotency-Key": action.key}
        )
        if other_body:
            self.expect_error(response, 422, "idempotency_key_reused")
            return
        assert response.status_code == 201, response.json
        assert response.json == action.response
        assert response.headers.get("Idempotent-Replayed") == "true"

    @staticmethod
    def _draw_action(data, choices: list[ActionModel]) -> ActionModel:
        # By id: a falsifying example then prints the id, not the whole model.
        by_id = {action.id: action for action in choices}
        return by_id[data.draw(st.sampled_from(sorted(by_id)), label="action id")]

    @staticmethod
    def _other_body(body: dict) -> dict:
        other = dict(body)
        if "distance_km" in other:
            other["distance_km"] = round(other["distance_km"] + 0.1, 1)
        elif "weight_kg" in other:
            other["weight_kg"] = round(other["weight_kg"] + 0.1, 1)
        elif "energy_kwh" in other:
            other["energy_kwh"] = round(other["energy_kwh"] + 0.1, 1)
        else:
            other["venue"] = "鼎湖区食堂"
        return other

    @rule(
        who=residents,
        kind=st.sampled_from(("too_fast", "too_old", "future", "too_heavy")),
        key_choice=key_choices,
    )
    def record_implausible_action(self, who, kind, key_choice):
        """Refused with 422; the key is released, so a later request may use it afresh."""
        now = datetime.now(UTC)
        if kind == "too_fast":
            ended = now - timedelta(minutes=5)
            body = {
                "type": "trip",
                "mode": "walk",
                "distance_km": 10,
                "started_at": (ended - timedelta(minutes=20)).isoformat(),
                "ended_at": ended.isoformat(),
            }
        else:
            when = {
                "too_old": now - timedelta(days=7, hours=2),
                "future": now + timedelta(minutes=30),
                "too_heavy": now - timedelta(minutes=5),
            }[kind]
            weight = 31 if kind == "too_heavy" else 2
            body = {
                "type": "garbage_sorting",
                "category": "kitchen",
                "weight_kg": weight,
                "occurred_at": when.isoformat(),
            }
        key = self._choose_key(who, key_choice)
        response = self.post("/api/v1/actions", who, json=body, headers={"Idempotency-Key": key})
        self.expect_error(response, 422, "implausible_action")
        who.released["actions"].add(key)

    # reviews -----------------------------------------------------------------------------

    def _review(self, action: ActionModel, approve: bool):
        path = f"/api/v1/staff/reviews/{action.id}/" + ("approve" if approve else "reject")
        body = None if approve else {"reason": "照片看不清"}
        self.touched.add(action.resident.id)
        response = self.staff("POST", path, body, role="reviewer")
        if action.status != "pending_review":
            self.expect_error(response, 409, "already_reviewed")
            return
        assert response.status_code == 200, response.json
        if approve:
            action.status = "approved"
            granted, capped = self._pay(action)
            assert (response.json["points"], response.json["capped"]) == (granted, capped)
        else:
            action.status = "rejected"
            if action.type == "clean_plate":
                action.resident.meals[action.day] -= 1
            if action.type == "ev_charging":
                # A rejected report gives its session up: it never blocks the owner's.
                self.ev_sessions.discard((action.body["station_id"], action.body["session_id"]))
            assert response.json["points"] == 0
        assert response.json["status"] == action.status

    @precondition(lambda self: self.all_actions)
    @rule(data=st.data(), decision=st.sampled_from(("approve", "approve", "reject", "any")))
    def review(self, data, decision):
        """Approve or reject an action waiting for review; one decided already is 409."""
        pending = [a for a in self.all_actions if a.status == "pending_review"]
        choices = pending if pending and decision != "any" else self.all_actions
        action = self._draw_action(data, choices)
        self._review(action, approve=decision != "reject")

    # campaigns ---------------------------------------------------------------------------

    campaign_fields = {
        "started_hours_ago": st.sampled_from((1, 30, 100, 200)),
        "ends_in_hours": st.sampled_from((2, 48, 150)),
        "district_codes": st.sampled_from(([], ["441202"], ["441202", "441223"])),
        "multipliers": st.dictionaries(
            st.sampled_from(MULTIPLIER_KEYS), st.sampled_from((1, 1.5, 2, 3)), min_size=1
        ),
        "join_bonus": st.sampled_from((0, 5, 50)),
        "checkin_points": st.sampled_from((0, 10)),
        "point_pays": st.none() | st.sampled_from((0, 7, 30)),  # None: the campaign's
        "publish": st.sampled_from((True, True, False)),
    }

    @initialize(target=campaigns, **campaign_fields)
    def first_campaign(self, **fields):
        return self._create_campaign(**fields)

    @precondition(lambda self: len(self.all_campaigns) < 4)
    @rule(target=campaigns, **campaign_fields)
    def another_campaign(self, **fields):
        return self._create_campaign(**fields)

    def _create_campaign(
        self,
        started_hours_ago,
        ends_in_hours,
        district_codes,
        multipliers,
        join_bonus,
        checkin_points,
        point_pays,
        publish,
    ):
        now = datetime.now(UTC)
        body = {
            "title": "低碳日",
            "starts_at": (now - timedelta(hours=started_hours_ago)).isoformat(),
            "ends_at": (now + timedelta(hours=ends_in_hours)).isoformat(),
            "district_codes": district_codes,
            "multipliers": multipliers,
            "join_bonus": join_bonus,
            "checkin_points": checkin_points,
        }
        response = self.staff("POST", "/api/v1/staff/campaigns", body)
        assert response.status_code == 201, response.json
        created = response.json
        campaign = CampaignModel(
            id=created["id"],
            status="draft",
            starts_at=moment(created["starts_at"]),
            ends_at=moment(created["ends_at"]),
            district_codes=sorted(district_codes),
            rules=[
                Rules(
                    moment(created["starts_at"]),
                    {key: percent(value) for key, value in multipliers.items()},
                    join_bonus,
                    checkin_points,
                )
            ],
        )
        self.all_campaigns.append(campaign)
        self.add_checkin_point(campaign, point_pays)
        if publish:
            self._publish(campaign)
        return campaign

    @rule(
        campaign=campaigns,
        change=st.sampled_from(("publish", "edit", "edit", "end")),
        multipliers=st.none()
        | st.dictionaries(st.sampled_from(MULTIPLIER_KEYS), st.sampled_from((1, 2, 3)), max_size=2),
        join_bonus=st.none() | st.sampled_from((0, 20)),
    )
    def change_campaign(self, campaign, change, multipliers, join_bonus):
        """Staff publish, edit the rules of, or end a campaign (one rule: each is rarer)."""
        if change == "publish":
            self._publish(campaign)
        elif change == "end":
            self._end(campaign)
        else:
            self._edit_rules(campaign, multipliers, join_bonus)

    def _publish(self, campaign: CampaignModel) -> None:
        response = self.staff("POST", f"/api/v1/staff/campaigns/{campaign.id}/publish")
        if campaign.status != "draft":
            self.expect_error(response, 409, "campaign_not_draft")
            return
        assert response.status_code == 200, response.json
        campaign.status = "published"

    def _end(self, campaign: CampaignModel) -> None:
        response = self.staff("POST", f"/api/v1/staff/campaigns/{campaign.id}/end")
        if campaign.status != "published":
            self.expect_error(response, 409, "campaign_not_published")
            return
        assert response.status_code == 200, response.json
        campaign.status = "ended"
        ends_at = moment(response.json["ends_at"])
        assert ends_at <= campaign.ends_at
        campaign.ends_at = ends_at

    def _edit_rules(self, campaign: CampaignModel, multipliers, join_bonus) -> None:
        """A published campaign's new rules apply from now on; a draft's replace its own."""
        changes = {"checkin_points": 5}
        if multipliers is not None:
            changes["multipliers"] = multipliers
        if join_bonus is not None:
            changes["join_bonus"] = join_bonus
        response = self.staff("PATCH", f"/api/v1/staff/campaigns/{campaign.id}", changes)
        if campaign.status == "ended":
            self.expect_error(response, 409, "campaign_ended")
            return
        assert response.status_code == 200, response.json
        current = campaign.rules[-1]
        new = Rules(
            current.effective_from,
            current.multipliers
            if multipliers is None
            else {key: percent(value) for key, value in multipliers.items()},
            current.join_bonus if join_bonus is None else join_bonus,
            changes["checkin_points"],
        )
        history = response.json["rules_history"]
        if campaign.status == "published":
            new.effective_from = moment(history[-1]["effective_from"])
            assert new.effective_from > current.effective_from
            campaign.rules.append(new)
        else:
            campaign.rules[-1] = new
        assert len(history) == len(campaign.rules)

    def _visible(self, who: ResidentModel, campaign: CampaignModel) -> bool:
        return campaign.status != "draft" and campaign.targets(who.district)

    def _join(self, who: ResidentModel, campaign: CampaignModel, now: datetime) -> int:
        campaign.enrolled.add(who.id)
        bonus = campaign.rules_at(now).join_bonus
        if bonus:
            who.book("campaign_bonus", bonus)
        return bonus

    @rule(who=residents, campaign=campaigns)
    def enrol(self, who, campaign):
        now = datetime.now(UTC)
        response = self.post(f"/api/v1/campaigns/{campaign.id}/enrol", who)
        if not self._visible(who, campaign):
            assert response.status_code == 404, response.json
        elif campaign.status != "published" or campaign.ends_at <= now:
            self.expect_error(response, 409, "campaign_over")
        elif who.id in campaign.enrolled:
            self.expect_error(response, 409, "already_enrolled")
        else:
            assert response.status_code == 201, response.json
            assert response.json["join_bonus"] == self._join(who, campaign, now)

    # check-ins ---------------------------------------------------------------------------

    @rule(campaign=campaigns, pays=st.none() | st.sampled_from((0, 7, 30)))
    def add_checkin_point(self, campaign, pays):
        body = {"name": "星湖绿道打卡点", "place": "端州区星湖", **POINT_LOCATION}
        if pays is not None:
            body["points"] = pays
        path = f"/api/v1/staff/campaigns/{campaign.id}/checkin-points"
        response = self.staff("POST", path, body)
        if campaign.status == "ended":
            self.expect_error(response, 409, "campaign_ended")
            return
        assert response.status_code == 201, response.json
        created = response.json
        expected = campaign.rules[-1].checkin_points if pays is None else pays
        assert created["points"] == expected
        campaign.points.append(
            PointModel(
                created["id"], campaign, expected, created["token"], moment(created["ends_at"])
            )
        )

    @rule(campaign=campaigns, which=st.integers(0, 2))
    def rotate(self, campaign, which):
        point = campaign.points[which % len(campaign.points)]
        response = self.staff("POST", f"/api/v1/staff/checkin-points/{point.id}/rotate")
        assert response.status_code == 200, response.json
        assert response.json["token"] != point.token
        point.old_tokens.append(point.token)
        point.token = response.json["token"]

    @rule(who=residents, campaign=campaigns, which=st.integers(0, 2), stale=st.booleans())
    def check_in(self, who, campaign, which, stale):
        point = campaign.points[which % len(campaign.points)]
        token = point.old_tokens[-1] if stale and point.old_tokens else point.token
        before = datetime.now(UTC)
        response = self.post("/api/v1/checkins", who, json={"token": token, "location": NEAR})
        after = datetime.now(UTC)
        today = local_day(before)
        if token != point.token:
            self.expect_error(response, 422, "checkin_token_rotated")
        elif campaign.status != "published" or after >= point.ends_at:
            self.expect_error(response, 422, "checkin_closed")
        elif not campaign.targets(who.district):
            self.expect_error(response, 422, "checkin_not_for_district")
        elif (who.id, today) in point.days and today == local_day(after):
            self.expect_error(response, 409, "checkin_already_today")
        else:
            assert response.status_code == 201, response.json
            day = date.fromisoformat(response.json["local_day"])
            assert (who.id, day) not in point.days
            point.days.add((who.id, day))
            assert response.json["points"] == point.points
            if point.points:
                who.book("checkin", point.points)
            if who.id not in campaign.enrolled:  # taking part enrols
                self._join(who, campaign, before)

    # rewards -----------------------------------------------------------------------------

    def _create_reward(self, cost, stock, limit):
        now = datetime.now(UTC)
        body = {
            "title": "公交乘车券",
            "merchant_name": "肇庆公交集团",
            "cost_points": cost,
            "stock": stock,
            "per_resident_limit": limit,
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
        }
        response = self.staff("POST", "/api/v1/staff/rewards", body)
        assert response.status_code == 201, response.json
        reward = RewardModel(response.json["id"], cost, stock, stock, limit)
        self.all_rewards.append(reward)
        return reward

    reward_fields = {
        "cost": st.sampled_from((30, 30, 200, 800, 3000)),
        "stock": st.integers(0, 3),
        "limit": st.none() | st.integers(1, 2),
    }

    @initialize(target=rewards, **reward_fields)
    def first_reward(self, cost, stock, limit):
        return self._create_reward(cost, stock, limit)

    @precondition(lambda self: len(self.all_rewards) < 4)
    @rule(target=rewards, **reward_fields)
    def another_reward(self, cost, stock, limit):
        return self._create_reward(cost, stock, limit)

    @rule(reward=rewards, delta=st.integers(-3, 3).filter(bool))
    def change_stock(self, reward, delta):
        response = self.staff("POST", f"/api/v1/staff/rewards/{reward.id}/stock", {"delta": delta})
        if reward.stock_left + delta < 0:
            self.expect_error(response, 409, "stock_below_redeemed")
            return
        assert response.status_code == 200, response.json
        reward.stock_left += delta
        reward.stock_total += delta
        assert (response.json["stock_left"], response.json["stock_total"]) == (
            reward.stock_left,
            reward.stock_total,
        )

    def _held(self, who: ResidentModel, reward: RewardModel) -> int:
        return sum(
            1
            for r in self.redemption_list
            if r.resident is who and r.reward is reward and r.status != "cancelled"
        )

    @rule(
        who=residents,
        reward=rewards,
        key_choice=st.sampled_from(("fresh", "fresh", "reuse", "released")),
        then=st.sampled_from((None, None, "cancel", "verify")),
    )
    def redeem(self, who, reward, key_choice, then):
        """Points and a unit of stock together, or a refusal; a reused key replays or is
        refused. What happens to a redemption next is usually another step's business, but
        may follow at once (a settle step alone would rarely meet one)."""
        key = new_key("redeem")
        if key_choice == "reuse" and who.redeem_keys:
            key = sorted(who.redeem_keys)[0]
        elif key_choice == "released" and who.released["redeem"]:
            key = min(who.released["redeem"])
        path = f"/api/v1/rewards/{reward.id}/redeem"
        response = self.post(path, who, headers={"Idempotency-Key": key})
        if key in who.redeem_keys:
            first_reward, first_answer = who.redeem_keys[key]
            if first_reward == reward.id:
                assert response.status_code == 201, response.json
                assert response.json == first_answer  # a replay: nothing taken again
                assert response.headers.get("Idempotent-Replayed") == "true"
            else:
                self.expect_error(response, 422, "idempotency_key_reused")
            return
        if who.balance < reward.cost:
            refusal = Refused(422, "insufficient_points")
        elif reward.limit is not None and self._held(who, reward) >= reward.limit:
            refusal = Refused(422, "limit_reached")
        elif reward.stock_left == 0:
            refusal = Refused(409, "out_of_stock")
        else:
            refusal = None
        if refusal is not None:
            self.expect_error(response, refusal.status, refusal.code)
            who.released["redeem"].add(key)
            return
        assert response.status_code == 201, response.json
        who.released["redeem"].discard(key)
        assert response.json["points"] == reward.cost
        who.book("redeem", -reward.cost)
        reward.stock_left -= 1
        who.redeem_keys[key] = (reward.id, response.json)
        redemption = RedemptionModel(
            response.json["redemption_id"], response.json["code"], reward, who, reward.cost
        )
        self.redemption_list.append(redemption)
        if then == "cancel":
            self._cancel(redemption, who)
        elif then == "verify":
            self._verify(redemption)

    @precondition(lambda self: self.redemption_list)
    @rule(data=st.data(), by=st.sampled_from(("owner", "owner", "someone else", "merchant")))
    def settle(self, data, by):
        """The owner cancels (a refund, once), another resident tries to, or a merchant
        verifies the code (once)."""
        by_id = {redemption.id: redemption for redemption in self.redemption_list}
        redemption = by_id[data.draw(st.sampled_from(sorted(by_id)), label="redemption id")]
        if by == "merchant":
            self._verify(redemption)
            return
        who = redemption.resident
        if by == "someone else":
            who = next((p for p in self.people.values() if p is not who), who)
        self._cancel(redemption, who)

    def _cancel(self, redemption: RedemptionModel, who: ResidentModel) -> None:
        response = self.post(f"/api/v1/me/redemptions/{redemption.id}/cancel", who)
        if who is not redemption.resident:
            assert response.status_code == 404, response.json
        elif redemption.status != "issued":
            self.expect_error(response, 409, "not_cancellable")
        else:
            assert response.status_code == 200, response.json
            assert response.json["status"] == "cancelled"
            redemption.status = "cancelled"
            who.book("refund", redemption.points)
            redemption.reward.stock_left += 1

    def _verify(self, redemption: RedemptionModel) -> None:
        response = self.staff("POST", "/api/v1/staff/redemptions/verify", {"code": redemption.code})
        if redemption.status != "issued":
            self.expect_error(response, 409, f"redemption_{redemption.status}")
            return
        assert response.status_code == 200, response.json
        redemption.status = "used"

    # adjustments (the console) -----------------------------------------------------------

    @rule(who=residents, delta=st.sampled_from((-500, -60, -5, 5, 60, 500)))
    def adjust(self, who, delta):
        """A campaign admin's adjustment in the console; never below zero."""
        response = self.world.console.post(
            f"/admin/residents/{who.id}/adjust",
            data={"delta": delta, "reason": "公交刷卡补录", **form_tokens(self.world.console_csrf)},
        )
        self.touched.add(who.id)
        if who.balance + delta < 0:
            assert response.status_code == 422, response.status_code
            return
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        who.book("adjustment", delta)

    # invariants --------------------------------------------------------------------------

    @invariant()
    def the_database_agrees_with_the_model(self):
        connection = self.world.connection
        # Balances are the sums of their entries, never negative, spends allocated.
        assert_ledger_invariants(connection)
        rows = connection.execute(sa.text("SELECT resident_id, balance FROM account"))
        balances = {row.resident_id: row.balance for row in rows}
        for person in self.people.values():
            assert balances.get(person.id, 0) == person.balance, person
        twice = connection.execute(
            sa.text("SELECT kind, ref FROM ledger_entry GROUP BY kind, ref HAVING COUNT(*) > 1")
        ).all()
        assert twice == [], f"causes paid twice: {twice}"
        stock = connection.execute(
            sa.text(
                "SELECT r.id, r.stock_left, r.stock_total, "
                "(SELECT COUNT(*) FROM redemption d WHERE d.reward_id = r.id "
                " AND d.status <> 'cancelled') AS live FROM reward r"
            )
        ).all()
        for row in stock:
            assert row.stock_left >= 0 and row.stock_left + row.live == row.stock_total, row
        by_id = {row.id: row for row in stock}
        for reward in self.all_rewards:
            row = by_id[reward.id]
            assert (row.stock_left, row.stock_total) == (reward.stock_left, reward.stock_total)

    @invariant()
    def what_residents_see_agrees_with_the_model(self):
        for resident_id in sorted(self.touched):
            self._check_api(self.people[resident_id])
        self.touched.clear()

    def _check_api(self, person: ResidentModel) -> None:
        before = local_day(datetime.now(UTC))
        account = self.client.get("/api/v1/me/account", headers=person.who.headers)
        assert account.status_code == 200, account.json
        entries, cursor = [], None
        while True:
            query = {"limit": 100, **({"cursor": cursor} if cursor else {})}
            page = self.client.get(
                "/api/v1/me/ledger", query_string=query, headers=person.who.headers
            )
            assert page.status_code == 200, page.json
            entries += page.json["items"]
            cursor = page.json["next_cursor"]
            if cursor is None:
                break
        summary = account.json
        assert summary["balance"] == person.balance, (person, summary)
        assert summary["co2e_g_total"] == person.co2e_total, (person, summary)
        assert summary["points_earned_total"] == person.earned_total, (person, summary)
        if before == local_day(datetime.now(UTC)):
            today = sum(p for (day, _), p in person.daily.items() if day == before)
            assert summary["points_today"] == today, (person, summary)
        assert sum(e["delta"] for e in entries) == person.balance
        assert Counter((e["kind"], e["delta"]) for e in entries) == person.entries, person
        running = 0
        for entry in sorted(entries, key=lambda e: e["id"]):
            running += entry["delta"]
            assert entry["balance_after"] == running, entry


# --- the test ----------------------------------------------------------------------------


def test_the_points_economy_follows_its_model(app, client, db_session, monkeypatch):
    # A run records far more actions a minute than any resident; flooding is tested apart.
    monkeypatch.setitem(app.config, "ACTION_LIMIT_PER_RESIDENT", "100000 per day")
    monkeypatch.setitem(app.config, "PHOTO_LIMIT_PER_RESIDENT", "100000 per day")
    console = app.test_client()
    console_sign_in(app, console, "campaign_admin")
    methodology = client.get("/api/v1/methodology")
    assert methodology.status_code == 200
    world = World(
        client=client,
        console=console,
        connection=db_session.get_bind(),
        reviewer=staff_headers(app, client, "reviewer"),
        admin=staff_headers(app, client, "campaign_admin"),
        console_csrf=csrf_token(console, "/admin/residents"),
        methodology=methodology.json,
    )
    run_state_machine_as_test(
        lambda: PointsEconomy(world),
        settings=settings(
            max_examples=40,
            stateful_step_count=30,
            deadline=None,
            database=None,
            # Shrinking replays whole runs against the database for minutes; the failing
            # run's steps are printed as they are (add Phase.shrink locally to shrink them).
            phases=(Phase.explicit, Phase.reuse, Phase.generate),
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
