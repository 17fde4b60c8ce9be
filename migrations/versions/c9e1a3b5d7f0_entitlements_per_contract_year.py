"""An entitlement counts over the whole contract, or afresh each contract year (4 on-site days a year of a
three-year contract).

Revision ID: c9e1a3b5d7f0
Revises: b7d9f1a3c5e8
Create Date: 2026-12-02 06:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c9e1a3b5d7f0'
down_revision = 'b7d9f1a3c5e8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('period', sa.String(length=10), server_default='contract', nullable=False))
        batch_op.create_check_constraint('period_valid', "period IN ('contract', 'year')")


def downgrade():
    with op.batch_alter_table('entitlements', schema=None) as batch_op:
        batch_op.drop_constraint('period_valid', type_='check')
        batch_op.drop_column('period')
