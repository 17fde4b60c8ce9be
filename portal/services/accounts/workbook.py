"""Accounts, their contacts, contracts and entitlements in and out of one workbook (XLSX, or one CSV file per
sheet): a template to fill in either language, a check that says row by row what an import would create or
change and every problem with its sheet, row and column, the import itself — all of it or nothing — and the
same workbook exported.

Keys: an account's code, a contact's email, a contract's number (its entitlements by contract and kind), so
that importing the same file twice changes nothing the second time. Headers, sheet names and the values of
the lists (industry, size, classification, role, service) are read in Chinese or English, as codes or as
the portal words them. Contracts come in as drafts, or change while they are drafts: signing one off needs
its signed copy (``drafting.sign_off``), which a workbook does not carry.

The rules themselves stay with their owners: an account's details are checked by ``accounts``, a
contract's terms by ``drafting``; this module reads, matches and reports.
"""

from __future__ import annotations

import csv
import io
import secrets
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal import permissions
from portal.extensions import db
from portal.labels import LABELS
from portal.models import Account, Contract, User
from portal.models.accounts import INDUSTRIES, LANGUAGES, SIZES, STAFF_ROLES, TIERS
from portal.models.contracts import ENTITLEMENT_KINDS
from portal.services import audit, background
from portal.services.accounts import accounts
from portal.services.contracts import drafting
from portal.services.errors import InvalidInput, NotAllowed
from portal.services.identity import auth
from portal.services.unit_of_work import use_case

CUSTOMER_ROLES = ("customer_admin", "customer")
# sheet -> its columns (key, header in English, header in Chinese, required)
SHEETS: dict[str, tuple[tuple[str, str, str, bool], ...]] = {
    "accounts": (
        ("code", "Code", "代码", True),
        ("name", "Name (Chinese)", "名称（中文）", True),
        ("name_en", "Name (English)", "名称（英文）", False),
        ("industry", "Industry", "行业", True),
        ("size", "Size", "规模", True),
        ("tier", "Classification", "客户分类", True),
        ("language", "Language", "语言", False),
        ("account_manager", "Account manager (email)", "客户经理（邮箱）", False),
        ("email_domains", "Email domains", "邮箱域名", False),
    ),
    "contacts": (
        ("account", "Account code", "客户代码", True),
        ("email", "Email", "电子邮箱", True),
        ("full_name", "Name", "姓名", True),
        ("role", "Role", "角色", True),
        ("phone", "Phone", "电话", False),
        ("job_title", "Job title", "职务", False),
    ),
    "contracts": (
        ("account", "Account code", "客户代码", True),
        ("number", "Contract number", "合同编号", True),
        ("title", "Title", "标题", True),
        ("start_date", "First day", "开始日期", True),
        ("end_date", "Last day", "结束日期", True),
        ("amount", "Amount", "金额", True),
        ("currency", "Currency", "币种", False),
    ),
    "entitlements": (
        ("contract", "Contract number", "合同编号", True),
        ("kind", "Service", "服务", True),
        ("quantity", "Quantity", "数量", True),
        ("per_year", "Each contract year", "每合同年", False),
    ),
}
SHEET_NAMES = {
    "accounts": ("accounts", "客户"),
    "contacts": ("contacts", "联系人"),
    "contracts": ("contracts", "合同"),
    "entitlements": ("entitlements", "权益"),
}
_VOCABULARIES = {
    "industry": ("industry", INDUSTRIES),
    "size": ("size", SIZES),
    "tier": ("tier", TIERS),
    "role": ("role", CUSTOMER_ROLES),
    "kind": ("entitlement", ENTITLEMENT_KINDS),
}
MAX_ROWS = 5000
YES = ("yes", "y", "true", "1", "是", "year", "每年")
NO = ("no", "n", "false", "0", "否")


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


@dataclass
class _Row:
    sheet: str
    number: int
    values: dict[str, str]
    columns: dict[str, str]  # key -> "B · Industry" for messages


# --- reading -----------------------------------------------------------------------------------------------


def _text(cell: Any) -> str:
    if cell is None:
        return ""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def _sheet_key(name: str) -> str | None:
    lowered = name.strip().lower().removesuffix(".csv")
    return next((key for key, names in SHEET_NAMES.items() if lowered in names), None)


def _tables(files: list[tuple[str, bytes]]) -> dict[str, list[list[str]]]:
    """Each known sheet's rows as text, from one workbook or CSV files named after the sheets."""
    tables: dict[str, list[list[str]]] = {}
    for name, data in files:
        if name.lower().endswith(".csv"):
            key = _sheet_key(name.rsplit("/", 1)[-1])
            if key is None:
                raise InvalidInput(
                    "files",
                    str(
                        _l(
                            "Name each CSV file after its sheet: accounts.csv, contacts.csv, contracts.csv, "
                            "entitlements.csv."
                        )
                    ),
                )
            text = data.decode("utf-8-sig", errors="replace")
            tables[key] = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
            continue
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
            raise InvalidInput(
                "files", str(_l("This is not an Excel workbook (.xlsx) or a CSV file."))
            ) from error
        for sheet in book.worksheets:
            key = _sheet_key(sheet.title)
            if key is not None:
                tables[key] = [
                    [_text(c) for c in row] for row in sheet.iter_rows(values_only=True, max_row=MAX_ROWS + 1)
                ]
        book.close()
    if not tables:
        raise InvalidInput(
            "files",
            str(
                _l(
                    "No sheet named accounts, contacts, contracts or entitlements "
                    "(or 客户, 联系人, 合同, 权益)."
                )
            ),
        )
    return tables


