"""points adjustment requests: a second staff member approves large adjustments

Written by hand.

Revision ID: 89e1b5dd7f40
Revises: f0ecb101d609
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '89e1b5dd7f40'
down_revision = 'f0ecb101d609'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('points_adjustment_request',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("delta <> 0", name=op.f('ck_points_adjustment_request_delta_not_zero')),
    sa.CheckConstraint("reason <> ''", name=op.f('ck_points_adjustment_request_reason_given')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_points_adjustment_request_status_known')),
    sa.CheckConstraint("status <> 'approved' OR decided_by_id <> requested_by_id", name=op.f('ck_points_adjustment_request_second_approver')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_points_adjustment_request_resident_id_resident')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['staff_user.id'], name=op.f('fk_points_adjustment_request_requested_by_id_staff_user')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['staff_user.id'], name=op.f('fk_points_adjustment_request_decided_by_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_adjustment_request'))
    )
    with op.batch_alter_table('points_adjustment_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_adjustment_request_resident_id'), ['resident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_adjustment_request_status'), ['status'], unique=False)

    with op.batch_alter_table('points_adjustment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_id', sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_points_adjustment_request_id'), ['request_id'])
        batch_op.create_foreign_key(batch_op.f('fk_points_adjustment_request_id_points_adjustment_request'), 'points_adjustment_request', ['request_id'], ['id'])


def downgrade():
    with op.batch_alter_table('points_adjustment', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_points_adjustment_request_id_points_adjustment_request'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_points_adjustment_request_id'), type_='unique')
        batch_op.drop_column('request_id')

    with op.batch_alter_table('points_adjustment_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_adjustment_request_status'))
        batch_op.drop_index(batch_op.f('ix_points_adjustment_request_resident_id'))

    op.drop_table('points_adjustment_request')
