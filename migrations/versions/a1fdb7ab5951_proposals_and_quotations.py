"""Service proposals and quotations, in versions, to a prospect or an account; prospects' activities gain
the proposal's steps.

Revision ID: a1fdb7ab5951
Revises: 599844a97128
Create Date: 2026-12-02 08:57:31.340641

"""
import sqlalchemy as sa
from alembic import op

import portal.models.base


# revision identifiers, used by Alembic.
revision = 'a1fdb7ab5951'
down_revision = '599844a97128'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('prospect_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('renews_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('tier', sa.String(length=10), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=False),
    sa.Column('terms', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_at', portal.models.base.UTCDateTime(), nullable=True),
    sa.Column('sent_by_id', sa.Integer(), nullable=True),
    sa.Column('sent_to', sa.String(length=254), nullable=False),
    sa.Column('answered_at', portal.models.base.UTCDateTime(), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_by_name', sa.String(length=120), nullable=False),
    sa.Column('answer_comment', sa.Text(), nullable=False),
    sa.Column('contract_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("language IN ('zh', 'en')", name=op.f('ck_proposals_language_valid')),
    sa.CheckConstraint("state IN ('draft', 'sent', 'accepted', 'changes_requested', 'declined', 'superseded')", name=op.f('ck_proposals_state_valid')),
    sa.CheckConstraint("tier IN ('strategic', 'key', 'ordinary')", name=op.f('ck_proposals_tier_valid')),
    sa.CheckConstraint('(prospect_id IS NULL) != (account_id IS NULL)', name=op.f('ck_proposals_for_prospect_or_account')),
    sa.CheckConstraint('discount_percent >= 0 AND discount_percent <= 100', name=op.f('ck_proposals_discount_range')),
    sa.CheckConstraint('end_date >= start_date', name=op.f('ck_proposals_dates_ordered')),
    sa.CheckConstraint('length(currency) = 3', name=op.f('ck_proposals_currency_code')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_proposals_account_id_accounts'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_proposals_answered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_proposals_contract_id_contracts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_proposals_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['prospect_id'], ['prospects.id'], name=op.f('fk_proposals_prospect_id_prospects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['renews_id'], ['contracts.id'], name=op.f('fk_proposals_renews_id_contracts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_proposals_sent_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposals')),
    sa.UniqueConstraint('number', 'version', name='uq_proposals_number_version')
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index('ix_proposals_account', ['account_id'], unique=False)
        batch_op.create_index('ix_proposals_prospect', ['prospect_id'], unique=False)
        batch_op.create_index('ix_proposals_renews', ['renews_id'], unique=False)

    op.create_table('proposal_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.CheckConstraint("kind IN ('on_site_days', 'support_hours', 'custom_reports', 'training_sessions')", name=op.f('ck_proposal_lines_kind_valid')),
    sa.CheckConstraint("period IN ('contract', 'year')", name=op.f('ck_proposal_lines_period_valid')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_proposal_lines_quantity_positive')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_proposal_lines_price_not_negative')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposals.id'], name=op.f('fk_proposal_lines_proposal_id_proposals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposal_lines')),
    sa.UniqueConstraint('proposal_id', 'kind', name='uq_proposal_lines_proposal_kind')
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_at', portal.models.base.UTCDateTime(), nullable=True))
    with op.batch_alter_table('prospect_activities', schema=None) as batch_op:
        batch_op.drop_constraint('kind_valid', type_='check')
        batch_op.create_check_constraint('kind_valid', "kind IN ('recorded', 'qualified', 'rejected', 'first_contact', 'needs_analysis', 'note', 'lost', 'proposal_sent', 'proposal_answered', 'won')")


def downgrade():
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_column('signed_at')
    # The earlier schema has no such steps: a prospect's proposal history goes with the proposals.
    op.execute("DELETE FROM prospect_activities WHERE kind IN ('proposal_sent', 'proposal_answered', 'won')")
    with op.batch_alter_table('prospect_activities', schema=None) as batch_op:
        batch_op.drop_constraint('kind_valid', type_='check')
        batch_op.create_check_constraint('kind_valid', "kind IN ('recorded', 'qualified', 'rejected', 'first_contact', 'needs_analysis', 'note', 'lost')")
    op.drop_table('proposal_lines')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index('ix_proposals_renews')
        batch_op.drop_index('ix_proposals_prospect')
        batch_op.drop_index('ix_proposals_account')

    op.drop_table('proposals')
