"""Badges and streaks: milestones awarded once, their points paid once, streaks of days."""

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backend.extensions import db
from campaigns.badges import service
from campaigns.badges.models import Streak
from points.ledger import service as ledger
from points.signals import ApprovedAction
from tests.factories import (
    make_resident,
    record,
    requeue,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)
from tests.moments import BOUNDARIES
from tests.test_leaderboards import earn

BADGES = {
    badge["key"]: badge
    for badge in json.loads(
        (Path(__file__).resolve().parent.parent / "campaigns/badges/badges.json").read_text()
    )["badges"]
}
BEIJING = ZoneInfo("Asia/Shanghai")
MAX_GARBAGE_G = 3000  # 30 kg at 100 g/kg, the most one garbage-sorting action may claim


def my_badges(client, who, **headers) -> dict:
    """The resident's badges once the worker has applied their approvals."""
    run_worker(client)
    response = client.get("/api/v1/me/badges", headers={**who.headers, **headers})
    assert response.status_code == 200, response.json
    return response.json


def earned(client, who) -> set[str]:
    return {badge["key"] for badge in my_badges(client, who)["items"] if badge["earned"]}


def badge_entries(client, who) -> list[tuple[str, int]]:
    run_worker(client)
    entries = client.get("/api/v1/me/ledger?limit=100", headers=who.headers).json["items"]
    return [(e["ref"], e["delta"]) for e in entries if e["kind"] == "badge"]


def ref(who, key: str) -> str:
    return f"badge:{key}/resident:{who.resident['id']}"


def test_every_badge_is_listed_with_whether_it_is_earned(client):
    me = make_resident(client)
    body = my_badges(client, me)
    assert [badge["key"] for badge in body["items"]] == list(BADGES)
    for badge in body["items"]:
        assert set(badge) == {"key", "name", "description", "points", "earned", "awarded_at"}
        assert badge["name"] == BADGES[badge["key"]]["name"]
        assert badge["points"] == BADGES[badge["key"]]["points"]
        assert badge["earned"] is False and badge["awarded_at"] is None
    assert body["streak"] == {"current": 0, "best": 0}
    english = my_badges(client, me, **{"Accept-Language": "en"})
    assert english["items"][0]["name"] == BADGES[english["items"][0]["key"]]["name_en"]
    assert client.get("/api/v1/me/badges").status_code == 401


def test_first_green_trip_is_awarded_once_and_pays_its_points_once(app, client):
    me = make_resident(client)
    record(client, me, trip("car", 12.0, 20, ended_minutes_ago=120))
    with app.app_context():
        # Even were a taxi ride to avoid CO2e, it is not in the methodology's green modes.
        taxi = approved_on(me.resident["id"], datetime.now(BEIJING).date(), "trip", "taxi")
        service.award_milestones([taxi])
        db.session.commit()
    assert "first_green_trip" not in earned(client, me)

    record(client, me, trip("bus"))
    record(client, me, trip("walk", 2, 30, ended_minutes_ago=40))
    body = my_badges(client, me)
    badge = next(b for b in body["items"] if b["key"] == "first_green_trip")
    assert badge["earned"] is True
    assert datetime.fromisoformat(badge["awarded_at"]) <= datetime.now(UTC)
    points = BADGES["first_green_trip"]["points"]
    assert badge_entries(client, me) == [(ref(me, "first_green_trip"), points)]
    actions = client.get("/api/v1/actions", headers=me.headers).json["items"]
    balance = client.get("/api/v1/me/account", headers=me.headers).json["balance"]
    assert balance == sum(action["points"] for action in actions) + points


def test_an_approval_applied_again_awards_nothing_twice(app, client):
    me = make_resident(client)
    action = record(client, me, trip("bike", 5, 30)).json
    run_worker(client)
    requeue(client, [action["id"]])
    assert badge_entries(client, me) == [
        (ref(me, "first_green_trip"), BADGES["first_green_trip"]["points"])
    ]
    assert my_badges(client, me)["streak"] == {"current": 1, "best": 1}


def test_award_badge_is_the_once_only_door_for_other_features(app, client):
    me = make_resident(client)
    with app.app_context():
        award = service.award_badge(me.resident["id"], "campaign_participant")
        assert award is not None and award.badge_key == "campaign_participant"
        assert service.award_badge(me.resident["id"], "campaign_participant") is None
        with pytest.raises(service.UnknownBadge):
            service.award_badge(me.resident["id"], "no_such_badge")
        db.session.commit()
    assert "campaign_participant" in earned(client, me)
    assert badge_entries(client, me) == []  # worth no points: no ledger entry


