"""The data version: one counter raised by every commit that changes what pages show, so that rendered
pages can be served again until it moves.

Revision ID: d7f2b9c4e610
Revises: c4e8a1d2f937
Create Date: 2026-12-02 03:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd7f2b9c4e610'
down_revision = 'c4e8a1d2f937'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'data_versions',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_data_versions')),
    )


def downgrade():
    op.drop_table('data_versions')
