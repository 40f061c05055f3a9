"""Leaderboards: ranks with ties, the caller's own place, periods in Asia/Shanghai, districts."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from campaigns.leaderboards import service
from tests.factories import make_resident, record, requeue, run_worker, staff_headers, trip

BEIJING = ZoneInfo("Asia/Shanghai")
GRAMS_PER_KG = 100  # garbage sorting, from points/methodology/factors.json
PLACE_FIELDS = {"rank", "nickname", "district_code", "co2e_g", "is_me"}


def garbage(grams: int, at: datetime | None = None) -> dict:
    body = {"type": "garbage_sorting", "category": "recyclable", "weight_kg": grams / GRAMS_PER_KG}
    if at is not None:
        body["occurred_at"] = at.astimezone(UTC).isoformat()  # as clients send it
    return body


def earn(client, who, grams: int, at: datetime | None = None) -> dict:
    response = record(client, who, garbage(grams, at))
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


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=BEIJING)


def test_week_month_and_all_time_split_at_asia_shanghai_midnight(client):
    """Sunday 23:59 and Monday 00:01 in Beijing are the same UTC day, but other weeks."""
    now = datetime.now(BEIJING)
    week_start = local_midnight(now.date() - timedelta(days=now.weekday()))
    last_week = week_start - timedelta(minutes=1)
    if now - last_week > timedelta(days=7, minutes=-5):
        pytest.skip("the last minutes of a week: last week is out of the recording window")
    this_week = week_start + timedelta(minutes=1)
    if this_week > now - timedelta(minutes=1):
        this_week = now
    assert (
        last_week.astimezone(UTC).date()
        == (week_start + timedelta(minutes=1)).astimezone(UTC).date()
    )
    me = make_resident(client, nickname="Me")
    earn(client, me, 100, last_week)
    earn(client, me, 200, this_week)

    week = residents_board(client, me, period="week").json
    iso = now.date().isocalendar()
    assert week["period"] == f"w{iso.year}-{iso.week:02d}"
    assert week["me"]["co2e_g"] == 200
    month = residents_board(client, me, period="month").json
    assert month["period"] == f"m{now:%Y-%m}"
    same_month = last_week.month == now.month
    assert month["me"]["co2e_g"] == 200 + (100 if same_month else 0)
    assert residents_board(client, me, period="all").json["me"]["co2e_g"] == 300


@pytest.mark.parametrize(
    ("moved_to", "week", "month"),
    [
        # the last second of this month and week (Asia/Shanghai): still counted
        ("end_of_week", 300, None),
        ("end_of_month", None, 300),
        # the first second of the next week and month: a new, empty board
        ("next_week", 0, None),
        ("next_month", None, 0),
    ],
)
def test_boards_turn_over_at_asia_shanghai_week_and_month_starts(
    client, monkeypatch, moved_to, week, month
):
    me = make_resident(client, nickname="Me")
    earn(client, me, 300)
    today = datetime.now(BEIJING).date()
    next_week = local_midnight(today + timedelta(days=7 - today.weekday()))
    next_month = local_midnight((today.replace(day=28) + timedelta(days=4)).replace(day=1))
    clock = {
        "end_of_week": next_week - timedelta(seconds=1),
        "end_of_month": next_month - timedelta(seconds=1),
        "next_week": next_week,
        "next_month": next_month,
    }[moved_to]
    monkeypatch.setattr(service, "utcnow", lambda: clock.astimezone(UTC))
    for period, expected in (("week", week), ("month", month)):
        if expected is not None:
            body = residents_board(client, me, period=period).json
            assert body["me"]["co2e_g"] == expected
            assert body["period"] == service.period_keys(clock.date())[period]
    assert residents_board(client, me, period="all").json["me"]["co2e_g"] == 300


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
