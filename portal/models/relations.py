"""Relationship maintenance: contacts with an account, the tier cadence, and follow-up tasks."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import TIERS, Account, User
from portal.models.base import Base, TimestampMixin, one_of

CONTACT_KINDS = ("call", "visit", "meeting", "review")
FOLLOW_UP_REASONS = ("low_csat", "low_nps", "manual")


class ReturnVisitCadence(Base):
    """How often an account of a tier must be contacted (strategic monthly, key quarterly, ...)."""

    __tablename__ = "return_visit_cadences"
    __table_args__ = (
        one_of("tier", TIERS),
        CheckConstraint("months >= 1 AND months <= 24", name="months_range"),
    )

    tier: Mapped[str] = mapped_column(String(10), primary_key=True)
    months: Mapped[int]


class ContactLog(TimestampMixin, Base):
    __tablename__ = "contact_logs"
    __table_args__ = (
        one_of("kind", CONTACT_KINDS),
        CheckConstraint(
            "next_planned_on IS NULL OR next_planned_on >= contacted_on", name="next_after_contact"
        ),
        Index("ix_contact_logs_account_date", "account_id", "contacted_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(10))
    contacted_on: Mapped[date]
    participants: Mapped[str] = mapped_column(String(300), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    next_planned_on: Mapped[date | None]

    account: Mapped[Account] = relationship()
    staff: Mapped[User | None] = relationship()


class FollowUpTask(TimestampMixin, Base):
    """Work for an account manager, e.g. after a low survey score."""

    __tablename__ = "follow_up_tasks"
    __table_args__ = (
        one_of("reason", FOLLOW_UP_REASONS),
        Index("ix_follow_up_tasks_owner_open", "owner_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_invitations.id", ondelete="SET NULL"), unique=True
    )
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    due_on: Mapped[date | None]
    done_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
