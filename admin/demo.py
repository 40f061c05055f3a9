"""Demo data: staff per role, residents across districts with three weeks of actions, their
organisations (schools, communities, an employer, an agency, families), a partner.

Energy Saving Week began CAMPAIGN_DAYS_AGO days ago: about half the residents took part from
its first day (the greener ones more often, as volunteers are), and from then on took the
bus more often, on their bus cards; the others went on as before. Its impact is computed
at the end of the seed, so the console shows what the campaign changed at once: for that
the residents' accounts and their verified activity reach back further than three weeks
(`impact_history_days`): the baseline's four weeks before the campaign hold what an
estimate reads (verified trips, bin-weighed sorting, reviewed charging), and the four
weeks before those, the matching window, only the residents' green trips, as bus-card rides.

Every verification level is there: trips with realistic GPS traces in Zhaoqing (`trace`),
some without (`self_declared`), bus rides from the bus company's card data and sorting
weighed by smart bins (`partner`), sorting reported in the app (`self_declared`), and
charging sessions the demo reviewer approved (`reviewed`) or that wait for review.

Re-running keeps what exists: staff passwords, the superadmin's TOTP secret and the partner
secret are reused while the previous credentials still match, so
instance/demo-credentials.json stays valid.
"""

from __future__ import annotations

import json
import random
import secrets
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app
from sqlalchemy import exists, select

from admin.demo_organizations import seed_organizations, seed_school_challenge
from admin.demo_traces import CRUISE_KMH, synthetic_trace
from admin.impact import service as impact
from admin.review import service as review
from admin.stats import keys as stats_keys
from backend import encryption
from backend.cli import load_reference_data
from backend.clock import LOCAL_TZ, local_day, utcnow
from backend.consent import service as consent
from backend.consent.models import CONSENT_SCOPES
from backend.errors import AppError
from backend.extensions import db
from backend.legal.notice import current_privacy_version
from backend.residents import service as residents
from backend.residents.models import Resident
from backend.staff import service as staff
from backend.staff import totp
from backend.staff.models import ROLES, TOTP_REQUIRED_ROLES
from campaigns import checkins
from campaigns import service as campaigns
from campaigns.models import Campaign, Enrolment
from points.actions import service as actions
from points.actions.models import Action
from points.actions.traces import TraceRefused
from points.partner import clients as partner_clients
from points.partner import links as partner_links
from points.partner import service as partners
from points.partner.models import PartnerClient
from points.rewards import service as rewards
from points.rewards.models import Reward

DEMO_RESIDENTS = (
    ("13800000001", "绿行小王", "441202", "城东社区"),
    ("13800000002", "骑行阿李", "441203", "鼎湖山社区"),
    ("13800000003", "光盘达人", "441204", "南岸社区"),
    ("13800000004", "垃圾分类员", "441284", "东城社区"),
    ("13800000005", "电车车主", "zq-newarea", None),
)
# More residents, so that statistics clear the privacy threshold and show figures.
CENTRAL_DISTRICTS = ("441202", "441203", "441204")
CROWD = tuple(
    (f"138000001{n:02d}", f"市民{n:02d}", CENTRAL_DISTRICTS[n % 3], None) for n in range(1, 61)
)
DEMO_PARTNER = "肇庆公交集团（演示）"
# Smart recycling bins weigh what residents sort: their sorting is verified (`partner`);
# the sorting other residents report in the app is their word alone (`self_declared`).
DEMO_BINS = "肇庆智能回收箱（演示）"
SORTS_AT_BINS = 3  # the profile whose sorting the bins report
# Of the bus rides, this share comes from the bus company's card data (`partner`).
PARTNER_BUS_SHARE = 0.5
# Evidence older than this many days the demo reviewer has decided (`reviewed`); newer
# evidence waits in the review queue.
REVIEWED_AFTER_DAYS = 2
# A demo resident's bus card, linked at the demo partner: events may name them by it.
DEMO_PARTNER_ACCOUNT = ("13800000005", "BUSCARD-DEMO-0005")
DEMO_CAMPAIGN = "全国节能宣传周 · 绿色出行（演示）"
HISTORY_DAYS = 21  # days of every kind of action, self-declared ones too
CAMPAIGN_DAYS_AGO = 10  # Energy Saving Week began this many local days ago
CAMPAIGN_DAYS_LEFT = 7
# Who took part: residents with a habit of green trips more often than the others.
TAKE_PART = {"green": 0.65, "other": 0.35}
# A participant's extra bus rides a day from their enrolment (their own rate, drawn here).
CAMPAIGN_RIDES = (0.5, 1.0)
GREEN_PROFILES = (0, 1)  # the profiles whose days hold green trips


