"""approval outbox and worker jobs: every approval's derived figures are applied by the worker

Replaces `deferred_approval` (a partner batch's outbox) with `approval_outbox`, which
every approval writes: rows keep their own id, so the worker applies them oldest first
whatever the action's id (a reviewer approves old actions). Rows not yet applied move
over in action order. `worker_job_run` records which worker runs a periodic job's slot.

Revision ID: 4f0c7a2e9b13
Revises: 8d4e5f6a7b82
Create Date: 2026-12-03 07:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4f0c7a2e9b13'
down_revision = '8d4e5f6a7b82'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('approval_outbox',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('action_id', BIG_ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_approval_outbox_action_id_action')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_approval_outbox')),
    sa.UniqueConstraint('action_id', name=op.f('uq_approval_outbox_action_id'))
    )
    op.execute(
        'INSERT INTO approval_outbox (action_id, created_at) '
        'SELECT action_id, created_at FROM deferred_approval ORDER BY action_id'
    )
    op.drop_table('deferred_approval')
    op.create_table('worker_job_run',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('slot', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', 'slot', name=op.f('pk_worker_job_run'))
    )


def downgrade():
    op.drop_table('worker_job_run')
    op.create_table('deferred_approval',
    sa.Column('action_id', BIG_ID, autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_deferred_approval_action_id_action')),
    sa.PrimaryKeyConstraint('action_id', name=op.f('pk_deferred_approval'))
    )
    op.execute(
        'INSERT INTO deferred_approval (action_id, created_at) '
        'SELECT action_id, created_at FROM approval_outbox'
    )
    op.drop_table('approval_outbox')
