"""The queue's at-risk tab is counted from the indexes alone: on PostgreSQL the at-risk and
first-answer-overdue indexes include the request id, so that the ids are read from the index (an index-only
scan) instead of visiting a table row for each — which at a million requests made PostgreSQL scan the table
(21 ms of a 44 ms queue page).

SQLite's indexes hold the rowid, the id, already, and are left exactly as they are: without statistics
SQLite chooses among equally good indexes by the order they were made in, and rebuilding these four sent the
manager's unassigned count from its partial index to a scan of every open request (16 → 380 ms at 1M).

Revision ID: a7c9e1b3d5f8
Revises: f6a8b0c2d4e6
Create Date: 2026-12-03 15:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a7c9e1b3d5f8'
down_revision = 'f6a8b0c2d4e6'
branch_labels = None
depends_on = None

UNANSWERED = "first_responded_at IS NULL"
INDEXES = {
    'ix_service_requests_department_risk': (['department_id', 'status', 'resolution_at_risk_at'], None),
    'ix_service_requests_status_risk': (['status', 'resolution_at_risk_at'], None),
    'ix_service_requests_department_unanswered': (
        ['department_id', 'status', 'first_response_due_at'],
        UNANSWERED,
    ),
    'ix_service_requests_status_unanswered': (['status', 'first_response_due_at'], UNANSWERED),
}


def _rebuild(include_id: bool) -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for name, (columns, where) in INDEXES.items():
        op.drop_index(name, table_name='service_requests')
        op.create_index(
            name,
            'service_requests',
            columns,
            postgresql_where=sa.text(where) if where else None,
            postgresql_include=['id'] if include_id else [],
        )


def upgrade():
    _rebuild(include_id=True)


def downgrade():
    _rebuild(include_id=False)
