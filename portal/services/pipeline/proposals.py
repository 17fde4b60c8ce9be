"""Service proposals and quotations (服务方案与报价): drafted by sales with technical support, sent, and
answered by the customer — and what an acceptance makes.

A proposal is made to a prospect (after its needs analysis) or to an account (a renewal of a contract, or
more services). It lists services as entitlements (kind, quantity, per contract or per contract year) with
a unit price each, a discount in per cent, a currency, the contract term it proposes, a validity date and
terms; its total is computed, never typed. It is drafted and edited, then sent: to a prospect's contact by
an email with a link to review it (``review_token``, made when the email is sent and never stored), to an
account's customer administrators as a notice in the portal. A revision is a new version of the same
number beside the old; sending it supersedes the versions sent before, whose links then show the latest.

The reviewer accepts, asks for changes (with a comment) or declines. A proposal past its validity date
cannot be accepted. Accepting makes the contract: the prospect becomes an account (or the account of that
name, switched on again), its contact is invited as the account's administrator, and the prospect is won;
the proposal becomes a draft contract with exactly its entitlements and total — active, like any draft, once
the signed copy is uploaded and it is signed off. A renewal proposal drafts the contract after the one it
renews. Who may: ``permissions`` (can_draft_proposal…, can_view_proposal, can_answer_proposal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import Select, func, select
from sqlalchemy.orm import aliased, selectinload

from portal import permissions
from portal.extensions import db
from portal.models import (
    Account,
    ContactLog,
    Contract,
    Proposal,
    ProposalLine,
    Prospect,
    ProspectActivity,
    User,
)
from portal.models.accounts import LANGUAGES, TIERS
from portal.models.base import utcnow
from portal.models.contracts import ENTITLEMENT_KINDS
from portal.models.pipeline import PROPOSAL_ANSWERS
from portal.services import audit, background
from portal.services.accounts import accounts
from portal.services.contracts import drafting, entitlements
from portal.services.errors import DomainError, InvalidInput, NotAllowed, Problems
from portal.services.identity import account_users
from portal.services.messaging import notifications
from portal.services.pdf import PDF_FONT, html_to_pdf
from portal.services.unit_of_work import use_case

CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_PRICE = Decimal("999999999.99")
# Sending a prospect's proposal needs its needs analysed (policy chapter 3: analyse, then propose).
SENDABLE_STAGES = ("needs_analysed", "proposal_sent")
# How long a review link opens its proposal (its answers are refused after the validity date anyway).
REVIEW_LINK_DAYS = 400
# A renewal proposal is asked for this long before the contract ends.
RENEWAL_NOTICE = timedelta(days=60)


class NotEditable(DomainError):
    """The proposal was sent: it stays as sent; a revision makes a new version."""


@dataclass(frozen=True)
class ProposalTerms:
    """What a person types for a proposal; ``quantities`` and ``prices`` map an entitlement kind to the
    typed text (a kind without a quantity is not offered), ``per_year`` names the kinds counted afresh each
    contract year."""

    title: str
    language: str
    tier: str
    currency: str
    discount_percent: str
    valid_until: date | None
    start_date: date | None
    end_date: date | None
    terms: str = ""
    quantities: dict[str, str] = field(default_factory=dict)
    prices: dict[str, str] = field(default_factory=dict)
    per_year: frozenset[str] = frozenset()


def _decimal(text: object) -> Decimal | None:
    try:
        value = Decimal(str(text or "").strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _cents(value: Decimal | None) -> bool:
    return value is not None and value == value.quantize(Decimal("0.01"))


def checked_terms(terms: ProposalTerms, today: date) -> tuple[dict[str, Any], list[ProposalLine]]:
    """The proposal's columns and its lines, or every problem at once (``InvalidInput``)."""
    problems = Problems()
    title = terms.title.strip()
    if not title:
        problems.add("title", _l("Give the proposal a title."))
    if terms.language not in LANGUAGES:
        problems.add("language", _l("Choose one from the list."))
    if terms.tier not in TIERS:
        problems.add("tier", _l("Choose one from the list."))
    currency = terms.currency.strip().upper()
    if not CURRENCY.match(currency):
        problems.add("currency", _l("A three-letter currency code such as CNY."))
    discount = _decimal(terms.discount_percent or "0")
    if discount is None or not _cents(discount) or not Decimal("0") <= discount <= Decimal("100"):
        problems.add("discount_percent", _l("A percentage from 0 to 100, such as 5 or 12.5."))
    if terms.valid_until is None:
        problems.add("valid_until", _l("Give the day the offer holds until."))
    elif terms.valid_until < today:
        problems.add("valid_until", _l("The offer must hold until today or later."))
    if terms.start_date is None:
        problems.add("start_date", _l("Give the first day."))
    if terms.end_date is None:
        problems.add("end_date", _l("Give the last day."))
    elif terms.start_date is not None and terms.end_date < terms.start_date:
        problems.add("end_date", _l("The last day comes before the first."))
    lines = []
    for kind in ENTITLEMENT_KINDS:
        typed_quantity = str(terms.quantities.get(kind, "") or "").strip()
        typed_price = str(terms.prices.get(kind, "") or "").strip()
        if not typed_quantity and not typed_price:
            continue
        quantity, price = _decimal(typed_quantity), _decimal(typed_price)
        if not typed_quantity:
            problems.add(f"quantity_{kind}", _l("Give the quantity too, or clear the price."))
        elif quantity is None or quantity <= 0 or quantity >= Decimal("100000000") or not _cents(quantity):
            problems.add(f"quantity_{kind}", _l("A number above nothing (up to two decimals)."))
        if not typed_price:
            problems.add(f"price_{kind}", _l("Give the price per unit."))
        elif price is None or price < 0 or price > MAX_PRICE or not _cents(price):
            problems.add(f"price_{kind}", _l("A price such as 8000.00, not below nothing."))
        if quantity is not None and price is not None and f"quantity_{kind}" not in problems.errors:
            lines.append(
                ProposalLine(
                    kind=kind,
                    quantity=quantity,
                    unit_price=price,
                    period="year" if kind in terms.per_year else "contract",
                )
            )
    if not lines and not any(k.startswith(("quantity_", "price_")) for k in problems.errors):
        problems.add(f"quantity_{ENTITLEMENT_KINDS[0]}", _l("Offer at least one service."))
    problems.raise_any()
    values = {
        "title": title,
        "language": terms.language,
        "tier": terms.tier,
        "currency": currency,
        "discount_percent": discount,
        "valid_until": terms.valid_until,
        "start_date": terms.start_date,
        "end_date": terms.end_date,
        "terms": terms.terms.strip(),
    }
    return values, lines


