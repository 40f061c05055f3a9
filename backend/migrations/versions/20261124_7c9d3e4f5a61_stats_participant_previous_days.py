"""stats participant previous days: distinct residents over any day range without a scan

Each (cell, day) counts the residents first active there by their previous active day, so
a range's distinct residents are a sum of a few rows per day. Filled from the existing
day rows of stats_participant, as `flask stats rebuild` derives it.

Reviewed by hand after autogenerate.

Revision ID: 7c9d3e4f5a61
Revises: 6b8c2d3e4f50
Create Date: 2026-11-24 12:42:49.126195

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c9d3e4f5a61'
down_revision = '6b8c2d3e4f50'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stats_participant_previous',
    sa.Column('campaign_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('action_type', sa.String(length=24), nullable=False),
    sa.Column('district_code', sa.String(length=16), nullable=False),
    sa.Column('period_key', sa.String(length=12), nullable=False),
    sa.Column('previous_key', sa.String(length=12), nullable=False),
    sa.Column('residents', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'action_type', 'district_code', 'period_key', 'previous_key', name=op.f('pk_stats_participant_previous'))
    )
    op.execute(
        "INSERT INTO stats_participant_previous "
        "(campaign_id, action_type, district_code, period_key, previous_key, residents) "
        "SELECT campaign_id, action_type, district_code, period_key, previous_key, COUNT(*) "
        "FROM (SELECT campaign_id, action_type, district_code, period_key, "
        "COALESCE(LAG(period_key) OVER (PARTITION BY campaign_id, action_type, district_code, "
        "resident_id ORDER BY period_key), '') AS previous_key "
        "FROM stats_participant WHERE period_key LIKE 'd%') AS days "
        "GROUP BY campaign_id, action_type, district_code, period_key, previous_key"
    )


def downgrade():
    op.drop_table('stats_participant_previous')
