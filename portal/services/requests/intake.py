"""Filing a request from the customer portal or by email (the rules of each service's form, what the request
will use of its contract, over-entitlement approval by the account's administrator) — and, by sales, a
pre-sale request on a potential key account that has no portal users yet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.models import Account, Contract, MailIntake, Prospect, ServiceRequest, TimelineEvent, User
from portal.models.base import utcnow
from portal.services import submissions
from portal.services.contracts import entitlements
from portal.services.errors import InvalidInput, Problems
from portal.services.requests import attachments, lifecycle, sla, workflow
from portal.services.requests.workflow import NewRequest, NotAllowed
from portal.services.storage import FileStore
from portal.services.unit_of_work import use_case

REQUIRED = {
    "pre_sale": ("project_background",),
    "on_site": ("site_address", "site_contact_name", "site_contact_phone", "preferred_date_from"),
    "after_sale": ("product", "severity"),
    "value_added": ("topic", "wanted_by"),
}


def active_contracts(account: Account, today: date) -> list[Contract]:
    """The contracts a new request can be booked against: signed and running today."""
    contracts = db.session.scalars(
        select(Contract)
        .where(
            Contract.account_id == account.id,
            Contract.state == "signed",
            Contract.start_date <= today,
            Contract.end_date >= today,
        )
        .options(selectinload(Contract.entitlements))
        .order_by(Contract.end_date)
    )
    return list(contracts)


def check_details(
    category: str, subtype: str, details: dict[str, object], today: date, problems: Problems | None = None
) -> None:
    """Domain rules of the service's own fields, all of them: raises one ``InvalidInput`` naming every
    field that breaks one — or adds them to ``problems``, for the caller to raise with its own."""
    own = problems is None
    problems = problems or Problems()
    for name in required_fields(category, subtype):
        if details.get(name) in (None, ""):
            problems.add(name, _l("This is needed for this service."))
    earliest = next_business_day(today)
    start, end = details.get("preferred_date_from"), details.get("preferred_date_to")
    if isinstance(start, date) and start < earliest:
        problems.add(
            "preferred_date_from",
            _l("Choose a day from %(day)s on (at least one business day ahead).", day=earliest.isoformat()),
        )
    if isinstance(start, date) and isinstance(end, date) and end < start:
        problems.add("preferred_date_to", _l("The last preferred day cannot be before the first."))
    wanted = details.get("wanted_by")
    if isinstance(wanted, date) and wanted <= today:
        problems.add("wanted_by", _l("Choose a day in the future."))
    if own:
        problems.raise_any()


def required_fields(category: str, subtype: str) -> tuple[str, ...]:
    """The service's own fields a request cannot go without (marked required on the form)."""
    return REQUIRED.get(category, ()) + (("trainees",) if subtype == "training" else ())


def check_files(uploads: list[attachments.Upload], max_bytes: int, problems: Problems) -> None:
    for upload in uploads:
        try:
            attachments.check(upload, max_bytes)
        except InvalidInput as error:
            problems.take(error)


def next_business_day(today: date) -> date:
    calendar = sla.load_calendar()
    day = today + timedelta(days=1)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return day


@dataclass(frozen=True)
class UsePreview:
    kind: str | None  # the entitlement kind the request uses; None: it uses none
    amount: Decimal
    remaining: Decimal | None  # before this request; None when the contract does not include the kind
    over: bool

    @property
    def left(self) -> Decimal:
        return max(self.remaining or Decimal(0), Decimal(0))

    @property
    def over_by(self) -> Decimal:
        """How far this request goes beyond what the contract has left (all of it when none is included)."""
        return max(self.amount - self.left, Decimal(0)) if self.over else Decimal(0)


def preview_use(
    contract: Contract | None, category: str, subtype: str, visit_days: Decimal | None, today: date
) -> UsePreview:
    """What the request will use of the contract, and whether that goes beyond what is left."""
    if contract is None:
        return UsePreview(None, Decimal(0), None, False)
    has_training = any(e.kind == "training_sessions" for e in contract.entitlements)
    kind, amount = entitlements.request_amount(
        ServiceRequest(category=category, subtype=subtype, visit_days=visit_days), has_training
    )
    if kind is None:
        return UsePreview(None, amount, None, False)
    line = next(
        (x for x in entitlements.contract_ledger(contract, today) if x.entitlement.kind == kind), None
    )
    if line is None:
        return UsePreview(kind, amount, None, True)
    return UsePreview(kind, amount, line.remaining, amount > line.remaining)


