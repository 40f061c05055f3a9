"""staff: the merchant role (verifies redemption codes only) and each user's last sign-in

Written by hand.

Revision ID: 01e14c9e2f80
Revises: 19a20d55c37d
Create Date: 2026-12-03 23:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '01e14c9e2f80'
down_revision = '19a20d55c37d'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('superadmin', 'campaign_admin', 'reviewer', 'analyst')"
NEW_ROLES = "role IN ('superadmin', 'campaign_admin', 'reviewer', 'analyst', 'merchant')"


def upgrade():
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_staff_user_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', NEW_ROLES)


def downgrade():
    op.execute("DELETE FROM staff_session WHERE staff_user_id IN "
               "(SELECT id FROM staff_user WHERE role = 'merchant')")
    op.execute("UPDATE staff_user SET active = false, role = 'analyst' WHERE role = 'merchant'")
    with op.batch_alter_table('staff_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_staff_user_role_known'), type_='check')
        batch_op.create_check_constraint('role_known', OLD_ROLES)
        batch_op.drop_column('last_sign_in_at')
