"""Mail the portal received: one row per message (by its Message-ID), what became of it, and the message
itself (in the file store) for staff to read when it matched nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import User
from portal.models.base import Base, one_of, utcnow
from portal.models.requests import CATEGORIES, PRIORITIES, ServiceRequest, TimelineEvent, subtype_pairs_check

# reply: appended to its request · filed: a known contact's new mail, filed as a new request ·
# unmatched: kept for staff, nothing done · ignored: an auto-reply, a bounce, a loop or an empty reply, never
# answered · malformed: could not be read, kept
OUTCOMES = ("reply", "filed", "unmatched", "ignored", "malformed")
# Why unmatched or malformed mail waits for staff (``reason`` keeps the details): it could not be read · the
# sender's domain did not send it (DMARC) · the sender may not reply to the request it names · the sender is
# no contact of an account · their sign-in is switched off · new requests by email are switched off · the
# portal refused the reply or the request it would have made
CAUSES = (
    "",
    "unreadable",
    "unconfirmed_sender",
    "may_not_reply",
    "unknown_sender",
    "sender_disabled",
    "intake_off",
    "refused",
)


class InboundMail(Base):
    __tablename__ = "inbound_mail"
    __table_args__ = (
        one_of("outcome", OUTCOMES),
        one_of("cause", CAUSES),
        UniqueConstraint("message_key", name="uq_inbound_mail_message_key"),
        Index("ix_inbound_mail_outcome", "outcome", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the Message-ID (of the bytes, when a message has none): a message delivered twice is
    # stored once, however long its Message-ID.
    message_key: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(Text, default="")
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(10))
    cause: Mapped[str] = mapped_column(String(20), default="", server_default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("timeline_events.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    stored_name: Mapped[str] = mapped_column(String(64))
    storage: Mapped[str] = mapped_column(String(12))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Staff who looked at unmatched or malformed mail and put it aside (it stays, off the list).
    dismissed_at: Mapped[datetime | None]
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    request: Mapped[ServiceRequest | None] = relationship()
    event: Mapped[TimelineEvent | None] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    dismissed_by: Mapped[User | None] = relationship(foreign_keys=[dismissed_by_id])


class MailIntake(Base):
    """How a new request by email is filed (one row): the service it becomes — a mail has no form, so the
    service's own fields stay for staff to complete — before the routing rules send it to a department."""

    __tablename__ = "mail_intake"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        one_of("category", CATEGORIES),
        one_of("priority", PRIORITIES),
        subtype_pairs_check(),
    )

    id: Mapped[int] = mapped_column(primary_key=True, default=1)
    accepts_new_requests: Mapped[bool] = mapped_column(Boolean, default=True)
    category: Mapped[str] = mapped_column(String(20), default="after_sale")
    subtype: Mapped[str] = mapped_column(String(30), default="technical_support")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
