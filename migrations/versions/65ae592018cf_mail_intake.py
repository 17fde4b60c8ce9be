"""Requests by email: how a known contact's new mail is filed (one row), the channel a request came in by,
and unmatched mail: why it waits, and who put it aside.

Revision ID: 65ae592018cf
Revises: 78b65d96d3ba
Create Date: 2026-12-04 13:13:43.445166

"""
import sqlalchemy as sa
from alembic import op

import portal.models.base


# revision identifiers, used by Alembic.
revision = '65ae592018cf'
down_revision = '78b65d96d3ba'
branch_labels = None
depends_on = None

SUBTYPES_OF_CATEGORY = (
    "(category = 'pre_sale' AND subtype IN ('consultation', 'solution_design', 'technical_support', 'quotation'))"
    " OR (category = 'on_site' AND subtype IN ('delivery', 'installation', 'commissioning', 'training'))"
    " OR (category = 'after_sale' AND subtype IN ('warranty', 'troubleshooting', 'technical_support'))"
    " OR (category = 'value_added' AND subtype IN ('custom_report', 'industry_news', 'market_analysis', 'custom_service'))"
)


CAUSES_VALID = (
    "cause IN ('', 'unreadable', 'unconfirmed_sender', 'may_not_reply', 'unknown_sender', 'sender_disabled',"
    " 'intake_off', 'refused')"
)
# The mail kept before causes were recorded: each one's cause from the reason it was kept with.
BACKFILL = [
    ("unreadable", "outcome = 'malformed' OR reason LIKE '%could not be read%'"),
    ("unconfirmed_sender", "reason LIKE '%dmarc=%'"),
    ("may_not_reply", "reason LIKE 'the sender may not reply%'"),
    ("unknown_sender", "reason LIKE '%not a contact of an account%'"),
    ("sender_disabled", "reason LIKE '%may not sign in%'"),
    ("refused", "reason LIKE '%was refused%'"),
]


def upgrade():
    op.create_table('mail_intake',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('accepts_new_requests', sa.Boolean(), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('subtype', sa.String(length=30), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=False),
    sa.Column('updated_at', portal.models.base.UTCDateTime(), nullable=False),
    sa.CheckConstraint(SUBTYPES_OF_CATEGORY, name=op.f('ck_mail_intake_subtype_of_category')),
    sa.CheckConstraint("category IN ('pre_sale', 'on_site', 'after_sale', 'value_added')", name=op.f('ck_mail_intake_category_valid')),
    sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name=op.f('ck_mail_intake_priority_valid')),
    sa.CheckConstraint('id = 1', name=op.f('ck_mail_intake_single_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_intake'))
    )
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dismissed_at', portal.models.base.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('dismissed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('cause', sa.String(length=20), server_default='', nullable=False))
        batch_op.create_check_constraint('cause_valid', CAUSES_VALID)
        batch_op.create_foreign_key(batch_op.f('fk_inbound_mail_dismissed_by_id_users'), 'users', ['dismissed_by_id'], ['id'], ondelete='SET NULL')
        batch_op.drop_constraint('outcome_valid', type_='check')
        batch_op.create_check_constraint('outcome_valid', "outcome IN ('reply', 'filed', 'unmatched', 'ignored', 'malformed')")

    for cause, condition in BACKFILL:
        op.execute(
            f"UPDATE inbound_mail SET cause = '{cause}' WHERE cause = '' "
            f"AND outcome IN ('unmatched', 'malformed') AND ({condition})"
        )

    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=10), server_default='portal', nullable=False))
        batch_op.create_check_constraint('channel_valid', "channel IN ('portal', 'email')")


def downgrade():
    with op.batch_alter_table('service_requests', schema=None) as batch_op:
        batch_op.drop_constraint('channel_valid', type_='check')
        batch_op.drop_column('channel')

    # The earlier schema knew no filed mail: it is kept as unmatched (its request stays).
    op.execute("UPDATE inbound_mail SET outcome = 'unmatched' WHERE outcome = 'filed'")
    with op.batch_alter_table('inbound_mail', schema=None) as batch_op:
        batch_op.drop_constraint('outcome_valid', type_='check')
        batch_op.create_check_constraint('outcome_valid', "outcome IN ('reply', 'unmatched', 'ignored', 'malformed')")
        batch_op.drop_constraint(batch_op.f('fk_inbound_mail_dismissed_by_id_users'), type_='foreignkey')
        batch_op.drop_constraint('cause_valid', type_='check')
        batch_op.drop_column('cause')
        batch_op.drop_column('dismissed_by_id')
        batch_op.drop_column('dismissed_at')

    op.drop_table('mail_intake')
