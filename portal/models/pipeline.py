"""The pipeline before a contract (policy chapter 3): potential key accounts, screened by marketing and
worked by sales, with what was done on each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import INDUSTRIES, SIZES, Account, User
from portal.models.base import Base, TimestampMixin, one_of, utcnow

PROSPECT_SOURCES = ("trade_show", "referral", "inbound", "other")
# In order; "lost" ends a prospect at any stage before it is won (at screening: rejected).
PROSPECT_STAGES = ("new", "qualified", "first_contact", "needs_analysed", "proposal_sent", "won", "lost")
OPEN_STAGES = ("new", "qualified", "first_contact", "needs_analysed", "proposal_sent")
ACTIVITY_KINDS = ("recorded", "qualified", "rejected", "first_contact", "needs_analysis", "note", "lost")


class Prospect(TimestampMixin, Base):
    """A potential key account (潜在大客户)."""

    __tablename__ = "prospects"
    __table_args__ = (
        one_of("industry", INDUSTRIES),
        one_of("size", SIZES),
        one_of("source", PROSPECT_SOURCES),
        one_of("stage", PROSPECT_STAGES),
        Index("ix_prospects_stage_changed", "stage", "stage_changed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(20))
    size: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(20))
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(20), default="new")
    stage_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    lost_reason: Mapped[str] = mapped_column(String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The sales owner, from qualification on.
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The account it became (or already was), once won.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    account: Mapped[Account | None] = relationship()
    activities: Mapped[list[ProspectActivity]] = relationship(
        back_populates="prospect", order_by="ProspectActivity.id", cascade="all, delete-orphan"
    )


class ProspectActivity(Base):
    """Something done on a prospect: recorded, screened, the first contact, the needs analysis, a note."""

    __tablename__ = "prospect_activities"
    __table_args__ = (
        one_of("kind", ACTIVITY_KINDS),
        Index("ix_prospect_activities_prospect", "prospect_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    prospect_id: Mapped[int] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    prospect: Mapped[Prospect] = relationship(back_populates="activities")
    actor: Mapped[User | None] = relationship()
