"""checkin_point: latitude, longitude, radius_m and mode (poster or rotating)

Existing points get no location and stay `poster` points: they refuse check-ins (422
checkin_point_unlocated) until staff set a location, or switch them to an event screen's
rotating code. Written by hand.

Revision ID: 57da62f2fa77
Revises: 0c3067f452bc
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '57da62f2fa77'
down_revision = '0c3067f452bc'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('checkin_point', schema=None) as batch_op:
        batch_op.add_column(sa.Column('latitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Double(), nullable=True))
        batch_op.add_column(sa.Column('radius_m', sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column('mode', sa.String(length=16), nullable=False, server_default='poster')
        )
    with op.batch_alter_table('checkin_point', schema=None) as batch_op:
        batch_op.alter_column('mode', server_default=None)
        batch_op.create_check_constraint('mode_known', "mode IN ('poster', 'rotating')")
        batch_op.create_check_constraint(
            'location_whole',
            "(latitude IS NULL AND longitude IS NULL AND radius_m IS NULL)"
            " OR (latitude IS NOT NULL AND longitude IS NOT NULL AND radius_m IS NOT NULL)",
        )


def downgrade():
    with op.batch_alter_table('checkin_point', schema=None) as batch_op:
        batch_op.drop_constraint('ck_checkin_point_location_whole', type_='check')
        batch_op.drop_constraint('ck_checkin_point_mode_known', type_='check')
        batch_op.drop_column('mode')
        batch_op.drop_column('radius_m')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