def check_terms(terms: ProposalTerms, today: date) -> None:
    """Every problem of the terms at once, writing nothing."""
    checked_terms(terms, today)


def terms_of(proposal: Proposal) -> ProposalTerms:
    """A proposal's terms as a form shows them (for editing a draft, or starting a revision)."""
    return ProposalTerms(
        title=proposal.title,
        language=proposal.language,
        tier=proposal.tier,
        currency=proposal.currency,
        discount_percent=str(proposal.discount_percent.normalize()),
        valid_until=proposal.valid_until,
        start_date=proposal.start_date,
        end_date=proposal.end_date,
        terms=proposal.terms,
        quantities={line.kind: str(line.quantity) for line in proposal.lines},
        prices={line.kind: str(line.unit_price) for line in proposal.lines},
        per_year=frozenset(line.kind for line in proposal.lines if line.period == "year"),
    )


def _set(proposal: Proposal, values: dict[str, Any], lines: list[ProposalLine]) -> None:
    """The columns, and the lines changed in place by kind (a line removed and one of its kind added in one
    flush would meet the one-line-per-kind constraint before the removal)."""
    for name, value in values.items():
        setattr(proposal, name, value)
    kept = {line.kind: line for line in proposal.lines}
    wanted = {line.kind: line for line in lines}
    for kind, line in kept.items():
        if kind not in wanted:
            proposal.lines.remove(line)
    for kind, line in wanted.items():
        if kind in kept:
            kept[kind].quantity, kept[kind].unit_price, kept[kind].period = (
                line.quantity,
                line.unit_price,
                line.period,
            )
        else:
            proposal.lines.append(line)


def _activity(prospect: Prospect | None, kind: str, actor: User | None, body: str) -> None:
    if prospect is not None:
        prospect.activities.append(
            ProspectActivity(kind=kind, actor_id=actor.id if actor else None, body=body, created_at=utcnow())
        )


# --- drafting ----------------------------------------------------------------------------------------------


