"""points adjustments

Reviewed by hand after autogenerate.

Revision ID: a1d2c3b4e5f6
Revises: 9e8d7c6b5a41
Create Date: 2026-11-24 11:39:17.746681

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1d2c3b4e5f6'
down_revision = '9e8d7c6b5a41'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('points_adjustment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("reason <> ''", name=op.f('ck_points_adjustment_reason_given')),
    sa.CheckConstraint('delta <> 0', name=op.f('ck_points_adjustment_delta_not_zero')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_points_adjustment_resident_id_resident')),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_points_adjustment_staff_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_adjustment'))
    )
    with op.batch_alter_table('points_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_adjustment_resident_id'), ['resident_id'], unique=False)


def downgrade():
    with op.batch_alter_table('points_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_adjustment_resident_id'))

    op.drop_table('points_adjustment')