@use_case
def file_request(
    account: Account,
    requester: User,
    new: NewRequest,
    uploads: list[attachments.Upload],
    *,
    today: date,
    files: FileStore,
    max_bytes: int,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> ServiceRequest:
    """Check everything, then create the request, route it, start its clock and store its files — all in
    one transaction. Over entitlement: the account administrator's own request counts as approved; anyone
    else's waits for the administrator's approval."""
    if not permissions.can_file_request(requester, account):
        raise NotAllowed(str(_l("Only the account's own users can file requests for it.")))
    problems = Problems()
    check_details(new.category, new.subtype, new.details or {}, today, problems)
    check_files(uploads, max_bytes, problems)
    problems.raise_any()
    once = submissions.claim(requester, idempotency_key, "new_request")
    request = _file(
        account,
        requester,
        new,
        uploads,
        today=today,
        files=files,
        max_bytes=max_bytes,
        now=now or utcnow(),
        approved_over=requester.role == "customer_admin",
    )
    submissions.made(once, request.id)
    return request


@use_case
def file_by_email(
    account: Account,
    requester: User,
    title: str,
    description: str,
    uploads: list[attachments.Upload],
    *,
    intake: MailIntake,
    today: date,
    files: FileStore,
    max_bytes: int,
    now: datetime | None = None,
) -> ServiceRequest:
    """A new request from a known contact's mail to the service address, as the mail intake settings file
    it: their service and priority, the account's running contract that ends first (the form's default).
    A mail has no form: the service's own fields stay for staff to ask about. Beyond the contract it waits
    for the account administrator's approval — the administrator's own too, since a mail does not say it
    means to go over. The caller has checked the files (a refused one is left out, not the whole mail)."""
    if not permissions.can_file_request(requester, account):
        raise NotAllowed(str(_l("Only the account's own users can file requests for it.")))
    contracts = active_contracts(account, today)
    new = NewRequest(
        intake.category,
        intake.subtype,
        title,
        description,
        intake.priority,
        contracts[0] if contracts else None,
        channel="email",
    )
    return _file(
        account,
        requester,
        new,
        uploads,
        today=today,
        files=files,
        max_bytes=max_bytes,
        now=now or utcnow(),
        approved_over=False,
    )


def _file(
    account: Account,
    requester: User,
    new: NewRequest,
    uploads: list[attachments.Upload],
    *,
    today: date,
    files: FileStore,
    max_bytes: int,
    now: datetime,
    approved_over: bool,
) -> ServiceRequest:
    visit_days = (new.details or {}).get("visit_days")
    use = preview_use(
        new.contract,
        new.category,
        new.subtype,
        visit_days if isinstance(visit_days, Decimal) else None,
        today,
    )
    request = workflow.submit_request(account, requester, new, now=now)
    if use.over:
        request.over_entitlement = True
        request.approval = "approved" if approved_over else "pending"
        db.session.add(
            TimelineEvent(
                request_id=request.id,
                kind="approval",
                actor_id=requester.id,
                created_at=now,
                data={
                    "decision": request.approval,
                    "kind": use.kind,
                    "amount": str(use.amount),
                    "over": str(use.over_by),
                },
            )
        )
    if uploads:
        attachments.attach_to_request(request, uploads, requester, files=files, max_bytes=max_bytes)
    return request


@use_case
def file_presale_request(
    prospect: Prospect,
    requester: User,
    new: NewRequest,
    uploads: list[attachments.Upload],
    *,
    today: date,
    files: FileStore,
    max_bytes: int,
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> ServiceRequest:
    """Sales asks for pre-sale work on a prospect (policy chapter 3: first contact and needs analysis) —
    a consultation, a solution design, pre-sale technical support, a quotation. It is routed, timed and
    worked as any request; its requester is the staff member who filed it, and no customer ever sees it
    (the prospect has no users; once won, it stays on the prospect's record)."""
    if not permissions.can_work_prospect(requester, prospect):
        raise NotAllowed(str(_l("Only the prospect's owner or a sales lead can ask for pre-sale work.")))
    problems = Problems()
    if new.category != "pre_sale":
        problems.add("subtype", _l("A potential key account can ask for pre-sale services only."))
    check_details(new.category, new.subtype, new.details or {}, today, problems)
    check_files(uploads, max_bytes, problems)
    problems.raise_any()
    once = submissions.claim(requester, idempotency_key, "new_request")
    new.contract, new.shared_with_account = None, False
    request = workflow.submit_request(prospect, requester, new, now=now)
    submissions.made(once, request.id)
    if uploads:
        attachments.attach_to_request(request, uploads, requester, files=files, max_bytes=max_bytes)
    return request


def of_prospect(prospect: Prospect) -> list[ServiceRequest]:
    """A prospect's pre-sale requests, newest first."""
    return list(
        db.session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.prospect_id == prospect.id)
            .options(selectinload(ServiceRequest.assignee), selectinload(ServiceRequest.department))
            .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
        )
    )


@use_case
def decide_approval(
    request: ServiceRequest, admin: User, approve: bool, *, now: datetime | None = None
) -> None:
    """The account administrator approves an over-entitlement request, or declines it (which cancels it)."""
    now = now or utcnow()
    if admin.role != "customer_admin" or admin.account_id != request.account_id:
        raise NotAllowed(str(_l("Only the account's administrator can approve requests.")))
    if request.approval != "pending":
        raise InvalidInput("approval", str(_l("This request is not waiting for approval.")))
    request.approval = "approved" if approve else "declined"
    db.session.add(
        TimelineEvent(
            request_id=request.id,
            kind="approval",
            actor_id=admin.id,
            created_at=now,
            data={"decision": request.approval},
        )
    )
    if not approve:
        lifecycle.apply(
            request, "cancel", admin, now, sla.load_calendar(), str(_l("Declined by the account."))
        )