def _rows(tables: dict[str, list[list[str]]], check: Check) -> dict[str, list[_Row]]:
    found: dict[str, list[_Row]] = {key: [] for key in SHEETS}
    for key, table in tables.items():
        if not table:
            continue
        headers = {}
        for number, header in enumerate(table[0]):
            if not header:
                continue
            column = next(
                (c for c in SHEETS[key] if header.strip().lower() in (c[0], c[1].lower(), c[2])), None
            )
            letter = get_column_letter(number + 1)
            if column is None:
                check.problems.append(
                    (key, 1, f"{letter} · {header}", str(_l("Not a column of this sheet.")))
                )
            else:
                headers[number] = (column[0], f"{letter} · {header}")
        present = {k for k, _ in headers.values()}
        for name, english, chinese, required in SHEETS[key]:
            if required and name not in present:
                check.problems.append(
                    (
                        key,
                        1,
                        english,
                        str(
                            _l(
                                "This column is missing: %(name)s / %(chinese)s.",
                                name=english,
                                chinese=chinese,
                            )
                        ),
                    )
                )
        if len(table) > MAX_ROWS + 1:
            check.problems.append((key, MAX_ROWS + 2, "", str(_l("At most %(n)d rows a sheet.", n=MAX_ROWS))))
        for offset, cells in enumerate(table[1 : MAX_ROWS + 1], start=2):
            if not any(cells):
                continue
            values = {name: (cells[i] if i < len(cells) else "") for i, (name, _label) in headers.items()}
            columns = {name: label for (name, label) in headers.values()}
            found[key].append(_Row(key, offset, values, columns))
    return found


def _code(kind: str, typed: str) -> str:
    """A list's code from what was typed: the code itself, or its words in Chinese or English."""
    vocabulary, codes = _VOCABULARIES[kind]
    text = typed.strip()
    if text.lower() in codes:
        return text.lower()
    for code in codes:
        for language in LANGUAGES:
            with force_locale(language):
                if str(LABELS[vocabulary][code]).lower() == text.lower():
                    return code
    return ""


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

    def report(self, row: _Row, key: str) -> RowReport:
        report = RowReport(row.sheet, row.number, key)
        self.check.rows.append(report)
        return report

    def problem(self, report: RowReport, row: _Row, column: str, message: object) -> None:
        where = row.columns.get(column, column)
        report.problems.append((where, str(message)))
        self.check.problems.append((row.sheet, row.number, where, str(message)))


_ACCOUNT_FIELDS = {"preferred_language": "language", "account_manager_id": "account_manager"}


def _check_accounts(plan: _Plan, rows: list[_Row]) -> None:
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
            industry=_code("industry", v.get("industry", "")) or v.get("industry", ""),
            size=_code("size", v.get("size", "")) or v.get("size", ""),
            tier=_code("tier", v.get("tier", "")) or v.get("tier", ""),
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


def _check_contacts(plan: _Plan, rows: list[_Row]) -> None:
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
        role = _code("role", v.get("role", ""))
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


def _check_contracts(plan: _Plan, rows: list[_Row], entitlement_rows: list[_Row]) -> None:
    quantities: dict[str, dict[str, str]] = {}
    yearly: dict[str, set[str]] = {}
    for row in entitlement_rows:
        v = row.values
        number = v.get("contract", "").strip()
        report = plan.report(row, f"{number} · {v.get('kind', '')}")
        kind = _code("kind", v.get("kind", ""))
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
    check = Check()
    rows = _rows(_tables(files), check)
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


# --- the template and the export ---------------------------------------------------------------------------


def _book(language: str, rows: dict[str, list[list[Any]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for key, columns in SHEETS.items():
        sheet = book.create_sheet(SHEET_NAMES[key][0 if language == "en" else 1])
        sheet.append([english if language == "en" else chinese for _k, english, chinese, _r in columns])
        for row in rows.get(key, []):
            sheet.append(row)
        for number in range(1, len(columns) + 1):
            sheet.column_dimensions[get_column_letter(number)].width = 22
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def template(language: str) -> bytes:
    """The four sheets with their headers in the reader's language, empty."""
    return _book(language, {})


def export(language: str) -> bytes:
    """Every account with its contacts, contracts and entitlements, as the import reads them back."""
    everything = list(
        db.session.scalars(
            select(Account)
            .options(selectinload(Account.account_manager), selectinload(Account.users))
            .order_by(Account.code, Account.id)
        )
    )
    contracts = list(
        db.session.scalars(
            select(Contract)
            .options(selectinload(Contract.entitlements), selectinload(Contract.account))
            .order_by(Contract.number)
        )
    )
    return _book(
        language,
        {
            "accounts": [
                [
                    a.code or "",
                    a.name,
                    a.name_en,
                    a.industry,
                    a.size,
                    a.tier,
                    a.preferred_language,
                    a.account_manager.email if a.account_manager else "",
                    a.email_domains,
                ]
                for a in everything
            ],
            "contacts": [
                [a.code or "", u.email, u.full_name, u.role, u.phone, u.job_title]
                for a in everything
                for u in sorted(a.users, key=lambda u: u.email)
            ],
            "contracts": [
                [
                    c.account.code or "",
                    c.number,
                    c.title,
                    c.start_date.isoformat(),
                    c.end_date.isoformat(),
                    f"{c.amount:.2f}",
                    c.currency,
                ]
                for c in contracts
            ],
            "entitlements": [
                [c.number, e.kind, f"{e.quantity.normalize():f}", "yes" if e.period == "year" else ""]
                for c in contracts
                for e in c.entitlements
            ],
        },
    )
