"""Rollups recomputed from the raw approved actions and `campaign_action` rows.

`rebuild` replaces every rollup in set-based SQL (INSERT ... SELECT: 8 minutes on ten
million actions on PostgreSQL); the bench generator derives its rollups with the same
statements.
`check` recomputes them independently in Python and compares, to the gram and to the
resident, listing each difference. It reads actions once in day order, so only the
participants of the open day, ISO week and month are held in memory.
"""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy import delete, exists, func, insert, select, text
from sqlalchemy.engine import Connection

from admin.stats.models import (
    ALL,
    ALL_ACTIONS,
    NO_DISTRICT,
    NO_PREVIOUS,
    StatsCountedAction,
    StatsDay,
    StatsParticipant,
    StatsParticipantCount,
    StatsParticipantPrevious,
)
from admin.stats.rollups import CELL_KEY, DAY_KEY, DAY_SUMS, Fact, period_keys
from backend.clock import period_keys as board_period_keys
from backend.extensions import db
from campaigns.models import CampaignAction
from points.actions.models import VERIFIED, Action, ApprovalOutbox
from points.actions.outbox import APPROVED_COLUMNS

ROLLUPS = (
    StatsDay,
    StatsParticipant,
    StatsParticipantCount,
    StatsParticipantPrevious,
    StatsCountedAction,
)
PREVIOUS_KEY = (*CELL_KEY, "previous_key")
BATCH = 5000


@dataclass
class Chunk:
    """What raw says about one closed period: day sums (day periods) and participant rows."""

    period_key: str
    day_sums: dict[tuple, list[int]] = field(default_factory=dict)
    participants: set[tuple] = field(default_factory=set)  # (*CELL_KEY, resident_id)

    def counts(self) -> Counter:
        return Counter(row[:-1] for row in self.participants)


# An approved action is in the rollups once the worker applied it: one still in the
# approval outbox is counted then.
COUNTED = (Action.status == "approved") & ~exists().where(ApprovalOutbox.action_id == Action.id)


def _raw_rows():
    """Approved actions in day order, once per campaign that counted them (and once alone)."""
    return db.session.execute(
        select(*APPROVED_COLUMNS, CampaignAction.campaign_id)
        .outerjoin(CampaignAction, CampaignAction.action_id == Action.id)
        .where(COUNTED)
        .order_by(Action.local_day, Action.id, CampaignAction.campaign_id)
        .execution_options(yield_per=BATCH)
    )


def expected_chunks() -> Iterator[Chunk]:
    """Every period's expected rollups, each yielded as soon as raw has no more for it."""
    open_chunks: dict[str, Chunk] = {}
    current_keys: tuple[str, ...] = ()
    last_action = None
    for row in _raw_rows():
        keys = period_keys(row.local_day)
        if keys != current_keys:
            for key in current_keys:
                if key not in keys:
                    yield open_chunks.pop(key)
            current_keys = keys
            for key in keys:
                open_chunks.setdefault(key, Chunk(key))
        fact = Fact.from_approved(row)
        campaigns = [] if row.campaign_id is None else [row.campaign_id]
        if row.action_id != last_action:
            campaigns.insert(0, ALL_ACTIONS)
            last_action = row.action_id
        for campaign_id in campaigns:
            sums = open_chunks[keys[0]].day_sums.setdefault(fact.day_key(campaign_id), [0] * 4)
            for index, value in enumerate(fact.sums()):
                sums[index] += value
            for key in keys:
                open_chunks[key].participants.update(
                    (campaign_id, kind, district, verified, key, fact.resident_id)
                    for kind, district, verified in fact.cells()
                )
    yield from open_chunks.values()


def _lock_for_rebuild() -> None:
    # Listeners insert into stats_counted_action first: holding it makes approvals wait
    # until the rebuild commits, so none is lost or counted twice. SQLite has one writer.
    if db.dialect == "postgresql":
        db.session.execute(text("LOCK TABLE stats_counted_action IN EXCLUSIVE MODE"))


def rebuild() -> dict[str, int]:
    """Replace every rollup with what raw says; the caller commits. Rows per table."""
    _lock_for_rebuild()
    for model in ROLLUPS:
        db.session.execute(delete(model))
    connection = db.session.connection()
    days = connection.scalars(select(Action.local_day).where(COUNTED).distinct()).all()
    with period_days(connection, days):
        return write_rollups(connection)