def _previous_credentials() -> dict:
    path = Path(current_app.instance_path) / "demo-credentials.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _seed_staff(previous: dict) -> list[dict]:
    passwords = {u["username"]: u["password"] for u in previous.get("staff", [])}
    previous_secrets = {
        u["username"]: u["totp_secret"] for u in previous.get("staff", []) if u.get("totp_secret")
    }
    accounts = []
    for role in ROLES:
        username = f"demo-{role.replace('_', '-')}"
        user = staff.find_staff(username)
        password = passwords.get(username)
        if user is None:
            password = password or staff.generate_password()
            staff.create_staff(username, role, password)
        elif password is None or not staff.password_matches(user, password):
            password = staff.generate_password()
            staff.set_password(user, password)
        account = {"username": username, "password": password, "role": role}
        if role in TOTP_REQUIRED_ROLES:
            account |= _seed_totp(staff.find_staff(username), previous_secrets.get(username))
        accounts.append(account)
    return accounts


def _seed_totp(user, previous_secret: str | None) -> dict:
    """A superadmin signs in with a TOTP code: the demo enrols them and hands over the
    secret (and its otpauth:// address, for an authenticator app) with the password."""
    secret = totp.secret_of(user) if user.totp_enrolled else None
    if secret is None or secret != previous_secret:
        secret = totp.enrol_now(user, previous_secret)
    return {"totp_secret": secret, "totp_uri": totp.provisioning_uri(user.username, secret)}


def _demo_partner(name: str, allowed: list[str]) -> tuple[PartnerClient, str]:
    partner = next((p for p in partners.active_partners() if p.name == name), None)
    if partner is None:
        return partner_clients.create_partner(name, allowed)
    return partner, encryption.decrypt(partner.secret_encrypted)


def _seed_partner() -> dict:
    partner, secret = _demo_partner(DEMO_PARTNER, ["trip:bus", "ev_charging"])
    return {"key": partner.key, "secret": secret}


def _seed_partner_link(partner_key: str) -> dict:
    """A demo resident's bus card, linked the one way there is (a code the partner
    confirms), so that the demo partner's events may name the resident by it."""
    phone, external_id = DEMO_PARTNER_ACCOUNT
    resident = residents.find_or_create_by_phone(phone)
    partner = partners.partner_by_key(partner_key)
    linked = any(
        link.partner_id == partner.id and link.status == "confirmed"
        for link in partners.links_of(resident.id)
    )
    if not linked:
        code = partner_links.request_link_code(resident.id, partner_key)
        partner_links.confirm_link(partner, code.link_code, external_id)
    return {"resident": phone, "external_id": external_id}


# Of the demo's trips, this share has no GPS trace: self-declared, paying nothing, counted
# apart; the others carry a realistic trace and are verified.
SELF_DECLARED_SHARE = 0.2
# The traces of the older days are sparser (quicker to seed): dropouts of up to a minute
# half the time, well inside the methodology's gap limit.
SPARSE = {"dropout_chance": 0.5, "longest_dropout_s": 60}


