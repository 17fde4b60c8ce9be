"""Pre-sale requests on a potential key account: a request belongs to an account, or (pre-sale only) to a
prospect that has none yet.

Revision ID: b3c5d7e9f1a2
Revises: a1fdb7ab5951
Create Date: 2026-12-02 17:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b3c5d7e9f1a2'
down_revision = 'a1fdb7ab5951'
branch_labels = None
depends_on = None

PROSPECT_ONLY = "SELECT id FROM service_requests WHERE account_id IS NULL"


def upgrade():
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prospect_id', sa.Integer(), nullable=True))
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f('fk_service_requests_prospect_id_prospects'), 'prospects', ['prospect_id'], ['id'],
            ondelete='RESTRICT',
        )
        batch_op.create_check_constraint(
            'for_account_or_prospect',
            "account_id IS NOT NULL OR (prospect_id IS NOT NULL AND category = 'pre_sale')",
        )
        batch_op.create_index(
            'ix_service_requests_prospect', ['prospect_id', 'created_at'], unique=False,
            sqlite_where=sa.text('prospect_id IS NOT NULL'), postgresql_where=sa.text('prospect_id IS NOT NULL'),
        )


def downgrade():
    # The earlier schema has no request without an account: a prospect's pre-sale requests go, with what
    # hangs off them (their stored files stay in the upload folder).
    for table in ('deliverables', 'time_entries', 'attachments', 'timeline_events', 'notifications',
                  'survey_invitations'):
        if table == 'survey_invitations':
            op.execute(
                "DELETE FROM survey_answers WHERE invitation_id IN (SELECT id FROM survey_invitations"
                f" WHERE request_id IN ({PROSPECT_ONLY}))"
            )
        op.execute(f"DELETE FROM {table} WHERE request_id IN ({PROSPECT_ONLY})")
    op.execute("DELETE FROM service_requests WHERE account_id IS NULL")
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_service_requests_prospect', sqlite_where=sa.text('prospect_id IS NOT NULL'))
        batch_op.drop_constraint('for_account_or_prospect', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_service_requests_prospect_id_prospects'), type_='foreignkey')
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('prospect_id')
