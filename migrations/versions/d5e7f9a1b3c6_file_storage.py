"""Stored files in the database: the bytes in file_chunks, and each attachment saying which store holds its
bytes. Files already stored stay where they were (the upload folder: 'filesystem') until
`flask storage migrate --to database` moves them.

Revision ID: d5e7f9a1b3c6
Revises: c4d6e8f0a2b4
Create Date: 2026-12-03 06:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd5e7f9a1b3c6'
down_revision = 'c4d6e8f0a2b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'file_chunks',
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.CheckConstraint('seq >= 0', name=op.f('ck_file_chunks_seq_not_negative')),
        sa.PrimaryKeyConstraint('stored_name', 'seq', name=op.f('pk_file_chunks')),
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('storage', sa.String(length=16), nullable=False, server_default='filesystem'))
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.alter_column('storage', server_default=None)
        batch_op.create_check_constraint(
            op.f('ck_attachments_storage_known'), "storage IN ('database', 'filesystem')"
        )


def downgrade():
    # Files kept in the database would be lost: move them to the folder first (flask storage migrate).
    bind = op.get_bind()
    left = bind.execute(sa.text("SELECT count(*) FROM attachments WHERE storage = 'database'")).scalar()
    if left:
        raise RuntimeError(
            f"{left} stored files are in the database: run `flask storage migrate --to filesystem` first"
        )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_attachments_storage_known'), type_='check')
        batch_op.drop_column('storage')
    op.drop_table('file_chunks')
