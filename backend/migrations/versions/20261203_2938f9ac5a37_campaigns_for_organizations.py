"""campaigns for organisations: kinds and named organisations a campaign is limited to, a
team goal and bonus; each organisation's progress in a campaign and the actions counted

Written by hand.

Revision ID: 2938f9ac5a37
Revises: 85fdb52e86dd
Create Date: 2026-12-03 18:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2938f9ac5a37'
down_revision = '85fdb52e86dd'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('organization_kinds', sa.JSON(), nullable=False, server_default='[]')
        )
        batch_op.add_column(
            sa.Column('organization_ids', sa.JSON(), nullable=False, server_default='[]')
        )
        batch_op.add_column(sa.Column('team_goal_co2e_g', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.alter_column('organization_kinds', server_default=None)
        batch_op.alter_column('organization_ids', server_default=None)

    with op.batch_alter_table('campaign_rules', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('team_bonus_points', sa.Integer(), nullable=False, server_default='0')
        )
    with op.batch_alter_table('campaign_rules', schema=None) as batch_op:
        batch_op.alter_column('team_bonus_points', server_default=None)

    op.create_table('campaign_organization_progress',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.Column('reached_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_organization_progress_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_campaign_organization_progress_organization_id_organization')),
    sa.PrimaryKeyConstraint('campaign_id', 'organization_id', name=op.f('pk_campaign_organization_progress'))
    )
    with op.batch_alter_table('campaign_organization_progress', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_organization_progress_board', ['campaign_id', 'co2e_g'], unique=False)

    op.create_table('campaign_organization_action',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('co2e_g', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['action.id'], name=op.f('fk_campaign_organization_action_action_id_action')),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_campaign_organization_action_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['organization_id'], ['organization.id'], name=op.f('fk_campaign_organization_action_organization_id_organization')),
    sa.PrimaryKeyConstraint('campaign_id', 'action_id', 'organization_id', name=op.f('pk_campaign_organization_action'))
    )


def downgrade():
    op.drop_table('campaign_organization_action')
    with op.batch_alter_table('campaign_organization_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_organization_progress_board')
    op.drop_table('campaign_organization_progress')
    with op.batch_alter_table('campaign_rules', schema=None) as batch_op:
        batch_op.drop_column('team_bonus_points')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('team_goal_co2e_g')
        batch_op.drop_column('organization_ids')
        batch_op.drop_column('organization_kinds')
