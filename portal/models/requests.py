"""Service requests and everything that hangs off one: its timeline, files, deliverables and time."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    event,
    literal_column,
    or_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.models.accounts import Account, Department, User
from portal.models.base import Base, TimestampMixin, one_of, utcnow
from portal.models.contracts import Contract
from portal.models.pipeline import Prospect

SUBTYPES: dict[str, tuple[str, ...]] = {
    "pre_sale": ("consultation", "solution_design", "technical_support", "quotation"),
    "on_site": ("delivery", "installation", "commissioning", "training"),
    "after_sale": ("warranty", "troubleshooting", "technical_support"),
    "value_added": ("custom_report", "industry_news", "market_analysis", "custom_service"),
}
CATEGORIES = tuple(SUBTYPES)
# A potential key account's pre-sale requests are answered as a key account's (DESIGN.md, SLA by tier).
PROSPECT_TIER = "key"
PRIORITIES = ("low", "normal", "high", "urgent")
# Where a request came in: its form in the portal, or an email to the service address (mail in).
INTAKE_CHANNELS = ("portal", "email")
STATUSES = (
    "submitted",
    "open",
    "in_progress",
    "waiting_customer",
    "scheduled",
    "resolved",
    "closed",
    "cancelled",
)
OPEN_STATUSES = ("submitted", "open", "in_progress", "waiting_customer", "scheduled")
# The open statuses written into the SQL itself (not as parameters): a partial index on open requests is
# used only when a query's condition is the index's own, word for word.
OPEN_SQL = "status IN ({})".format(", ".join(f"'{status}'" for status in OPEN_STATUSES))
# What a customer's dashboard lists under "needs you" (an answer, or an approval), written the same way.
NEEDS_CUSTOMER_SQL = "status = 'waiting_customer' OR approval = 'pending'"
APPROVAL_STATES = ("not_needed", "pending", "approved", "declined")
SEVERITIES = ("minor", "major", "critical")

TIMELINE_KINDS = (
    "created",
    "routed",
    "assigned",
    "status_changed",
    "public_reply",
    "internal_note",
    "attachment",
    "visit_scheduled",
    "time_logged",
    "survey_answered",
    "approval",
    "deliverable_published",
)


def subtype_pairs_check() -> CheckConstraint:
    pairs = " OR ".join(
        f"(category = '{c}' AND subtype IN ({', '.join(repr(s) for s in subs)}))"
        for c, subs in SUBTYPES.items()
    )
    return CheckConstraint(pairs, name="subtype_of_category")


class ReferenceCounter(Base):
    """The last reference number handed out per year; references are never reused."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class ServiceRequest(Base):
    __tablename__ = "service_requests"
    __table_args__ = (
        one_of("category", CATEGORIES),
        subtype_pairs_check(),
        one_of("priority", PRIORITIES),
        one_of("status", STATUSES),
        one_of("channel", INTAKE_CHANNELS),
        one_of("approval", APPROVAL_STATES),
        CheckConstraint(
            "severity IS NULL OR severity IN ('minor', 'major', 'critical')", name="severity_valid"
        ),
        CheckConstraint("visit_days IS NULL OR visit_days > 0", name="visit_days_positive"),
        CheckConstraint("trainees IS NULL OR trainees > 0", name="trainees_positive"),
        CheckConstraint(
            "visit_duration_minutes IS NULL OR visit_duration_minutes > 0", name="visit_duration_positive"
        ),
        # The queues: per department and status, per assignee, at risk by due time, keyset by (created, id).
        # The at-risk and unanswered ones include the id on PostgreSQL: the at-risk tab is counted from them
        # alone (SQLite's indexes hold the rowid, the id, already).
        Index("ix_service_requests_department_status", "department_id", "status", "created_at", "id"),
        Index(
            "ix_service_requests_assignee_status",
            "assignee_id",
            "status",
            sqlite_where=text("assignee_id IS NOT NULL"),
            postgresql_where=text("assignee_id IS NOT NULL"),
        ),
        Index("ix_service_requests_status_resolution_due", "status", "resolution_due_at"),
        Index(
            "ix_service_requests_department_risk",
            "department_id",
            "status",
            "resolution_at_risk_at",
            postgresql_include=["id"],
        ),
        Index(
            "ix_service_requests_status_risk", "status", "resolution_at_risk_at", postgresql_include=["id"]
        ),
        # The queues' pages: open requests in queue order, per department and for everyone (partial: they
        # stay as small as the open work however long the history grows).
        Index(
            "ix_service_requests_open_department",
            "department_id",
            "created_at",
            "id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        Index(
            "ix_service_requests_open_created",
            "created_at",
            "id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        # A customer's dashboard: the account's open requests, newest first, and what waits for the customer
        # (partial too: an account's years of closed requests are never read for them).
        Index(
            "ix_service_requests_open_account",
            "account_id",
            "created_at",
            "id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        Index(
            "ix_service_requests_needs_customer",
            "account_id",
            "updated_at",
            sqlite_where=text(NEEDS_CUSTOMER_SQL),
            postgresql_where=text(NEEDS_CUSTOMER_SQL),
        ),
        # Partial indexes hold only the rows a queue asks about (unassigned, waiting for a first answer), so
        # they stay small however large the table grows, and no other query is drawn to them.
        Index(
            "ix_service_requests_unassigned",
            "status",
            "department_id",
            "created_at",
            "id",
            sqlite_where=text("assignee_id IS NULL"),
            postgresql_where=text("assignee_id IS NULL"),
        ),
        Index(
            "ix_service_requests_department_unanswered",
            "department_id",
            "status",
            "first_response_due_at",
            sqlite_where=text("first_responded_at IS NULL"),
            postgresql_where=text("first_responded_at IS NULL"),
            postgresql_include=["id"],
        ),
        Index(
            "ix_service_requests_status_unanswered",
            "status",
            "first_response_due_at",
            sqlite_where=text("first_responded_at IS NULL"),
            postgresql_where=text("first_responded_at IS NULL"),
            postgresql_include=["id"],
        ),
        Index("ix_service_requests_account_created", "account_id", "created_at", "id"),
        # A pre-sale request on a potential key account has no account yet (policy chapter 3: first contact
        # and needs analysis); anything else belongs to an account.
        CheckConstraint(
            "account_id IS NOT NULL OR (prospect_id IS NOT NULL AND category = 'pre_sale')",
            name="for_account_or_prospect",
        ),
        Index(
            "ix_service_requests_prospect",
            "prospect_id",
            "created_at",
            sqlite_where=text("prospect_id IS NOT NULL"),
            postgresql_where=text("prospect_id IS NOT NULL"),
        ),
        Index("ix_service_requests_requester", "requester_id", "created_at"),
        Index("ix_service_requests_contract", "contract_id"),
        Index("ix_service_requests_created", "created_at", "id"),
        # The KPI periods: requests resolved / first answered in a period, covering what the aggregates and
        # medians read so that they never touch the table.
        Index(
            "ix_service_requests_resolved_kpi",
            "resolved_at",
            "resolution_business_minutes",
            "resolution_due_at",
            "reopen_count",
            "department_id",
        ),
        Index(
            "ix_service_requests_first_responded_kpi",
            "first_responded_at",
            "first_response_business_minutes",
            "first_response_due_at",
            "department_id",
            # Only answered requests: a period's range implies it, and "not answered yet" uses its own index.
            sqlite_where=text("first_responded_at IS NOT NULL"),
            postgresql_where=text("first_responded_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"))
    # A pre-sale request filed by sales on a potential key account: its requester is that staff member.
    prospect_id: Mapped[int | None] = mapped_column(ForeignKey("prospects.id", ondelete="RESTRICT"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="RESTRICT"))
    category: Mapped[str] = mapped_column(String(20))
    subtype: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(20), default="submitted")
    shared_with_account: Mapped[bool] = mapped_column(Boolean, default=True)
    channel: Mapped[str] = mapped_column(String(10), default="portal", server_default="portal")

    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    routing_rule_id: Mapped[int | None] = mapped_column(ForeignKey("routing_rules.id", ondelete="SET NULL"))

    # Entitlement: whether the request goes beyond what its contract includes, and the customer admin's say.
    over_entitlement: Mapped[bool] = mapped_column(Boolean, default=False)
    approval: Mapped[str] = mapped_column(String(12), default="not_needed")

    # Timestamps (UTC) and the SLA clock.
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # SLA targets in business minutes, copied from the policy on submit so that a later policy change does
    # not move the goalposts of requests already running; due times include time paused for the customer.
    first_response_target_minutes: Mapped[int | None]
    resolution_target_minutes: Mapped[int | None]
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    resolution_at_risk_at: Mapped[datetime | None]  # 80 % of the resolution target used
    first_responded_at: Mapped[datetime | None]
    sla_paused_since: Mapped[datetime | None]
    sla_paused_minutes: Mapped[int] = mapped_column(default=0)
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    # Measured in business minutes when they happen (KPI medians are then plain SQL): submission to first
    # public staff reply, and submission to resolution less the time spent waiting for the customer.
    first_response_business_minutes: Mapped[int | None]
    resolution_business_minutes: Mapped[int | None]

    # Pre-sale.
    project_background: Mapped[str | None] = mapped_column(Text)
    budget_range: Mapped[str | None] = mapped_column(String(100))
    decision_timeline: Mapped[str | None] = mapped_column(String(100))
    # On-site.
    site_address: Mapped[str | None] = mapped_column(String(300))
    site_contact_name: Mapped[str | None] = mapped_column(String(120))
    site_contact_phone: Mapped[str | None] = mapped_column(String(40))
    preferred_date_from: Mapped[date | None]
    preferred_date_to: Mapped[date | None]
    scheduled_visit_at: Mapped[datetime | None]
    visit_engineer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    visit_duration_minutes: Mapped[int | None]
    visit_days: Mapped[Decimal | None] = mapped_column(Numeric(5, 1))
    trainees: Mapped[int | None]
    # After-sale.
    product: Mapped[str | None] = mapped_column(String(200))
    serial_number: Mapped[str | None] = mapped_column(String(100))
    severity: Mapped[str | None] = mapped_column(String(10))
    # Value-added.
    topic: Mapped[str | None] = mapped_column(String(200))
    scope: Mapped[str | None] = mapped_column(Text)
    wanted_by: Mapped[date | None]

    # Optimistic locking: every UPDATE checks the version the writer loaded.
    version: Mapped[int] = mapped_column(default=1)
    __mapper_args__ = {"version_id_col": version}

    account: Mapped[Account | None] = relationship()
    prospect: Mapped[Prospect | None] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    visit_engineer: Mapped[User | None] = relationship(foreign_keys=[visit_engineer_id])
    department: Mapped[Department | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
    events: Mapped[list[TimelineEvent]] = relationship(
        back_populates="request", order_by="TimelineEvent.id", passive_deletes="all"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def tier(self) -> str:
        """The classification its SLA targets and routing go by: its account's, or for a prospect the tier
        potential key accounts are served at."""
        return self.account.tier if self.account is not None else PROSPECT_TIER

    @property
    def industry(self) -> str:
        party = self.account if self.account is not None else self.prospect
        assert party is not None
        return party.industry

    def party_name(self, language: str) -> str:
        """Whom it is for: the account's name in ``language``, or the prospect's."""
        if self.account is not None:
            return self.account.display_name(language)
        return self.prospect.name if self.prospect is not None else ""


# The two conditions as SQL expressions, literal like the indexes' own (a query with bound values instead
# would not be answered from them); every query for open requests uses IS_OPEN.
IS_OPEN: ColumnElement[bool] = ServiceRequest.status.in_([literal_column(f"'{s}'") for s in OPEN_STATUSES])
NEEDS_CUSTOMER: ColumnElement[bool] = or_(
    ServiceRequest.status == literal_column("'waiting_customer'"),
    ServiceRequest.approval == literal_column("'pending'"),
)


class TimelineEvent(Base):
    """One entry of a request's append-only timeline."""

    __tablename__ = "timeline_events"
    __table_args__ = (
        one_of("kind", TIMELINE_KINDS),
        Index("ix_timeline_events_request", "request_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[ServiceRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


@event.listens_for(TimelineEvent, "before_update")
@event.listens_for(TimelineEvent, "before_delete")
def _timeline_is_append_only(mapper: object, connection: object, target: TimelineEvent) -> None:
    raise ValueError("timeline events are append-only")


class Attachment(TimestampMixin, Base):
    """A stored file: its name, size and SHA-256 here; its bytes under a random name in the store that
    ``storage`` names — the database (``FileChunk``) or a folder, never under static/ (services/storage)."""

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint("size_bytes >= 0", name="size_not_negative"),
        CheckConstraint("length(sha256) = 64", name="sha256_hex"),
        CheckConstraint("storage IN ('database', 'filesystem')", name="storage_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_requests.id", ondelete="RESTRICT"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("timeline_events.id", ondelete="RESTRICT"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="RESTRICT"), index=True)
    # A contract's signed copy (each copy stays, the latest is the contract's document).
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    original_name: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(100))
    storage: Mapped[str] = mapped_column(String(16), default="database")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Deliverable(Base):
    """A report staff publish on a value-added request; it shows in the account's report library."""

    __tablename__ = "deliverables"
    __table_args__ = (Index("ix_deliverables_request", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="RESTRICT"))
    attachment_id: Mapped[int] = mapped_column(ForeignKey("attachments.id", ondelete="RESTRICT"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    request: Mapped[ServiceRequest] = relationship()
    attachment: Mapped[Attachment] = relationship()


class TimeEntry(TimestampMixin, Base):
    __tablename__ = "time_entries"
    __table_args__ = (
        CheckConstraint("minutes > 0 AND minutes <= 1440", name="minutes_in_a_day"),
        Index("ix_time_entries_request", "request_id"),
        Index("ix_time_entries_contract_date", "contract_id", "work_date"),
        Index("ix_time_entries_user_date", "user_id", "work_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id", ondelete="RESTRICT"))
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    minutes: Mapped[int]
    billable: Mapped[bool] = mapped_column(Boolean, default=True)
    work_date: Mapped[date]
    note: Mapped[str] = mapped_column(String(500), default="")

    request: Mapped[ServiceRequest] = relationship()
    user: Mapped[User] = relationship()
