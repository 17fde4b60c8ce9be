"""Archived finance statements: a PDF once issued never changes; a re-issue is a new version."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account
from portal.models.base import Base, TimestampMixin, one_of


class Statement(TimestampMixin, Base):
    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("account_id", "period_start", "period_end", "version", name="uq_statements_version"),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint("version >= 1", name="version_positive"),
        one_of("language", ("zh", "en")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    period_start: Mapped[date]
    period_end: Mapped[date]
    version: Mapped[int] = mapped_column(default=1)
    language: Mapped[str] = mapped_column(String(5))
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="RESTRICT"), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    account: Mapped[Account] = relationship()


EXPORT_STATES = ("queued", "running", "done", "failed")


class ExportJob(TimestampMixin, Base):
    """A long export built by the task queue (all accounts' summaries as one ZIP), with its progress."""

    __tablename__ = "export_jobs"
    __table_args__ = (
        one_of("state", EXPORT_STATES),
        CheckConstraint("period_end >= period_start", name="period_ordered"),
        CheckConstraint("done >= 0 AND done <= total", name="progress_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), default="summaries_zip")
    period_start: Mapped[date]
    period_end: Mapped[date]
    state: Mapped[str] = mapped_column(String(10), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    done: Mapped[int] = mapped_column(default=0)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id", ondelete="SET NULL"))
    error: Mapped[str] = mapped_column(String(500), default="")
    finished_at: Mapped[datetime | None]
    # Which attempt holds it, and until when: a worker renews its lease after every account; another takes
    # the job over once the lease has run out (its worker died) — the attempt number is the holder's token.
    attempt: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
