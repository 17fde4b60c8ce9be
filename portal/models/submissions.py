"""Forms that created something, by the idempotency key they carried (a random token put in the form when
it was shown): the same form sent twice — a double click, a resend after a lost answer — finds the first
one's record here instead of creating a second."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.models.base import Base, one_of, utcnow

SUBMISSION_KINDS = ("new_request", "reply", "report", "contact")


class Submission(Base):
    __tablename__ = "submissions"
    __table_args__ = (one_of("kind", SUBMISSION_KINDS), Index("ix_submissions_created", "created_at"))

    # Scoped by user: a key only ever finds what its own sender made.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    # What the first submission made (a request, or the request or account it was added to).
    object_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
