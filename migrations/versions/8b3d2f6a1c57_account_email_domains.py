"""Accounts' own email domains, for invitations.

Revision ID: 8b3d2f6a1c57
Revises: 5a7c1e2b9d40
Create Date: 2026-12-02 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '8b3d2f6a1c57'
down_revision = '5a7c1e2b9d40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_domains', sa.String(length=500), server_default='', nullable=False))
    # An account's domains, to begin with, are those its users' addresses are on.
    if op.get_bind().dialect.name == "sqlite":
        domains = "SELECT group_concat(DISTINCT substr(u.email, instr(u.email, '@') + 1))"
    else:
        domains = "SELECT string_agg(DISTINCT split_part(u.email, '@', 2), ' ')"
    op.execute(
        f"UPDATE accounts SET email_domains = COALESCE(({domains} FROM users u WHERE u.account_id = accounts.id), '')"
    )


def downgrade():
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_column('email_domains')
