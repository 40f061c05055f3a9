"""Leaderboards: ranks with ties, the caller's own place, periods in Asia/Shanghai, districts."""

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.leaderboards import service
from tests.factories import (
    make_resident,
    record,
    record_verified,
    requeue,
    run_worker,
    staff_headers,
    trip,
)
from tests.moments import BOUNDARIES, beijing

BEIJING = ZoneInfo("Asia/Shanghai")
GRAMS_PER_KG = 100  # garbage sorting, from points/methodology/factors.json
PLACE_FIELDS = {"rank", "nickname", "district_code", "co2e_g", "is_me"}


def garbage(grams: int, at: datetime | None = None) -> dict:
    body = {"type": "garbage_sorting", "category": "recyclable", "weight_kg": grams / GRAMS_PER_KG}
    if at is not None:
        body["occurred_at"] = at.astimezone(UTC).isoformat()  # as clients send it
    return body


def earn(client, who, grams: int, at: datetime | None = None) -> dict:
    """Verified grams (a partner's event): what the boards count. Sorting the resident
    reports is self-declared and counts for no board."""
    response = record_verified(client, None, who, garbage(grams, at))
    assert response.status_code == 201, response.json
    assert response.json["co2e_g"] == grams
    return response.json


def residents_board(client, who, **params):
    """The board once the worker has applied the approvals so far."""
    run_worker(client)
    return client.get("/api/v1/leaderboards/residents", query_string=params, headers=who.headers)


def districts_board(client, who, **params):
    run_worker(client)
    return client.get("/api/v1/leaderboards/districts", query_string=params, headers=who.headers)


def places(board: dict) -> list[tuple]:
    return [(item["rank"], item["nickname"], item["co2e_g"], item["is_me"]) for item in board]


# Residents


def test_ties_share_a_rank_and_the_next_rank_skips(client):
    alice = make_resident(client, nickname="Alice")
    bob = make_resident(client, nickname="Bob")
    carol = make_resident(client, nickname="Carol")
    dan = make_resident(client, nickname="Dan")
    earn(client, alice, 300)
    earn(client, bob, 200)
    earn(client, bob, 100)  # totals add up: 300, a tie with Alice
    earn(client, carol, 500)
    earn(client, dan, 100)

    response = residents_board(client, bob, period="all")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["period"] == "all"
    assert datetime.fromisoformat(body["as_of"]) <= datetime.now(UTC)
    ranked = places(body["items"])
    assert ranked[0] == (1, "Carol", 500, False)
    assert sorted(ranked[1:3]) == [(2, "Alice", 300, False), (2, "Bob", 300, True)]
    assert ranked[3] == (4, "Dan", 100, False)
    assert body["me"] == {"rank": 2, "co2e_g": 300}


def test_places_show_no_ids_or_phone_numbers(client):
    alice = make_resident(client, nickname="Alice", district_code="441202")
    earn(client, alice, 100)
    body = residents_board(client, alice, period="all").json
    assert set(body["items"][0]) == PLACE_FIELDS
    text = str(body)
    assert alice.phone not in text
    assert alice.resident["phone_masked"] not in text


def test_my_rank_outside_the_top_list_counts_everyone_above_me(client):
    top = [make_resident(client, nickname=f"Top {i}") for i in range(3)]
    for grams, who in zip((500, 400, 400), top, strict=True):
        earn(client, who, grams)
    me = make_resident(client, nickname="Me")
    earn(client, me, 100)
    body = residents_board(client, me, period="all", limit=2).json
    assert [item["rank"] for item in body["items"]] == [1, 2]
    assert not any(item["is_me"] for item in body["items"])
    assert body["me"] == {"rank": 4, "co2e_g": 100}


def test_without_co2e_in_the_period_i_have_no_rank(client):
    other = make_resident(client, nickname="Other")
    earn(client, other, 100)
    me = make_resident(client)
    body = residents_board(client, me).json
    assert body["me"] == {"rank": None, "co2e_g": 0}
    assert [item["nickname"] for item in body["items"]] == ["Other"]


def test_residents_without_a_nickname_get_a_stable_pseudonym(client):
    first, second = make_resident(client), make_resident(client)
    earn(client, first, 200)
    earn(client, second, 100)
    body = residents_board(client, first, period="all").json
    names = [item["nickname"] for item in body["items"]]
    assert all(re.fullmatch(r"绿色市民[0-9A-F]{4}", name) for name in names), names
    again = residents_board(client, second, period="all").json
    assert [item["nickname"] for item in again["items"]] == names
    in_english = client.get(
        "/api/v1/leaderboards/residents?period=all",
        headers={**first.headers, "Accept-Language": "en"},
    ).json
    assert in_english["items"][0]["nickname"] == "Green resident " + names[0][-4:]