def _day_of_actions(
    rng: random.Random, profile: int, morning, rides: int = 0, sparse: bool = False
) -> list[dict]:
    """A resident's plausible actions on one day; each profile has its habits. Trips follow
    one another (a resident's trips never overlap); most carry a GPS trace (`sparse`: a
    fix about every half minute, as a phone saving its battery sends). `rides` more bus
    rides on the bus card (a participant's during the campaign)."""
    clock = [morning + timedelta(minutes=rng.randint(0, 120))]

    def trip(mode: str, km: float, traced: bool | None = None) -> dict:
        minutes = max(5, round(km / rng.uniform(*CRUISE_KMH[mode]) * 60))
        started = clock[0] + timedelta(minutes=rng.randint(10, 180))
        ended = started + timedelta(minutes=minutes)
        clock[0] = ended
        body = {
            "type": "trip",
            "mode": mode,
            "distance_km": Decimal(str(km)),
            "started_at": started,
            "ended_at": ended,
        }
        if traced is None:
            traced = rng.random() >= SELF_DECLARED_SHARE
        if traced:
            body["trace"] = synthetic_trace(
                rng, mode, started, ended, km, **(SPARSE if sparse else {})
            )
        return body

    bodies = []
    if profile in (0, 1):
        bodies.append(trip(rng.choice(["bus", "bike", "walk"]), round(rng.uniform(1, 4), 1)))
    if profile == 1 and rng.random() < 0.6:
        bodies.append(trip("rail", round(rng.uniform(10, 40), 1)))
    if profile in (2, 3) and rng.random() < 0.7:
        bodies.append(
            {
                "type": "garbage_sorting",
                "category": rng.choice(["recyclable", "kitchen", "other"]),
                "weight_kg": Decimal(str(round(rng.uniform(0.5, 3), 1))),
                "occurred_at": morning + timedelta(minutes=rng.randint(0, 600)),
            }
        )
    if profile == 4 and rng.random() < 0.4:
        bodies.append(
            {
                "type": "ev_charging",
                "energy_kwh": Decimal(str(round(rng.uniform(10, 45), 1))),
                "station_id": f"ZQ-{rng.randint(1, 40):03d}",
                "session_id": f"demo-{rng.getrandbits(40)}",
                "occurred_at": morning + timedelta(minutes=rng.randint(0, 600)),
            }
        )
    if rng.random() < 0.15:
        bodies.append(trip(rng.choice(["car", "taxi", "motorbike"]), round(rng.uniform(3, 15), 1)))
    for _ in range(rides):
        bodies.append(trip("bus", round(rng.uniform(2, 8), 1), traced=False) | {"card": True})
    return bodies


def _green_rides(rng: random.Random, profile: int, morning) -> list[dict]:
    """A day of the matching window: as many bus-card rides as the profile's habit has
    verified green trips (all that matching reads), cheap to seed."""
    count = 0
    if profile in GREEN_PROFILES and rng.random() >= SELF_DECLARED_SHARE:
        count += 1
    if profile == 1 and rng.random() < 0.6 and rng.random() >= SELF_DECLARED_SHARE:
        count += 1
    bodies, clock = [], morning + timedelta(minutes=rng.randint(0, 120))
    for _ in range(count):
        km = round(rng.uniform(2, 8), 1)
        started = clock + timedelta(minutes=rng.randint(10, 180))
        clock = started + timedelta(minutes=max(5, round(km / 24 * 60)))
        bodies.append(
            {
                "type": "trip",
                "mode": "bus",
                "distance_km": Decimal(str(km)),
                "started_at": started,
                "ended_at": clock,
                "card": True,
            }
        )
    return bodies


def _verified(body: dict, reporter: dict) -> bool:
    """Whether `body`, so reported, is verified (or will be, once the reviewer decides)."""
    return bool(reporter) or "trace" in body or body["type"] == "ev_charging"