def _new_number(proposal: Proposal) -> None:
    """QT-<year>-<id>: unique with the row's own id, no counter to contend for."""
    db.session.flush()
    proposal.number = f"QT-{utcnow().year}-{proposal.id:05d}"


@use_case
def create(
    actor: User,
    terms: ProposalTerms,
    today: date,
    *,
    prospect: Prospect | None = None,
    account: Account | None = None,
    renews: Contract | None = None,
) -> Proposal:
    """A first version, for a prospect or for an account (``renews``: the contract it would continue)."""
    if prospect is not None:
        allowed = permissions.can_draft_proposal_for_prospect(actor, prospect)
    else:
        assert account is not None
        allowed = permissions.can_draft_proposal_for_account(actor, account)
    if not allowed:
        raise NotAllowed(str(_l("Sales and technical support draft proposals.")))
    values, lines = checked_terms(terms, today)
    proposal = Proposal(
        number="",
        version=1,
        prospect_id=prospect.id if prospect else None,
        account_id=account.id if account else None,
        renews_id=renews.id if renews else None,
        state="draft",
        created_by_id=actor.id,
    )
    _set(proposal, values, lines)
    db.session.add(proposal)
    _new_number(proposal)
    audit.record("proposal.drafted", actor=actor, obj=proposal, number=proposal.number)
    return proposal


@use_case
def update_draft(actor: User, proposal: Proposal, terms: ProposalTerms, today: date) -> None:
    if not permissions.can_draft_proposal(actor, proposal):
        raise NotAllowed(str(_l("Sales and technical support draft proposals.")))
    if proposal.state != "draft":
        raise NotEditable(str(_l("This proposal was sent: revise it to make a new version.")))
    values, lines = checked_terms(terms, today)
    _set(proposal, values, lines)
    audit.record("proposal.draft_changed", actor=actor, obj=proposal)


def latest_version(proposal: Proposal) -> Proposal:
    return db.session.scalars(
        select(Proposal).where(Proposal.number == proposal.number).order_by(Proposal.version.desc()).limit(1)
    ).one()


def versions(proposal: Proposal) -> list[Proposal]:
    return list(
        db.session.scalars(
            select(Proposal).where(Proposal.number == proposal.number).order_by(Proposal.version.desc())
        )
    )


@use_case
def revise(actor: User, proposal: Proposal, today: date) -> Proposal:
    """A new draft version of the same number, with the latest version's terms to change. Its validity is
    moved on if the old one has passed."""
    if not permissions.can_draft_proposal(actor, proposal):
        raise NotAllowed(str(_l("Sales and technical support draft proposals.")))
    latest = latest_version(proposal)
    if latest.state == "draft":
        raise NotEditable(
            str(_l("Version %(version)s is still a draft: edit that one.", version=latest.version))
        )
    if latest.state == "accepted":
        raise NotEditable(str(_l("This proposal was accepted: it is not revised any more.")))
    revision = Proposal(
        number=latest.number,
        version=latest.version + 1,
        prospect_id=latest.prospect_id,
        account_id=latest.account_id,
        renews_id=latest.renews_id,
        state="draft",
        created_by_id=actor.id,
    )
    values, _lines = checked_terms(
        terms_of(latest)
        if latest.valid_until >= today
        else _with(terms_of(latest), valid_until=today + (latest.valid_until - latest.created_at.date())),
        today,
    )
    _set(revision, values, [_copy(line) for line in latest.lines])
    db.session.add(revision)
    db.session.flush()
    audit.record(
        "proposal.revised", actor=actor, obj=revision, number=revision.number, version=revision.version
    )
    return revision


def _with(terms: ProposalTerms, **changes: Any) -> ProposalTerms:
    return ProposalTerms(**{**vars(terms), **changes})


def _copy(line: ProposalLine) -> ProposalLine:
    return ProposalLine(
        kind=line.kind, quantity=line.quantity, unit_price=line.unit_price, period=line.period
    )


# --- sending -----------------------------------------------------------------------------------------------


