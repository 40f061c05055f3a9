"""bench calibration: the table of POST /api/v1/bench/calibrate (benchmark configuration)

Reviewed by hand after autogenerate.

Revision ID: 6b8c2d3e4f50
Revises: 5a7b1c2d3e4f
Create Date: 2026-11-24 12:27:26.098118

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6b8c2d3e4f50'
down_revision = '5a7b1c2d3e4f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('bench_calibration',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bench_calibration'))
    )


def downgrade():
    op.drop_table('bench_calibration')
