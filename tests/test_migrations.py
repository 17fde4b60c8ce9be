"""Alembic migrations are the only way the schema is made, and they agree with the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from portal import create_app
from portal.extensions import db
from portal.models import Base
from portal.models.search import include_object
from portal.services.storage import FileStore


def test_the_migrated_schema_matches_the_models(app):
    with db.engine.connect() as connection:
        opts = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(connection, opts=opts)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_migrations_go_down_to_nothing_and_up_again(scratch_database_url, tmp_path):
    scratch = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": scratch_database_url, "TASKS_IMMEDIATE": True}
    )
    with scratch.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(Base.metadata.tables) <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())
        downgrade(revision="base")
        db.engine.dispose()


FIRST_REVISION = "6e1ec6c0388b"


def test_migrations_upgrade_a_populated_database(scratch_database_url, tmp_path):
    """The demo company's database taken back to the first revision and up to head again: every batch
    migration that re-creates a table runs over rows that other rows point at. The defect found: on SQLite
    "FOREIGN KEY constraint failed", and a copy of service_requests left behind made a retry fail too."""
    from portal.models import Attachment, InboundMail, ServiceRequest
    from tests.conftest import demo_rows, restore_rows

    rows = demo_rows()  # the run's one seeding of the demo company, copied into the scratch database
    scratch = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": scratch_database_url, "TASKS_IMMEDIATE": True}
    )
    with scratch.app_context():
        upgrade()
        restore_rows(rows)
        # A prospect's pre-sale requests have no place in the earlier schemas: the way down removes them.
        of_accounts = ServiceRequest.account_id.is_not(None)
        requests = db.session.query(ServiceRequest.id).filter(of_accounts).count()
        db.session.remove()
        if db.engine.dialect.name == "sqlite":
            # An earlier run that died mid-copy left this behind; the next run must not trip over it.
            with db.engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE _alembic_tmp_service_requests (id INTEGER)")
        # The earlier schemas keep no files in the database: the way down refuses until they are moved out.
        with pytest.raises(SystemExit):
            downgrade(revision=FIRST_REVISION)
        stored = db.session.query(Attachment.id).count()
        if inspect(db.engine).has_table("inbound_mail"):  # PostgreSQL undid the refused way down whole
            stored += db.session.query(InboundMail.id).count()
        assert FileStore("filesystem", tmp_path).migrate("filesystem").count == stored > 0
        db.session.remove()
        downgrade(revision=FIRST_REVISION)
        upgrade()
        names = set(inspect(db.engine).get_table_names())
        assert not {n for n in names if n.startswith("_alembic_tmp")}
        assert db.session.query(ServiceRequest.id).count() == requests > 0
        if db.engine.dialect.name == "sqlite":
            with db.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()
