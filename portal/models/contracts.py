"""Service contracts and what each one entitles the account to."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account
from portal.models.base import Base, TimestampMixin, one_of

# What is stored: whether the contract is still a draft, signed, or ended early. The status shown to people
# (draft, active, expiring, expired, terminated) is derived from this and the dates.
CONTRACT_STATES = ("draft", "signed", "terminated")
CONTRACT_STATUSES = ("draft", "active", "expiring", "expired", "terminated")
EXPIRING_WITHIN = timedelta(days=60)

# An entitlement kind names the service it covers and the unit it is counted in.
ENTITLEMENT_UNITS = {
    "on_site_days": "day",
    "support_hours": "hour",
    "custom_reports": "report",
    "training_sessions": "session",
}
ENTITLEMENT_KINDS = tuple(ENTITLEMENT_UNITS)
# Over the whole term, or afresh each contract year (the year from the start date's day and month).
ENTITLEMENT_PERIODS = ("contract", "year")


class Contract(TimestampMixin, Base):
    __tablename__ = "contracts"
    __table_args__ = (
        one_of("state", CONTRACT_STATES),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    start_date: Mapped[date]
    end_date: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    state: Mapped[str] = mapped_column(String(12), default="signed")
    # When it was signed off in the portal (none for contracts signed before it, or imported signed).
    signed_at: Mapped[datetime | None]
    terminated_on: Mapped[date | None]
    terminated_reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    # The contract this one renews (its draft was made from it).
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="SET NULL"))
    signed_document_id: Mapped[int | None] = mapped_column(
        ForeignKey("attachments.id", use_alter=True, ondelete="SET NULL")
    )

    account: Mapped[Account] = relationship()
    entitlements: Mapped[list[Entitlement]] = relationship(
        back_populates="contract", cascade="all, delete-orphan", order_by="Entitlement.id"
    )

    def status(self, today: date) -> str:
        if self.state == "draft":
            return "draft"
        if self.state == "terminated":
            return "terminated"
        if today > self.end_date:
            return "expired"
        if today < self.start_date:
            return "draft"
        if self.end_date - today <= EXPIRING_WITHIN:
            return "expiring"
        return "active"


class Entitlement(Base):
    __tablename__ = "entitlements"
    __table_args__ = (
        one_of("kind", ENTITLEMENT_KINDS),
        one_of("period", ENTITLEMENT_PERIODS),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("contract_id", "kind", name="uq_entitlements_contract_kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(30))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    period: Mapped[str] = mapped_column(String(10), default="contract", server_default="contract")

    contract: Mapped[Contract] = relationship(back_populates="entitlements")

    @property
    def unit(self) -> str:
        return ENTITLEMENT_UNITS[self.kind]
