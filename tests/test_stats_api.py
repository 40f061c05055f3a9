"""DRB statistics over HTTP: figures against hand-computed fixtures, suppression, exports."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pytest

from backend.extensions import db
from backend.residents.models import Resident
from points.actions import service as actions
from points.actions.schemas import ActionCreateSchema
from tests.factories import (
    make_campaign,
    make_resident,
    record,
    record_verified,
    run_worker,
    staff_headers,
)
from tests.moments import BOUNDARIES
from tests.stats_checks import (
    assert_nothing_recoverable,
    green_cells,
    summary_cells,
    timeseries_cells,
)

BEIJING = ZoneInfo("Asia/Shanghai")
MEASURES = ("participants", "actions", "co2e_g", "points_awarded")
GREEN_MEASURES = ("green_trips", "total_trips", "green_distance_m", "total_distance_m")


@pytest.fixture
def drb(app):
    result = app.test_cli_runner().invoke(args=["drb-key", "create", "发改局 reporting"])
    assert result.exit_code == 0, result.output
    key = next(word for word in result.output.split() if word.startswith("drb_"))
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def threshold(app, monkeypatch):
    """Set STATS_MIN_RESIDENTS for one test (small fixtures need a small threshold)."""

    def set_threshold(value: int) -> None:
        monkeypatch.setitem(app.config, "STATS_MIN_RESIDENTS", value)

    return set_threshold


def today() -> datetime:
    return datetime.now(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)


def at(days_ago: int, hour: int, minute: int = 0) -> datetime:
    """A Beijing wall-clock time `days_ago` days before today."""
    return today() - timedelta(days=days_ago) + timedelta(hours=hour, minutes=minute)


def garbage(grams_x100: int, when: datetime) -> dict:
    # recyclable: 100 g CO2e per kg (points/methodology/factors.json)
    return {
        "type": "garbage_sorting",
        "category": "recyclable",
        "weight_kg": grams_x100 / 100,
        "occurred_at": when.astimezone(UTC).isoformat(),
    }


def trip_ending(mode: str, km: float, ended: datetime, minutes: int = 30) -> dict:
    return {
        "type": "trip",
        "mode": mode,
        "distance_km": km,
        "started_at": (ended - timedelta(minutes=minutes)).astimezone(UTC).isoformat(),
        "ended_at": ended.astimezone(UTC).isoformat(),
    }


def recorded(client, who, body) -> dict:
    """A verified action (a partner's event), recorded through the service."""
    app = client.application
    with app.test_request_context():
        resident = db.session.get(Resident, who.resident["id"])
        loaded = ActionCreateSchema().load(body)
        action = actions.record_action(resident, loaded, source="partner")
        db.session.commit()
        assert action.status == "approved" and action.verification == "partner"
        return {"id": action.id, "co2e_g": action.co2e_g, "points": action.points}


def declared(client, who, body) -> dict:
    """A self-declared action, through the resident API."""
    response = record(client, who, body)
    assert response.status_code == 201, response.json
    assert response.json["verification"] == "self_declared"
    return response.json


def get(client, headers, path, **params):
    response = client.get(f"/api/v1/stats/{path}", query_string=params, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def day(days_ago: int) -> str:
    return (today() - timedelta(days=days_ago)).date().isoformat()


WEEK = "2026-W47"  # 16 to 22 November 2026: two days ago and yesterday (tests/moments.py)
MONTH = "2026-11"


# Figures


@pytest.fixture
def town(client):
    """Alice moves from 端州区 to 鼎湖区 between two trips, around midnight in Beijing;
    Bob drives in 鼎湖区; Carol has no district."""
    alice = make_resident(client, nickname="Alice", district_code="441202")
    bob = make_resident(client, nickname="Bob", district_code="441203")
    carol = make_resident(client, nickname="Carol")
    actions = {
        "alice_garbage": recorded(client, alice, garbage(300, at(2, 23, 50))),
        "alice_bus": recorded(client, alice, trip_ending("bus", 6.2, at(1, 0, 10))),
    }
    response = client.patch("/api/v1/me", json={"district_code": "441203"}, headers=alice.headers)
    assert response.status_code == 200
    actions["alice_walk"] = recorded(client, alice, trip_ending("walk", 2.0, at(1, 8, 0)))
    actions["bob_car"] = recorded(client, bob, trip_ending("car", 12.0, at(1, 9, 0), 20))
    actions["carol_garbage"] = recorded(client, carol, garbage(100, at(1, 10, 0)))
    run_worker(client)
    return {"residents": (alice, bob, carol), "actions": actions}


def test_summary_counts_each_resident_once_across_districts_and_days(client, drb, town, threshold):
    threshold(1)
    a = town["actions"]
    body = get(client, drb, "summary", period=WEEK)
    grams = sum(action["co2e_g"] for action in a.values())
    points = sum(action["points"] for action in a.values())
    assert a["bob_car"]["co2e_g"] == 0
    assert (body["participants"], body["actions"], body["co2e_g"]) == (3, 5, grams)
    assert body["points_awarded"] == points
    trips = body["by_type"]["trip"]
    assert (trips["participants"], trips["actions"]) == (2, 3)  # the car trip counts
    assert trips["co2e_g"] == a["alice_bus"]["co2e_g"] + a["alice_walk"]["co2e_g"]
    assert body["by_type"]["garbage_sorting"]["participants"] == 2
    assert body["by_type"]["ev_charging"] == {
        "participants": 0,
        "actions": 0,
        "co2e_g": 0,
        "points_awarded": 0,
        "suppressed": False,
    }
    assert body["meta"]["period"] == {
        "label": WEEK,
        "kind": "week",
        "from": "2026-11-16",
        "to": "2026-11-22",
    }
    assert body["meta"]["methodology_version"] == "2026.2"
    assert body["meta"]["suppression"]["min_residents"] == 1

    # The garbage at 23:50 is on the earlier Beijing day; the bus at 00:10 on the next.
    before_midnight = get(client, drb, "summary", period=day(2))
    assert (before_midnight["participants"], before_midnight["actions"]) == (1, 1)
    assert before_midnight["co2e_g"] == a["alice_garbage"]["co2e_g"] == 300

    old_district = get(client, drb, "summary", period=WEEK, district_code="441202")
    assert (old_district["participants"], old_district["actions"]) == (1, 2)
    new_district = get(client, drb, "summary", period=WEEK, district_code="441203")
    assert (new_district["participants"], new_district["actions"]) == (2, 2)


def test_timeseries_by_district_splits_days_and_keeps_distinct_totals(client, drb, town, threshold):
    threshold(1)
    body = get(
        client,
        drb,
        "timeseries",
        period=WEEK,
        granularity="day",
        group_by="district",
    )
    assert (
        [item["period"] for item in body["items"]][:2]
        == [day(2), day(1)]
        == ["2026-11-16", "2026-11-17"]
    )
    items = {item["period"]: item for item in body["items"]}
    first, second = ({g["key"]: g for g in items[d]["groups"]} for d in (day(2), day(1)))
    assert (first["441202"]["participants"], first["441202"]["actions"]) == (1, 1)
    assert (second["441202"]["participants"], second["441202"]["actions"]) == (1, 1)
    assert (second["441203"]["participants"], second["441203"]["actions"]) == (2, 2)
    assert (second[None]["participants"], second[None]["actions"]) == (1, 1)  # Carol
    assert second[None]["name"] == "未选择区县"
    totals = {g["key"]: g for g in body["totals"]["groups"]}
    assert (totals["441202"]["participants"], totals["441202"]["actions"]) == (1, 2)
    assert body["totals"]["total"]["participants"] == 3  # not 1 + 3: Alice is one resident
    assert items[day(1)]["total"]["participants"] == 3
    assert_nothing_recoverable(*timeseries_cells(body), MEASURES)


def test_timeseries_by_type_per_iso_week_and_month(client, drb, town, threshold):
    threshold(1)
    # November 2026 begins on a Sunday (W44) and ends on a Monday (W49)
    for granularity, period, rows in (("week", MONTH, 6), ("month", "2026-Q4", 3)):
        body = get(client, drb, "timeseries", period=period, granularity=granularity)
        assert body["totals"]["total"]["participants"] == 3
        assert len(body["items"]) == rows
        assert sum(item["total"]["actions"] for item in body["items"]) == 5
        assert body["items"][0]["from"] == body["meta"]["period"]["from"]
        assert body["items"][-1]["to"] == body["meta"]["period"]["to"]
        assert_nothing_recoverable(*timeseries_cells(body), MEASURES)
    months = get(client, drb, "timeseries", period="2026-11", granularity="week")
    assert months["items"][-1] == {**months["items"][-1], "period": "2026-W49"}
    assert (months["items"][-1]["from"], months["items"][-1]["to"]) == ("2026-11-30",) * 2


def test_green_travel_counts_every_trip_of_central_city_residents(client, drb, town, threshold):
    threshold(1)
    body = get(client, drb, "green-travel", period=MONTH)
    assert (body["green_trips"], body["total_trips"]) == (2, 3)  # bus, walk / bus, walk, car
    assert body["share"] == round(2 / 3, 4)
    assert (body["green_distance_m"], body["total_distance_m"]) == (8200, 20200)
    assert body["distance_weighted_share"] == round(8200 / 20200, 4)
    assert body["target"] == 0.7
    districts = {d["district_code"]: d for d in body["by_district"]}
    assert list(districts) == ["441202", "441203", "441204"]
    assert (districts["441202"]["green_trips"], districts["441202"]["total_trips"]) == (1, 1)
    assert (districts["441203"]["green_trips"], districts["441203"]["total_trips"]) == (1, 2)
    assert districts["441204"]["share"] is None and districts["441204"]["total_trips"] == 0
    assert sum(month["total_trips"] for month in body["trend"]) == 3
    meta = body["meta"]
    assert meta["central_city_districts"] == ["441202", "441203", "441204"]
    assert "car" in meta["all_modes"] and "car" not in meta["green_modes"]
    assert meta["measures"] and meta["not_measured"] and "肇府" in meta["target_source"]
    assert_nothing_recoverable(*green_cells(body), GREEN_MEASURES)


def test_campaign_filter_counts_only_the_actions_a_campaign_counted(app, client, drb, threshold):
    threshold(1)
    staff = staff_headers(app, client, "campaign_admin")
    campaign = make_campaign(client, staff)
    member, outsider = make_resident(client), make_resident(client)
    enrolled = client.post(f"/api/v1/campaigns/{campaign['id']}/enrol", headers=member.headers)
    assert enrolled.status_code in (200, 201), enrolled.json
    # Verified sorting (a partner's): a campaign counts verified grams only.
    counted = record_verified(client, None, member, garbage(200, datetime.now(UTC))).json
    record_verified(client, None, outsider, garbage(500, datetime.now(UTC)))
    run_worker(client)
    body = get(client, drb, "summary", campaign_id=campaign["id"])
    assert (body["participants"], body["actions"], body["co2e_g"]) == (1, 1, counted["co2e_g"])
    assert body["meta"]["campaign_id"] == campaign["id"]
    everyone = get(client, drb, "summary")
    assert everyone["actions"] == 2


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_statistics_split_days_weeks_and_months_at_beijing_midnight(
    app, client, clock, drb, threshold, boundary
):
    """Actions at 15:59:59 and 16:00:00 UTC, one UTC day, fall on two Beijing days, and on
    two ISO weeks or months when one begins; "today" turns over at the same second."""
    threshold(1)
    clock.move_to(boundary.last_second, tick=False)
    month_before = boundary.day_before.strftime("%Y-%m")
    assert get(client, drb, "summary")["meta"]["period"]["label"] == month_before
    recorded(client, make_resident(client), garbage(300, boundary.last_second))
    clock.move_to(boundary.midnight, tick=False)
    recorded(client, make_resident(client), garbage(200, boundary.midnight))
    run_worker(client)
    assert get(client, drb, "summary")["meta"]["period"]["label"] == boundary.day.strftime("%Y-%m")
    assert app.test_cli_runner().invoke(args=["stats", "check"]).exit_code == 0

    before, after = boundary.day_before.isoformat(), boundary.day.isoformat()
    for day, grams in ((before, 300), (after, 200)):
        body = get(client, drb, "summary", period=day)
        assert (body["participants"], body["actions"], body["co2e_g"]) == (1, 1, grams)
    both = {"from": month_before, "to": boundary.day.strftime("%Y-%m")}
    for granularity, split in (
        ("day", True),
        ("week", boundary.new_week),
        ("month", boundary.new_month),
    ):
        body = get(client, drb, "timeseries", **both, granularity=granularity)
        items = [
            (item["from"], item["to"], item["total"]["actions"])
            for item in body["items"]
            if item["total"]["actions"]
        ]
        assert [count for *_, count in items] == ([1, 1] if split else [2]), granularity
        assert items[0][0] <= before <= items[0][1] and items[-1][0] <= after <= items[-1][1]


# Suppression


def test_small_groups_are_left_out_and_totals_add_up(client, drb, threshold):
    threshold(3)
    now = datetime.now(UTC) - timedelta(minutes=10)
    for _ in range(4):
        recorded(client, make_resident(client, district_code="441202"), garbage(100, now))
    lone = make_resident(client, district_code="441203")
    recorded(client, lone, trip_ending("bus", 5.0, now))
    run_worker(client)
    body = get(client, drb, "summary")
    trip = body["by_type"]["trip"]
    assert trip == {m: None for m in MEASURES} | {"suppressed": True}
    # The lone trip is in no figure: the total is the garbage sorting, shown.
    garbage_cell = body["by_type"]["garbage_sorting"]
    assert not body["suppressed"] and not garbage_cell["suppressed"]
    assert (body["participants"], body["actions"], body["co2e_g"]) == (4, 4, 400)
    assert garbage_cell["co2e_g"] == 400
    assert_nothing_recoverable(*summary_cells(body), MEASURES)

    series = get(client, drb, "timeseries", group_by="district", granularity="week")
    hidden = assert_nothing_recoverable(*timeseries_cells(series), MEASURES)
    assert any(key[1] == "441203" for key in hidden)
    green = get(client, drb, "green-travel")
    hidden = assert_nothing_recoverable(*green_cells(green), GREEN_MEASURES)
    assert ("district", "441203") in hidden


def test_default_threshold_is_ten_residents(client, drb, town):
    body = get(client, drb, "summary", period=WEEK)
    assert body["meta"]["suppression"]["min_residents"] == 10
    assert body["suppressed"] and body["participants"] is None
    assert "10" in body["meta"]["suppression"]["rule"]


def test_no_response_carries_personal_data(client, drb, town, threshold):
    threshold(1)
    period = {"period": MONTH}
    texts = [
        json.dumps(get(client, drb, "summary", **period), ensure_ascii=False),
        json.dumps(
            get(client, drb, "timeseries", **period, group_by="district"), ensure_ascii=False
        ),
        json.dumps(get(client, drb, "green-travel", **period), ensure_ascii=False),
        client.get("/api/v1/stats/export.csv", query_string=period, headers=drb).data.decode(
            "utf-8-sig"
        ),
    ]
    for who in town["residents"]:
        for text in texts:
            assert who.phone not in text
            assert who.resident["phone_masked"] not in text
            for name in ("Alice", "Bob", "Carol"):
                assert name not in text
            assert '"resident_id"' not in text and '"id"' not in text


# Validation


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-03", "to": "2026-12-03"}, "from"),  # a day range: attack 7
        ({"from": "2026-09", "to": "2026-11-15"}, "to"),
        ({"from": "2026-11", "to": "2026-09"}, "to"),
        ({"from": "2025-01", "to": "2026-06"}, "to"),  # 18 months
        ({"period": "2019-12"}, "period"),
        ({"period": "2026-W54"}, "period"),
        ({"period": "2026-Q5"}, "period"),
        ({"period": "2026-11", "from": "2026-09"}, "period"),
        ({"period": "2026-W47", "granularity": "month"}, "granularity"),
        ({"district_code": "999999"}, "district_code"),
        ({"campaign_id": 999999}, "campaign_id"),
        ({"granularity": "hour"}, "granularity"),
        ({"group_by": "district", "district_code": "441202"}, "district_code"),
        ({"resident_id": 1}, "resident_id"),
    ],
)
def test_bad_arguments_get_422_with_the_field(client, drb, params, field):
    response = client.get("/api/v1/stats/timeseries", query_string=params, headers=drb)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]


