"""children under 14: a resident may have a guardian (and then no sign-in identity)

Written by hand.

Revision ID: 85fdb52e86dd
Revises: 7b3e0c51d2a9
Create Date: 2026-12-03 18:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '85fdb52e86dd'
down_revision = '7b3e0c51d2a9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.add_column(sa.Column('guardian_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_resident_guardian_id_resident'), 'resident', ['guardian_id'], ['id']
        )
        batch_op.create_index(batch_op.f('ix_resident_guardian_id'), ['guardian_id'], unique=False)
        batch_op.create_check_constraint(
            'child_without_identity',
            'guardian_id IS NULL OR (phone_hmac IS NULL AND wechat_openid_hmac IS NULL)',
        )


def downgrade():
    with op.batch_alter_table('resident', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_resident_child_without_identity'), type_='check')
        batch_op.drop_index(batch_op.f('ix_resident_guardian_id'))
        batch_op.drop_constraint(batch_op.f('fk_resident_guardian_id_resident'), type_='foreignkey')
        batch_op.drop_column('guardian_id')
