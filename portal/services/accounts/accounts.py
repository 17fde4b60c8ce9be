"""An account's record in the back office: create, edit, classify, switch off and on.

The classification (industry × size × tier) is what routing, SLA targets and the return-visit cadence read:
a change takes effect for what comes next (a new request gets the new tier's targets; the next visit is due
by the new cadence) and leaves what was already promised alone. An inactive account keeps everything; its
people cannot sign in until it is switched on again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.models import Account, User
from portal.models.accounts import INDUSTRIES, LANGUAGES, SIZES, TIERS
from portal.services import audit
from portal.services.errors import NotAllowed, Problems
from portal.services.unit_of_work import use_case

CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")
DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
CLASSIFICATION = ("industry", "size", "tier")


@dataclass(frozen=True)
class AccountDetails:
    """What a person types for an account: every field, checked together."""

    code: str
    name: str
    name_en: str
    industry: str
    size: str
    tier: str
    preferred_language: str
    account_manager_id: int | None
    email_domains: str


def _domains(text: str) -> list[str]:
    return [d.strip().lower().lstrip("@") for d in text.replace(",", " ").split() if d.strip()]


def checked_details(details: AccountDetails, account: Account | None) -> AccountDetails:
    """The details tidied (code in capitals, domains one per word), or every problem at once."""
    problems = Problems()
    code = details.code.strip().upper()
    name, name_en = details.name.strip(), details.name_en.strip()
    if not CODE.match(code):
        problems.add("code", _l("2–20 capital letters, digits or hyphens, e.g. HUAXIN."))
    elif _taken(Account.code == code, account):
        problems.add("code", _l("Another account has this code."))
    if not name:
        problems.add("name", _l("Give the account's name."))
    elif _taken(func.lower(Account.name) == name.lower(), account):
        problems.add("name", _l("Another account has this name."))
    for field, value, vocabulary in (
        ("industry", details.industry, INDUSTRIES),
        ("size", details.size, SIZES),
        ("tier", details.tier, TIERS),
        ("preferred_language", details.preferred_language, LANGUAGES),
    ):
        if value not in vocabulary:
            problems.add(field, _l("Choose one from the list."))
    if details.account_manager_id is not None:
        manager = db.session.get(User, details.account_manager_id)
        if manager is None or not manager.active or not permissions.is_staff(manager):
            problems.add("account_manager_id", _l("Choose an active agent or lead."))
    domains = _domains(details.email_domains)
    wrong = [d for d in domains if not DOMAIN.match(d)]
    if wrong:
        problems.add("email_domains", _l("Not a domain: %(domains)s.", domains=", ".join(wrong)))
    problems.raise_any()
    return AccountDetails(
        code=code,
        name=name,
        name_en=name_en,
        industry=details.industry,
        size=details.size,
        tier=details.tier,
        preferred_language=details.preferred_language,
        account_manager_id=details.account_manager_id,
        email_domains=" ".join(dict.fromkeys(domains)),
    )


def _taken(condition: ColumnElement[bool], account: Account | None) -> bool:
    query = select(Account.id).where(condition)
    if account is not None:
        query = query.where(Account.id != account.id)
    return db.session.scalar(query.limit(1)) is not None


def _require_back_office(actor: User) -> None:
    if not permissions.can_run_back_office(actor):
        raise NotAllowed(str(_l("Only an administrator can do this.")))


@use_case
def create_account(actor: User, details: AccountDetails) -> Account:
    _require_back_office(actor)
    details = checked_details(details, None)
    account = Account(**vars(details), active=True)
    db.session.add(account)
    db.session.flush()
    audit.record("account.created", actor=actor, obj=account, code=account.code, tier=account.tier)
    return account


def open_account(details: AccountDetails, *, source: str) -> Account:
    """An account made by the portal itself — a prospect won by an accepted proposal (``source`` says
    which) — checked like one typed in the back office."""
    details = checked_details(details, None)
    account = Account(**vars(details), active=True)
    db.session.add(account)
    db.session.flush()
    audit.record("account.created", obj=account, code=account.code, tier=account.tier, source=source)
    return account


def free_code(wanted: str) -> str:
    """``wanted`` if no account has it, else ``wanted-2``, ``wanted-3`` …"""
    candidate, n = wanted, 1
    while _taken(Account.code == candidate, None):
        n += 1
        candidate = f"{wanted[:16]}-{n}"
    return candidate


@use_case
def update_account(actor: User, account: Account, details: AccountDetails) -> list[str]:
    """Save the details; returns what changed (field names). A change of classification is audited on
    its own, with the old and new values, since SLA targets and the visit cadence follow it."""
    _require_back_office(actor)
    details = checked_details(details, account)
    changed = [name for name, value in vars(details).items() if getattr(account, name) != value]
    if not changed:
        return []
    before = {name: getattr(account, name) for name in CLASSIFICATION}
    for name in changed:
        setattr(account, name, getattr(details, name))
    reclassified = [name for name in CLASSIFICATION if name in changed]
    if reclassified:
        audit.record(
            "account.reclassified",
            actor=actor,
            obj=account,
            before={name: before[name] for name in reclassified},
            after={name: getattr(account, name) for name in reclassified},
        )
    others = [name for name in changed if name not in CLASSIFICATION]
    if others:
        audit.record("account.updated", actor=actor, obj=account, fields=others)
    return changed


@use_case
def set_account_active(actor: User, account: Account, active: bool) -> None:
    """Switching an account off deletes nothing; its people cannot sign in (their open sessions stop at
    their next request) until it is switched on again."""
    _require_back_office(actor)
    if account.active == active:
        return
    account.active = active
    audit.record("account.activated" if active else "account.deactivated", actor=actor, obj=account)


@dataclass(frozen=True)
class AccountFilters:
    search: str = ""
    tier: str = ""
    industry: str = ""
    state: str = ""  # "", "active" or "inactive"
    account_manager_id: int | None = None


def account_list(filters: AccountFilters) -> Select[Account]:
    """The accounts that match, by name: the search finds a code, or part of a name in either language."""
    query = select(Account).options(selectinload(Account.account_manager)).order_by(Account.name)
    if filters.search.strip():
        text = f"%{filters.search.strip().lower()}%"
        query = query.where(
            or_(
                func.lower(Account.name).like(text),
                func.lower(Account.name_en).like(text),
                func.lower(Account.code).like(text),
            )
        )
    if filters.tier:
        query = query.where(Account.tier == filters.tier)
    if filters.industry:
        query = query.where(Account.industry == filters.industry)
    if filters.state in ("active", "inactive"):
        query = query.where(Account.active.is_(filters.state == "active"))
    if filters.account_manager_id is not None:
        query = query.where(Account.account_manager_id == filters.account_manager_id)
    return query


def details_of(account: Account) -> AccountDetails:
    return AccountDetails(
        code=account.code or "",
        name=account.name,
        name_en=account.name_en,
        industry=account.industry,
        size=account.size,
        tier=account.tier,
        preferred_language=account.preferred_language,
        account_manager_id=account.account_manager_id,
        email_domains=account.email_domains,
    )
