"""trip_trace: a trip's raw GPS points, kept until erase_after (TRACE_RETENTION_DAYS)

The worker's daily `trace_erasure` job deletes rows past erase_after; what the checks
derived from the points stays in the action's details. Written by hand.

Revision ID: c39dcc7af7c8
Revises: 0802003772d5
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c39dcc7af7c8'
down_revision = '0802003772d5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'trip_trace',
        sa.Column(
            'action_id',
            sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
            nullable=False,
        ),
        sa.Column('points', sa.JSON(), nullable=False),
        sa.Column('erase_after', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['action_id'], ['action.id'], name=op.f('fk_trip_trace_action_id_action')
        ),
        sa.PrimaryKeyConstraint('action_id', name=op.f('pk_trip_trace')),
    )
    op.create_index(
        op.f('ix_trip_trace_erase_after'), 'trip_trace', ['erase_after'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_trip_trace_erase_after'), table_name='trip_trace')
    op.drop_table('trip_trace')
