"""residents' consents: the privacy notice's version accepted, and location, with withdrawal

Written by hand. Nothing is recorded for existing residents: nobody accepted the notice's
text before this table existed, so GET /api/v1/me asks each of them (privacy_required).

Revision ID: 19a20d55c37d
Revises: 5d2a9c41e7b3
Create Date: 2026-12-03 20:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '19a20d55c37d'
down_revision = '5d2a9c41e7b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'resident_consent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "scope IN ('privacy', 'location')", name=op.f('ck_resident_consent_scope_known')
        ),
        sa.ForeignKeyConstraint(
            ['resident_id'], ['resident.id'], name=op.f('fk_resident_consent_resident_id_resident')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_consent')),
    )
    with op.batch_alter_table('resident_consent', schema=None) as batch_op:
        batch_op.create_index(
            'ix_resident_consent_resident_scope', ['resident_id', 'scope', 'id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('resident_consent', schema=None) as batch_op:
        batch_op.drop_index('ix_resident_consent_resident_scope')
    op.drop_table('resident_consent')