@use_case
def send(actor: User, proposal: Proposal, today: date) -> None:
    """Send the draft: a prospect's contact gets an email with a link to review it, an account's customer
    administrators a notice. The versions sent before are superseded; the prospect's stage is "proposal
    sent"."""
    if not permissions.can_draft_proposal(actor, proposal):
        raise NotAllowed(str(_l("Sales and technical support draft proposals.")))
    problems = Problems()
    if proposal.state != "draft":
        problems.add("state", _l("This version was sent already."))
    if proposal.valid_until < today:
        problems.add("valid_until", _l("The offer's validity has passed: move it on first."))
    prospect = proposal.prospect
    if prospect is not None:
        if prospect.stage not in SENDABLE_STAGES:
            problems.add("state", _l("Analyse the prospect's needs before sending a proposal."))
        if not prospect.contact_email:
            problems.add("state", _l("The prospect has no contact email: add one to its details first."))
        sent_to = prospect.contact_email
    else:
        assert proposal.account is not None
        admins = _account_admins(proposal.account)
        if not admins:
            problems.add("state", _l("The account has no active administrator to answer it."))
        sent_to = ", ".join(u.email for u in admins)[:254]
    problems.raise_any()
    for earlier in db.session.scalars(
        select(Proposal).where(
            Proposal.number == proposal.number, Proposal.state.in_(("sent", "changes_requested"))
        )
    ):
        earlier.state = "superseded"
    proposal.state, proposal.sent_at, proposal.sent_by_id, proposal.sent_to = (
        "sent",
        utcnow(),
        actor.id,
        sent_to,
    )
    if prospect is not None:
        if prospect.stage != "proposal_sent":
            prospect.stage, prospect.stage_changed_at = "proposal_sent", utcnow()
        _activity(prospect, "proposal_sent", actor, f"{proposal.number} v{proposal.version}")
    audit.record("proposal.sent", actor=actor, obj=proposal, number=proposal.number, version=proposal.version)
    if prospect is not None:
        background.enqueue("proposal_email", proposal.id)
    else:
        notifications.notify(admins, "proposal_sent", data=_notice_data(proposal))


def _notice_data(proposal: Proposal, **extra: Any) -> dict[str, Any]:
    return {
        "proposal_id": proposal.id,
        "number": f"{proposal.number} v{proposal.version}",
        "title": proposal.title,
        "end": proposal.valid_until.isoformat(),
        **extra,
    }


def _account_admins(account: Account) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .where(User.account_id == account.id, User.role == "customer_admin", User.active)
            .order_by(User.full_name)
        )
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="proposal-review")


def review_token(proposal: Proposal) -> str:
    """The link's token in a prospect's email: it opens the latest sent version of the proposal's number."""
    return _serializer().dumps({"number": proposal.number, "prospect": proposal.prospect_id})


def proposal_for_review(token: str) -> Proposal:
    """The latest sent (or answered) version the link names, or ``InvalidInput``."""
    try:
        data = _serializer().loads(token, max_age=int(timedelta(days=REVIEW_LINK_DAYS).total_seconds()))
    except BadSignature as error:  # expired links included
        raise InvalidInput("token", str(_l("This link is not valid, or no longer."))) from error
    found = None
    if isinstance(data, dict):
        found = db.session.scalars(
            select(Proposal)
            .where(
                Proposal.number == str(data.get("number")),
                Proposal.prospect_id == data.get("prospect"),
                Proposal.prospect_id.is_not(None),
                Proposal.state != "draft",
            )
            .order_by(Proposal.version.desc())
            .limit(1)
        ).first()
    if found is None:
        raise InvalidInput("token", str(_l("This link is not valid, or no longer.")))
    return found


# --- answering ---------------------------------------------------------------------------------------------


def answerable(proposal: Proposal, today: date) -> bool:
    return proposal.state == "sent" and not proposal.expired(today)


def check_answer(proposal: Proposal, answer: str, comment: str, today: date, name: str = "-") -> None:
    problems = Problems()
    if answer not in PROPOSAL_ANSWERS:
        problems.add("answer", _l("Choose one from the list."))
    if proposal.state != "sent":
        problems.add("answer", _l("This version has been answered or replaced already."))
    elif proposal.expired(today) and answer == "accepted":
        problems.add(
            "answer",
            _l("The offer held until %(day)s: ask for a new version.", day=proposal.valid_until.isoformat()),
        )
    if answer in ("changes_requested", "declined") and not comment.strip():
        problems.add("comment", _l("Say what should change, or why."))
    if not name.strip():
        problems.add("name", _l("Give your name."))
    problems.raise_any()


