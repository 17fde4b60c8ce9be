"""Contracts drafted, renewed and ended in the back office: why a contract ended early, which contract a
renewal follows, and every signed copy kept beside its contract (a new copy does not hide the old one).

Revision ID: b7d9f1a3c5e8
Revises: a5c8e2f4b6d1
Create Date: 2026-12-02 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b7d9f1a3c5e8'
down_revision = 'a5c8e2f4b6d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terminated_reason', sa.String(length=500), server_default='', nullable=False))
        batch_op.add_column(sa.Column('renews_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_contracts_renews_id_contracts'), 'contracts', ['renews_id'], ['id'], ondelete='SET NULL'
        )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contract_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attachments_contract_id'), ['contract_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_attachments_contract_id_contracts'), 'contracts', ['contract_id'], ['id'], ondelete='SET NULL'
        )
    # The copies attached before: each is its contract's.
    op.execute(
        "UPDATE attachments SET contract_id = "
        "(SELECT contracts.id FROM contracts WHERE contracts.signed_document_id = attachments.id) "
        "WHERE id IN (SELECT signed_document_id FROM contracts WHERE signed_document_id IS NOT NULL)"
    )


def downgrade():
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attachments_contract_id_contracts'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_attachments_contract_id'))
        batch_op.drop_column('contract_id')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_contracts_renews_id_contracts'), type_='foreignkey')
        batch_op.drop_column('renews_id')
        batch_op.drop_column('terminated_reason')
