"""Read models of bulk-generated actions, derived in set-based SQL from the raw rows.

The worker keeps leaderboards, statistics rollups and campaign progress a batch of
actions at a time; for millions of generated actions the same rows are computed with
INSERT ... SELECT: the statistics rollups by `flask stats rebuild`'s own statements
(admin/stats/rebuild.py), leaderboards and campaign progress here. `flask stats check`
and the bench tests prove them equal to what raw says. The leaderboard statements are
valid for a database whose actions are all generated (the generator insists): its
residents never move, so every action of a resident names the same district.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from admin.stats import rebuild
from admin.stats.rebuild import APPROVED
from campaigns.models import PROGRESS_SHARDS

# Every table the generator fills: vacuumed and analysed after a PostgreSQL load.
WRITTEN_TABLES = (
    "resident",
    "action",
    "ledger_entry",
    "daily_points",
    "account",
    "enrolment",
    "campaign_action",
    "badge_award",
    "streak",
    "leaderboard_action",
    "leaderboard_resident",
    "leaderboard_district",
    "campaign_progress",
    "stats_counted_action",
    "stats_day",
    "stats_participant",
    "stats_participant_count",
    "stats_participant_previous",
)
LEADERBOARDS = (
    "INSERT INTO leaderboard_action (action_id) "  # noqa: S608
    f"SELECT a.id FROM action a WHERE {APPROVED} AND a.co2e_g > 0",
    "INSERT INTO leaderboard_resident (period_key, resident_id, district_code, co2e_g, updated_at) "  # noqa: S608
    "SELECT 'all', a.resident_id, MAX(a.district_code), SUM(a.co2e_g), MAX(a.created_at) "
    f"FROM action a WHERE {APPROVED} AND a.co2e_g > 0 GROUP BY a.resident_id",
    *(
        "INSERT INTO leaderboard_resident (period_key, resident_id, district_code, co2e_g, "  # noqa: S608
        f"updated_at) SELECT p.{key}, a.resident_id, MAX(a.district_code), SUM(a.co2e_g), "
        "MAX(a.created_at) FROM action a JOIN rebuild_period_day p ON p.local_day = a.local_day "
        f"WHERE {APPROVED} AND a.co2e_g > 0 GROUP BY p.{key}, a.resident_id"
        for key in ("week_key", "month_key")
    ),
    "INSERT INTO leaderboard_district (period_key, district_code, co2e_g, participants, "
    "updated_at) SELECT period_key, district_code, SUM(co2e_g), COUNT(*), MAX(updated_at) "
    "FROM leaderboard_resident WHERE district_code IS NOT NULL "
    "GROUP BY period_key, district_code",
    "INSERT INTO campaign_progress (campaign_id, shard, co2e_g) "  # noqa: S608
    f"SELECT campaign_id, action_id % {PROGRESS_SHARDS}, SUM(co2e_g) FROM campaign_action "
    f"WHERE co2e_g > 0 GROUP BY campaign_id, action_id % {PROGRESS_SHARDS}",
)


def build(
    connection: Connection,
    days: Iterable[date],
    progress: Callable[[str, int], Callable],
    seconds: dict | None = None,
) -> dict[str, int]:
    """Write leaderboards, campaign progress and statistics rollups; rows per table."""
    seconds = {} if seconds is None else seconds
    advance = progress("read models", len(LEADERBOARDS) + len(rebuild.STATEMENTS) + 1)
    written: dict[str, int] = {}

    def timed(table: str, took: float) -> None:
        seconds[table] = round(seconds.get(table, 0) + took, 1)
        advance(1)

    with rebuild.period_days(connection, days):
        for statement in LEADERBOARDS:
            table = statement.split()[2]
            started = time.monotonic()
            written[table] = written.get(table, 0) + connection.execute(sa.text(statement)).rowcount
            timed(table, time.monotonic() - started)
        written |= rebuild.write_rollups(connection, timed)
    return written


def reset_sequences(connection: Connection, models: Iterable) -> None:
    """PostgreSQL sequences past the ids written explicitly (SQLite needs nothing)."""
    if connection.dialect.name != "postgresql":
        return
    for model in models:
        name = model.__tablename__
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), MAX(id)) FROM {name} "  # noqa: S608
                "HAVING MAX(id) IS NOT NULL"
            )
        )
