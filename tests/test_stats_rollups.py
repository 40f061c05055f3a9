"""Rollups equal raw: random action streams through the service layer, `flask stats check`
and `flask stats rebuild`, and long trends recorded as history."""

import itertools
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select, update

from admin.stats import green_travel, periods, service
from admin.stats.models import (
    StatsCountedAction,
    StatsDay,
    StatsParticipant,
    StatsParticipantCount,
)
from backend.consent import service as consent
from backend.errors import ValidationFailed
from backend.extensions import db
from backend.legal.notice import current_privacy_version
from backend.residents.service import find_or_create_by_phone
from backend.staff.service import create_staff
from backend.worker import drain_until_empty
from campaigns import service as campaigns
from campaigns.models import CampaignAction
from points.actions import service as actions
from points.actions.models import VERIFIED, Action, ApprovalOutbox

BEIJING = ZoneInfo("Asia/Shanghai")
DISTRICTS = (None, "441202", "441203", "441204", "441223")
KINDS = ("walk", "bike", "bus", "rail", "car", "taxi", "garbage", "ev")
KMH = {"walk": 5, "bike": 15, "bus": 30, "rail": 60, "car": 40, "taxi": 40}
ROLLUPS = (StatsDay, StatsParticipant, StatsParticipantCount, StatsCountedAction)
_phones = itertools.count(1)
_sessions = itertools.count(1)


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


@pytest.fixture
def reviewer_id(app, db_session):
    with app.app_context():
        staff_id = create_staff("stats-reviewer", "reviewer", "correct horse battery").id
        db.session.commit()
    return staff_id


