"""Potential key accounts and what was done on each: the pipeline before a contract (policy chapter 3).

Revision ID: 599844a97128
Revises: c9e1a3b5d7f0
Create Date: 2026-12-02 06:57:14

"""
import sqlalchemy as sa
from alembic import op

import portal.models.base


# revision identifiers, used by Alembic.
revision = '599844a97128'
down_revision = 'c9e1a3b5d7f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('prospects',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('industry', sa.String(length=20), nullable=False),
    sa.Column('size', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('contact_name', sa.String(length=120), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('contact_phone', sa.String(length=40), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('stage_changed_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.Column('lost_reason', sa.String(length=500), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("industry IN ('finance', 'energy', 'manufacturing', 'telecom', 'public', 'healthcare', 'retail', 'other')", name=op.f('ck_prospects_industry_valid')),
    sa.CheckConstraint("size IN ('large', 'medium', 'small')", name=op.f('ck_prospects_size_valid')),
    sa.CheckConstraint("source IN ('trade_show', 'referral', 'inbound', 'other')", name=op.f('ck_prospects_source_valid')),
    sa.CheckConstraint("stage IN ('new', 'qualified', 'first_contact', 'needs_analysed', 'proposal_sent', 'won', 'lost')", name=op.f('ck_prospects_stage_valid')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_prospects_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_prospects_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_prospects_recorded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prospects'))
    )
    with op.batch_alter_table('prospects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prospects_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_prospects_stage_changed', ['stage', 'stage_changed_at'], unique=False)

    op.create_table('prospect_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prospect_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('recorded', 'qualified', 'rejected', 'first_contact', 'needs_analysis', 'note', 'lost')", name=op.f('ck_prospect_activities_kind_valid')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_prospect_activities_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prospect_id'], ['prospects.id'], name=op.f('fk_prospect_activities_prospect_id_prospects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prospect_activities'))
    )
    with op.batch_alter_table('prospect_activities', schema=None) as batch_op:
        batch_op.create_index('ix_prospect_activities_prospect', ['prospect_id', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('prospect_activities', schema=None) as batch_op:
        batch_op.drop_index('ix_prospect_activities_prospect')

    op.drop_table('prospect_activities')
    with op.batch_alter_table('prospects', schema=None) as batch_op:
        batch_op.drop_index('ix_prospects_stage_changed')
        batch_op.drop_index(batch_op.f('ix_prospects_owner_id'))

    op.drop_table('prospects')
