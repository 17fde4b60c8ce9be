"""Open requests in queue order, per department and for everyone: partial indexes that stay as small as the
open work however long the history grows, so a queue's page reads one page of rows at a million requests.

Revision ID: e1a9c3b5d7f2
Revises: d7f2b9c4e610
Create Date: 2026-12-02 04:10:00

"""
import sqlalchemy as sa
from alembic import op

OPEN = sa.text("status IN ('submitted', 'open', 'in_progress', 'waiting_customer', 'scheduled')")

revision = 'e1a9c3b5d7f2'
down_revision = 'd7f2b9c4e610'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.create_index(
            'ix_service_requests_open_department',
            ['department_id', 'created_at', 'id'],
            sqlite_where=OPEN,
            postgresql_where=OPEN,
        )
        batch_op.create_index(
            'ix_service_requests_open_created', ['created_at', 'id'], sqlite_where=OPEN, postgresql_where=OPEN
        )


def downgrade():
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_service_requests_open_created')
        batch_op.drop_index('ix_service_requests_open_department')