def test_co2e_milestones_follow_the_lifetime_total_whatever_the_caps(client):
    me = make_resident(client)
    for _ in range(3):
        earn(client, me, MAX_GARBAGE_G)
    assert earned(client, me) == set()  # 9 kg
    earn(client, me, MAX_GARBAGE_G)  # 12 kg: past 10 kg, though the day's points are capped
    assert earned(client, me) == {"co2e_10kg"}
    for _ in range(29):
        earn(client, me, MAX_GARBAGE_G)
    assert "co2e_100kg" not in earned(client, me)  # 99 kg
    earn(client, me, MAX_GARBAGE_G)
    assert earned(client, me) == {"co2e_10kg", "co2e_100kg"}
    account = client.get("/api/v1/me/account", headers=me.headers).json
    assert account["co2e_g_total"] == 34 * MAX_GARBAGE_G
    assert sorted(badge_entries(client, me)) == [
        (ref(me, "co2e_100kg"), BADGES["co2e_100kg"]["points"]),
        (ref(me, "co2e_10kg"), BADGES["co2e_10kg"]["points"]),
    ]


def test_one_tonne_is_reached_when_a_reviewer_approves(app, client):
    me = make_resident(client)
    reviewer = staff_headers(app, client, "reviewer")
    sessions = [
        record(
            client,
            me,
            {"type": "ev_charging", "energy_kwh": 150, "station_id": "B-1", "session_id": f"{i}"},
        ).json
        for i in range(8)
    ]
    assert sessions[0]["co2e_g"] * 7 < 1_000_000 <= sessions[0]["co2e_g"] * 8
    assert earned(client, me) == set()  # pending actions count for nothing yet
    for i, action in enumerate(sessions):
        response = client.post(f"/api/v1/staff/reviews/{action['id']}/approve", headers=reviewer)
        assert response.status_code == 200, response.json
        assert ("co2e_1t" in earned(client, me)) is (i == 7)


def days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def test_seven_consecutive_days_earn_the_streak_badge(client):
    me = make_resident(client)
    for days in range(6, 0, -1):
        earn(client, me, 100, days_ago(days))
    body = my_badges(client, me)
    assert body["streak"] == {"current": 6, "best": 6}  # up to yesterday: still alive
    assert "streak_7" not in earned(client, me)
    earn(client, me, 100)
    assert my_badges(client, me)["streak"] == {"current": 7, "best": 7}
    assert "streak_7" in earned(client, me)
    earn(client, me, 100, days_ago(3))  # an earlier day changes nothing
    earn(client, me, 100)  # nor does a second action today
    assert my_badges(client, me)["streak"] == {"current": 7, "best": 7}
    assert (ref(me, "streak_7"), BADGES["streak_7"]["points"]) in badge_entries(client, me)


def test_a_missed_day_starts_a_new_streak_and_car_trips_do_not_count(client):
    me = make_resident(client)
    earn(client, me, 100, days_ago(5))
    earn(client, me, 100, days_ago(4))
    record(client, me, trip("car", 12.0, 20, ended_minutes_ago=60 * 24 * 3))
    earn(client, me, 100, days_ago(2))
    assert my_badges(client, me)["streak"] == {"current": 0, "best": 2}  # lapsed yesterday
    earn(client, me, 100, days_ago(1))
    earn(client, me, 100)
    assert my_badges(client, me)["streak"] == {"current": 3, "best": 3}


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_streak_days_are_beijing_days_and_a_streak_shows_through_the_next_day(
    client, clock, boundary
):
    """23:59:59 and, a second later, 00:00:00 in Beijing (16:00 UTC) are two days of a
    streak; it reads as current until the end of the following Beijing day, then zero."""
    clock.move_to(boundary.midnight, tick=False)
    me = make_resident(client)
    earn(client, me, 100, boundary.last_second - timedelta(days=1))
    earn(client, me, 100, boundary.last_second)
    assert my_badges(client, me)["streak"] == {"current": 2, "best": 2}
    earn(client, me, 100)  # now: midnight
    assert my_badges(client, me)["streak"] == {"current": 3, "best": 3}

    clock.move_to(boundary.midnight + timedelta(days=2, seconds=-1), tick=False)
    me = sign_in(client, me.phone)  # a day later: the first access token has expired
    assert my_badges(client, me)["streak"] == {"current": 3, "best": 3}
    clock.move_to(boundary.midnight + timedelta(days=2), tick=False)
    assert my_badges(client, me)["streak"] == {"current": 0, "best": 3}