# The periods of each local day, for set-based statements to join on.
_scratch = sa.MetaData()
PERIOD_DAY = sa.Table(
    "rebuild_period_day",
    _scratch,
    sa.Column("local_day", sa.Date, primary_key=True),
    sa.Column("day_key", sa.String(12)),
    sa.Column("week_key", sa.String(12)),
    sa.Column("month_key", sa.String(12)),
    prefixes=["TEMPORARY"],
)
# Who acted on which day in which (campaign, type, district): the participant rows of
# every period and cell are unions over it.
FACT_DAY = sa.Table(
    "rebuild_fact_day",
    _scratch,
    sa.Column("campaign_id", sa.Integer),
    sa.Column("action_type", sa.String(24)),
    sa.Column("district_code", sa.String(16)),
    sa.Column("verified", sa.Boolean),
    sa.Column("local_day", sa.Date),
    sa.Column("resident_id", sa.Integer),
    prefixes=["TEMPORARY"],
)


@contextlib.contextmanager
def period_days(connection: Connection, days) -> Iterator[None]:
    """`rebuild_period_day` filled for these days while the block runs (on PostgreSQL with
    the memory for the big aggregates that join it)."""
    if connection.dialect.name == "postgresql":
        # Big hash aggregates stay in memory; SET LOCAL ends with the transaction.
        connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    PERIOD_DAY.create(connection)
    rows = [
        {
            "local_day": day,
            "day_key": period_keys(day)[0],
            "week_key": board_period_keys(day)["week"],
            "month_key": board_period_keys(day)["month"],
        }
        for day in days
    ]
    if rows:
        connection.execute(PERIOD_DAY.insert(), rows)
    try:
        yield
    finally:
        PERIOD_DAY.drop(connection)


APPROVED = (  # COUNTED, for the SQL below
    "a.status = 'approved' AND NOT EXISTS "
    "(SELECT 1 FROM approval_outbox d WHERE d.action_id = a.id)"
)
DISTRICT = f"COALESCE(a.district_code, '{NO_DISTRICT}')"
VERIFIED_SQL = "a.verification IN ({})".format(", ".join(f"'{level}'" for level in VERIFIED))
_DAY_COLUMNS = (
    "local_day, campaign_id, action_type, variant, district_code, factor_version, "
    "verification, actions, co2e_g, points, distance_m"
)
_DAY_SUMS = "COUNT(*), SUM(a.co2e_g), SUM(a.points), SUM(COALESCE(a.distance_m, 0))"
_CAMPAIGN_ROWS = "FROM campaign_action ca JOIN action a ON a.id = ca.action_id"


def _participants(period_column: str) -> str:
    cells = " UNION ".join(
        f"SELECT f.campaign_id, {kind}, {district}, f.verified, p.{period_column}, "  # noqa: S608
        "f.resident_id "
        "FROM rebuild_fact_day f JOIN rebuild_period_day p ON p.local_day = f.local_day"
        for kind in ("f.action_type", f"'{ALL}'")
        for district in ("f.district_code", f"'{ALL}'")
    )
    return (
        "INSERT INTO stats_participant "
        f"(campaign_id, action_type, district_code, verified, period_key, resident_id) {cells}"
    )


