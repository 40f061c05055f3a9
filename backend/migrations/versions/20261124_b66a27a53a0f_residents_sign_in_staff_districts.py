"""residents, sign-in, staff, districts

Reviewed by hand after autogenerate.

Revision ID: b66a27a53a0f
Revises: 
Create Date: 2026-11-24 10:30:44.597413

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b66a27a53a0f'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('district',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('name_en', sa.String(length=64), nullable=False),
    sa.Column('central_city', sa.Boolean(), nullable=False),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_district'))
    )
    op.create_table('otp_challenge',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_hmac', sa.String(length=64), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_otp_challenge'))
    )
    with op.batch_alter_table('otp_challenge', schema=None) as batch_op:
        batch_op.create_index('ix_otp_challenge_phone_hmac_id', ['phone_hmac', 'id'], unique=False)

    op.create_table('staff_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('superadmin', 'campaign_admin', 'reviewer', 'analyst')", name=op.f('ck_staff_user_role_known')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_user')),
    sa.UniqueConstraint('username', name=op.f('uq_staff_user_username'))
    )
    op.create_table('resident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phone_hmac', sa.String(length=64), nullable=True),
    sa.Column('phone_encrypted', sa.String(length=255), nullable=True),
    sa.Column('phone_masked', sa.String(length=16), nullable=True),
    sa.Column('wechat_openid_hmac', sa.String(length=64), nullable=True),
    sa.Column('nickname', sa.String(length=32), nullable=True),
    sa.Column('district_code', sa.String(length=16), nullable=True),
    sa.Column('community', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'suspended', 'deleted')", name=op.f('ck_resident_status_known')),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_resident_district_code_district')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident')),
    sa.UniqueConstraint('phone_hmac', name=op.f('uq_resident_phone_hmac')),
    sa.UniqueConstraint('wechat_openid_hmac', name=op.f('uq_resident_wechat_openid_hmac'))
    )
    op.create_table('resident_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('access_token_hash', sa.String(length=64), nullable=False),
    sa.Column('access_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refresh_token_hash', sa.String(length=64), nullable=False),
    sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('previous_refresh_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_session_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_session')),
    sa.UniqueConstraint('access_token_hash', name=op.f('uq_resident_session_access_token_hash')),
    sa.UniqueConstraint('refresh_token_hash', name=op.f('uq_resident_session_refresh_token_hash'))
    )
    with op.batch_alter_table('resident_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resident_session_previous_refresh_hash'), ['previous_refresh_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_resident_session_resident_id'), ['resident_id'], unique=False)



def downgrade():
    with op.batch_alter_table('resident_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resident_session_resident_id'))
        batch_op.drop_index(batch_op.f('ix_resident_session_previous_refresh_hash'))

    op.drop_table('resident_session')
    op.drop_table('resident')
    op.drop_table('staff_user')
    with op.batch_alter_table('otp_challenge', schema=None) as batch_op:
        batch_op.drop_index('ix_otp_challenge_phone_hmac_id')

    op.drop_table('otp_challenge')
    op.drop_table('district')
