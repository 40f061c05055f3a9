"""rewards, redemptions, ledger allocations

Reviewed by hand after autogenerate.

Revision ID: 7c1e0d9a2b4f
Revises: f3c2a9b17e55
Create Date: 2026-11-24 11:23:16.637526

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c1e0d9a2b4f'
down_revision = 'f3c2a9b17e55'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('reward',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=80), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('image_url', sa.String(length=512), nullable=True),
    sa.Column('merchant_name', sa.String(length=80), nullable=False),
    sa.Column('cost_points', sa.Integer(), nullable=False),
    sa.Column('stock_total', sa.Integer(), nullable=False),
    sa.Column('stock_left', sa.Integer(), nullable=False),
    sa.Column('per_resident_limit', sa.Integer(), nullable=True),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('cost_points > 0', name=op.f('ck_reward_cost_positive')),
    sa.CheckConstraint('stock_left <= stock_total', name=op.f('ck_reward_stock_within_total')),
    sa.CheckConstraint('stock_left >= 0', name=op.f('ck_reward_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reward'))
    )
    op.create_table('redemption',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reward_id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_by', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('issued', 'used', 'cancelled')", name=op.f('ck_redemption_status_known')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_redemption_resident_id_resident')),
    sa.ForeignKeyConstraint(['reward_id'], ['reward.id'], name=op.f('fk_redemption_reward_id_reward')),
    sa.ForeignKeyConstraint(['used_by'], ['staff_user.id'], name=op.f('fk_redemption_used_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption')),
    sa.UniqueConstraint('code', name=op.f('uq_redemption_code'))
    )
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.create_index('ix_redemption_resident_id_id', ['resident_id', 'id'], unique=False)
        batch_op.create_index('ix_redemption_reward_id_resident_id', ['reward_id', 'resident_id'], unique=False)

    op.create_table('ledger_allocation',
    sa.Column('debit_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('credit_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_ledger_allocation_amount_positive')),
    sa.ForeignKeyConstraint(['credit_entry_id'], ['ledger_entry.id'], name=op.f('fk_ledger_allocation_credit_entry_id_ledger_entry')),
    sa.ForeignKeyConstraint(['debit_entry_id'], ['ledger_entry.id'], name=op.f('fk_ledger_allocation_debit_entry_id_ledger_entry')),
    sa.PrimaryKeyConstraint('debit_entry_id', 'credit_entry_id', name=op.f('pk_ledger_allocation'))
    )
    with op.batch_alter_table('ledger_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_allocation_credit_entry_id'), ['credit_entry_id'], unique=False)



def downgrade():
    with op.batch_alter_table('ledger_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_allocation_credit_entry_id'))

    op.drop_table('ledger_allocation')
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_index('ix_redemption_reward_id_resident_id')
        batch_op.drop_index('ix_redemption_resident_id_id')

    op.drop_table('redemption')
    op.drop_table('reward')
