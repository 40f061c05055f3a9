"""Distinct residents over any range of days, from the first-day counts: exact whatever the
order in which a resident's days are approved."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from admin.stats.figures import first_days
from admin.stats.models import ALL, ALL_ACTIONS
from tests.factories import make_resident, record, run_worker

BEIJING = ZoneInfo("Asia/Shanghai")


def noon(days_ago: int) -> datetime:
    today = datetime.now(BEIJING).replace(hour=12, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days_ago)


def garbage(days_ago: int) -> dict:
    return {
        "type": "garbage_sorting",
        "category": "recyclable",
        "weight_kg": 1.5,
        "occurred_at": noon(days_ago).astimezone(UTC).isoformat(),
    }


@pytest.mark.parametrize("batches", ["one batch", "a batch per action"])
def test_range_participants_are_exact_when_days_arrive_out_of_order(
    app, client, db_session, monkeypatch, batches
):
    monkeypatch.setitem(app.config, "STATS_MIN_RESIDENTS", 1)
    first = make_resident(client, district_code="441202")
    second = make_resident(client, district_code="441203")
    # Later days first, then the days between them: each fills a gap of the resident.
    for who, days_ago in ((first, 5), (first, 1), (first, 3), (second, 3), (first, 4)):
        assert record(client, who, garbage(days_ago)).status_code == 201
        if batches == "a batch per action":
            run_worker(client)
    run_worker(client)
    assert app.test_cli_runner().invoke(args=["stats", "check"]).exit_code == 0

    today = noon(0).date()
    with app.app_context():
        for start_ago in range(6, -1, -1):
            for end_ago in range(start_ago, -1, -1):
                start, end = today - timedelta(days=start_ago), today - timedelta(days=end_ago)
                raw = db_session.execute(
                    sa.text(
                        "SELECT COUNT(DISTINCT resident_id) FROM action "
                        "WHERE status = 'approved' AND local_day BETWEEN :start AND :end"
                    ),
                    {"start": start, "end": end},
                ).scalar()
                # Self-reported garbage sorting is self-declared: verified=False.
                found = first_days(
                    start,
                    end,
                    ALL_ACTIONS,
                    False,
                    ("district_code", ALL),
                    "action_type",
                    [ALL, "garbage_sorting"],
                )
                assert found.get(ALL, 0) == raw, (start_ago, end_ago)
                assert found.get("garbage_sorting", 0) == raw