STATEMENTS = (
    "INSERT INTO stats_counted_action (action_id, campaign_id) "  # noqa: S608
    f"SELECT a.id, {ALL_ACTIONS} FROM action a WHERE {APPROVED}",
    "INSERT INTO stats_counted_action (action_id, campaign_id) "
    f"SELECT ca.action_id, ca.campaign_id {_CAMPAIGN_ROWS} WHERE {APPROVED}",
    f"INSERT INTO stats_day ({_DAY_COLUMNS}) "  # noqa: S608
    f"SELECT a.local_day, {ALL_ACTIONS}, a.type, a.variant, {DISTRICT}, a.factor_version, "
    f"a.verification, {_DAY_SUMS} FROM action a WHERE {APPROVED} "
    f"GROUP BY a.local_day, a.type, a.variant, {DISTRICT}, a.factor_version, a.verification",
    f"INSERT INTO stats_day ({_DAY_COLUMNS}) "
    f"SELECT a.local_day, ca.campaign_id, a.type, a.variant, {DISTRICT}, a.factor_version, "
    f"a.verification, {_DAY_SUMS} {_CAMPAIGN_ROWS} WHERE {APPROVED} "
    f"GROUP BY a.local_day, ca.campaign_id, a.type, a.variant, {DISTRICT}, a.factor_version, "
    "a.verification",
    "INSERT INTO rebuild_fact_day (campaign_id, action_type, district_code, verified, "  # noqa: S608
    f"local_day, resident_id) SELECT DISTINCT {ALL_ACTIONS}, a.type, {DISTRICT}, "
    f"{VERIFIED_SQL}, a.local_day, a.resident_id FROM action a WHERE {APPROVED}",
    "INSERT INTO rebuild_fact_day (campaign_id, action_type, district_code, verified, "
    f"local_day, resident_id) SELECT DISTINCT ca.campaign_id, a.type, {DISTRICT}, "
    f"{VERIFIED_SQL}, a.local_day, a.resident_id {_CAMPAIGN_ROWS} WHERE {APPROVED}",
    *(_participants(column) for column in ("day_key", "week_key", "month_key")),
    "INSERT INTO stats_participant_count "
    "(campaign_id, action_type, district_code, verified, period_key, participants) "
    "SELECT campaign_id, action_type, district_code, verified, period_key, COUNT(*) "
    "FROM stats_participant "
    "GROUP BY campaign_id, action_type, district_code, verified, period_key",
)


def write_rollups(
    connection: Connection, timed: Callable[[str, float], None] | None = None
) -> dict[str, int]:
    """Fill the emptied rollups from raw, inside `period_days`; rows written per table.

    `timed(table, seconds)` is told after each statement (the generator's progress).
    """
    FACT_DAY.create(connection)
    written: Counter = Counter()
    try:
        for statement in STATEMENTS:
            table = statement.split()[2]
            started = time.monotonic()
            count = connection.execute(sa.text(statement)).rowcount
            if table != FACT_DAY.name:
                written[table] += count
            if timed:
                timed(table, time.monotonic() - started)
        started = time.monotonic()
        count = insert_previous_rows(connection)
        written[StatsParticipantPrevious.__tablename__] = count
        if timed:
            timed(StatsParticipantPrevious.__tablename__, time.monotonic() - started)
    finally:
        FACT_DAY.drop(connection)
    return dict(written)


def previous_rows():
    """`stats_participant_previous` as the day rows of `stats_participant` say it is."""
    seen = StatsParticipant
    previous = func.lag(seen.period_key).over(
        partition_by=(
            seen.campaign_id,
            seen.action_type,
            seen.district_code,
            seen.verified,
            seen.resident_id,
        ),
        order_by=seen.period_key,
    )
    days = (
        select(
            seen.campaign_id,
            seen.action_type,
            seen.district_code,
            seen.verified,
            seen.period_key,
            func.coalesce(previous, NO_PREVIOUS).label("previous_key"),
        )
        .where(seen.period_key.like("d%"))
        .subquery()
    )
    columns = [days.c[name] for name in PREVIOUS_KEY]
    return select(*columns, func.count().label("residents")).group_by(*columns)


def insert_previous_rows(connection) -> int:
    """Derive `stats_participant_previous` from the participants' day rows (set-based)."""
    statement = insert(StatsParticipantPrevious).from_select(
        [*PREVIOUS_KEY, "residents"], previous_rows()
    )
    return connection.execute(statement.execution_options(preserve_rowcount=True)).rowcount


def check() -> list[str]:
    """Every difference between the rollups and raw; an empty list when they agree."""
    differences: list[str] = []
    stored_days = {
        tuple(row[: len(DAY_KEY)]): list(row[len(DAY_KEY) :])
        for row in db.session.execute(
            select(*(StatsDay.__table__.c[n] for n in DAY_KEY + DAY_SUMS))
        )
    }
    stored_counts = {
        tuple(row[:-1]): row[-1]
        for row in db.session.execute(
            select(
                *(StatsParticipantCount.__table__.c[n] for n in CELL_KEY),
                StatsParticipantCount.participants,
            )
        )
    }
    expected_days: dict[tuple, list[int]] = {}
    expected_counts: dict[tuple, int] = {}
    seen_keys: set[str] = set()
    for chunk in expected_chunks():
        seen_keys.add(chunk.period_key)
        expected_days.update(chunk.day_sums)
        expected_counts.update(chunk.counts())
        differences.extend(_compare_participants(chunk))
    differences.extend(_compare_days(stored_days, expected_days))
    for cell in sorted(stored_counts.keys() | expected_counts.keys()):
        rollup, raw = stored_counts.get(cell, 0), expected_counts.get(cell, 0)
        if rollup != raw:
            differences.append(f"participants {_cell(cell)}: rollup {rollup}, raw {raw}")
    leftover = db.session.scalars(select(StatsParticipant.period_key).distinct())
    for key in sorted(set(leftover) - seen_keys):
        differences.append(f"participant rows for {key}: raw has no approved action then")
    differences.extend(_compare_previous())
    differences.extend(_compare_counted())
    return differences


