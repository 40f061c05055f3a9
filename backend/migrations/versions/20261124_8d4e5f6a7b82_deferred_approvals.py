"""deferred approvals: the outbox of a partner batch's derived figures

Revision ID: 8d4e5f6a7b82
Revises: 7c9d3e4f5a61
Create Date: 2026-11-24 20:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d4e5f6a7b82'
down_revision = '7c9d3e4f5a61'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deferred_approval',
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_deferred_approval_action_id_action')),
    sa.PrimaryKeyConstraint('action_id', name=op.f('pk_deferred_approval'))
    )


def downgrade():
    op.drop_table('deferred_approval')