def test_thirty_consecutive_days_earn_the_month_streak(app, client):
    """Through the applier: the API accepts actions of the last 7 days only."""
    me = make_resident(client)
    today = datetime.now(BEIJING).date()
    with app.app_context():
        # One batch of thirty days, in the order the worker would hand them over.
        days = [today - timedelta(days=days) for days in range(29, -1, -1)]
        ledger.credit(
            service.award_milestones([approved_on(me.resident["id"], day) for day in days])
        )
        db.session.commit()
    assert my_badges(client, me)["streak"] == {"current": 30, "best": 30}
    assert {"streak_7", "streak_30"} <= earned(client, me)


def approved_on(
    resident_id: int, day: date, action_type: str = "garbage_sorting", variant: str = "kitchen"
) -> ApprovedAction:
    moment = datetime(day.year, day.month, day.day, 12, tzinfo=BEIJING)
    return ApprovedAction(
        action_id=0,  # the badges read no action
        resident_id=resident_id,
        action_type=action_type,
        variant=variant,
        co2e_g=100,
        points=100,
        capped=False,
        occurred_at=moment.astimezone(UTC),
        local_day=day,
        district_code=None,
        source="partner",
        verification="partner",
        status="approved",
        distance_m=None,
        factor_version="test",
    )


@pytest.mark.parametrize(
    ("before", "day", "after"),
    [
        (None, date(2026, 11, 24), (1, 1, date(2026, 11, 24))),
        ((0, 0, date(2026, 11, 24)), date(2026, 11, 24), (1, 1, date(2026, 11, 24))),
        ((3, 5, date(2026, 11, 24)), date(2026, 11, 25), (4, 5, date(2026, 11, 25))),
        ((5, 5, date(2026, 11, 24)), date(2026, 11, 25), (6, 6, date(2026, 11, 25))),
        ((3, 5, date(2026, 11, 24)), date(2026, 11, 24), (3, 5, date(2026, 11, 24))),
        ((3, 5, date(2026, 11, 24)), date(2026, 11, 20), (3, 5, date(2026, 11, 24))),
        ((3, 5, date(2026, 11, 24)), date(2026, 11, 26), (1, 5, date(2026, 11, 26))),
        ((9, 9, date(2026, 12, 31)), date(2027, 1, 1), (10, 10, date(2027, 1, 1))),
    ],
)
def test_the_streak_rule(before, day, after):
    streak = (
        None if before is None else Streak(current=before[0], best=before[1], last_day=before[2])
    )
    assert service.next_streak(streak, day) == after


@pytest.mark.parametrize(
    ("last_day_ago", "shown"), [(0, (4, 6)), (1, (4, 6)), (2, (0, 6)), (None, (0, 0))]
)
def test_a_streak_not_extended_yesterday_or_today_reads_as_zero(last_day_ago, shown):
    today = date(2026, 11, 24)
    streak = (
        None
        if last_day_ago is None
        else Streak(current=4, best=6, last_day=today - timedelta(days=last_day_ago))
    )
    assert service.shown_streak(streak, today) == shown


@dataclass(frozen=True)
class Facts:
    green_trip: bool = False
    co2e_total: int = 0
    streak: int = 0


@pytest.mark.parametrize(
    ("key", "facts", "earns"),
    [
        ("first_green_trip", Facts(green_trip=True), True),
        ("first_green_trip", Facts(co2e_total=10**9, streak=99), False),
        ("co2e_10kg", Facts(co2e_total=10_000), True),
        ("co2e_10kg", Facts(co2e_total=9_999), False),
        ("streak_7", Facts(streak=7), True),
        ("streak_7", Facts(streak=6), False),
        ("campaign_participant", Facts(True, 10**9, 99), False),  # awarded by campaigns only
    ],
)
def test_the_badge_criteria_on_plain_facts(key, facts, earns):
    assert service.qualifies(BADGES[key]["criterion"], facts) is earns


def test_a_green_trip_is_a_trip_by_a_green_mode():
    green = ("walk", "bike", "bus")
    assert service.is_green_trip("trip", "bike", green)
    assert not service.is_green_trip("trip", "car", green)
    assert not service.is_green_trip("garbage_sorting", "bike", green)