def test_car_trips_and_pending_actions_make_no_place(client):
    driver = make_resident(client, nickname="Driver", district_code="441202")
    assert record(client, driver, trip("car", 12.0, 20)).json["co2e_g"] == 0
    charger = make_resident(client, nickname="Charger", district_code="441202")
    body = {"type": "ev_charging", "energy_kwh": 10, "station_id": "LB-1", "session_id": "s-1"}
    assert record(client, charger, body).json["status"] == "pending_review"

    board = residents_board(client, driver, period="all").json
    assert board["items"] == []
    assert board["me"] == {"rank": None, "co2e_g": 0}
    assert districts_board(client, driver, period="all").json["items"] == []


def test_a_pending_action_counts_once_a_reviewer_approves_it(app, client):
    charger = make_resident(client, nickname="Charger")
    body = {"type": "ev_charging", "energy_kwh": 10, "station_id": "LB-1", "session_id": "s-1"}
    pending = record(client, charger, body).json
    reviewer = staff_headers(app, client, "reviewer")
    approved = client.post(f"/api/v1/staff/reviews/{pending['id']}/approve", headers=reviewer)
    assert approved.status_code == 200, approved.json
    board = residents_board(client, charger, period="all").json
    assert places(board["items"]) == [(1, "Charger", pending["co2e_g"], True)]


def test_an_approval_applied_again_is_counted_once(app, client):
    me = make_resident(client, nickname="Me", district_code="441202")
    action = earn(client, me, 300)
    run_worker(client)
    requeue(client, [action["id"]])
    assert residents_board(client, me, period="all").json["me"] == {"rank": 1, "co2e_g": 300}
    district = districts_board(client, me, period="all").json["items"][0]
    assert (district["co2e_g"], district["participants"]) == (300, 1)


# Periods


def my_boards(client, who) -> dict[str, tuple[str, int]]:
    """The caller's (period key, CO2e) on the boards of this week, this month and all time."""
    boards = {
        period: residents_board(client, who, period=period).json
        for period in ("week", "month", "all")
    }
    return {period: (board["period"], board["me"]["co2e_g"]) for period, board in boards.items()}


@pytest.mark.parametrize(
    ("now", "week", "month"),
    [
        # 100 g on Sunday 23:59 and 200 g on Monday 00:01, in Beijing, as the week of `now`
        # begins; the (key, CO2e) of the week and the month boards at `now`.
        pytest.param(
            beijing(2026, 11, 18, 10), ("w2026-47", 200), ("m2026-11", 300), id="mid-month"
        ),
        pytest.param(  # the day this test first failed: the week began in November
            beijing(2026, 12, 3, 10), ("w2026-49", 200), ("m2026-12", 0), id="begun-last-month"
        ),
        pytest.param(
            beijing(2027, 2, 3, 10), ("w2027-05", 200), ("m2027-02", 200), id="begun-with-month"
        ),
    ],
)
def test_week_month_and_all_time_split_at_asia_shanghai_midnight(client, clock, now, week, month):
    """Sunday 23:59 and Monday 00:01 in Beijing are the same UTC day, but other weeks."""
    clock.move_to(now)
    monday = datetime.combine(now.date() - timedelta(days=now.weekday()), time(), BEIJING)
    sunday_late, monday_early = monday - timedelta(minutes=1), monday + timedelta(minutes=1)
    assert sunday_late.astimezone(UTC).date() == monday_early.astimezone(UTC).date()
    me = make_resident(client, nickname="Me")
    earn(client, me, 100, sunday_late)
    earn(client, me, 200, monday_early)
    assert my_boards(client, me) == {"week": week, "month": month, "all": ("all", 300)}


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_boards_turn_over_at_beijing_midnight(client, clock, boundary):
    """Until 15:59:59 UTC the boards are those of the Beijing day before; at 16:00:00 UTC a
    week or a month that begins starts from an empty board, and takes the new actions."""
    clock.move_to(boundary.last_second, tick=False)
    me = make_resident(client, nickname="Me")
    earn(client, me, 300)  # now: the last second of the day before
    assert my_boards(client, me) == {
        "week": (boundary.weeks[0], 300),
        "month": (boundary.months[0], 300),
        "all": ("all", 300),
    }

    clock.move_to(boundary.midnight, tick=False)
    week = 0 if boundary.new_week else 300
    month = 0 if boundary.new_month else 300
    assert my_boards(client, me) == {
        "week": (boundary.weeks[1], week),
        "month": (boundary.months[1], month),
        "all": ("all", 300),
    }
    earn(client, me, 200)  # now: midnight
    assert my_boards(client, me) == {
        "week": (boundary.weeks[1], week + 200),
        "month": (boundary.months[1], month + 200),
        "all": ("all", 500),
    }


