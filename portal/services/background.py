"""Handing work to the background, without knowing the queue.

A service names the work and its arguments (``enqueue("invitation_email", user_id, inviter_id)``); what
runs it is registered by the app (``portal/tasks.py``'s ``init_app`` puts the queue's hand-over in
``app.extensions``), so services never import the queue.

Work enqueued inside a use case leaves only when that use case commits — a worker never sees a row that is
not there yet, and a rolled-back change tells nobody: not when a savepoint inside it is released (SQLAlchemy
calls ``after_commit`` for those too; the work waits for the transaction's own commit), and work enqueued
inside a savepoint that is rolled back goes with it. Outside a use case it leaves at once. A queue that
cannot take the work never fails the person's action: the failure is logged (periodic sweeps pick up what
is left, e.g. emails still pending).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from portal.extensions import db
from portal.services.unit_of_work import in_use_case

log = logging.getLogger(__name__)
EXTENSION = "portal.background"
_WAITING = "background_waiting"

HandOver = Callable[..., None]


def enqueue(job: str, *args: Any) -> None:
    if in_use_case():
        after_commit(job, *args)
    else:
        send_now(job, *args)


def after_commit(job: str, *args: Any, session: Session | None = None) -> None:
    """Hand the work over when the session's transaction commits (for session hooks, which run inside one,
    use case or not)."""
    session = session or db.session()
    current = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_WAITING, []).append((current, job, args))


def send_now(job: str, *args: Any) -> None:
    hand_over: HandOver | None = current_app.extensions.get(EXTENSION)
    try:
        if hand_over is None:
            raise LookupError("no background queue is registered with the app")
        hand_over(job, *args)
    except Exception:  # noqa: BLE001
        log.exception("could not hand %s%r to the background queue", job, args)


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a savepoint released: the transaction has not committed yet
        return
    for _transaction, job, args in session.info.pop(_WAITING, []):
        send_now(job, *args)


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    if not previous.nested:
        session.info.pop(_WAITING, None)
        return
    waiting = session.info.get(_WAITING, [])
    session.info[_WAITING] = [entry for entry in waiting if not _within(entry[0], previous)]


def install() -> None:
    """Hook the hand-over onto the app's session (called once by create_app)."""
    target = db.session
    if not event.contains(target, "after_commit", _after_commit):
        event.listen(target, "after_commit", _after_commit)
        event.listen(target, "after_soft_rollback", _after_soft_rollback)