def _compare_previous() -> Iterator[str]:
    """The previous-day counts against the day rows (which are compared with raw)."""
    table = StatsParticipantPrevious.__table__.c
    stored = {
        tuple(row[:-1]): row[-1]
        for row in db.session.execute(
            select(*(table[n] for n in PREVIOUS_KEY), table.residents).where(table.residents != 0)
        )
    }
    expected = {tuple(row[:-1]): row[-1] for row in db.session.execute(previous_rows())}
    for key in sorted(stored.keys() | expected.keys()):
        rollup, raw = stored.get(key, 0), expected.get(key, 0)
        if rollup != raw:
            yield (
                f"first days {_cell(key[:5])} after {key[5] or 'none'}: "
                f"rollup {rollup}, day rows {raw}"
            )


def _cell(cell: tuple) -> str:
    campaign_id, kind, district, verified, key = cell
    evidence = "verified" if verified else "self-declared"
    return f"{key} campaign {campaign_id} type {kind} district {district or '-'} {evidence}"


def _compare_days(stored: dict, expected: dict) -> Iterator[str]:
    for key in sorted(stored.keys() | expected.keys()):
        rollup, raw = stored.get(key, [0] * 4), expected.get(key, [0] * 4)
        if list(rollup) != list(raw):
            day, campaign_id, kind, variant, district, version, level = key
            yield (
                f"stats_day {day} campaign {campaign_id} {kind}/{variant} district "
                f"{district or '-'} factors {version} {level}: rollup {_sums(rollup)}; "
                f"raw {_sums(raw)}"
            )


def _sums(values) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip(DAY_SUMS, values, strict=True))


def _compare_participants(chunk: Chunk) -> Iterator[str]:
    stored = {
        tuple(row)
        for row in db.session.execute(
            select(*(StatsParticipant.__table__.c[n] for n in (*CELL_KEY, "resident_id"))).where(
                StatsParticipant.period_key == chunk.period_key
            )
        )
    }
    if stored == chunk.participants:
        return
    # Counts only: the operator's terminal needs no resident ids to see what is wrong.
    extra, missing = (
        Counter(r[:-1] for r in stored - chunk.participants),
        Counter(r[:-1] for r in chunk.participants - stored),
    )
    for cell in sorted(extra.keys() | missing.keys()):
        yield (
            f"participant rows {_cell(cell)}: {extra[cell]} in the rollup only, "
            f"{missing[cell]} in raw only"
        )


def _compare_counted() -> Iterator[str]:
    counted = StatsCountedAction
    approved = COUNTED
    checks = {
        "approved actions not counted": select(func.count())
        .select_from(Action)
        .where(
            approved,
            ~select(counted.action_id)
            .where(counted.action_id == Action.id, counted.campaign_id == ALL_ACTIONS)
            .exists(),
        ),
        "counted actions not approved": select(func.count())
        .select_from(counted)
        .join(Action, Action.id == counted.action_id)
        .where(Action.status != "approved"),
        "campaign actions not counted": select(func.count())
        .select_from(CampaignAction)
        .join(Action, Action.id == CampaignAction.action_id)
        .where(
            approved,
            ~select(counted.action_id)
            .where(
                counted.action_id == CampaignAction.action_id,
                counted.campaign_id == CampaignAction.campaign_id,
            )
            .exists(),
        ),
        "counted campaign actions without a campaign_action row": select(func.count())
        .select_from(counted)
        .where(
            counted.campaign_id != ALL_ACTIONS,
            ~select(CampaignAction.action_id)
            .where(
                CampaignAction.action_id == counted.action_id,
                CampaignAction.campaign_id == counted.campaign_id,
            )
            .exists(),
        ),
    }
    for label, query in checks.items():
        number = db.session.scalar(query)
        if number:
            yield f"{label}: {number}"
