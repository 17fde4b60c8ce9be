"""The data version: a counter that every transaction changing what pages show raises as its last statement
before it commits (``page_cache`` keeps rendered pages under it).

It is raised inside the writing transaction, so it moves exactly when the data does: a reader that reads
the version first and the data after can never keep old data under a new version. It is the transaction's
last statement (after its final flush), so the row lock it takes on PostgreSQL is held only while the
commit completes and no writer waits on it while holding it. Writes that no page shows — rate-limit hits,
sign-in bookkeeping, audit and security events, idempotency keys — do not raise it.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from sqlalchemy import event, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session

from portal.models import DataVersion

NAME = "data"
UNSEEN = frozenset(
    {
        "rate_limit_counters",
        "login_sessions",
        "sign_in_throttles",
        "audit_events",
        "submissions",
        "data_versions",
    }
)
_CHANGED = "portal.data_changed"


_CURRENT = select(DataVersion.version).where(DataVersion.name == NAME)
_READ = "portal_data_version"


def as_column() -> Any:
    """The version as a column, for the one statement every request runs anyway (the signed-in session):
    read with it, it costs no round trip of its own (``remember`` it then)."""
    return _CURRENT.scalar_subquery().label("data_version")


def remember(version: int | None) -> None:
    """The version as read at the start of this request (before any page is rendered)."""
    if has_request_context():
        setattr(g, _READ, version or 0)


def current(session: Session) -> int:
    if has_request_context() and hasattr(g, _READ):
        return int(getattr(g, _READ))
    return session.connection().scalar(_CURRENT) or 0


def _table_of(instance: Any) -> str:
    return getattr(type(instance), "__tablename__", "")


def _after_flush(session: Session, _context: Any) -> None:
    if session.info.get(_CHANGED):
        return
    written = [*session.new, *session.deleted]
    written += [o for o in session.dirty if session.is_modified(o, include_collections=False)]
    if any(_table_of(o) not in UNSEEN for o in written):
        session.info[_CHANGED] = True


def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) not in UNSEEN:
            state.session.info[_CHANGED] = True


def _before_commit(session: Session) -> None:
    session.flush()
    if not session.info.pop(_CHANGED, False):
        return
    bind = session.get_bind()
    insert = postgresql_insert if bind.dialect.name == "postgresql" else sqlite_insert
    statement = insert(DataVersion).values(name=NAME, version=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[DataVersion.name], set_={"version": DataVersion.version + 1}
        )
    )


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_CHANGED, None)


def watch(session_class: Any) -> None:
    """Raise the version from every session of this class (the app's and the worker's)."""
    if event.contains(session_class, "before_commit", _before_commit):
        return
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "do_orm_execute", _on_execute)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_rollback", _forget)
