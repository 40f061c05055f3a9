"""drop bench_calibration: the benchmark's table leaves the service's schema

The calibration write (`POST /api/v1/bench/calibrate`) is served only by the benchmark's
own app (loadtests/app.py), which creates its table itself where it runs. Its rows were
benchmark noise, never data: nothing is kept. Written by hand.

Revision ID: 0e5a3b7c9d12
Revises: 4f0c7a2e9b13
Create Date: 2026-12-03 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0e5a3b7c9d12'
down_revision = '4f0c7a2e9b13'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('bench_calibration')


def downgrade():
    op.create_table('bench_calibration',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bench_calibration'))
    )
