"""Mail the portal received (email in): one row per message by its Message-ID, and what became of it.

Revision ID: 78b65d96d3ba
Revises: a7c9e1b3d5f8
Create Date: 2026-12-03 19:11:35.059147

"""
import sqlalchemy as sa
from alembic import op

import portal.models.base


# revision identifiers, used by Alembic.
revision = '78b65d96d3ba'
down_revision = 'a7c9e1b3d5f8'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inbound_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_key', sa.String(length=64), nullable=False),
    sa.Column('message_id', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('storage', sa.String(length=12), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint("outcome IN ('reply', 'unmatched', 'ignored', 'malformed')", name=op.f('ck_inbound_mail_outcome_valid')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_inbound_mail_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['event_id'], ['timeline_events.id'], name=op.f('fk_inbound_mail_event_id_timeline_events'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'], name=op.f('fk_inbound_mail_request_id_service_requests'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_mail')),
    sa.UniqueConstraint('message_key', name='uq_inbound_mail_message_key')
    )
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_mail_outcome', ['outcome', 'received_at'], unique=False)



def downgrade():
    # The messages go with their table: their bytes in the database store too (a folder's files stay).
    op.execute(
        "DELETE FROM file_chunks WHERE stored_name IN "
        "(SELECT stored_name FROM inbound_mail WHERE storage = 'database')"
    )
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_mail_outcome')

    op.drop_table('inbound_mail')