@use_case
def answer(
    proposal: Proposal, answer: str, comment: str, today: date, *, by: User | None = None, name: str = ""
) -> Contract | None:
    """The reviewer's answer: ``by`` a customer administrator of the account, or — for a prospect, from the
    link — the contact who gives ``name``. Accepting returns the draft contract it made."""
    if by is not None and not permissions.can_answer_proposal(by, proposal):
        raise NotAllowed(str(_l("The account's administrator answers its proposals.")))
    if by is None and proposal.prospect_id is None:
        raise NotAllowed(str(_l("The account's administrator answers its proposals.")))
    name = by.full_name if by is not None else name.strip()[:120]
    # The row locked: two answers at once (the link opened twice, two administrators) make one contract.
    db.session.refresh(proposal, with_for_update=True)
    check_answer(proposal, answer, comment, today, name)
    proposal.state, proposal.answered_at = answer, utcnow()
    proposal.answered_by_id, proposal.answered_by_name = (by.id if by else None), name
    proposal.answer_comment = comment.strip()
    _activity(
        proposal.prospect, "proposal_answered", None, f"{proposal.number} v{proposal.version}: {answer}"
    )
    audit.record(
        f"proposal.{answer}",
        actor=by,
        actor_email="" if by else f"{name} <{proposal.sent_to}>",
        obj=proposal,
        number=proposal.number,
        version=proposal.version,
    )
    told = {u.id: u for u in (proposal.sent_by, proposal.created_by, _owner(proposal)) if u is not None}
    notifications.notify(
        told.values(), "proposal_answered", data=_notice_data(proposal, name=name, answer=answer)
    )
    if answer != "accepted":
        return None
    account = proposal.account or _account_for_won(proposal)
    contract = drafting.draft_accepted_proposal(
        account, contract_terms(proposal, account), renews=proposal.renews, proposal_number=proposal.number
    )
    proposal.contract_id = contract.id
    if proposal.prospect is not None:
        prospect = proposal.prospect
        prospect.stage, prospect.stage_changed_at, prospect.account_id = "won", utcnow(), account.id
        _activity(prospect, "won", None, contract.number)
        _carry_contacts(prospect, account)
    return contract


# A prospect's steps that were contacts with the company, and the kind of contact each is in its log.
CONTACT_STEPS = {"first_contact": "call", "needs_analysis": "meeting"}


def _carry_contacts(prospect: Prospect, account: Account) -> None:
    """The first contact and the needs analysis become the won account's first contact-log entries, so its
    relationship history (and the return-visit cadence) starts where sales began."""
    for activity in prospect.activities:
        if activity.kind in CONTACT_STEPS:
            db.session.add(
                ContactLog(
                    account_id=account.id,
                    staff_id=activity.actor_id,
                    kind=CONTACT_STEPS[activity.kind],
                    contacted_on=activity.created_at.date(),
                    participants=prospect.contact_name[:300],
                    notes=activity.body,
                )
            )


def _owner(proposal: Proposal) -> User | None:
    if proposal.prospect is not None:
        return proposal.prospect.owner
    return proposal.account.account_manager if proposal.account else None


def contract_terms(proposal: Proposal, account: Account) -> drafting.ContractTerms:
    """The draft contract's terms: the proposal's term, total and exactly its entitlements."""
    prefix = account.code or "KA"
    return drafting.ContractTerms(
        number=drafting.free_number(f"{prefix}-{proposal.start_date.year}"),
        title=proposal.title,
        start_date=proposal.start_date,
        end_date=proposal.end_date,
        amount=str(proposal.total),
        currency=proposal.currency,
        entitlements={line.kind: str(line.quantity) for line in proposal.lines},
        per_year=frozenset(line.kind for line in proposal.lines if line.period == "year"),
    )


def _account_for_won(proposal: Proposal) -> Account:
    """The account a prospect becomes: the one of its name if there is one (switched on again), else a new
    one managed by its sales owner, on its contact's email domain; its contact is invited as administrator."""
    prospect = proposal.prospect
    assert prospect is not None
    account = db.session.scalar(select(Account).where(func.lower(Account.name) == prospect.name.lower()))
    if account is None:
        domain = prospect.contact_email.rpartition("@")[2]
        account = accounts.open_account(
            accounts.AccountDetails(
                code=accounts.free_code(f"P{prospect.id:04d}"),
                name=prospect.name,
                name_en="",
                industry=prospect.industry,
                size=prospect.size,
                tier=proposal.tier,
                preferred_language=proposal.language,
                account_manager_id=prospect.owner_id,
                email_domains=domain,
            ),
            source=f"proposal {proposal.number}",
        )
    elif not account.active:
        account.active = True
        audit.record("account.reactivated", obj=account, proposal=proposal.number)
    if prospect.contact_email:
        account_users.invite_first_administrator(
            account,
            email=prospect.contact_email,
            full_name=prospect.contact_name or prospect.contact_email,
            locale=proposal.language,
            inviter_id=proposal.sent_by_id,
        )
    return account


