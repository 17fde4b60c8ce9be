"""Indexes for the queue tabs: each count reads one index range (department or status first, then what the
queue asks about) and stops at its cap, so the tabs cost the same at a million requests as at a thousand.

Revision ID: c4e8a1d2f937
Revises: 8b3d2f6a1c57
Create Date: 2026-12-02 03:10:00

"""
import sqlalchemy as sa
from alembic import op

UNANSWERED = sa.text("first_responded_at IS NULL")
ANSWERED = sa.text("first_responded_at IS NOT NULL")
UNASSIGNED = sa.text("assignee_id IS NULL")
ASSIGNED = sa.text("assignee_id IS NOT NULL")
KPI_COLUMNS = ['first_responded_at', 'first_response_business_minutes', 'first_response_due_at', 'department_id']


revision = 'c4e8a1d2f937'
down_revision = '8b3d2f6a1c57'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_service_requests_department_risk')
        batch_op.create_index(
            'ix_service_requests_department_risk', ['department_id', 'status', 'resolution_at_risk_at']
        )
        batch_op.create_index('ix_service_requests_status_risk', ['status', 'resolution_at_risk_at'])
        batch_op.create_index(
            'ix_service_requests_unassigned',
            ['status', 'department_id', 'created_at', 'id'],
            sqlite_where=UNASSIGNED,
            postgresql_where=UNASSIGNED,
        )
        batch_op.drop_index('ix_service_requests_assignee_status')
        batch_op.create_index(
            'ix_service_requests_assignee_status', ['assignee_id', 'status'], sqlite_where=ASSIGNED, postgresql_where=ASSIGNED
        )
        batch_op.drop_index('ix_service_requests_first_responded_kpi')
        batch_op.create_index(
            'ix_service_requests_first_responded_kpi',
            KPI_COLUMNS,
            sqlite_where=ANSWERED,
            postgresql_where=ANSWERED,
        )
        batch_op.create_index(
            'ix_service_requests_department_unanswered',
            ['department_id', 'status', 'first_response_due_at'],
            sqlite_where=UNANSWERED,
            postgresql_where=UNANSWERED,
        )
        batch_op.create_index(
            'ix_service_requests_status_unanswered',
            ['status', 'first_response_due_at'],
            sqlite_where=UNANSWERED,
            postgresql_where=UNANSWERED,
        )


def downgrade():
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_service_requests_status_unanswered')
        batch_op.drop_index('ix_service_requests_department_unanswered')
        batch_op.drop_index('ix_service_requests_unassigned')
        batch_op.drop_index('ix_service_requests_assignee_status')
        batch_op.create_index('ix_service_requests_assignee_status', ['assignee_id', 'status'])
        batch_op.drop_index('ix_service_requests_first_responded_kpi')
        batch_op.create_index('ix_service_requests_first_responded_kpi', KPI_COLUMNS)
        batch_op.drop_index('ix_service_requests_status_risk')
        batch_op.drop_index('ix_service_requests_department_risk')
        batch_op.create_index('ix_service_requests_department_risk', ['department_id', 'resolution_at_risk_at'])
