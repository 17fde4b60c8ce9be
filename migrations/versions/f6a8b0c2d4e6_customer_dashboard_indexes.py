"""A customer's dashboard reads the account's open requests and what waits for the customer from partial
indexes of their own, so it costs the same however many closed requests an account has behind it.

Revision ID: f6a8b0c2d4e6
Revises: d5e7f9a1b3c6
Create Date: 2026-12-03 13:10:00

"""
import sqlalchemy as sa
from alembic import op

OPEN = sa.text("status IN ('submitted', 'open', 'in_progress', 'waiting_customer', 'scheduled')")
NEEDS_CUSTOMER = sa.text("status = 'waiting_customer' OR approval = 'pending'")

revision = 'f6a8b0c2d4e6'
down_revision = 'd5e7f9a1b3c6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.create_index(
            'ix_service_requests_open_account',
            ['account_id', 'created_at', 'id'],
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )
        batch_op.create_index(
            'ix_service_requests_needs_customer',
            ['account_id', 'updated_at'],
            sqlite_where=NEEDS_CUSTOMER,
            postgresql_where=NEEDS_CUSTOMER,
        )


def downgrade():
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_service_requests_needs_customer')
        batch_op.drop_index('ix_service_requests_open_account')