def _reporter(rng: random.Random, profile: int, body: dict, feeds: dict) -> dict:
    """Who reports `body`: a partner's feed (its verified event) or the resident."""
    if body.pop("card", False):
        return {"source": "partner", "partner_id": feeds["bus"]}
    if body["type"] == "garbage_sorting" and profile == SORTS_AT_BINS:
        return {"source": "partner", "partner_id": feeds["garbage_sorting"]}
    if body.get("mode") == "bus" and rng.random() < PARTNER_BUS_SHARE:
        body.pop("trace", None)  # the card data is the evidence
        return {"source": "partner", "partner_id": feeds["bus"]}
    return {}


def impact_history_days() -> int:
    """How far back the demo's history reaches: the campaign's days so far, its
    participants' baseline before them and the matching window before that."""
    return CAMPAIGN_DAYS_AGO + 2 * current_app.config["IMPACT_BASELINE_DAYS"]


def _local_day_ago(days_ago: int):
    return local_day(utcnow()) - timedelta(days=days_ago)


def _morning(days_ago: int) -> datetime:
    """08:00 in Zhaoqing (00:00 UTC) of the local day `days_ago` days before today: the
    day's actions fall between 08:00 and 18:00, all of them before now."""
    return datetime.combine(_local_day_ago(days_ago), time(0), tzinfo=UTC)


def _seed_history(
    resident: Resident, phone: str, profile: int, feeds: dict, rides: float = 0.0
) -> None:
    """The resident's days: every kind of action over HISTORY_DAYS; before that back to
    the campaign's baseline, the verified ones; before that, their green trips. A
    participant (`rides` > 0) rides the bus `rides` more times a day from the campaign's
    first day."""
    if _has_actions(resident.id):
        return
    rng = random.Random(int(phone))  # the same history whatever ids the database gave
    baseline_from = CAMPAIGN_DAYS_AGO + current_app.config["IMPACT_BASELINE_DAYS"]
    for days_ago in range(impact_history_days(), 0, -1):
        morning = _morning(days_ago)
        if days_ago > baseline_from:
            bodies = _green_rides(rng, profile, morning)
        else:
            extra = int(days_ago <= CAMPAIGN_DAYS_AGO and rng.random() < rides)
            bodies = _day_of_actions(rng, profile, morning, extra, days_ago > HISTORY_DAYS)
        for body in bodies:
            occurred = body.get("ended_at") or body["occurred_at"]
            reporter = _reporter(rng, profile, body, feeds)
            if days_ago > HISTORY_DAYS and not _verified(body, reporter):
                continue  # what an estimate does not read: not seeded so far back
            try:
                actions.record_action(
                    resident, body, now=occurred + timedelta(minutes=1), **reporter
                )
            except TraceRefused:
                # A falsely refused trace (rare: `python -m loadtests.trace_checks` measures
                # how rare) leaves the trip self-declared rather than stop the seed.
                body.pop("trace")
                actions.record_action(resident, body, now=occurred + timedelta(minutes=1))


def _seed_reviews() -> None:
    """The demo reviewer has decided the evidence older than REVIEWED_AFTER_DAYS."""
    reviewer = staff.find_staff("demo-reviewer")
    cutoff = utcnow() - timedelta(days=REVIEWED_AFTER_DAYS)
    waiting = db.session.scalars(
        select(Action.id)
        .where(Action.status == "pending_review", Action.occurred_at < cutoff)
        .order_by(Action.id)
    ).all()
    for action_id in waiting:
        review.approve(action_id, reviewer.id)


def _has_actions(resident_id: int) -> bool:
    return db.session.scalar(select(exists().where(Action.resident_id == resident_id)))


