"""Accounts get a short code of their own (HUAXIN, ACME-CN): the key by which an import workbook names an
account, and what a person types to find one. Unique where set; accounts made before it may have none.

Revision ID: a5c8e2f4b6d1
Revises: e1a9c3b5d7f2
Create Date: 2026-12-02 06:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a5c8e2f4b6d1'
down_revision = 'e1a9c3b5d7f2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('code', sa.String(length=20), nullable=True))
        batch_op.create_index('ix_accounts_code', ['code'], unique=True)


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_code')
        batch_op.drop_column('code')
