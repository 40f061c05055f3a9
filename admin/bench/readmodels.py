"""Read models of bulk-generated actions, derived in set-based SQL from the raw rows.

The approval listeners keep leaderboards, statistics rollups and campaign progress one
action at a time; for millions of generated actions the same rows are computed here with
INSERT ... SELECT. `flask stats check` and the bench tests prove them equal to what raw
says. Valid for a database whose actions are all generated (the generator insists): its
residents never move, so every action of a resident names the same district.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from admin.stats.models import ALL, ALL_ACTIONS, NO_DISTRICT, StatsParticipantPrevious
from admin.stats.rebuild import insert_previous_rows
from admin.stats.rollups import period_keys as stats_period_keys
from campaigns.leaderboards.service import period_keys as board_period_keys
from campaigns.models import PROGRESS_SHARDS

_scratch = sa.MetaData()
PERIOD_DAY = sa.Table(
    "bench_period_day",
    _scratch,
    sa.Column("local_day", sa.Date, primary_key=True),
    sa.Column("day_key", sa.String(12)),
    sa.Column("week_key", sa.String(12)),
    sa.Column("month_key", sa.String(12)),
    prefixes=["TEMPORARY"],
)
FACT_DAY = sa.Table(
    "bench_fact_day",
    _scratch,
    sa.Column("campaign_id", sa.Integer),
    sa.Column("action_type", sa.String(24)),
    sa.Column("district_code", sa.String(16)),
    sa.Column("local_day", sa.Date),
    sa.Column("resident_id", sa.Integer),
    prefixes=["TEMPORARY"],
)

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
APPROVED = "a.status = 'approved'"
DISTRICT = f"COALESCE(a.district_code, '{NO_DISTRICT}')"

LEADERBOARDS = (
    "INSERT INTO leaderboard_action (action_id) "  # noqa: S608
    f"SELECT a.id FROM action a WHERE {APPROVED} AND a.co2e_g > 0",
    "INSERT INTO leaderboard_resident (period_key, resident_id, district_code, co2e_g, updated_at) "  # noqa: S608
    "SELECT 'all', a.resident_id, MAX(a.district_code), SUM(a.co2e_g), MAX(a.created_at) "
    f"FROM action a WHERE {APPROVED} AND a.co2e_g > 0 GROUP BY a.resident_id",
    *(
        "INSERT INTO leaderboard_resident (period_key, resident_id, district_code, co2e_g, "  # noqa: S608
        f"updated_at) SELECT p.{key}, a.resident_id, MAX(a.district_code), SUM(a.co2e_g), "
        "MAX(a.created_at) FROM action a JOIN bench_period_day p ON p.local_day = a.local_day "
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

_DAY_COLUMNS = (
    "local_day, campaign_id, action_type, variant, district_code, factor_version, "
    "actions, co2e_g, points, distance_m"
)
_DAY_SUMS = "COUNT(*), SUM(a.co2e_g), SUM(a.points), SUM(COALESCE(a.distance_m, 0))"
_CAMPAIGN_ROWS = "FROM campaign_action ca JOIN action a ON a.id = ca.action_id"


def _participants(period_column: str) -> str:
    cells = " UNION ".join(
        f"SELECT f.campaign_id, {kind}, {district}, p.{period_column}, f.resident_id "  # noqa: S608
        "FROM bench_fact_day f JOIN bench_period_day p ON p.local_day = f.local_day"
        for kind in ("f.action_type", f"'{ALL}'")
        for district in ("f.district_code", f"'{ALL}'")
    )
    return (
        "INSERT INTO stats_participant "
        f"(campaign_id, action_type, district_code, period_key, resident_id) {cells}"
    )


STATISTICS = (
    "INSERT INTO stats_counted_action (action_id, campaign_id) "  # noqa: S608
    f"SELECT a.id, {ALL_ACTIONS} FROM action a WHERE {APPROVED}",
    "INSERT INTO stats_counted_action (action_id, campaign_id) "
    f"SELECT ca.action_id, ca.campaign_id {_CAMPAIGN_ROWS} WHERE {APPROVED}",
    f"INSERT INTO stats_day ({_DAY_COLUMNS}) "  # noqa: S608
    f"SELECT a.local_day, {ALL_ACTIONS}, a.type, a.variant, {DISTRICT}, a.factor_version, "
    f"{_DAY_SUMS} FROM action a WHERE {APPROVED} "
    f"GROUP BY a.local_day, a.type, a.variant, {DISTRICT}, a.factor_version",
    f"INSERT INTO stats_day ({_DAY_COLUMNS}) "
    f"SELECT a.local_day, ca.campaign_id, a.type, a.variant, {DISTRICT}, a.factor_version, "
    f"{_DAY_SUMS} {_CAMPAIGN_ROWS} WHERE {APPROVED} "
    f"GROUP BY a.local_day, ca.campaign_id, a.type, a.variant, {DISTRICT}, a.factor_version",
    # Who acted on which day in which (campaign, type, district): the participant rows of
    # every period and cell are unions over it.
    "INSERT INTO bench_fact_day (campaign_id, action_type, district_code, local_day, "  # noqa: S608
    f"resident_id) SELECT DISTINCT {ALL_ACTIONS}, a.type, {DISTRICT}, a.local_day, "
    f"a.resident_id FROM action a WHERE {APPROVED}",
    "INSERT INTO bench_fact_day (campaign_id, action_type, district_code, local_day, "
    f"resident_id) SELECT DISTINCT ca.campaign_id, a.type, {DISTRICT}, a.local_day, "
    f"a.resident_id {_CAMPAIGN_ROWS} WHERE {APPROVED}",
    *(_participants(column) for column in ("day_key", "week_key", "month_key")),
    "INSERT INTO stats_participant_count "
    "(campaign_id, action_type, district_code, period_key, participants) "
    "SELECT campaign_id, action_type, district_code, period_key, COUNT(*) "
    "FROM stats_participant GROUP BY campaign_id, action_type, district_code, period_key",
)


def build(
    connection: Connection,
    days: Iterable[date],
    progress: Callable[[str, int], Callable],
    seconds: dict | None = None,
) -> dict[str, int]:
    """Write leaderboards, campaign progress and statistics rollups; rows per statement."""
    if connection.dialect.name == "postgresql":
        # Big hash aggregates stay in memory; the transaction is the generator's alone.
        connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    for table in (PERIOD_DAY, FACT_DAY):
        table.create(connection)
    rows = []
    for day in days:
        keys = board_period_keys(day)
        rows.append(
            {
                "local_day": day,
                "day_key": stats_period_keys(day)[0],
                "week_key": keys["week"],
                "month_key": keys["month"],
            }
        )
    connection.execute(PERIOD_DAY.insert(), rows)
    written: dict[str, int] = {}
    statements = (*LEADERBOARDS, *STATISTICS)
    advance = progress("read models", len(statements) + 1)
    seconds = {} if seconds is None else seconds
    for statement in statements:
        table = statement.split()[2]
        started = time.monotonic()
        count = connection.execute(sa.text(statement)).rowcount
        written[table] = written.get(table, 0) + count
        seconds[table] = round(seconds.get(table, 0) + time.monotonic() - started, 1)
        advance(1)
    started = time.monotonic()
    written[StatsParticipantPrevious.__tablename__] = insert_previous_rows(connection)
    seconds[StatsParticipantPrevious.__tablename__] = round(time.monotonic() - started, 1)
    advance(1)
    for table in (FACT_DAY, PERIOD_DAY):
        table.drop(connection)
    written.pop("bench_fact_day", None)
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