# Exports


def test_csv_export_opens_with_the_csv_module_after_the_bom(client, drb, town, threshold):
    threshold(1)
    params = {"period": WEEK, "granularity": "day", "group_by": "type", "lang": "en"}
    response = client.get("/api/v1/stats/export.csv", query_string=params, headers=drb)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert disposition == (
        'attachment; filename="zq-carbon-stats-by-type-2026-W47.csv"; '
        "filename*=UTF-8''zq-carbon-stats-by-type-2026-W47.csv"
    )
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data[3:].decode("utf-8"))))
    blank = rows.index([])
    header = dict(rows[:blank])
    assert header["period"] == WEEK
    assert (header["from"], header["to"]) == ("2026-11-16", "2026-11-22")
    assert header["methodology_version"] == "2026.2"
    assert "1" in header["suppression"]
    assert rows[blank + 1] == [
        "period", "from", "to", "group_by", "key", "name",
        "participants", "actions", "co2e_g", "points_awarded", "suppressed", "verification",
    ]  # fmt: skip
    table = [dict(zip(rows[blank + 1], row, strict=True)) for row in rows[blank + 2 :]]
    # seven days and the total, each: all types, four types, and the self-declared row
    assert len(table) == 8 * 6
    total = next(r for r in table if r["period"] == "total" and r["key"] == "total")
    assert (total["participants"], total["actions"]) == ("3", "5")
    assert all(r["suppressed"] == "false" for r in table)
    declared_rows = [r for r in table if r["verification"] == "self_declared"]
    assert len(declared_rows) == 8 and all(r["key"] == "self_declared" for r in declared_rows)