def beijing_day_start(days_ago: int) -> datetime:
    today = datetime.now(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def body_for(kind: str, size: int, when: datetime) -> dict:
    if kind in KMH:
        minutes = max(1, size * 60 // KMH[kind] + 1)
        return {
            "type": "trip",
            "mode": kind,
            "distance_km": Decimal(size),
            "started_at": when - timedelta(minutes=minutes),
            "ended_at": when,
        }
    if kind == "garbage":
        return {
            "type": "garbage_sorting",
            "category": "recyclable",
            "weight_kg": Decimal(size) / 2,
            "occurred_at": when,
        }
    return {
        "type": "ev_charging",
        "energy_kwh": Decimal(size * 5),
        "station_id": "ZQ-1",
        "session_id": f"s-{next(_sessions)}",
        "occurred_at": when,
    }


def new_resident():
    resident = find_or_create_by_phone(f"137{next(_phones):08d}")
    consent.accept(resident, "privacy", current_privacy_version())  # as a sign-up does
    return resident


def new_campaign() -> int:
    now = datetime.now(UTC)
    campaign = campaigns.create_campaign(
        {
            "title": "低碳日",
            "starts_at": now - timedelta(days=100),
            "ends_at": now + timedelta(days=7),
            "multipliers": {"trip": 2},
        },
        None,
    )
    campaigns.publish_campaign(campaign.id)
    return campaign.id


def raw(start: date, end: date, campaign_id=None, district=None, verified=True) -> dict:
    """Participants, actions, grams and points straight from the approved actions."""
    levels = VERIFIED if verified else ("self_declared",)
    query = select(Action.resident_id, Action.type, Action.co2e_g, Action.points).where(
        Action.status == "approved",
        Action.local_day.between(start, end),
        Action.verification.in_(levels),
    )
    if campaign_id is not None:
        query = query.join(
            CampaignAction,
            (CampaignAction.action_id == Action.id) & (CampaignAction.campaign_id == campaign_id),
        )
    if district is not None:
        query = query.where(Action.district_code == district)
    cells = defaultdict(lambda: [set(), 0, 0, 0])
    for resident_id, kind, grams, points in db.session.execute(query):
        for key in ("total", kind):
            cell = cells[key]
            cell[0].add(resident_id)
            cell[1] += 1
            cell[2] += grams
            cell[3] += points
    return {key: (len(c[0]), c[1], c[2], c[3]) for key, c in cells.items()}


def figures(cell: dict) -> tuple:
    return (cell["participants"], cell["actions"], cell["co2e_g"], cell["points_awarded"])


def assert_summary_equals_raw(period, **filters) -> None:
    body = service.summary(period, **filters)
    start, end = period.start, period.end
    expected = raw(start, end, filters.get("campaign_id"), filters.get("district_code"))
    assert figures(body) == expected.get("total", (0, 0, 0, 0)), (period, filters)
    for kind, cell in body["by_type"].items():
        assert figures(cell) == expected.get(kind, (0, 0, 0, 0)), (period, kind, filters)
    if "campaign_id" not in filters:
        mine = raw(start, end, None, filters.get("district_code"), verified=False)
        declared = body["self_declared"]
        claimed = (
            declared["participants"],
            declared["actions"],
            declared["co2e_g_claimed"],
            declared["points_awarded"],
        )
        assert claimed == mine.get("total", (0, 0, 0, 0)), (period, filters)


def snapshot() -> dict:
    return {
        model.__tablename__: sorted(
            tuple(row) for row in db.session.execute(select(model.__table__))
        )
        for model in ROLLUPS
    }


step = st.tuples(
    st.integers(0, 3),  # which resident
    st.sampled_from(DISTRICTS),  # their district at the time
    st.integers(0, 75),  # days ago
    st.integers(0, 23),  # Beijing hour
    st.sampled_from(KINDS),
    st.integers(1, 9),  # size: km, half-kilos, 5 kWh
    # what happens next: a reviewer's verdict, the worker applies the outbox, or it applies
    # the last approval again
    st.sampled_from(("approve", "reject", "apply", "resend", None)),
)


@settings(
    max_examples=15,
    deadline=None,
    database=None,
    # Shrinking replays whole database examples for minutes; a failure prints its stream.
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(step, min_size=1, max_size=30),
    ranges=st.lists(st.integers(0, 80), min_size=2, max_size=2),
)
def test_rollups_equal_raw_after_random_action_streams(
    app, cli, db_session, reviewer_id, monkeypatch, steps, ranges
):
    monkeypatch.setitem(app.config, "STATS_MIN_RESIDENTS", 1)  # compare every cell
    example = db_session.get_bind().begin_nested()  # each example starts from the same state
    try:
        with app.test_request_context():
            people = [new_resident() for _ in range(4)]
            campaign_id = new_campaign()
            for resident in people[:2]:
                campaigns.enrol(resident, campaign_id)
            now = datetime.now(UTC) - timedelta(minutes=5)
            approved = []
            for who, district, days_ago, hour, kind, size, then in steps:
                resident = people[who]
                resident.district_code = district
                when = min(beijing_day_start(days_ago) + timedelta(hours=hour), now)
                try:
                    action = actions.record_action(
                        resident, body_for(kind, size, when), now=when + timedelta(minutes=1)
                    )
                except ValidationFailed as refused:
                    assert refused.code == "overlapping_trip"  # trips never overlap
                    continue
                if action.status == "pending_review" and then == "approve":
                    actions.approve(action.id, reviewer_id)
                elif action.status == "pending_review" and then == "reject":
                    actions.reject(action.id, reviewer_id, "no receipt")
                if action.status == "approved":
                    approved.append(action.id)
                if then == "apply":
                    drain_until_empty(7)  # a batch size that splits a resident's actions
                elif then == "resend" and approved:
                    drain_until_empty(7)
                    db.session.execute(insert(ApprovalOutbox).values(action_id=approved[-1]))
                    drain_until_empty(7)  # applied again: counted once
            db.session.commit()
            result = cli.invoke(args=["stats", "check"])  # what is applied so far
            assert result.exit_code == 0, result.output
            drain_until_empty(7)

            result = cli.invoke(args=["stats", "check"])
            assert result.exit_code == 0, result.output

            first, last = sorted(beijing_day_start(n).date() for n in ranges)
            span = periods.months_range(first, last)
            named = [
                span,
                periods.month(beijing_day_start(40).date()),
                periods.quarter(first),
                periods.week(beijing_day_start(20).date()),
                periods.day_period(first),
            ]
            for period in named:
                assert_summary_equals_raw(period)
                assert_summary_equals_raw(period, district_code="441203")
                if period.whole_months:
                    assert_summary_equals_raw(period, campaign_id=campaign_id)
            series = service.timeseries(span, granularity="week", group_by="district")
            for item in [*series["items"], series["totals"]]:
                expected = {
                    key or None: value
                    for key, value in _raw_by_district(item["start"], item["end"]).items()
                }
                for group in item["groups"]:
                    assert figures(group) == expected.get(group["key"], (0, 0, 0, 0)), item[
                        "period"
                    ]

            before = snapshot()
            rebuilt = cli.invoke(args=["stats", "rebuild"])
            assert rebuilt.exit_code == 0, rebuilt.output
            assert snapshot() == before  # incremental rollups are exactly the rebuilt ones
    finally:
        db.session.remove()
        example.rollback()


def _raw_by_district(start: date, end: date) -> dict:
    rows = db.session.execute(
        select(Action.district_code, Action.resident_id, Action.co2e_g, Action.points).where(
            Action.status == "approved",
            Action.local_day.between(start, end),
            Action.verification.in_(VERIFIED),
        )
    )
    cells = defaultdict(lambda: [set(), 0, 0, 0])
    for district, resident_id, grams, points in rows:
        cell = cells[district]
        cell[0].add(resident_id)
        cell[1] += 1
        cell[2] += grams
        cell[3] += points
    return {key: (len(c[0]), c[1], c[2], c[3]) for key, c in cells.items()}


# Check and rebuild


@pytest.fixture
def history(app, db_session):
    """Trips over three months in the central city, recorded as history."""
    with app.test_request_context():
        walker, driver = new_resident(), new_resident()
        walker.district_code, driver.district_code = "441202", "441203"
        for days_ago in (80, 50, 20):
            when = beijing_day_start(days_ago) + timedelta(hours=9)
            for hour, (who, kind) in enumerate(
                ((walker, "walk"), (walker, "bus"), (driver, "car"))
            ):
                at = when + timedelta(hours=hour)  # a resident's trips never overlap
                actions.record_action(
                    who, body_for(kind, 4, at), source="partner", now=at + timedelta(minutes=5)
                )
        db.session.commit()
        drain_until_empty(50)


def test_a_long_trend_is_monthly_and_adds_up(app, history, monkeypatch):
    monkeypatch.setitem(app.config, "STATS_MIN_RESIDENTS", 1)
    start, end = beijing_day_start(85).date(), beijing_day_start(1).date()
    with app.test_request_context():
        body = green_travel.green_travel(periods.months_range(start, end))
    assert (body["green_trips"], body["total_trips"]) == (6, 9)
    assert body["share"] == round(6 / 9, 4)
    assert body["distance_weighted_share"] == round(24000 / 36000, 4)
    assert len(body["trend"]) >= 3
    assert body["trend"][0]["start"] == start.replace(day=1)
    assert body["trend"][-1]["end"] == periods.month(end).end
    assert sum(month["total_trips"] for month in body["trend"]) == 9
    with_trips = [month for month in body["trend"] if month["total_trips"]]
    # 80, 50 and 20 days before 18 November 2026: in August, September and October
    assert [(m["green_trips"], m["total_trips"]) for m in with_trips] == [(2, 3)] * 3
    districts = {
        d["district_code"]: (d["green_trips"], d["total_trips"]) for d in body["by_district"]
    }
    assert districts == {"441202": (6, 6), "441203": (0, 3), "441204": (0, 0)}


def test_check_lists_every_difference_and_rebuild_repairs_them(app, cli, history, db_session):
    assert cli.invoke(args=["stats", "check"]).exit_code == 0
    some_day = db_session.scalar(select(StatsDay.local_day).limit(1))
    db_session.execute(
        update(StatsDay).where(StatsDay.local_day == some_day).values(co2e_g=StatsDay.co2e_g + 1)
    )
    db_session.execute(
        delete(StatsParticipant).where(StatsParticipant.period_key == f"d{some_day.isoformat()}")
    )
    resident_id = db_session.scalar(select(Action.resident_id).limit(1))
    db_session.execute(
        insert(StatsParticipant).values(
            campaign_id=0,
            action_type="*",
            district_code="*",
            verified=True,
            period_key="d2021-01-01",
            resident_id=resident_id,
        )
    )
    db_session.execute(
        delete(StatsCountedAction).where(
            StatsCountedAction.action_id == sa.select(sa.func.min(Action.id)).scalar_subquery()
        )
    )
    db_session.commit()

    result = cli.invoke(args=["stats", "check"])
    assert result.exit_code == 1
    output = result.output
    assert f"stats_day {some_day} campaign 0" in output and "co2e_g=" in output
    assert f"participant rows d{some_day.isoformat()}" in output
    assert "d2021-01-01" in output
    assert "approved actions not counted: 1" in output

    rebuilt = cli.invoke(args=["stats", "rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert cli.invoke(args=["stats", "check"]).exit_code == 0


def test_an_approval_applied_again_and_a_rebuild_change_no_figure(
    app, cli, db_session, monkeypatch
):
    monkeypatch.setitem(app.config, "STATS_MIN_RESIDENTS", 1)
    with app.test_request_context():
        resident = new_resident()
        resident.district_code = "441204"
        action = actions.record_action(
            resident, body_for("garbage", 4, datetime.now(UTC)), source="partner"
        )
        db.session.commit()
        drain_until_empty(10)
        db.session.execute(insert(ApprovalOutbox).values(action_id=action.id))
        db.session.commit()
        drain_until_empty(10)
        before = service.summary()
    assert (before["participants"], before["actions"], before["co2e_g"]) == (1, 1, 200)
    assert cli.invoke(args=["stats", "check"]).exit_code == 0
    assert cli.invoke(args=["stats", "rebuild"]).exit_code == 0
    with app.test_request_context():
        after = service.summary()
    assert figures(after) == figures(before)