def _seed_residents(campaign: Campaign) -> list[dict]:
    bus, _ = _demo_partner(DEMO_PARTNER, ["trip:bus", "ev_charging"])
    bins, _ = _demo_partner(DEMO_BINS, ["garbage_sorting"])
    feeds = {"bus": bus.id, "garbage_sorting": bins.id}
    # Their accounts are older than their history: a baseline and a matching window.
    opened = _morning(impact_history_days() + 1)
    seeded, people = [], []
    for index, (phone, nickname, district_code, community) in enumerate(DEMO_RESIDENTS + CROWD):
        resident = residents.find_or_create_by_phone(phone)
        residents.update_profile(
            resident,
            {"nickname": nickname, "district_code": district_code, "community": community},
        )
        if not _has_actions(resident.id) and resident.created_at > opened:
            resident.created_at = opened
        # The demo people have read the notice in force and share their trips' traces.
        for scope in CONSENT_SCOPES:
            consent.accept(resident, scope, current_privacy_version())
        people.append(resident)
        if index < len(DEMO_RESIDENTS):
            seeded.append({"phone": phone, "nickname": nickname})
    # Members before their history: what they did as members counts for the organisations.
    seed_organizations(people)
    seed_school_challenge(HISTORY_DAYS, lasts_days=7)
    phones = [phone for phone, *_ in DEMO_RESIDENTS + CROWD]
    for index, resident in enumerate(people):
        profile = index % len(DEMO_RESIDENTS)
        rides = _take_part(campaign, resident, phones[index], profile, index)
        _seed_history(resident, phones[index], profile, feeds, rides)
    return seeded


def _take_part(campaign: Campaign, resident: Resident, phone: str, profile: int, index: int):
    """Whether the resident took part in Energy Saving Week from its first day (the first
    three demo residents did; of the others, the greener more often), and if so how many
    more bus rides a day they took from then on (0.0 if not)."""
    rng = random.Random(f"campaign-{phone}")
    chance = TAKE_PART["green" if profile in GREEN_PROFILES else "other"]
    rides = rng.uniform(*CAMPAIGN_RIDES)
    if index >= 3 and rng.random() >= chance:
        return 0.0
    if db.session.get(Enrolment, (campaign.id, resident.id)) is None:
        if _has_actions(resident.id):
            return 0.0  # a re-seed of an older demo: they did not take part then
        campaigns.ensure_enrolled(campaign, resident.id)
        enrolment = db.session.get(Enrolment, (campaign.id, resident.id))
        # They joined as it opened, before their first trip of the day.
        enrolment.enrolled_at = campaign.starts_at + timedelta(minutes=rng.randint(1, 420))
    return rides