def test_csv_export_leaves_suppressed_cells_empty(client, drb, town):
    params = {"period": WEEK}
    response = client.get("/api/v1/stats/export.csv", query_string=params, headers=drb)
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    table = rows[rows.index([]) + 2 :]
    hidden = [row for row in table if row[-2] == "是"]  # Chinese by default
    assert hidden and all(value == "" for row in hidden for value in row[6:10])


def test_xlsx_export_loads_with_openpyxl(client, drb, town, threshold):
    threshold(1)
    params = {"from": "2026-10", "to": "2026-11", "group_by": "district", "granularity": "month"}
    response = client.get("/api/v1/stats/export.xlsx", query_string=params, headers=drb)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    labels = dict(book["说明"].iter_rows(values_only=True))
    assert labels["方法学版本"] == "2026.2"
    assert (labels["统计期"], labels["起始日"]) == ("2026-10..2026-11", "2026-10-01")
    assert (
        'filename="zq-carbon-stats-by-district-2026-10_2026-11.xlsx"'
        in (response.headers["Content-Disposition"])
    )
    rows = list(book["统计"].iter_rows(values_only=True))
    assert rows[0][6:10] == ("参与人数", "行为次数", "减排量（克 CO2e）", "基础积分")
    names = {row[5] for row in rows[1:]}
    assert {"端州区", "鼎湖区"} <= names
