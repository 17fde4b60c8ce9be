"""Handing work to the background, without knowing the queue.

A service names the work and its arguments (``enqueue("invitation_email", user_id, inviter_id)``); what
runs it is registered by the app (``portal/tasks.py``'s ``init_app`` puts the queue's hand-over in
``app.extensions``), so services never import the queue.

Work enqueued inside a use case leaves only when that use case commits — a worker never sees a row that is
not there yet, and a rolled-back change tells nobody. Outside a use case it leaves at once. A queue that
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
        db.session().info.setdefault(_WAITING, []).append((job, args))
    else:
        send_now(job, *args)


def send_now(job: str, *args: Any) -> None:
    hand_over: HandOver | None = current_app.extensions.get(EXTENSION)
    try:
        if hand_over is None:
            raise LookupError("no background queue is registered with the app")
        hand_over(job, *args)
    except Exception:  # noqa: BLE001
        log.exception("could not hand %s%r to the background queue", job, args)


def _after_commit(session: Session) -> None:
    for job, args in session.info.pop(_WAITING, []):
        send_now(job, *args)


def _after_soft_rollback(session: Session, previous: SessionTransaction) -> None:
    if not getattr(previous, "nested", False):
        session.info.pop(_WAITING, None)


def install() -> None:
    """Hook the hand-over onto the app's session (called once by create_app)."""
    target = db.session
    if not event.contains(target, "after_commit", _after_commit):
        event.listen(target, "after_commit", _after_commit)
        event.listen(target, "after_soft_rollback", _after_soft_rollback)
