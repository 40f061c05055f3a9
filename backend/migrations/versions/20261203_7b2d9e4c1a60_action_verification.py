"""action.verification: how each action was verified (partner, trace, reviewed, self_declared)

Existing rows: partner events are `partner`; what a reviewer approved is `reviewed`;
everything else was the resident's word alone, `self_declared`. Written by hand.

Revision ID: 7b2d9e4c1a60
Revises: 0e5a3b7c9d12
Create Date: 2026-12-03 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7b2d9e4c1a60'
down_revision = '0e5a3b7c9d12'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('verification', sa.String(length=16), nullable=False,
                      server_default='self_declared')
        )
    op.execute("UPDATE action SET verification = 'partner' WHERE source = 'partner'")
    op.execute(
        "UPDATE action SET verification = 'reviewed' "
        "WHERE source <> 'partner' AND reviewed_by IS NOT NULL AND status = 'approved'"
    )
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.alter_column('verification', server_default=None)
        batch_op.create_check_constraint(
            'verification_known',
            "verification IN ('partner', 'trace', 'reviewed', 'self_declared')",
        )


def downgrade():
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_constraint('ck_action_verification_known', type_='check')
        batch_op.drop_column('verification')
