"""the community board: a resident's community on their period rows, totals per community

Written by hand. Existing rows take the community their resident's profile names now.

Revision ID: 5d2a9c41e7b3
Revises: 89e1b5dd7f40
Create Date: 2026-12-03 18:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d2a9c41e7b3'
down_revision = '89e1b5dd7f40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('leaderboard_resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('community', sa.String(length=64), nullable=True))
    op.create_table('leaderboard_community',
        sa.Column('period_key', sa.String(length=8), nullable=False),
        sa.Column('district_code', sa.String(length=16), nullable=False),
        sa.Column('community', sa.String(length=64), nullable=False),
        sa.Column('co2e_g', sa.BigInteger(), nullable=False),
        sa.Column('participants', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            'period_key', 'district_code', 'community', name=op.f('pk_leaderboard_community')
        ),
    )
    with op.batch_alter_table('leaderboard_community', schema=None) as batch_op:
        batch_op.create_index(
            'ix_leaderboard_community_period_co2e', ['period_key', 'co2e_g'], unique=False
        )
        batch_op.create_index(
            'ix_leaderboard_community_period_district_co2e',
            ['period_key', 'district_code', 'co2e_g'],
            unique=False,
        )
    op.execute(
        "UPDATE leaderboard_resident SET community = ("
        " SELECT resident.community FROM resident"
        " WHERE resident.id = leaderboard_resident.resident_id)"
    )
    op.execute(
        "INSERT INTO leaderboard_community"
        " (period_key, district_code, community, co2e_g, participants, updated_at)"
        " SELECT period_key, district_code, community, SUM(co2e_g), COUNT(*), MAX(updated_at)"
        " FROM leaderboard_resident"
        " WHERE district_code IS NOT NULL AND community IS NOT NULL AND community <> ''"
        " GROUP BY period_key, district_code, community"
    )


def downgrade():
    with op.batch_alter_table('leaderboard_community', schema=None) as batch_op:
        batch_op.drop_index('ix_leaderboard_community_period_district_co2e')
        batch_op.drop_index('ix_leaderboard_community_period_co2e')
    op.drop_table('leaderboard_community')
    with op.batch_alter_table('leaderboard_resident', schema=None) as batch_op:
        batch_op.drop_column('community')