@pytest.mark.parametrize(
    ("day", "week", "month"),
    [
        (date(2026, 11, 24), "w2026-48", "m2026-11"),
        (date(2026, 11, 30), "w2026-49", "m2026-11"),
        (date(2027, 1, 1), "w2026-53", "m2027-01"),  # ISO week of the year before
        (date(2025, 12, 29), "w2026-01", "m2025-12"),
    ],
)
def test_period_keys_are_iso_weeks_and_calendar_months(day, week, month):
    assert service.period_keys(day) == {"all": "all", "week": week, "month": month}


# Districts and the district filter


def test_district_filter_ranks_residents_within_the_district(client):
    alice = make_resident(client, nickname="Alice", district_code="441202")
    bob = make_resident(client, nickname="Bob", district_code="441203")
    carol = make_resident(client, nickname="Carol", district_code="441202")
    earn(client, alice, 500)
    earn(client, bob, 900)
    earn(client, carol, 100)

    body = residents_board(client, carol, period="week", district_code="441202").json
    assert body["district_code"] == "441202"
    assert places(body["items"]) == [(1, "Alice", 500, False), (2, "Carol", 100, True)]
    assert {item["district_code"] for item in body["items"]} == {"441202"}
    assert body["me"] == {"rank": 2, "co2e_g": 100}
    city = residents_board(client, carol, period="week").json
    assert city["me"] == {"rank": 3, "co2e_g": 100}
    elsewhere = residents_board(client, bob, period="week", district_code="441202").json
    assert elsewhere["me"] == {"rank": None, "co2e_g": 900}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"district_code": "999999"}, "district_code"),
        ({"period": "year"}, "period"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
    ],
)
def test_bad_board_parameters_are_422_with_field_messages(client, params, field):
    me = make_resident(client)
    response = residents_board(client, me, **params)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


def test_boards_need_a_signed_in_resident(client):
    assert client.get("/api/v1/leaderboards/residents").status_code == 401
    assert client.get("/api/v1/leaderboards/districts").status_code == 401


def test_districts_rank_by_co2e_per_participant_rounded_down(client):
    dz1 = make_resident(client, nickname="A", district_code="441202")
    dz2 = make_resident(client, nickname="C", district_code="441202")
    dh1 = make_resident(client, nickname="B", district_code="441203")
    dh2 = make_resident(client, nickname="D", district_code="441203")
    gy = make_resident(client, nickname="E", district_code="441204")
    nowhere = make_resident(client, nickname="F")
    idle = make_resident(client, nickname="G", district_code="441223")
    earn(client, dz1, 500)
    earn(client, dz1, 100)  # a second action adds CO2e, not a participant
    earn(client, dz2, 100)
    earn(client, dh1, 700)
    earn(client, dh2, 101)
    earn(client, gy, 350)
    earn(client, nowhere, 2500)  # no district: on no district's board

    body = districts_board(client, gy, period="month").json
    assert body["period"].startswith("m")
    fields = ("rank", "district_code", "name", "co2e_g", "participants", "co2e_g_per_participant")
    rows = [tuple(d[name] for name in fields) for d in body["items"]]
    assert rows == [
        (1, "441203", "鼎湖区", 801, 2, 400),  # 400.5 rounded down
        (2, "441202", "端州区", 700, 2, 350),
        (2, "441204", "高要区", 350, 1, 350),  # a tie shares the rank
    ]
    assert body["me"] == {"district_code": "441204", "rank": 2}
    assert districts_board(client, nowhere).json["me"] is None
    assert districts_board(client, idle).json["me"] == {"district_code": "441223", "rank": None}


def test_a_resident_who_moves_takes_their_period_total_to_the_new_district(client):
    mover = make_resident(client, nickname="Mover", district_code="441202")
    stayer = make_resident(client, nickname="Stayer", district_code="441202")
    earn(client, mover, 500)
    earn(client, stayer, 100)
    moved = client.patch("/api/v1/me", json={"district_code": "441203"}, headers=mover.headers)
    assert moved.status_code == 200
    earn(client, mover, 100)

    body = districts_board(client, mover, period="all").json
    rows = [(d["district_code"], d["co2e_g"], d["participants"]) for d in body["items"]]
    assert rows == [("441203", 600, 1), ("441202", 100, 1)]
    assert body["me"] == {"district_code": "441203", "rank": 1}
    there = residents_board(client, mover, period="all", district_code="441203").json
    assert places(there["items"]) == [(1, "Mover", 600, True)]
    here = residents_board(client, stayer, period="all", district_code="441202").json
    assert places(here["items"]) == [(1, "Stayer", 100, True)]
