"""the SMS budget: codes texted per day, city-wide and per number block, address and phone

Written by hand.

Revision ID: a4e1c97b52d8
Revises: 6c9b62c2a575
Create Date: 2026-12-03 16:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4e1c97b52d8'
down_revision = '6c9b62c2a575'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sms_counter',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('day', 'scope', 'key', name=op.f('pk_sms_counter')),
    )


def downgrade():
    op.drop_table('sms_counter')
