"""campaigns, enrolments, check-ins

Reviewed by hand after autogenerate.

Revision ID: f3c2a9b17e55
Revises: d1a7e5b0a4d2
Create Date: 2026-11-24 11:10:59.029954

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3c2a9b17e55'
down_revision = 'd1a7e5b0a4d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('event_key', sa.String(length=32), nullable=True),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('district_codes', sa.JSON(), nullable=False),
    sa.Column('goal_co2e_g', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published', 'ended')", name=op.f('ck_campaign_status_known')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_campaign_window_positive')),
    sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'], name=op.f('fk_campaign_created_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign'))
    )
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_status_starts_at', ['status', 'starts_at'], unique=False)

    op.create_table('campaign_progress',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('shard', sa.Integer(), nullable=False),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_progress_campaign_id_campaign')),
    sa.PrimaryKeyConstraint('campaign_id', 'shard', name=op.f('pk_campaign_progress'))
    )
    op.create_table('campaign_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('multipliers', sa.JSON(), nullable=False),
    sa.Column('join_bonus', sa.Integer(), nullable=False),
    sa.Column('checkin_points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_rules_campaign_id_campaign')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_rules')),
    sa.UniqueConstraint('campaign_id', 'effective_from', name=op.f('uq_campaign_rules_campaign_id_effective_from'))
    )
    op.create_table('checkin_point',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('place', sa.String(length=128), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('token_nonce', sa.String(length=32), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_checkin_point_campaign_id_campaign')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin_point'))
    )
    with op.batch_alter_table('checkin_point', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_point_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('enrolment',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_enrolment_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_enrolment_resident_id_resident')),
    sa.PrimaryKeyConstraint('campaign_id', 'resident_id', name=op.f('pk_enrolment'))
    )
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_resident_id'), ['resident_id'], unique=False)

    op.create_table('checkin',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('point_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('local_day', sa.Date(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['point_id'], ['checkin_point.id'], name=op.f('fk_checkin_point_id_checkin_point')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_checkin_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_checkin')),
    sa.UniqueConstraint('point_id', 'resident_id', 'local_day', name=op.f('uq_checkin_point_id_resident_id_local_day'))
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_resident_id'), ['resident_id'], unique=False)

    op.create_table('campaign_action',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.Column('bonus_points', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_campaign_action_action_id_action')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_action_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_campaign_action_resident_id_resident')),
    sa.PrimaryKeyConstraint('campaign_id', 'action_id', name=op.f('pk_campaign_action'))
    )


def downgrade():
    op.drop_table('campaign_action')
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_resident_id'))

    op.drop_table('checkin')
    with op.batch_alter_table('enrolment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_resident_id'))

    op.drop_table('enrolment')
    with op.batch_alter_table('checkin_point', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_point_campaign_id'))

    op.drop_table('checkin_point')
    op.drop_table('campaign_rules')
    op.drop_table('campaign_progress')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_status_starts_at')

    op.drop_table('campaign')
