"""Tombstones of deleted accounts, the limits they keep, and void redemptions

resident_tombstone: a deleted resident's phone / WeChat HMAC, its id and keep_until.
kept_limit: limit uses (reward redemptions, campaign join bonuses, badge points) a deleted
account leaves to whoever signs up again with its identity. redemption.status gains
'void' (issued to an account that was then deleted). Written by hand.

Revision ID: 0c3067f452bc
Revises: 7b2d9e4c1a60
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0c3067f452bc'
down_revision = '7b2d9e4c1a60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('resident_tombstone',
    sa.Column('identity_hmac', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('keep_until', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_tombstone_resident_id_resident')),
    sa.PrimaryKeyConstraint('identity_hmac', name=op.f('pk_resident_tombstone'))
    )
    op.create_index('ix_resident_tombstone_keep_until', 'resident_tombstone', ['keep_until'], unique=False)
    op.create_index(op.f('ix_resident_tombstone_resident_id'), 'resident_tombstone', ['resident_id'], unique=False)
    op.create_table('kept_limit',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=48), nullable=False),
    sa.Column('used', sa.Integer(), nullable=False),
    sa.Column('keep_until', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('reward', 'campaign_join', 'badge')", name=op.f('ck_kept_limit_kind_known')),
    sa.CheckConstraint('used > 0', name=op.f('ck_kept_limit_used_positive')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_kept_limit_resident_id_resident')),
    sa.PrimaryKeyConstraint('resident_id', 'kind', 'subject', name=op.f('pk_kept_limit'))
    )
    op.create_index('ix_kept_limit_keep_until', 'kept_limit', ['keep_until'], unique=False)
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_redemption_status_known'), type_='check')
        batch_op.create_check_constraint(
            'status_known', "status IN ('issued', 'used', 'cancelled', 'void')"
        )


def downgrade():
    # A void code was never handed over and its stock came back: it reads as cancelled.
    op.execute("UPDATE redemption SET status = 'cancelled' WHERE status = 'void'")
    with op.batch_alter_table('redemption', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_redemption_status_known'), type_='check')
        batch_op.create_check_constraint(
            'status_known', "status IN ('issued', 'used', 'cancelled')"
        )
    op.drop_index('ix_kept_limit_keep_until', table_name='kept_limit')
    op.drop_table('kept_limit')
    op.drop_index(op.f('ix_resident_tombstone_resident_id'), table_name='resident_tombstone')
    op.drop_index('ix_resident_tombstone_keep_until', table_name='resident_tombstone')
    op.drop_table('resident_tombstone')
