"""methodology, actions, ledger, partner feeds, idempotency

Reviewed by hand after autogenerate.

Revision ID: eb0f2bd6afc5
Revises: c151bb0b9d94
Create Date: 2026-11-24 10:42:59.889623

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'eb0f2bd6afc5'
down_revision = 'c151bb0b9d94'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('idempotency_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('principal', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=128), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.JSON(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_record')),
    sa.UniqueConstraint('scope', 'principal', 'key', name=op.f('uq_idempotency_record_scope_principal_key'))
    )
    op.create_table('methodology_version',
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('published', sa.Date(), nullable=False),
    sa.Column('grams_per_point', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('in_force_since', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_methodology_version'))
    )
    with op.batch_alter_table('methodology_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_methodology_version_in_force_since'), ['in_force_since'], unique=False)

    op.create_table('partner_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('secret_encrypted', sa.String(length=255), nullable=False),
    sa.Column('allowed', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_client')),
    sa.UniqueConstraint('key', name=op.f('uq_partner_client_key'))
    )
    op.create_table('factor',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('action_type', sa.String(length=32), nullable=False),
    sa.Column('variant', sa.String(length=32), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('avoided_mg_per_unit', sa.Integer(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['version'], ['methodology_version.version'], name=op.f('fk_factor_version_methodology_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_factor')),
    sa.UniqueConstraint('version', 'action_type', 'variant', name=op.f('uq_factor_version_action_type_variant'))
    )
    op.create_table('account',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('co2e_g_total', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_account_balance_not_negative')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_account_resident_id_resident')),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_account'))
    )
    op.create_table('daily_points',
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('local_day', sa.Date(), nullable=False),
    sa.Column('action_type', sa.String(length=32), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_daily_points_resident_id_resident')),
    sa.PrimaryKeyConstraint('resident_id', 'local_day', 'action_type', name=op.f('pk_daily_points'))
    )
    op.create_table('ledger_entry',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ref', sa.String(length=96), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('earn', 'campaign_bonus', 'checkin', 'badge', 'redeem', 'refund', 'adjustment', 'expire')", name=op.f('ck_ledger_entry_kind_known')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_ledger_entry_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entry')),
    sa.UniqueConstraint('kind', 'ref', name='uq_ledger_entry_cause')
    )
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_entry_resident_id_id', ['resident_id', 'id'], unique=False)

    op.create_table('partner_resident_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=64), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_client.id'], name=op.f('fk_partner_resident_link_partner_id_partner_client')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_partner_resident_link_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_resident_link')),
    sa.UniqueConstraint('partner_id', 'external_id', name=op.f('uq_partner_resident_link_partner_id_external_id')),
    sa.UniqueConstraint('partner_id', 'resident_id', name=op.f('uq_partner_resident_link_partner_id_resident_id'))
    )
    with op.batch_alter_table('partner_resident_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_resident_link_resident_id'), ['resident_id'], unique=False)

    op.create_table('action',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('variant', sa.String(length=32), nullable=False),
    sa.Column('quantity_milli', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('local_day', sa.Date(), nullable=False),
    sa.Column('co2e_g', sa.Integer(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('capped', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('factor_id', sa.Integer(), nullable=False),
    sa.Column('factor_version', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('dedup_key', sa.String(length=160), nullable=True),
    sa.Column('photo_id', sa.String(length=32), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('district_code', sa.String(length=16), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by', sa.Integer(), nullable=True),
    sa.Column('review_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('approved', 'pending_review', 'rejected')", name=op.f('ck_action_status_known')),
    sa.CheckConstraint('co2e_g >= 0 AND points >= 0', name=op.f('ck_action_amounts_not_negative')),
    sa.ForeignKeyConstraint(['factor_id'], ['factor.id'], name=op.f('fk_action_factor_id_factor')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_client.id'], name=op.f('fk_action_partner_id_partner_client')),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_action_photo_id_photo')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_action_resident_id_resident')),
    sa.ForeignKeyConstraint(['reviewed_by'], ['staff_user.id'], name=op.f('fk_action_reviewed_by_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action')),
    sa.UniqueConstraint('dedup_key', name=op.f('uq_action_dedup_key')),
    sa.UniqueConstraint('photo_id', name=op.f('uq_action_photo_id'))
    )
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.create_index('ix_action_resident_id_id', ['resident_id', 'id'], unique=False)
        batch_op.create_index('ix_action_resident_id_local_day_type', ['resident_id', 'local_day', 'type'], unique=False)
        batch_op.create_index('ix_action_status_id', ['status', 'id'], unique=False)

    op.create_table('partner_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_partner_event_action_id_action')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner_client.id'], name=op.f('fk_partner_event_partner_id_partner_client')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_event')),
    sa.UniqueConstraint('action_id', name=op.f('uq_partner_event_action_id')),
    sa.UniqueConstraint('partner_id', 'event_id', name=op.f('uq_partner_event_partner_id_event_id'))
    )


def downgrade():
    op.drop_table('partner_event')
    with op.batch_alter_table('action', schema=None) as batch_op:
        batch_op.drop_index('ix_action_status_id')
        batch_op.drop_index('ix_action_resident_id_local_day_type')
        batch_op.drop_index('ix_action_resident_id_id')

    op.drop_table('action')
    with op.batch_alter_table('partner_resident_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_resident_link_resident_id'))

    op.drop_table('partner_resident_link')
    with op.batch_alter_table('ledger_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_entry_resident_id_id')

    op.drop_table('ledger_entry')
    op.drop_table('daily_points')
    op.drop_table('account')
    op.drop_table('factor')
    op.drop_table('partner_client')
    with op.batch_alter_table('methodology_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_methodology_version_in_force_since'))

    op.drop_table('methodology_version')
    op.drop_table('idempotency_record')
