"""Per-connection database settings. SQLite gets WAL, enforced foreign keys and a busy timeout on every
connection; PostgreSQL needs nothing here."""

from __future__ import annotations

import sqlite3
from typing import Any

from flask import Flask
from sqlalchemy import event

from portal.extensions import db


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


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _configure_sqlite):
            event.listen(engine, "connect", _configure_sqlite)
