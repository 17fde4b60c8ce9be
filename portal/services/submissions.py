"""Double submits create one record. A form that creates something carries an idempotency key; the use case
claims it first thing (``claim``) and notes what it made (``made``). The same form sent again — one after
the other, or at the same moment from two tabs or a double click — finds the claim and raises
``AlreadySubmitted`` naming the first one's record, which the screen leads to; nothing is created twice.

Sent at the same moment: on SQLite the second use case waits for the write lock and then sees the claim; on
PostgreSQL its INSERT waits on the primary key until the first commits and then fails, inside a savepoint,
after which the committed claim is read."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.models import Submission, User
from portal.services.errors import DomainError


class AlreadySubmitted(DomainError):
    """This form was sent before; ``object_id`` is what the first submission made."""

    def __init__(self, submission: Submission) -> None:
        super().__init__("already submitted")
        self.kind = submission.kind
        self.object_id = submission.object_id


def claim(user: User, key: str | None, kind: str) -> Submission | None:
    """Claim the form's key for this use case, or raise ``AlreadySubmitted``. No key (a page from before keys
    existed, a script): nothing to claim."""
    key = (key or "").strip()[:64]
    if not key:
        return None
    existing = db.session.get(Submission, (user.id, key))
    if existing is not None:
        raise AlreadySubmitted(existing)
    submission = Submission(user_id=user.id, key=key, kind=kind)
    try:
        with db.session.begin_nested():
            db.session.add(submission)
    except IntegrityError:
        existing = db.session.get(Submission, (user.id, key), populate_existing=True)
        if existing is None:
            raise
        raise AlreadySubmitted(existing) from None
    return submission


def made(submission: Submission | None, object_id: int) -> None:
    if submission is not None:
        submission.object_id = object_id
