"""statistics rollups count verified and self-declared actions apart

`stats_day` gains the verification level of its actions and the participant tables a
`verified` flag, both in their keys: the DRB's CO2e is verified grams only, and
self-declared activity is reported apart. The rollups are derived data: the tables are
made anew and filled from the approved actions (a frozen copy of `flask stats rebuild`'s
statements at this revision). Written by hand.

Revision ID: 6c9b62c2a575
Revises: c39dcc7af7c8
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6c9b62c2a575'
down_revision = 'c39dcc7af7c8'
branch_labels = None
depends_on = None

CELL = ('campaign_id', 'action_type', 'district_code')


def _cell_columns(verified: bool):
    columns = [
        sa.Column('campaign_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('action_type', sa.String(length=24), nullable=False),
        sa.Column('district_code', sa.String(length=16), nullable=False),
    ]
    if verified:
        columns.append(sa.Column('verified', sa.Boolean(), nullable=False))
    columns.append(sa.Column('period_key', sa.String(length=12), nullable=False))
    return columns


def _create(verified: bool) -> None:
    key = (*CELL, 'verified', 'period_key') if verified else (*CELL, 'period_key')
    day_key = ('local_day', 'campaign_id', 'action_type', 'variant', 'district_code',
               'factor_version')
    op.create_table('stats_day',
        sa.Column('local_day', sa.Date(), nullable=False),
        sa.Column('campaign_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('action_type', sa.String(length=24), nullable=False),
        sa.Column('variant', sa.String(length=32), nullable=False),
        sa.Column('district_code', sa.String(length=16), nullable=False),
        sa.Column('factor_version', sa.String(length=32), nullable=False),
        *([sa.Column('verification', sa.String(length=16), nullable=False)] if verified else []),
        sa.Column('actions', sa.BigInteger(), nullable=False),
        sa.Column('co2e_g', sa.BigInteger(), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('distance_m', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*day_key, *(('verification',) if verified else ()),
                                name=op.f('pk_stats_day')),
    )
    op.create_table('stats_participant_count',
        *_cell_columns(verified),
        sa.Column('participants', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f('pk_stats_participant_count')),
    )
    op.create_table('stats_participant',
        *_cell_columns(verified),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'],
                                name=op.f('fk_stats_participant_resident_id_resident')),
        sa.PrimaryKeyConstraint(*key, 'resident_id', name=op.f('pk_stats_participant')),
    )
    op.create_index('ix_stats_participant_period_key', 'stats_participant', ['period_key'])
    op.create_table('stats_participant_previous',
        *_cell_columns(verified),
        sa.Column('previous_key', sa.String(length=12), nullable=False),
        sa.Column('residents', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*key, 'previous_key',
                                name=op.f('pk_stats_participant_previous')),
    )


def _drop() -> None:
    op.drop_table('stats_participant_previous')
    op.drop_index('ix_stats_participant_period_key', table_name='stats_participant')
    op.drop_table('stats_participant')
    op.drop_table('stats_participant_count')
    op.drop_table('stats_day')
    op.execute('DELETE FROM stats_counted_action')


APPROVED = ("a.status = 'approved' AND NOT EXISTS "
            "(SELECT 1 FROM approval_outbox d WHERE d.action_id = a.id)")
DISTRICT = "COALESCE(a.district_code, '')"
CAMPAIGN_ROWS = "FROM campaign_action ca JOIN action a ON a.id = ca.action_id"
DAY_SUMS = "COUNT(*), SUM(a.co2e_g), SUM(a.points), SUM(COALESCE(a.distance_m, 0))"


def _fill(verified: bool) -> None:
    """The rollups from the approved actions (rebuild's statements at this revision)."""
    bind = op.get_bind()
    level = ", a.verification" if verified else ""
    level_column = ", verification" if verified else ""
    flag = ", a.verification IN ('partner', 'trace', 'reviewed')" if verified else ""
    flag_column = ", verified" if verified else ""
    days = [row[0] for row in bind.execute(
        sa.text(f"SELECT DISTINCT a.local_day FROM action a WHERE {APPROVED}"))]
    bind.execute(sa.text(
        "CREATE TEMPORARY TABLE migrate_period_day (local_day DATE PRIMARY KEY, "
        "day_key VARCHAR(12), week_key VARCHAR(12), month_key VARCHAR(12))"))
    bind.execute(sa.text(
        "CREATE TEMPORARY TABLE migrate_fact_day (campaign_id INTEGER, action_type "
        "VARCHAR(24), district_code VARCHAR(16), verified BOOLEAN, local_day DATE, "
        "resident_id INTEGER)"))
    if days:
        import datetime
        rows = []
        for day in days:
            if isinstance(day, str):
                day = datetime.date.fromisoformat(day)
            year, week, _ = day.isocalendar()
            rows.append({"local_day": day, "day_key": f"d{day.isoformat()}",
                         "week_key": f"w{year}-{week:02d}", "month_key": f"m{day:%Y-%m}"})
        bind.execute(sa.text(
            "INSERT INTO migrate_period_day VALUES (:local_day, :day_key, :week_key, "
            ":month_key)"), rows)
    statements = [
        "INSERT INTO stats_counted_action (action_id, campaign_id) "
        f"SELECT a.id, 0 FROM action a WHERE {APPROVED}",
        "INSERT INTO stats_counted_action (action_id, campaign_id) "
        f"SELECT ca.action_id, ca.campaign_id {CAMPAIGN_ROWS} WHERE {APPROVED}",
        "INSERT INTO stats_day (local_day, campaign_id, action_type, variant, district_code, "
        f"factor_version{level_column}, actions, co2e_g, points, distance_m) "
        f"SELECT a.local_day, 0, a.type, a.variant, {DISTRICT}, a.factor_version{level}, "
        f"{DAY_SUMS} FROM action a WHERE {APPROVED} "
        f"GROUP BY a.local_day, a.type, a.variant, {DISTRICT}, a.factor_version{level}",
        "INSERT INTO stats_day (local_day, campaign_id, action_type, variant, district_code, "
        f"factor_version{level_column}, actions, co2e_g, points, distance_m) "
        f"SELECT a.local_day, ca.campaign_id, a.type, a.variant, {DISTRICT}, "
        f"a.factor_version{level}, {DAY_SUMS} {CAMPAIGN_ROWS} WHERE {APPROVED} "
        f"GROUP BY a.local_day, ca.campaign_id, a.type, a.variant, {DISTRICT}, "
        f"a.factor_version{level}",
        "INSERT INTO migrate_fact_day (campaign_id, action_type, district_code, verified, "
        f"local_day, resident_id) SELECT DISTINCT 0, a.type, {DISTRICT}"
        f"{flag or ', TRUE'}, a.local_day, a.resident_id FROM action a WHERE {APPROVED}",
        "INSERT INTO migrate_fact_day (campaign_id, action_type, district_code, verified, "
        f"local_day, resident_id) SELECT DISTINCT ca.campaign_id, a.type, {DISTRICT}"
        f"{flag or ', TRUE'}, a.local_day, a.resident_id {CAMPAIGN_ROWS} WHERE {APPROVED}",
    ]
    for column in ("day_key", "week_key", "month_key"):
        cells = " UNION ".join(
            f"SELECT f.campaign_id, {kind}, {district}{', f.verified' if verified else ''}, "
            f"p.{column}, f.resident_id FROM migrate_fact_day f "
            "JOIN migrate_period_day p ON p.local_day = f.local_day"
            for kind in ("f.action_type", "'*'")
            for district in ("f.district_code", "'*'")
        )
        statements.append(
            "INSERT INTO stats_participant (campaign_id, action_type, district_code"
            f"{flag_column}, period_key, resident_id) {cells}")
    cell = f"campaign_id, action_type, district_code{flag_column}"
    statements += [
        f"INSERT INTO stats_participant_count ({cell}, period_key, participants) "
        f"SELECT {cell}, period_key, COUNT(*) FROM stats_participant "
        f"GROUP BY {cell}, period_key",
        f"INSERT INTO stats_participant_previous ({cell}, period_key, previous_key, "
        f"residents) SELECT {cell}, period_key, previous_key, COUNT(*) FROM "
        f"(SELECT {cell}, period_key, COALESCE(LAG(period_key) OVER (PARTITION BY {cell}, "
        "resident_id ORDER BY period_key), '') AS previous_key FROM stats_participant "
        f"WHERE period_key LIKE 'd%') AS days GROUP BY {cell}, period_key, previous_key",
    ]
    for statement in statements:
        bind.execute(sa.text(statement))
    bind.execute(sa.text("DROP TABLE migrate_fact_day"))
    bind.execute(sa.text("DROP TABLE migrate_period_day"))


def upgrade():
    _drop()
    _create(verified=True)
    _fill(verified=True)


def downgrade():
    _drop()
    _create(verified=False)
    _fill(verified=False)
