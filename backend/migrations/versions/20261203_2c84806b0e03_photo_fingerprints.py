"""photo_fingerprint: perceptual hashes of each photo and of light crops of it, banded

Existing photos get their rows from `flask photos fingerprint` (it reads the stored
images; a photo whose images were already erased keeps only its difference hash, which
still catches resized copies of it). Written by hand.

Revision ID: 2c84806b0e03
Revises: 57da62f2fa77
Create Date: 2026-12-03 12:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2c84806b0e03'
down_revision = '57da62f2fa77'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('photo_fingerprint',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('photo_id', sa.String(length=32), nullable=False),
    sa.Column('phash', sa.BigInteger(), nullable=False),
    sa.Column('band0', sa.Integer(), nullable=False),
    sa.Column('band1', sa.Integer(), nullable=False),
    sa.Column('band2', sa.Integer(), nullable=False),
    sa.Column('band3', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['photo_id'], ['photo.id'], name=op.f('fk_photo_fingerprint_photo_id_photo')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_photo_fingerprint'))
    )
    with op.batch_alter_table('photo_fingerprint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_photo_fingerprint_photo_id'), ['photo_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_fingerprint_band0'), ['band0'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_fingerprint_band1'), ['band1'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_fingerprint_band2'), ['band2'], unique=False)
        batch_op.create_index(batch_op.f('ix_photo_fingerprint_band3'), ['band3'], unique=False)


def downgrade():
    op.drop_table('photo_fingerprint')
