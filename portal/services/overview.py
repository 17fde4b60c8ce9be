"""What each role's home shows: small, real summaries computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload, selectinload

from portal import permissions
from portal.extensions import db
from portal.models import (
    Account,
    AuditEvent,
    Contract,
    Deliverable,
    Department,
    RoutingRule,
    ServiceRequest,
    SurveyInvitation,
    TimeEntry,
    User,
)
from portal.models.base import utcnow
from portal.models.requests import IS_OPEN, NEEDS_CUSTOMER, OPEN_STATUSES
from portal.services.contracts.contracts import account_contracts
from portal.services.contracts.entitlements import LedgerLine, contract_ledgers
from portal.services.pipeline import proposals
from portal.services.requests import queues, sla
from portal.timeutil import today_for

HOME_LIST_LIMIT = 50
LATEST_REPORTS = 5


@dataclass
class CustomerHome:
    account: Account
    open_requests: list[ServiceRequest]
    open_count: int
    contracts: list[Contract]
    today: date
    needs_you: list[ServiceRequest] = field(default_factory=list)
    sla: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    ledgers: dict[int, list[LedgerLine]] = field(default_factory=dict)
    reports: list[Deliverable] = field(default_factory=list)
    surveys: list[SurveyInvitation] = field(default_factory=list)


def customer_home(user: User, today: date) -> CustomerHome:
    account = db.session.scalar(
        select(Account).where(Account.id == user.account_id).options(selectinload(Account.account_manager))
    )
    assert account is not None
    # The conditions of the partial indexes, word for word: the account's open and waiting requests are read,
    # never its whole history. SQLite, which plans without statistics, is told the index: by its estimate
    # of row widths alone it took the account's whole history and sorted it once the table grew a column.
    open_query = (
        permissions.visible_requests(user)
        .where(IS_OPEN)
        .with_hint(ServiceRequest, "INDEXED BY ix_service_requests_open_account", "sqlite")
    )
    open_requests = list(
        db.session.scalars(
            open_query.order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc()).limit(
                HOME_LIST_LIMIT
            )
        )
    )
    open_count = db.session.scalar(select(func.count()).select_from(open_query.subquery())) or 0
    needs_you = list(
        db.session.scalars(
            permissions.visible_requests(user)
            .where(NEEDS_CUSTOMER)
            .order_by(ServiceRequest.updated_at.desc())
            .limit(20)
        )
    )
    calendar, now = sla.load_calendar(), utcnow()
    badges = {r.id: queues.sla_badge(r, calendar, now) for r in open_requests}
    contracts = account_contracts(account.id, user)
    # Bars only for contracts that still run; ended ones are history on the contracts page.
    ledgers = contract_ledgers([c for c in contracts if c.status(today) in ("active", "expiring")], today)
    reports = list(
        db.session.scalars(
            select(Deliverable)
            .where(
                Deliverable.request_id.in_(
                    permissions.visible_requests(user).with_only_columns(ServiceRequest.id)
                )
            )
            .options(selectinload(Deliverable.request), selectinload(Deliverable.attachment))
            .order_by(Deliverable.published_at.desc(), Deliverable.id.desc())
            .limit(LATEST_REPORTS)
        )
    )
    from portal.services.engagement.surveys import pending_for

    return CustomerHome(
        account,
        open_requests,
        open_count,
        contracts,
        today,
        needs_you,
        badges,
        ledgers,
        reports,
        pending_for(user),
    )


@dataclass
class StaffHome:
    departments: list[Department]
    open_requests: list[ServiceRequest]
    open_count: int
    status_counts: dict[str, int]
    assigned_to_me: int
    sla: dict[int, tuple[str, int | None]] = field(default_factory=dict)  # the resolution clock's badge
    # Contracts of the accounts they manage ending within 60 days with no renewal yet.
    renewals_due: list[Contract] = field(default_factory=list)


def staff_home(user: User) -> StaffHome:
    in_scope = and_(ServiceRequest.status.in_(OPEN_STATUSES), permissions.request_condition(user))
    open_requests = list(
        db.session.scalars(
            select(ServiceRequest)
            .where(in_scope)
            .options(
                selectinload(ServiceRequest.account),
                joinedload(ServiceRequest.prospect),
                selectinload(ServiceRequest.assignee),
            )
            .order_by(ServiceRequest.created_at.asc(), ServiceRequest.id.asc())
            .limit(HOME_LIST_LIMIT)
        )
    )
    status_counts = dict(
        db.session.execute(
            select(ServiceRequest.status, func.count()).where(in_scope).group_by(ServiceRequest.status)
        ).all()
    )
    mine = db.session.scalar(
        select(func.count()).where(
            ServiceRequest.status.in_(OPEN_STATUSES), ServiceRequest.assignee_id == user.id
        )
    )
    calendar, now = sla.load_calendar(), utcnow()
    return StaffHome(
        departments=list(user.departments),
        open_requests=open_requests,
        open_count=sum(status_counts.values()),
        status_counts=status_counts,
        assigned_to_me=mine or 0,
        sla={r.id: queues.sla_badge(r, calendar, now) for r in open_requests},
        renewals_due=proposals.renewals_due(user, today_for(user)),
    )


@dataclass
class AccountContracts:
    account: Account
    contracts: int
    active_value: Decimal
    expiring: int


@dataclass
class FinanceHome:
    month_start: date
    billable_minutes_this_month: int
    non_billable_minutes_this_month: int
    accounts: list[AccountContracts] = field(default_factory=list)
    currency: str = "CNY"


def finance_home(today: date) -> FinanceHome:
    month_start = today.replace(day=1)
    minutes = dict(
        db.session.execute(
            select(TimeEntry.billable, func.coalesce(func.sum(TimeEntry.minutes), 0))
            .where(TimeEntry.work_date >= month_start, TimeEntry.work_date <= today)
            .group_by(TimeEntry.billable)
        ).all()
    )
    running = and_(Contract.state == "signed", Contract.start_date <= today, Contract.end_date >= today)
    expiring = and_(running, Contract.end_date <= today + timedelta(days=60))
    rows = db.session.execute(
        select(
            Account,
            func.count(Contract.id),
            func.coalesce(func.sum(Contract.amount).filter(running), 0),
            func.count(Contract.id).filter(expiring),
        )
        .outerjoin(Contract, Contract.account_id == Account.id)
        .where(Account.active)
        .group_by(Account.id)
        .order_by(Account.name)
    ).all()
    return FinanceHome(
        month_start=month_start,
        billable_minutes_this_month=int(minutes.get(True, 0)),
        non_billable_minutes_this_month=int(minutes.get(False, 0)),
        accounts=[AccountContracts(a, n, Decimal(v), e) for a, n, v, e in rows],
    )


@dataclass
class AdminHome:
    users_by_role: dict[str, int]
    inactive_users: int
    accounts: int
    departments: int
    routing_rules: int
    recent_audit: list[AuditEvent]


def admin_home() -> AdminHome:
    users_by_role = dict(
        db.session.execute(select(User.role, func.count()).where(User.active).group_by(User.role)).all()
    )
    return AdminHome(
        users_by_role=users_by_role,
        inactive_users=db.session.scalar(select(func.count(User.id)).where(User.active.is_(False))) or 0,
        accounts=db.session.scalar(select(func.count(Account.id))) or 0,
        departments=db.session.scalar(select(func.count(Department.id))) or 0,
        routing_rules=db.session.scalar(select(func.count(RoutingRule.id)).where(RoutingRule.active)) or 0,
        recent_audit=list(
            db.session.scalars(
                select(AuditEvent)
                .options(selectinload(AuditEvent.actor))
                .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                .limit(15)
            )
        ),
    )
