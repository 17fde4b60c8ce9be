"""An import of the back office's workbook (``workbook``): a check that says row by row what it would create
or change and every problem with its sheet, row and column, writing nothing; and the import itself — all
of it or nothing.

Keys: an account's code, a contact's email, a contract's number (its entitlements by contract and kind), so
that importing the same file twice changes nothing the second time. Contracts come in as drafts, or change
while they are drafts: signing one off needs its signed copy (``drafting.sign_off``), which a workbook does
not carry. The rules themselves stay with their owners: an account's details are checked by ``accounts``,
a contract's terms by ``drafting``; this module matches and reports.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal import permissions
from portal.extensions import db
from portal.models import Account, Contract, User
from portal.models.accounts import STAFF_ROLES
from portal.services import audit, background
from portal.services.accounts import accounts, workbook
from portal.services.accounts.workbook import NO, SHEETS, YES
from portal.services.contracts import drafting
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.identity import auth
from portal.services.unit_of_work import use_case


@dataclass
class RowReport:
    sheet: str
    row: int
    key: str
    action: str = ""  # create, update, unchanged — or "" when the row has problems
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column letter and header, message)


@dataclass
class Check:
    rows: list[RowReport] = field(default_factory=list)
    problems: list[tuple[str, int, str, str]] = field(default_factory=list)  # (sheet, row, column, message)

    @property
    def valid(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for row in self.rows:
            if row.action:
                found[row.action] = found.get(row.action, 0) + 1
        return found


# --- checking ----------------------------------------------------------------------------------------------


class _Plan:
    """What an import would do, row by row, with the problems found."""

    def __init__(self, check: Check) -> None:
        self.check = check
        self.accounts: dict[str, tuple[Account | None, accounts.AccountDetails]] = {}
        self.contacts: list[
            tuple[User | None, str, dict[str, str], str]
        ] = []  # user, email, values, account code
        self.contracts: dict[str, tuple[Contract | None, str, drafting.ContractTerms]] = {}

    def report(self, row: workbook.Row, key: str) -> RowReport:
        report = RowReport(row.sheet, row.number, key)
        self.check.rows.append(report)
        return report

    def problem(self, report: RowReport, row: workbook.Row, column: str, message: object) -> None:
        where = row.columns.get(column, column)
        report.problems.append((where, str(message)))
        self.check.problems.append((row.sheet, row.number, where, str(message)))


_ACCOUNT_FIELDS = {"preferred_language": "language", "account_manager_id": "account_manager"}


def _check_accounts(plan: _Plan, rows: list[workbook.Row]) -> None:
    seen: set[str] = set()
    names: set[str] = set()
    for row in rows:
        v = row.values
        code = v.get("code", "").strip().upper()
        report = plan.report(row, code)
        if code in seen:
            plan.problem(report, row, "code", _l("This code is on another row of the sheet already."))
            continue
        seen.add(code)
        name = v.get("name", "").strip().lower()
        if name and name in names:  # the database would refuse the second one: say so here
            plan.problem(report, row, "name", _l("This name is on another row of the sheet already."))
        names.add(name)
        manager_id = None
        if v.get("account_manager"):
            manager = db.session.scalar(
                select(User).where(User.email == auth.normalise_email(v["account_manager"]))
            )
            if manager is None or not manager.active or manager.role not in STAFF_ROLES:
                plan.problem(report, row, "account_manager", _l("No active agent or lead has this address."))
            else:
                manager_id = manager.id
        language = (v.get("language") or "zh").strip().lower()
        language = {"中文": "zh", "english": "en", "英文": "en"}.get(language, language)
        details = accounts.AccountDetails(
            code=code,
            name=v.get("name", ""),
            name_en=v.get("name_en", ""),
            industry=workbook.code_of("industry", v.get("industry", "")) or v.get("industry", ""),
            size=workbook.code_of("size", v.get("size", "")) or v.get("size", ""),
            tier=workbook.code_of("tier", v.get("tier", "")) or v.get("tier", ""),
            preferred_language=language,
            account_manager_id=manager_id,
            email_domains=v.get("email_domains", ""),
        )
        existing = db.session.scalar(select(Account).where(Account.code == code)) if code else None
        try:
            details = accounts.checked_details(details, existing)
        except InvalidInput as error:
            for name, message in error.errors.items():
                plan.problem(report, row, _ACCOUNT_FIELDS.get(name, name), message)
            continue
        if report.problems:
            continue
        plan.accounts[code] = (existing, details)
        if existing is None:
            report.action = "create"
        else:
            report.action = "unchanged" if accounts.details_of(existing) == details else "update"


def _account_domains(plan: _Plan, code: str) -> tuple[Account | None, list[str]] | None:
    if code in plan.accounts:
        existing, details = plan.accounts[code]
        return existing, details.email_domains.split()
    account = db.session.scalar(select(Account).where(Account.code == code)) if code else None
    return (account, account.domains) if account else None


def _check_contacts(plan: _Plan, rows: list[workbook.Row]) -> None:
    seen: set[str] = set()
    for row in rows:
        v = row.values
        email = auth.normalise_email(v.get("email", ""))
        report = plan.report(row, email)
        code = v.get("account", "").strip().upper()
        found = _account_domains(plan, code)
        if found is None:
            plan.problem(
                report, row, "account", _l("No account has this code, here or in the accounts sheet.")
            )
        local, _, domain = email.partition("@")
        if not local or not domain:
            plan.problem(report, row, "email", _l("Give an email address."))
        elif email in seen:
            plan.problem(report, row, "email", _l("This address is on another row of the sheet already."))
        elif found is not None and domain not in found[1]:
            plan.problem(
                report,
                row,
                "email",
                _l("Not on the account's email domains: %(domains)s.", domains=", ".join(found[1]) or "–"),
            )
        seen.add(email)
        role = workbook.code_of("role", v.get("role", ""))
        if not role:
            plan.problem(report, row, "role", _l("Customer administrator or customer user."))
        if not v.get("full_name", "").strip():
            plan.problem(report, row, "full_name", _l("Give the person's name."))
        user = db.session.scalar(select(User).where(User.email == email)) if email else None
        if user is not None and (
            found is None or user.account_id is None or user.account_id != getattr(found[0], "id", None)
        ):
            plan.problem(
                report, row, "email", _l("This address belongs to someone of another account, or to staff.")
            )
        if report.problems:
            continue
        values = {
            "full_name": v["full_name"].strip(),
            "role": role,
            "phone": v.get("phone", ""),
            "job_title": v.get("job_title", ""),
        }
        plan.contacts.append((user, email, values, code))
        if user is None:
            report.action = "create"
        else:
            same = (user.full_name, user.role, user.phone, user.job_title) == tuple(values.values())
            report.action = "unchanged" if same else "update"


def _check_contracts(plan: _Plan, rows: list[workbook.Row], entitlement_rows: list[workbook.Row]) -> None:
    quantities: dict[str, dict[str, str]] = {}
    yearly: dict[str, set[str]] = {}
    for row in entitlement_rows:
        v = row.values
        number = v.get("contract", "").strip()
        report = plan.report(row, f"{number} · {v.get('kind', '')}")
        kind = workbook.code_of("kind", v.get("kind", ""))
        if not kind:
            plan.problem(
                report,
                row,
                "kind",
                _l("One of: on-site days, support hours, custom reports, training sessions."),
            )
        elif kind in quantities.get(number, {}):
            plan.problem(report, row, "kind", _l("This contract has this service on another row already."))
        if number not in {r.values.get("number", "").strip() for r in rows}:
            plan.problem(report, row, "contract", _l("List the contract on the contracts sheet too."))
        per_year = v.get("per_year", "").strip().lower()
        if per_year not in ("", *YES, *NO):
            plan.problem(report, row, "per_year", _l("Yes or no (是 or 否), or leave it empty for no."))
        if not report.problems:
            quantities.setdefault(number, {})[kind] = v.get("quantity", "")
            if per_year in YES:
                yearly.setdefault(number, set()).add(kind)
            report.action = "listed"
    seen: set[str] = set()
    for row in rows:
        v = row.values
        number = v.get("number", "").strip()
        report = plan.report(row, number)
        code = v.get("account", "").strip().upper()
        if _account_domains(plan, code) is None:
            plan.problem(
                report, row, "account", _l("No account has this code, here or in the accounts sheet.")
            )
        if number and number in seen:
            plan.problem(report, row, "number", _l("This number is on another row of the sheet already."))
            continue
        seen.add(number)
        terms = drafting.ContractTerms(
            number=number,
            title=v.get("title", ""),
            start_date=_day(v.get("start_date", "")),
            end_date=_day(v.get("end_date", "")),
            amount=v.get("amount", ""),
            currency=v.get("currency", "") or "CNY",
            entitlements=quantities.get(number, {}),
            per_year=frozenset(yearly.get(number, ())),
        )
        existing = db.session.scalar(select(Contract).where(Contract.number == number)) if number else None
        for name, typed in (("start_date", v.get("start_date", "")), ("end_date", v.get("end_date", ""))):
            if typed and _day(typed) is None:
                plan.problem(report, row, name, _l("A day such as 2027-01-31."))
        try:
            drafting.check_terms(terms, existing)
        except InvalidInput as error:
            for name, message in error.errors.items():
                column = name.removeprefix("entitlement_") if name.startswith("entitlement_") else name
                plan.problem(report, row, column if column in row.columns else "number", message)
        if existing is not None and existing.account.code != code:
            plan.problem(report, row, "account", _l("This contract belongs to another account."))
        if report.problems:
            continue
        plan.contracts[number] = (existing, code, terms)
        if existing is None:
            report.action = "create"
        elif _same_contract(existing, terms):
            report.action = "unchanged"
        elif existing.state != "draft":
            plan.problem(
                report, row, "number", _l("A signed contract is not changed by an import; renew it instead.")
            )
        else:
            report.action = "update"


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()[:10]) if text.strip() else None
    except ValueError:
        return None


def _same_contract(contract: Contract, terms: drafting.ContractTerms) -> bool:
    values, quantities = drafting.checked_terms(terms, contract)
    same = all(getattr(contract, name) == value for name, value in values.items())
    periods = {kind: "year" if kind in terms.per_year else "contract" for kind in quantities}
    return (
        same
        and {e.kind: e.quantity for e in contract.entitlements} == quantities
        and {e.kind: e.period for e in contract.entitlements} == periods
    )


def check_workbook(actor: User, files: list[tuple[str, bytes]]) -> tuple[Check, _Plan]:
    """Every row of the workbook checked, nothing written."""
    if not permissions.can_run_back_office(actor):
        raise NotAllowed(str(_l("Only an administrator can do this.")))
    rows, problems = workbook.read(files)
    check = Check(problems=problems)
    plan = _Plan(check)
    _check_accounts(plan, rows["accounts"])
    _check_contacts(plan, rows["contacts"])
    _check_contracts(plan, rows["contracts"], rows["entitlements"])
    check.rows.sort(key=lambda r: (list(SHEETS).index(r.sheet), r.row))
    return check, plan


# --- importing ---------------------------------------------------------------------------------------------


@use_case
def import_workbook(actor: User, files: list[tuple[str, bytes]], *, invite: bool = False) -> Check:
    """Check, then — only if every row is valid — create and update everything in one transaction."""
    check, plan = check_workbook(actor, files)
    if not check.valid:
        return check
    made: dict[str, Account] = {}
    for code, (existing, details) in plan.accounts.items():
        if existing is None:
            made[code] = accounts.create_account(actor, details)
        elif accounts.details_of(existing) != details:
            accounts.update_account(actor, existing, details)
    by_code = {
        a.code: a
        for a in db.session.scalars(
            select(Account).where(
                Account.code.in_({c for *_, c in plan.contacts} | {c for _, c, _ in plan.contracts.values()})
            )
        )
    }
    for user, email, values, code in plan.contacts:
        if user is None:
            user = auth.create_user(
                email=email,
                password=secrets.token_urlsafe(32),
                full_name=values["full_name"],
                role=values["role"],
                account=by_code[code],
                phone=values["phone"],
                job_title=values["job_title"],
                actor=actor,
            )
            if invite:
                background.enqueue("invitation_email", user.id, actor.id)
        elif (user.full_name, user.role, user.phone, user.job_title) != tuple(values.values()):
            user.full_name, user.role, user.phone, user.job_title = values.values()
            audit.record("user.profile_updated", actor=actor, obj=user, source="import")
    for contract, code, terms in plan.contracts.values():
        if contract is None:
            drafting.create_draft(actor, by_code[code], terms)
        elif not _same_contract(contract, terms):
            drafting.update_draft(actor, contract, terms)
    audit.record("accounts.imported", actor=actor, counts=check.counts())
    return check
