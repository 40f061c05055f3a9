"""Generated organisations and memberships, and the organisation figures derived from the
generated actions in set-based SQL (what the worker keeps a batch at a time).

Each resident may belong to a household, a school (as a pupil's parent), a community, an
employer and an agency, in their district; most joined before the generated window, some
during it (their earlier actions must not count), and a few left during it (what they did
as members stays). `flask stats check` compares the figures with raw.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from admin.stats.rebuild import APPROVED, VERIFIED_SQL
from backend.clock import LOCAL_TZ
from campaigns.organizations.models import (
    ALL_TYPES,
    Membership,
    Organization,
)
from campaigns.organizations.service import INVITE_ALPHABET, INVITE_LENGTH
from loadtests.bigdb.sink import BulkSink

# Staff organisations per 10,000 residents, and the share of residents who are members.
ORGANIZATIONS_PER_10K = {"school": 8, "community": 6, "employer": 15, "agency": 1.5}
MEMBER_SHARE = {
    "household": 0.25,
    "school": 0.08,
    "community": 0.25,
    "employer": 0.10,
    "agency": 0.02,
}
HOUSEHOLD_SIZES = (1, 2, 2, 3, 3, 3, 4, 4)
JOINED_DURING_WINDOW = 0.2  # the others joined in the 60 days before it
LEFT_DURING_WINDOW = 0.05
ORGANIZATION_COLUMNS = (
    "id",
    "kind",
    "name",
    "district_code",
    "street",
    "invite_code",
    "invite_expires_at",
    "member_count",
    "member_limit",
    "status",
    "created_at",
)
MEMBER_COLUMNS = (
    "id",
    "organization_id",
    "resident_id",
    "kind",
    "role",
    "joined_at",
    "left_at",
    "end_reason",
)
NAMES = {
    "school": "第{}小学",
    "community": "第{}社区",
    "employer": "第{}号企业",
    "agency": "第{}局",
}


def generate_memberships(
    sink: BulkSink,
    rng: random.Random,
    first_ids: tuple[int, int],
    first_resident_id: int,
    districts: list[str | None],
    window: tuple[datetime, datetime],
    household_limit: int,
) -> dict[str, int]:
    """Organisations and memberships (ids from `first_ids`) for the residents
    first_resident_id + index, whose districts are `districts`; rows per table."""
    start, end = window
    codes: set[str] = set()

    def code() -> str:
        while True:
            made = "".join(rng.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))
            if made not in codes:
                codes.add(made)
                return made

    known = sorted({d for d in districts if d is not None})
    organizations: list[tuple] = []
    by_kind_district: dict[tuple[str, str], list[int]] = {}
    next_id, first_member_id = first_ids
    created = start - timedelta(days=90)
    for kind, per_10k in ORGANIZATIONS_PER_10K.items():
        count = max(len(known), round(len(districts) * per_10k / 10_000))
        for number in range(count):
            district = known[number % len(known)]
            street = f"第{number % 7 + 1}街道" if kind == "community" else None
            organizations.append(
                (
                    next_id,
                    kind,
                    NAMES[kind].format(number + 1),
                    district,
                    street,
                    code(),
                    None,
                    0,
                    None,
                    "active",
                    created,
                )
            )
            by_kind_district.setdefault((kind, district), []).append(next_id)
            next_id += 1
    members: list[tuple] = []

    def joined() -> tuple[datetime, datetime | None]:
        if rng.random() < JOINED_DURING_WINDOW:
            moment = start + (end - start) * rng.random()
        else:
            moment = start - timedelta(seconds=rng.randrange(60 * 86_400))
        left = None
        if rng.random() < LEFT_DURING_WINDOW:
            left = max(moment, start) + (end - max(moment, start)) * rng.random()
        return moment, left

    def member(organization_id: int, resident_id: int, kind: str, role: str = "member") -> None:
        moment, left = joined()
        members.append(
            (
                first_member_id + len(members),
                organization_id,
                resident_id,
                kind,
                role,
                moment,
                left,
                "left" if left else None,
            )
        )

    index = 0
    while index < len(districts):  # households: runs of neighbours, some of them members
        size = rng.choice(HOUSEHOLD_SIZES)
        if rng.random() < MEMBER_SHARE["household"]:
            organization_id = next_id
            next_id += 1
            organizations.append(
                (
                    organization_id,
                    "household",
                    f"家庭{organization_id}",
                    districts[index],
                    None,
                    code(),
                    end + timedelta(days=7),
                    0,
                    household_limit,
                    "active",
                    created,
                )
            )
            for offset in range(min(size, len(districts) - index)):
                member(
                    organization_id,
                    first_resident_id + index + offset,
                    "household",
                    "admin" if offset == 0 else "member",
                )
        index += size
    for position, district in enumerate(districts):
        for kind in ORGANIZATIONS_PER_10K:
            if rng.random() >= MEMBER_SHARE[kind]:
                continue
            choices = (
                by_kind_district.get((kind, district))
                or by_kind_district[(kind, known[position % len(known)])]
            )
            member(rng.choice(choices), first_resident_id + position, kind)
    counts: dict[int, int] = {}
    for row in members:
        if row[6] is None:
            counts[row[1]] = counts.get(row[1], 0) + 1
    organizations = [(*row[:7], counts.get(row[0], 0), *row[8:]) for row in organizations]
    sink.write(Organization.__table__, ORGANIZATION_COLUMNS, organizations)
    sink.write(Membership.__table__, MEMBER_COLUMNS, members)
    return {"organization": len(organizations), "organization_member": len(members)}


PERIOD_DAY = sa.Table(
    "org_period_day",
    sa.MetaData(),
    sa.Column("local_day", sa.Date, primary_key=True),
    sa.Column("all_key", sa.String(8)),
    sa.Column("week_key", sa.String(8)),
    sa.Column("month_key", sa.String(8)),
    sa.Column("quarter_key", sa.String(8)),
    sa.Column("year_key", sa.String(8)),
    prefixes=["TEMPORARY"],
)
KEY_COLUMNS = ("all_key", "year_key", "quarter_key", "month_key", "week_key")


def period_keys(day: date) -> dict[str, str]:
    """The keys of the organisation figures a local day belongs to."""
    iso_year, iso_week, _ = day.isocalendar()
    return {
        "all_key": "all",
        "year_key": f"y{day.year}",
        "quarter_key": f"q{day.year}-{(day.month - 1) // 3 + 1}",
        "month_key": f"m{day:%Y-%m}",
        "week_key": f"w{iso_year}-{iso_week:02d}",
    }


def _statements(green_modes: list[str]) -> list[str]:
    green = ", ".join(f"'{mode}'" for mode in green_modes)
    verified_trip = f"a.type = 'trip' AND {VERIFIED_SQL}"
    counted = (
        "FROM organization_action oa JOIN action a ON a.id = oa.action_id "
        "JOIN org_period_day p ON p.local_day = a.local_day"
    )
    statements = [
        "INSERT INTO organization_action (action_id, organization_id, member_id) "  # noqa: S608
        "SELECT a.id, m.organization_id, m.resident_id FROM action a "
        "JOIN organization_member m ON m.resident_id = a.resident_id "
        "AND m.joined_at <= a.occurred_at AND (m.left_at IS NULL OR a.occurred_at < m.left_at) "
        f"WHERE {APPROVED}"
    ]
    for key in KEY_COLUMNS:
        statements.append(
            "INSERT INTO organization_member_period (organization_id, period_key, action_type, "
            "resident_id, actions, co2e_g, points) "
            f"SELECT oa.organization_id, p.{key}, a.type, oa.member_id, COUNT(*), "
            f"SUM(CASE WHEN {VERIFIED_SQL} THEN a.co2e_g ELSE 0 END), SUM(a.points) {counted} "
            f"GROUP BY oa.organization_id, p.{key}, a.type, oa.member_id"
        )
        statements.append(
            "INSERT INTO organization_period (organization_id, period_key, action_type, actions, "
            "verified_actions, co2e_g, self_declared_co2e_g, points, trips, green_trips, "
            "participants, updated_at) "
            f"SELECT oa.organization_id, p.{key}, a.type, COUNT(*), "
            f"SUM(CASE WHEN {VERIFIED_SQL} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {VERIFIED_SQL} THEN a.co2e_g ELSE 0 END), "
            f"SUM(CASE WHEN {VERIFIED_SQL} THEN 0 ELSE a.co2e_g END), SUM(a.points), "
            f"SUM(CASE WHEN {verified_trip} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN {verified_trip} AND a.variant IN ({green}) THEN 1 ELSE 0 END), "
            f"0, MAX(a.created_at) {counted} GROUP BY oa.organization_id, p.{key}, a.type"
        )
    sums = "actions, verified_actions, co2e_g, self_declared_co2e_g, points, trips, green_trips"
    summed = ", ".join(f"SUM({column})" for column in sums.split(", "))
    statements += [
        "INSERT INTO organization_member_period (organization_id, period_key, action_type, "  # noqa: S608
        "resident_id, actions, co2e_g, points) "
        f"SELECT organization_id, period_key, '{ALL_TYPES}', resident_id, SUM(actions), "
        "SUM(co2e_g), SUM(points) FROM organization_member_period "
        "GROUP BY organization_id, period_key, resident_id",
        f"INSERT INTO organization_period (organization_id, period_key, action_type, {sums}, "  # noqa: S608
        "participants, updated_at) "
        f"SELECT organization_id, period_key, '{ALL_TYPES}', {summed}, 0, MAX(updated_at) "
        "FROM organization_period GROUP BY organization_id, period_key",
        "UPDATE organization_period SET participants = (SELECT COUNT(*) FROM "
        "organization_member_period mp "
        "WHERE mp.organization_id = organization_period.organization_id "
        "AND mp.period_key = organization_period.period_key "
        "AND mp.action_type = organization_period.action_type)",
        "INSERT INTO organization_kind_participant (kind, period_key, action_type, resident_id) "
        "SELECT DISTINCT o.kind, mp.period_key, mp.action_type, mp.resident_id "
        "FROM organization_member_period mp JOIN organization o ON o.id = mp.organization_id",
        f"INSERT INTO organization_kind_period (kind, period_key, action_type, {sums}, "  # noqa: S608
        f"participants) SELECT o.kind, op.period_key, op.action_type, {summed}, 0 "
        "FROM organization_period op JOIN organization o ON o.id = op.organization_id "
        "GROUP BY o.kind, op.period_key, op.action_type",
        "UPDATE organization_kind_period SET participants = (SELECT COUNT(*) FROM "
        "organization_kind_participant kp WHERE kp.kind = organization_kind_period.kind "
        "AND kp.period_key = organization_kind_period.period_key "
        "AND kp.action_type = organization_kind_period.action_type)",
    ]
    return statements


WRITTEN_TABLES = (
    "organization",
    "organization_member",
    "organization_action",
    "organization_member_period",
    "organization_period",
    "organization_kind_participant",
    "organization_kind_period",
)


def build_figures(
    connection: Connection, days: list[date], green_modes: list[str], timed
) -> dict[str, int]:
    """The organisation figures of every generated action; rows per table."""
    PERIOD_DAY.create(connection)
    connection.execute(
        PERIOD_DAY.insert(), [{"local_day": day, **period_keys(day)} for day in days]
    )
    written: dict[str, int] = {}
    try:
        for statement in _statements(green_modes):
            words = statement.split()
            table = words[2] if words[0] == "INSERT" else words[1]
            started = datetime.now(UTC)
            result = connection.execute(sa.text(statement))
            if words[0] == "INSERT":
                written[table] = written.get(table, 0) + result.rowcount
            timed(table, (datetime.now(UTC) - started).total_seconds())
    finally:
        PERIOD_DAY.drop(connection)
    return written


def window_of(days: list[date]) -> tuple[datetime, datetime]:
    start = datetime.combine(days[0], datetime.min.time(), LOCAL_TZ).astimezone(UTC)
    end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), LOCAL_TZ)
    return start, end.astimezone(UTC)
