"""Rate-limit counters in the portal's own database: a storage for the ``limits`` library (``rate_limits``
counts with it), used when no Redis is configured. In-memory counters are per process, so gunicorn with 4
workers let 30 of 30 failed sign-ins through a limit of 20 a minute; these are shared by every worker and
host.

Fixed windows, as ``rate_limits`` counts them: one row per key, counted up by one statement —
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` (SQLite ≥ 3.35 and PostgreSQL) — so that simultaneous
hits never lose a count and a window that has run out starts again in the same statement. Each hit is its
own short transaction on its own connection, outside the request's unit of work."""

from __future__ import annotations

import random
import time
from typing import Any

from limits.storage import Storage
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db

_HIT = text(
    """
    INSERT INTO rate_limit_counters (key, hits, expires_at) VALUES (:key, :amount, :now + :expiry)
    ON CONFLICT (key) DO UPDATE SET
        hits = CASE WHEN rate_limit_counters.expires_at <= :now THEN :amount
                    ELSE rate_limit_counters.hits + :amount END,
        expires_at = CASE WHEN rate_limit_counters.expires_at <= :now THEN :now + :expiry
                          ELSE rate_limit_counters.expires_at END
    RETURNING hits
    """
)


class DatabaseStorage(Storage):
    STORAGE_SCHEME = ["portal-database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        with db.engine.begin() as connection:
            hits = connection.execute(
                _HIT, {"key": key, "amount": amount, "now": now, "expiry": float(expiry)}
            ).scalar_one()
            if random.random() < 0.01:  # now and then, forget windows long over  # noqa: S311
                connection.execute(
                    text("DELETE FROM rate_limit_counters WHERE expires_at < :old"), {"old": now - 86400}
                )
        return int(hits)

    def _row(self, key: str) -> tuple[int, float] | None:
        with db.engine.connect() as connection:
            row = connection.execute(
                text("SELECT hits, expires_at FROM rate_limit_counters WHERE key = :key"), {"key": key}
            ).first()
        return (int(row[0]), float(row[1])) if row and row[1] > time.time() else None

    def get(self, key: str) -> int:
        row = self._row(key)
        return row[0] if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return row[1] if row else time.time()

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(text("DELETE FROM rate_limit_counters")).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM rate_limit_counters WHERE key = :key"), {"key": key})