# --- lists and numbers -------------------------------------------------------------------------------------


def of_prospect(prospect: Prospect) -> list[Proposal]:
    return _latest_first(select(Proposal).where(Proposal.prospect_id == prospect.id))


def of_account(account: Account, viewer: User) -> list[Proposal]:
    query = select(Proposal).where(Proposal.account_id == account.id)
    if permissions.is_customer(viewer):
        query = query.where(Proposal.state != "draft")
    return _latest_first(query)


def _latest_first(query: Select[Proposal]) -> list[Proposal]:
    return list(
        db.session.scalars(
            query.options(selectinload(Proposal.lines)).order_by(
                Proposal.number.desc(), Proposal.version.desc()
            )
        )
    )


def renewals_due(manager: User | None, today: date) -> list[Contract]:
    """Signed contracts ending within 60 days with no renewal proposal nor renewal contract yet — of the
    contracts ``manager`` manages (None: every account's)."""
    renewal = aliased(Contract)
    query = (
        select(Contract)
        .join(Account, Account.id == Contract.account_id)
        .where(
            Contract.state == "signed",
            Contract.end_date >= today,
            Contract.end_date <= today + RENEWAL_NOTICE,
            ~select(Proposal.id).where(Proposal.renews_id == Contract.id).exists(),
            ~select(renewal.id).where(renewal.renews_id == Contract.id).exists(),
        )
        .options(selectinload(Contract.account), selectinload(Contract.entitlements))
        .order_by(Contract.end_date)
    )
    if manager is not None:
        query = query.where(Account.account_manager_id == manager.id)
    return list(db.session.scalars(query))


def renewal_terms(contract: Contract, today: date) -> ProposalTerms:
    """A renewal proposal pre-filled from the contract: the next term as long as this one, the same
    entitlements — each at least what was used of it (so a service used beyond the contract is offered at
    what it took) — and the unit prices of the proposal that made this contract, if one did."""
    start = contract.end_date + timedelta(days=1)
    used = {line.entitlement.kind: line.used for line in entitlements.contract_ledger(contract, today)}
    earlier = db.session.scalar(select(Proposal).where(Proposal.contract_id == contract.id).limit(1))
    prices = {line.kind: str(line.unit_price) for line in earlier.lines} if earlier else {}
    quantities = {
        e.kind: str(max(e.quantity, Decimal(str(used.get(e.kind) or 0))).quantize(Decimal("0.01")))
        for e in contract.entitlements
    }
    with force_locale(contract.account.preferred_language):
        title = str(_l("Renewal of %(number)s", number=contract.number))
    return ProposalTerms(
        title=title,
        language=contract.account.preferred_language,
        tier=contract.account.tier,
        currency=contract.currency,
        discount_percent=str(earlier.discount_percent.normalize()) if earlier else "0",
        valid_until=min(contract.end_date, today + timedelta(days=30)),
        start_date=start,
        end_date=start + (contract.end_date - contract.start_date),
        quantities=quantities,
        prices={kind: prices.get(kind, "") for kind in quantities},
        per_year=frozenset(e.kind for e in contract.entitlements if e.period == "year"),
    )


# --- the document ------------------------------------------------------------------------------------------


def file_name(proposal: Proposal) -> str:
    """ "华信银行 服务方案与报价 QT-2026-00007 v2.pdf", in the proposal's own language."""
    with force_locale(proposal.language):
        what = str(_l("Service proposal and quotation"))
    return f"{proposal.customer_name(proposal.language)} {what} {proposal.number} v{proposal.version}.pdf"


def render_pdf(proposal: Proposal) -> bytes:
    """The proposal in its own language (the prospect's or the account's), as the summaries are made."""
    with force_locale(proposal.language):
        html = render_template("pdf/proposal.html", p=proposal, font=PDF_FONT, generated_at=utcnow())
    return html_to_pdf(html)
