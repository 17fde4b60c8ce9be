"""Mail the portal received: one row per message (by its Message-ID), what became of it, and the message
itself (in the file store) for staff to read when it matched nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import User
from portal.models.base import Base, one_of, utcnow
from portal.models.requests import ServiceRequest, TimelineEvent

# reply: appended to its request · new_request: a known contact's new mail, filed · unmatched: kept for
# staff, nothing done · ignored: an auto-reply, a bounce, a loop or an empty reply, never answered ·
# malformed: could not be read, kept
OUTCOMES = ("reply", "unmatched", "ignored", "malformed")


class InboundMail(Base):
    __tablename__ = "inbound_mail"
    __table_args__ = (
        one_of("outcome", OUTCOMES),
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
    reason: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id", ondelete="SET NULL"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("timeline_events.id", ondelete="SET NULL"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    stored_name: Mapped[str] = mapped_column(String(64))
    storage: Mapped[str] = mapped_column(String(12))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ServiceRequest | None] = relationship()
    event: Mapped[TimelineEvent | None] = relationship()
    author: Mapped[User | None] = relationship()
