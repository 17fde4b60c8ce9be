"""Per-connection database settings. SQLite gets WAL, enforced foreign keys and a busy timeout on every
connection, and ``BEGIN IMMEDIATE`` for a use case that will write (``write_transaction``, set by
``portal/services/unit_of_work.py``), so that it takes the write lock at its start and waits its turn for
it, instead of failing with "database is locked" when it first writes on top of a snapshot another writer
has moved past. PostgreSQL needs nothing here. Every session raises the data version (``changes``) when it
commits a change that pages show."""

from __future__ import annotations

import contextvars
import sqlite3
from typing import Any

from flask import Flask
from sqlalchemy import event

from portal.extensions import db

# The largest value an INTEGER column holds on PostgreSQL (SQLite's are wider): ids and counts from a URL,
# a form or a cursor beyond it cannot name a row, and binding them would fail in the driver.
INT_MAX = 2**31 - 1

write_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar("write_transaction", default=False)


def _configure_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA busy_timeout = 15000")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    # Queues read many rows of a large file: keep more of it in memory than SQLite's 2 MB default.
    cursor.execute("PRAGMA cache_size = -65536")
    cursor.execute("PRAGMA mmap_size = 268435456")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    # Reading holds no snapshot: the driver begins a transaction only at the first write (and a write
    # outside a use case waits for the lock then). A use case takes the lock before it reads anything.
    if write_transaction.get():
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_from_hint(compiler: Any, table: Any, text: str | None) -> str | None:
    """SQLAlchemy writes no table hints for SQLite; SQLite's ``INDEXED BY`` goes exactly where one goes. A
    query names an index this way only where SQLite, which plans without statistics, would otherwise
    collect every open request and sort them (``queues.queue_page``, ``overview.customer_home``); PostgreSQL
    ignores the hint."""
    return text


def init_app(app: Flask) -> None:
    from sqlalchemy.dialects.sqlite.base import SQLiteCompiler

    SQLiteCompiler.get_from_hint_text = _sqlite_from_hint  # type: ignore[method-assign, assignment]
    from portal import changes

    changes.watch(db.session.session_factory.class_)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _configure_sqlite):
            event.listen(engine, "connect", _configure_sqlite)
            event.listen(engine, "begin", _begin_sqlite)
