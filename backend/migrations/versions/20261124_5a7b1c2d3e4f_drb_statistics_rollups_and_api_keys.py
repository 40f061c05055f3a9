"""DRB statistics rollups and API keys

Reviewed by hand after autogenerate.

Revision ID: 5a7b1c2d3e4f
Revises: a1d2c3b4e5f6
Create Date: 2026-11-24 11:35:39.025263

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a7b1c2d3e4f'
down_revision = 'a1d2c3b4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('drb_api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drb_api_key')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_drb_api_key_token_hash'))
    )
    op.create_table('stats_day',
    sa.Column('local_day', sa.Date(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('action_type', sa.String(length=24), nullable=False),
    sa.Column('variant', sa.String(length=32), nullable=False),
    sa.Column('district_code', sa.String(length=16), nullable=False),
    sa.Column('factor_version', sa.String(length=32), nullable=False),
    sa.Column('actions', sa.BigInteger(), nullable=False),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('distance_m', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('local_day', 'campaign_id', 'action_type', 'variant', 'district_code', 'factor_version', name=op.f('pk_stats_day'))
    )
    op.create_table('stats_participant_count',
    sa.Column('campaign_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('action_type', sa.String(length=24), nullable=False),
    sa.Column('district_code', sa.String(length=16), nullable=False),
    sa.Column('period_key', sa.String(length=12), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('campaign_id', 'action_type', 'district_code', 'period_key', name=op.f('pk_stats_participant_count'))
    )
    op.create_table('stats_participant',
    sa.Column('campaign_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('action_type', sa.String(length=24), nullable=False),
    sa.Column('district_code', sa.String(length=16), nullable=False),
    sa.Column('period_key', sa.String(length=12), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_stats_participant_resident_id_resident')),
    sa.PrimaryKeyConstraint('campaign_id', 'action_type', 'district_code', 'period_key', 'resident_id', name=op.f('pk_stats_participant'))
    )
    with op.batch_alter_table('stats_participant', schema=None) as batch_op:
        batch_op.create_index('ix_stats_participant_period_key', ['period_key'], unique=False)

    op.create_table('stats_counted_action',
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('campaign_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_stats_counted_action_action_id_action')),
    sa.PrimaryKeyConstraint('action_id', 'campaign_id', name=op.f('pk_stats_counted_action'))
    )


def downgrade():
    op.drop_table('stats_counted_action')
    with op.batch_alter_table('stats_participant', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_participant_period_key')

    op.drop_table('stats_participant')
    op.drop_table('stats_participant_count')
    op.drop_table('stats_day')
    op.drop_table('drb_api_key')
