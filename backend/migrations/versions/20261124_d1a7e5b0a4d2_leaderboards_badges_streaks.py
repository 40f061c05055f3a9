"""leaderboards, badges, streaks

Reviewed by hand after autogenerate.

Revision ID: d1a7e5b0a4d2
Revises: eb0f2bd6afc5
Create Date: 2026-11-24 11:06:40.697238

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1a7e5b0a4d2'
down_revision = 'eb0f2bd6afc5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('leaderboard_district',
    sa.Column('period_key', sa.String(length=8), nullable=False),
    sa.Column('district_code', sa.String(length=16), nullable=False),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('period_key', 'district_code', name=op.f('pk_leaderboard_district'))
    )
    op.create_table('badge_award',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('badge_key', sa.String(length=32), nullable=False),
    sa.Column('awarded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_badge_award_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_badge_award')),
    sa.UniqueConstraint('resident_id', 'badge_key', name=op.f('uq_badge_award_resident_id_badge_key'))
    )
    op.create_table('leaderboard_resident',
    sa.Column('period_key', sa.String(length=8), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('district_code', sa.String(length=16), nullable=True),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_leaderboard_resident_resident_id_resident')),
    sa.PrimaryKeyConstraint('period_key', 'resident_id', name=op.f('pk_leaderboard_resident'))
    )
    with op.batch_alter_table('leaderboard_resident', schema=None) as batch_op:
        batch_op.create_index('ix_leaderboard_resident_period_co2e', ['period_key', 'co2e_g', 'resident_id'], unique=False)
        batch_op.create_index('ix_leaderboard_resident_period_district_co2e', ['period_key', 'district_code', 'co2e_g', 'resident_id'], unique=False)

    op.create_table('streak',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('current', sa.Integer(), nullable=False),
    sa.Column('best', sa.Integer(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_streak_resident_id_resident')),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_streak'))
    )
    op.create_table('leaderboard_action',
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_leaderboard_action_action_id_action')),
    sa.PrimaryKeyConstraint('action_id', name=op.f('pk_leaderboard_action'))
    )


def downgrade():
    op.drop_table('leaderboard_action')
    op.drop_table('streak')
    with op.batch_alter_table('leaderboard_resident', schema=None) as batch_op:
        batch_op.drop_index('ix_leaderboard_resident_period_district_co2e')
        batch_op.drop_index('ix_leaderboard_resident_period_co2e')

    op.drop_table('leaderboard_resident')
    op.drop_table('badge_award')
    op.drop_table('leaderboard_district')
