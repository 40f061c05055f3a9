"""partner_resident_link: links are proven by a code the partner confirms

New columns: the link code's keyed hash (unique), when it expires, when the partner
confirmed the link; external_id is empty until then. Existing links were made before
this rule (a resident typed the id): they are kept, as confirmed at their creation.
Written by hand.

Revision ID: 0802003772d5
Revises: 2c84806b0e03
Create Date: 2026-12-03 12:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0802003772d5'
down_revision = '2c84806b0e03'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('partner_resident_link', schema=None) as batch_op:
        batch_op.alter_column('external_id', existing_type=sa.String(length=64), nullable=True)
        batch_op.add_column(sa.Column('code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f('uq_partner_resident_link_code_hash'), ['code_hash']
        )
    op.execute("UPDATE partner_resident_link SET confirmed_at = created_at")


def downgrade():
    # Links never confirmed have no external id to go back to: they go.
    op.execute("DELETE FROM partner_resident_link WHERE confirmed_at IS NULL")
    with op.batch_alter_table('partner_resident_link', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_partner_resident_link_code_hash'), type_='unique')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('code_expires_at')
        batch_op.drop_column('code_hash')
        batch_op.alter_column('external_id', existing_type=sa.String(length=64), nullable=False)
