"""A contract from draft to end, in the back office: draft it with its entitlements, edit it while it is a
draft, sign it off once the signed copy is on file, renew it (a new draft from the day after it ends, with
the same entitlements to adjust), or end it early with a date and a reason.

Who: ``permissions.can_draft_contract`` (administrators, finance, the account's manager). A customer never
sees a draft (``permissions.can_view_contract``). Ending a contract early releases what its open requests
held: they are no longer booked against it (the ledger stops counting them there), and each such request
says so on its timeline.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import permissions
from portal.extensions import db
from portal.models import Account, Contract, Entitlement, ServiceRequest, TimelineEvent, User
from portal.models.base import utcnow
from portal.models.contracts import ENTITLEMENT_KINDS
from portal.models.requests import OPEN_STATUSES
from portal.services import audit
from portal.services.errors import DomainError, InvalidInput, NotAllowed, Problems
from portal.services.unit_of_work import use_case

NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_.-]{2,39}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("999999999999.99")


class NotADraft(DomainError):
    """The contract is signed or ended: its terms stay as they were (a renewal makes new ones)."""


@dataclass(frozen=True)
class ContractTerms:
    """What a person types for a contract; ``entitlements`` maps a kind to its quantity (none: not
    included), ``per_year`` names the kinds counted afresh each contract year (the others over the whole
    term). Numbers come as typed, and are checked here with everything else."""

    number: str
    title: str
    start_date: date | None
    end_date: date | None
    amount: str
    currency: str
    entitlements: dict[str, str]
    per_year: frozenset[str] = frozenset()


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(str(text).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def checked_terms(
    terms: ContractTerms, contract: Contract | None
) -> tuple[dict[str, Any], dict[str, Decimal]]:
    problems = Problems()
    number, title = terms.number.strip(), terms.title.strip()
    if not NUMBER.match(number):
        problems.add("number", _l("3–40 letters, digits and - / _ . (e.g. HX-2027-001)."))
    else:
        taken = select(Contract.id).where(Contract.number == number)
        if contract is not None:
            taken = taken.where(Contract.id != contract.id)
        if db.session.scalar(taken.limit(1)) is not None:
            problems.add("number", _l("Another contract has this number."))
    if not title:
        problems.add("title", _l("Give the contract a title."))
    if terms.start_date is None:
        problems.add("start_date", _l("Give the first day."))
    if terms.end_date is None:
        problems.add("end_date", _l("Give the last day."))
    elif terms.start_date is not None and terms.end_date < terms.start_date:
        problems.add("end_date", _l("The last day comes before the first."))
    amount = _decimal(terms.amount)
    if amount is None or amount < 0 or amount > MAX_AMOUNT or amount != amount.quantize(Decimal("0.01")):
        problems.add("amount", _l("An amount such as 120000.00, not below nothing."))
    currency = terms.currency.strip().upper()
    if not CURRENCY.match(currency):
        problems.add("currency", _l("A three-letter currency code such as CNY."))
    quantities: dict[str, Decimal] = {}
    for kind in ENTITLEMENT_KINDS:
        typed = str(terms.entitlements.get(kind, "") or "").strip()
        if not typed:
            continue
        quantity = _decimal(typed)
        if (
            quantity is None
            or quantity <= 0
            or quantity >= Decimal("100000000")
            or quantity != quantity.quantize(Decimal("0.01"))
        ):
            problems.add(
                f"entitlement_{kind}", _l("A number above nothing (up to two decimals), or leave it empty.")
            )
        else:
            quantities[kind] = quantity
    problems.raise_any()
    values = {
        "number": number,
        "title": title,
        "start_date": terms.start_date,
        "end_date": terms.end_date,
        "amount": amount,
        "currency": currency,
    }
    return values, quantities


def check_terms(terms: ContractTerms, contract: Contract | None = None) -> None:
    """Every problem of the terms at once (``InvalidInput``), writing nothing: for a form whose own checks
    failed, so that a person hears all of it in one answer."""
    checked_terms(terms, contract)


def _require_drafter(actor: User, account: Account) -> None:
    if not permissions.can_draft_contract(actor, account):
        raise NotAllowed(str(_l("Only administrators, finance and the account manager draft contracts.")))


def _set_entitlements(contract: Contract, quantities: dict[str, Decimal], per_year: frozenset[str]) -> None:
    kept = {e.kind: e for e in contract.entitlements}
    for kind, entitlement in kept.items():
        if kind not in quantities:
            contract.entitlements.remove(entitlement)
    for kind, quantity in quantities.items():
        period = "year" if kind in per_year else "contract"
        if kind in kept:
            kept[kind].quantity, kept[kind].period = quantity, period
        else:
            contract.entitlements.append(Entitlement(kind=kind, quantity=quantity, period=period))


@use_case
def create_draft(
    actor: User, account: Account, terms: ContractTerms, *, renews: Contract | None = None
) -> Contract:
    _require_drafter(actor, account)
    contract = _new_draft(account, terms, renews)
    audit.record("contract.drafted", actor=actor, obj=contract, number=contract.number)
    return contract


def draft_accepted_proposal(
    account: Account, terms: ContractTerms, *, renews: Contract | None, proposal_number: str
) -> Contract:
    """The draft contract an accepted proposal makes (``pipeline.proposals.answer``): the acceptance is the
    authority, so no drafter is asked; it becomes active, like any draft, when its signed copy is uploaded
    and it is signed off."""
    contract = _new_draft(account, terms, renews)
    audit.record("contract.drafted", obj=contract, number=contract.number, proposal=proposal_number)
    return contract


def _new_draft(account: Account, terms: ContractTerms, renews: Contract | None) -> Contract:
    values, quantities = checked_terms(terms, None)
    contract = Contract(
        account_id=account.id, state="draft", renews_id=renews.id if renews else None, **values
    )
    _set_entitlements(contract, quantities, terms.per_year)
    db.session.add(contract)
    db.session.flush()
    return contract


def free_number(wanted: str) -> str:
    """``wanted`` if no contract has it, else the first free ``wanted-2``, ``wanted-3`` …"""
    candidate, n = wanted, 1
    while db.session.scalar(select(Contract.id).where(Contract.number == candidate)) is not None:
        n += 1
        candidate = f"{wanted[:36]}-{n}"
    return candidate


@use_case
def update_draft(actor: User, contract: Contract, terms: ContractTerms) -> None:
    _require_drafter(actor, contract.account)
    if contract.state != "draft":
        raise NotADraft(str(_l("Only a draft can be edited; a signed contract is renewed instead.")))
    values, quantities = checked_terms(terms, contract)
    for name, value in values.items():
        setattr(contract, name, value)
    _set_entitlements(contract, quantities, terms.per_year)
    audit.record("contract.draft_changed", actor=actor, obj=contract)


@use_case
def sign_off(actor: User, contract: Contract) -> None:
    """A draft becomes the signed contract its account books requests against — once its signed copy is on
    file (``contracts.attach_signed_document``)."""
    _require_drafter(actor, contract.account)
    if contract.state != "draft":
        raise InvalidInput("state", str(_l("This contract is not a draft.")))
    if contract.signed_document_id is None:
        raise InvalidInput(
            "file", str(_l("Upload the signed copy first: a contract is active only when signed."))
        )
    contract.state, contract.signed_at = "signed", utcnow()
    audit.record("contract.signed", actor=actor, obj=contract)


def renewal_terms(contract: Contract) -> ContractTerms:
    """The next term: from the day after this one ends, as long as this one, the same entitlements."""
    start = contract.end_date + timedelta(days=1)
    return ContractTerms(
        number=_next_number(contract.number),
        title=contract.title,
        start_date=start,
        end_date=start + (contract.end_date - contract.start_date),
        amount=str(contract.amount),
        currency=contract.currency,
        entitlements={e.kind: str(e.quantity) for e in contract.entitlements},
        per_year=frozenset(e.kind for e in contract.entitlements if e.period == "year"),
    )


def _next_number(number: str) -> str:
    for n in range(1, 100):
        candidate = f"{number[:36]}-R{n}"
        if db.session.scalar(select(Contract.id).where(Contract.number == candidate)) is None:
            return candidate
    return f"{number[:30]}-R{secrets.token_hex(3).upper()}"


@use_case
def renew(actor: User, contract: Contract) -> Contract:
    if contract.state == "draft":
        raise InvalidInput("state", str(_l("A draft is edited, not renewed.")))
    renewal = create_draft(actor, contract.account, renewal_terms(contract), renews=contract)
    audit.record("contract.renewal_drafted", actor=actor, obj=contract, renewal=renewal.number)
    return renewal


def check_termination(contract: Contract, on: date | None, reason: str) -> None:
    problems = Problems()
    if contract.state != "signed":
        problems.add("on", _l("Only a signed contract can be ended early."))
    elif on is None or not contract.start_date <= on <= contract.end_date:
        problems.add("on", _l("A day within the contract's term."))
    if not reason.strip():
        problems.add("reason", _l("Say why the contract ends early."))
    problems.raise_any()


@use_case
def terminate(actor: User, contract: Contract, *, on: date | None, reason: str) -> int:
    """End a signed contract early; returns how many open requests were released from it."""
    _require_drafter(actor, contract.account)
    check_termination(contract, on, reason)
    contract.state, contract.terminated_on, contract.terminated_reason = (
        "terminated",
        on,
        reason.strip()[:500],
    )
    held = list(
        db.session.scalars(
            select(ServiceRequest).where(
                ServiceRequest.contract_id == contract.id, ServiceRequest.status.in_(OPEN_STATUSES)
            )
        )
    )
    note = str(
        _l(
            "Contract %(number)s ended early on %(day)s: this request is no longer booked against it.",
            number=contract.number,
            day=on.isoformat() if on else "",
        )
    )
    for request in held:
        request.contract_id = None
        db.session.add(
            TimelineEvent(
                request_id=request.id,
                kind="internal_note",
                actor_id=actor.id,
                internal=True,
                body=note,
                data={"contract_released": contract.number},
            )
        )
    audit.record("contract.terminated", actor=actor, obj=contract, on=str(on), released=len(held))
    return len(held)
