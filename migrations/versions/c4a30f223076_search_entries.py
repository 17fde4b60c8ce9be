"""Search: one entry per searchable thing, its index terms, and the database's full-text index over them
(an FTS5 table kept by triggers on SQLite, a GIN index on PostgreSQL); the entries are made from the tables.

A later migration that rebuilds search_entries on SQLite (a batch ALTER) drops the triggers with the old
table: make them again there.

Revision ID: c4a30f223076
Revises: 65ae592018cf
Create Date: 2026-12-04 21:04:43.667748

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a30f223076'
down_revision = '65ae592018cf'
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE search_index USING fts5("
    "grams, content='search_entries', content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER search_entries_indexed AFTER INSERT ON search_entries BEGIN"
    " INSERT INTO search_index(rowid, grams) VALUES (new.id, new.grams); END",
    "CREATE TRIGGER search_entries_unindexed AFTER DELETE ON search_entries BEGIN"
    " INSERT INTO search_index(search_index, rowid, grams) VALUES ('delete', old.id, old.grams); END",
    "CREATE TRIGGER search_entries_reindexed AFTER UPDATE ON search_entries BEGIN"
    " INSERT INTO search_index(search_index, rowid, grams) VALUES ('delete', old.id, old.grams);"
    " INSERT INTO search_index(rowid, grams) VALUES (new.id, new.grams); END",
]
POSTGRESQL = [
    "CREATE INDEX ix_search_entries_grams ON search_entries"
    " USING gin (array_to_tsvector(string_to_array(grams, ' ')))",
]


def upgrade():
    op.create_table('search_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('grams', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('request', 'reply', 'note', 'report', 'account', 'contract')", name=op.f('ck_search_entries_kind_valid')),
    sa.ForeignKeyConstraint(['request_id'], ['service_requests.id'], name=op.f('fk_search_entries_request_id_service_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_search_entries')),
    sa.UniqueConstraint('kind', 'object_id', name='uq_search_entries_object')
    )
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.create_index('ix_search_entries_request', ['request_id'], unique=False)

    bind = op.get_bind()
    for statement in SQLITE if bind.dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)

    # The entries of what is already there (the same code that `flask search reindex` runs).
    from portal.services.search.index import rebuild

    rebuild(bind)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE search_index")  # its triggers go with search_entries
    with op.batch_alter_table('search_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_search_entries_request')

    op.drop_table('search_entries')
