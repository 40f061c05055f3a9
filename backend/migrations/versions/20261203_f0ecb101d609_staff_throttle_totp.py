"""staff_throttle_totp: failed staff sign-ins slow further tries instead of locking the
account; staff users may hold a TOTP second factor (superadmins must)

staff_user loses failed_logins and locked_until (anyone could lock any account with
them) and gains totp_secret (Fernet-encrypted), totp_enrolled_at, totp_last_step;
staff_sign_in_throttle counts failures per keyed hash of a username, or of a username
and an address. Written by hand.

Revision ID: f0ecb101d609
Revises: a4e1c97b52d8
Create Date: 2026-12-03 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f0ecb101d609'
down_revision = 'a4e1c97b52d8'
branch_labels = None
depends_on = None

ROLE_KNOWN = "role IN ('superadmin', 'campaign_admin', 'reviewer', 'analyst')"


def upgrade():
    op.create_table(
        'staff_sign_in_throttle',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_failure_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('trusted_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_staff_sign_in_throttle')),
    )
    op.create_index(
        op.f('ix_staff_sign_in_throttle_updated_at'),
        'staff_sign_in_throttle',
        ['updated_at'],
        unique=False,
    )
    # SQLite rebuilds the table: its CHECK constraint is restated so it survives.
    with op.batch_alter_table(
        'staff_user',
        schema=None,
        table_args=(sa.CheckConstraint(ROLE_KNOWN, name=op.f('ck_staff_user_role_known')),),
    ) as batch_op:
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('locked_until')
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column('totp_enrolled_at', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table(
        'staff_user',
        schema=None,
        table_args=(sa.CheckConstraint(ROLE_KNOWN, name=op.f('ck_staff_user_role_known')),),
    ) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enrolled_at')
        batch_op.drop_column('totp_secret')
        batch_op.add_column(
            sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0')
        )
    op.drop_index(
        op.f('ix_staff_sign_in_throttle_updated_at'), table_name='staff_sign_in_throttle'
    )
    op.drop_table('staff_sign_in_throttle')
