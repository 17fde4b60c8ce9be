"""What people are told: in-app notifications (which also carry the email's delivery state) and each
person's choice of channel per kind."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import User
from portal.models.base import Base, one_of, utcnow
from portal.models.requests import ServiceRequest

CHANNELS = ("both", "email", "in_app", "none")
EMAIL_STATES = ("none", "pending", "sent", "failed")


class Notification(Base):
    """One thing one person is told. ``in_app`` puts it in their bell; ``email_state`` tracks the email (the
    task queue sends it and retries). ``dedupe_key`` makes a periodic job's notice unique, so running a job
    twice tells nobody twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        one_of("email_state", EMAIL_STATES),
        Index("ix_notifications_user_unread", "user_id", "in_app", "read_at"),
        Index("ix_notifications_email_state", "email_state", "created_at"),
        UniqueConstraint("dedupe_key", name="uq_notifications_dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    read_at: Mapped[datetime | None]
    email_state: Mapped[str] = mapped_column(String(10), default="none")
    email_attempts: Mapped[int] = mapped_column(default=0)
    emailed_at: Mapped[datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    request: Mapped[ServiceRequest | None] = relationship()


class NotificationPreference(Base):
    """A person's channel for one kind; without a row the kind goes both ways."""

    __tablename__ = "notification_preferences"
    __table_args__ = (one_of("channel", CHANNELS),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), default="both")
