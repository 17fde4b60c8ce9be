"""One use case, one transaction — files included.

``@use_case`` marks a service function that the outside world calls (a view, a task, a command). It runs
the function in a transaction of its own and commits when it returns; any exception — a domain error
included — rolls everything back. A use case called from inside another joins the outer one's transaction,
so composing use cases needs no ``commit=False`` flags, and helpers never commit. (A refusal that is itself
a record — a failed sign-in counts towards the lock — says so: ``DomainError.keeps_changes``.)

Why the transaction is started afresh: a view has usually read (the signed-in user, the object in the URL)
before it calls a use case. On SQLite that read holds a snapshot; writing on top of it fails with "database
is locked" the moment another writer has committed since, whatever the busy timeout. So a use case ends
any read-only transaction first and opens one that takes the write lock at once (``BEGIN IMMEDIATE``, see
``portal/database.py``) — writers queue for the lock instead of failing — and whatever it reads inside is
current. PostgreSQL needs no such start; services lock the rows they change (``SELECT … FOR UPDATE``).

Files: a file written during a transaction is registered with ``track_new_file``; if the transaction rolls
back, the file is removed. ``write_new_file`` never leaves a half-written file behind (a full disk, an
exception mid-write).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from portal.database import write_transaction
from portal.extensions import db
from portal.services.errors import DomainError

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

_DEPTH = "use_case_depth"
_FILES = "files_written"


def use_case(function: F) -> F:
    @wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        session = db.session()
        depth = session.info.get(_DEPTH, 0)
        if depth:
            session.info[_DEPTH] = depth + 1
            try:
                return function(*args, **kwargs)
            finally:
                session.info[_DEPTH] = depth
        _start_writing(session)
        session.info[_DEPTH] = 1
        token = write_transaction.set(True)
        try:
            result = function(*args, **kwargs)
            session.commit()
            return result
        except DomainError as error:
            if error.keeps_changes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        finally:
            write_transaction.reset(token)
            session.info[_DEPTH] = 0

    return run  # type: ignore[return-value]


def in_use_case() -> bool:
    return bool(db.session().info.get(_DEPTH))


def _start_writing(session: Session) -> None:
    """End a read-only transaction so that the use case's own begins with the write lock. Changes made
    before the use case (there should be none) are kept and committed with it."""
    if session.in_transaction() and not (session.new or session.dirty or session.deleted):
        session.rollback()


# --- files -------------------------------------------------------------------------------------------------


def track_new_file(path: Path) -> None:
    """Remove ``path`` if the current transaction rolls back."""
    db.session().info.setdefault(_FILES, []).append(path)


def write_new_file(path: Path, data: bytes) -> None:
    """Write the whole file or nothing: a failure mid-write removes what was written. The file then
    belongs to the current transaction (``track_new_file``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    track_new_file(path)


def _forget_files(session: Session) -> None:
    session.info.pop(_FILES, None)


def _remove_files(session: Session, previous: SessionTransaction) -> None:
    if getattr(previous, "nested", False):
        return  # a savepoint's files stay with the outer transaction, which may still roll back
    for path in session.info.pop(_FILES, []):
        try:
            path.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - logged for `flask storage check`
            log.exception("could not remove %s after a rollback", path)


def install() -> None:
    """Hook file clean-up onto the app's session (called once by create_app)."""
    target = db.session
    if not event.contains(target, "after_commit", _forget_files):
        event.listen(target, "after_commit", _forget_files)
        event.listen(target, "after_soft_rollback", _remove_files)