def _seed_campaign() -> tuple[Campaign, list]:
    """Energy Saving Week, running around today so the demo shows bonuses and check-ins."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.title == DEMO_CAMPAIGN))
    if campaign is None:
        # From midnight in Zhaoqing, CAMPAIGN_DAYS_AGO local days ago.
        opened = datetime.combine(_local_day_ago(CAMPAIGN_DAYS_AGO), time(0), tzinfo=LOCAL_TZ)
        campaign = campaigns.create_campaign(
            {
                "title": DEMO_CAMPAIGN,
                "description": (
                    "节能宣传周期间乘公交积分翻倍，参加活动奖励 50 积分，到打卡点扫码签到再得积分。"
                ),
                "event_key": "energy_saving_week",
                "starts_at": opened.astimezone(UTC),
                "ends_at": utcnow() + timedelta(days=CAMPAIGN_DAYS_LEFT),
                "multipliers": {"trip:bus": 2},
                "join_bonus": 50,
                "checkin_points": 30,
                "goal_co2e_g": 500_000,
            },
            staff_id=None,
        )
        campaigns.publish_campaign(campaign.id)
        for name, place, mode, _lat, _lon in DEMO_CHECKIN_POINTS:
            checkins.create_point(
                campaign.id, {"name": name, "place": place, "mode": mode, **_located(name)}
            )
    points = checkins.points_of(campaign.id)
    for point in points:
        if not point.located and point.name in DEMO_POINT_NAMES:
            # Seeded before points had locations: give them theirs, keeping their tokens.
            checkins.set_location(point.id, _located(point.name))
    return campaign, points


# Real places in Zhaoqing (WGS-84), so a newcomer can check in with a plausible position.
DEMO_CHECKIN_POINTS = (
    ("星湖绿道打卡点", "端州区星湖湿地公园东门", "poster", 23.0790, 112.4560),
    ("鼎湖山低碳驿站", "鼎湖区鼎湖山景区入口", "poster", 23.1640, 112.5430),
    ("七星岩牌坊打卡点", "端州区七星岩牌坊广场", "poster", 23.0640, 112.4720),
    ("节能宣传周主会场大屏", "端州区市民广场", "rotating", 23.0470, 112.4650),
)
DEMO_POINT_NAMES = {name for name, *_ in DEMO_CHECKIN_POINTS}


def _located(name: str) -> dict:
    for point_name, _place, _mode, latitude, longitude in DEMO_CHECKIN_POINTS:
        if point_name == name:
            return {"latitude": latitude, "longitude": longitude}
    raise KeyError(name)


def _checkin_credentials(points) -> dict:
    """The printed codes (the event screen's code is on its console page), and where each
    point is: a check-in sends the device's position, which must be near the point."""
    posters = [p for p in points if p.mode == "poster"]
    return {
        "checkin_tokens": [checkins.token_for(p) for p in posters],
        "checkin_points": [
            {
                "name": p.name,
                "token": checkins.token_for(p) if p.mode == "poster" else None,
                "mode": p.mode,
                "location": {"lat": p.latitude, "lon": p.longitude, "accuracy_m": 20},
            }
            for p in points
        ],
    }


DEMO_REWARDS = (
    ("公交乘车券 2 元", "肇庆公交集团", 300, 500, None),
    ("共享单车 7 天骑行卡", "肇庆共享单车", 1500, 200, 2),
    ("星湖湿地公园环保帆布袋", "肇庆市发展和改革局", 2500, 50, 1),
)


def _seed_rewards() -> None:
    if db.session.scalar(select(exists().where(Reward.title == DEMO_REWARDS[0][0]))):
        return
    now = utcnow()
    for title, merchant, cost, stock, limit in DEMO_REWARDS:
        rewards.create_reward(
            {
                "title": title,
                "merchant_name": merchant,
                "cost_points": cost,
                "stock": stock,
                "per_resident_limit": limit,
                "valid_from": now - timedelta(days=1),
                "valid_until": now + timedelta(days=90),
            }
        )


def _seed_drb_key(previous: dict) -> str:
    """The DRB key of the last seed while it still works, else a new one."""
    key = previous.get("drb_api_key")
    try:
        if key and stats_keys.live_key(key, stats_keys.STATS_SCOPE) is not None:
            return key
    except AppError:
        pass  # revoked since: issue a new one
    _row, key = stats_keys.create_key("发改局演示密钥")
    return key


def _metrics_token(previous: dict) -> str:
    """The token GET /metrics answers: METRICS_TOKEN if set, else the last seed's, else new
    (a development server reads it from the credentials file, backend.metrics)."""
    return (
        current_app.config["METRICS_TOKEN"]
        or previous.get("metrics_token")
        or secrets.token_urlsafe(32)
    )


def seed_impact() -> None:
    """What Energy Saving Week changed, computed once now (it reads the actions, not the
    worker's figures), so a newcomer sees it at once; the worker's daily job recomputes
    it. It reads committed data: `flask demo seed` calls it after committing the seed."""
    campaign = db.session.scalar(select(Campaign).where(Campaign.title == DEMO_CAMPAIGN))
    impact.compute(campaign)


def seed() -> dict:
    load_reference_data()
    previous = _previous_credentials()
    campaign, points = _seed_campaign()
    _seed_rewards()
    partner = _seed_partner()
    seeded_residents = _seed_residents(campaign)
    partner["linked_account"] = _seed_partner_link(partner["key"])
    staff_accounts = _seed_staff(previous)
    _seed_reviews()
    return {
        "staff": staff_accounts,
        "partner": partner,
        "residents": seeded_residents,
        **_checkin_credentials(points),
        "drb_api_key": _seed_drb_key(previous),
        "metrics_token": _metrics_token(previous),
    }
