"""The pipeline before a contract (policy chapter 3): potential key accounts, screened by marketing and
worked by sales, with what was done on each."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import INDUSTRIES, LANGUAGES, SIZES, TIERS, Account, User
from portal.models.base import Base, TimestampMixin, one_of, utcnow
from portal.models.contracts import ENTITLEMENT_KINDS, ENTITLEMENT_PERIODS, ENTITLEMENT_UNITS, Contract

PROSPECT_SOURCES = ("trade_show", "referral", "inbound", "other")
# In order; "lost" ends a prospect at any stage before it is won (at screening: rejected).
PROSPECT_STAGES = ("new", "qualified", "first_contact", "needs_analysed", "proposal_sent", "won", "lost")
OPEN_STAGES = ("new", "qualified", "first_contact", "needs_analysed", "proposal_sent")
ACTIVITY_KINDS = (
    "recorded",
    "qualified",
    "rejected",
    "first_contact",
    "needs_analysis",
    "note",
    "lost",
    "proposal_sent",
    "proposal_answered",
    "won",
)
# What is stored of a proposal. "Expired" is derived: sent, and its validity date has passed.
PROPOSAL_STATES = ("draft", "sent", "accepted", "changes_requested", "declined", "superseded")
# What the reviewer may answer.
PROPOSAL_ANSWERS = ("accepted", "changes_requested", "declined")


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


class Proposal(TimestampMixin, Base):
    """A service proposal and quotation (服务方案与报价), to a prospect or to an account (a renewal or more
    services). Its versions share a number: a revision is a new row beside the old, and sending it
    supersedes the versions sent before."""

    __tablename__ = "proposals"
    __table_args__ = (
        one_of("state", PROPOSAL_STATES),
        one_of("language", LANGUAGES),
        one_of("tier", TIERS),
        CheckConstraint("(prospect_id IS NULL) != (account_id IS NULL)", name="for_prospect_or_account"),
        CheckConstraint("discount_percent >= 0 AND discount_percent <= 100", name="discount_range"),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        UniqueConstraint("number", "version", name="uq_proposals_number_version"),
        Index("ix_proposals_prospect", "prospect_id"),
        Index("ix_proposals_account", "account_id"),
        Index("ix_proposals_renews", "renews_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(default=1)
    prospect_id: Mapped[int | None] = mapped_column(ForeignKey("prospects.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    # The contract a renewal proposal continues.
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(5), default="zh")
    # The classification the account will have (for a prospect: the account it becomes).
    tier: Mapped[str] = mapped_column(String(10), default="key")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    discount_percent: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    valid_until: Mapped[date]
    # The term of the contract it proposes.
    start_date: Mapped[date]
    end_date: Mapped[date]
    terms: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="draft")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Sent: to whom (the prospect's contact, or the account's administrators) and when.
    sent_at: Mapped[datetime | None]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sent_to: Mapped[str] = mapped_column(String(254), default="")
    # Answered: by whom (a user of the account, or the prospect's contact by name) and what they said.
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_by_name: Mapped[str] = mapped_column(String(120), default="")
    answer_comment: Mapped[str] = mapped_column(Text, default="")
    # The draft contract an acceptance made.
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="SET NULL"))

    prospect: Mapped[Prospect | None] = relationship()
    account: Mapped[Account | None] = relationship()
    renews: Mapped[Contract | None] = relationship(foreign_keys=[renews_id])
    contract: Mapped[Contract | None] = relationship(foreign_keys=[contract_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
    lines: Mapped[list[ProposalLine]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan", order_by="ProposalLine.id"
    )

    def expired(self, today: date) -> bool:
        return self.state == "sent" and today > self.valid_until

    def status(self, today: date) -> str:
        return "expired" if self.expired(today) else self.state

    @property
    def subtotal(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def discount(self) -> Decimal:
        return (self.subtotal * self.discount_percent / 100).quantize(Decimal("0.01"))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount

    def customer_name(self, locale: str) -> str:
        if self.account is not None:
            return self.account.display_name(locale)
        return self.prospect.name if self.prospect else ""


class ProposalLine(Base):
    """One service of a proposal: the entitlement it would give, and its price per unit."""

    __tablename__ = "proposal_lines"
    __table_args__ = (
        one_of("kind", ENTITLEMENT_KINDS),
        one_of("period", ENTITLEMENT_PERIODS),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
        UniqueConstraint("proposal_id", "kind", name="uq_proposal_lines_proposal_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposals.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    period: Mapped[str] = mapped_column(String(10), default="contract")
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2))

    proposal: Mapped[Proposal] = relationship(back_populates="lines")

    @property
    def unit(self) -> str:
        return ENTITLEMENT_UNITS[self.kind]

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"))
