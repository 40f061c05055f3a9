"""staff sessions, evidence photos

Reviewed by hand after autogenerate.

Revision ID: c151bb0b9d94
Revises: b66a27a53a0f
Create Date: 2026-11-24 10:38:20.221600

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c151bb0b9d94'
down_revision = 'b66a27a53a0f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('staff_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['staff_user_id'], ['staff_user.id'], name=op.f('fk_staff_session_staff_user_id_staff_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_session_token_hash'))
    )
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_session_staff_user_id'), ['staff_user_id'], unique=False)

    op.create_table('photo',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=255), nullable=False),
    sa.Column('dhash', sa.BigInteger(), nullable=False),
    sa.Column('dhash_band0', sa.Integer(), nullable=False),
    sa.Column('dhash_band1', sa.Integer(), nullable=False),
    sa.Column('dhash_band2', sa.Integer(), nullable=False),
    sa.Column('dhash_band3', sa.Integer(), nullable=False),
    sa.Column('duplicate_of_id', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['duplicate_of_id'], ['photo.id'], name=op.f('fk_photo_duplicate_of_id_photo')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_photo_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo'))
    )
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_dhash_band0'), ['dhash_band0'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_dhash_band1'), ['dhash_band1'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_dhash_band2'), ['dhash_band2'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_dhash_band3'), ['dhash_band3'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_resident_id'), ['resident_id'], unique=False)



def downgrade():
    with op.batch_alter_table('photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_photo_resident_id'))
        batch_op.drop_index(batch_op.f('ix_photo_dhash_band3'))
        batch_op.drop_index(batch_op.f('ix_photo_dhash_band2'))
        batch_op.drop_index(batch_op.f('ix_photo_dhash_band1'))
        batch_op.drop_index(batch_op.f('ix_photo_dhash_band0'))

    op.drop_table('photo')
    with op.batch_alter_table('staff_session', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_session_staff_user_id'))

    op.drop_table('staff_session')
