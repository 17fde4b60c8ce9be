"""The back office's workbook: accounts, their contacts, contracts and entitlements as four sheets (XLSX, or
one CSV file per sheet) — what the sheets and columns are, reading one into rows, the template to fill in
either language and the export of everything in the same form. Headers, sheet names and the values of the
lists (industry, size, classification, role, service) are read in Chinese or English, as codes or as the
portal words them. What an import does with the rows: ``importing``.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.labels import LABELS
from portal.models import Account, Contract
from portal.models.accounts import INDUSTRIES, LANGUAGES, SIZES, TIERS
from portal.models.contracts import ENTITLEMENT_KINDS
from portal.services.errors import InvalidInput

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


# (sheet, row, column, message)
Problem = tuple[str, int, str, str]


@dataclass
class Row:
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


def _rows(tables: dict[str, list[list[str]]], problems: list[Problem]) -> dict[str, list[Row]]:
    found: dict[str, list[Row]] = {key: [] for key in SHEETS}
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
                problems.append((key, 1, f"{letter} · {header}", str(_l("Not a column of this sheet."))))
            else:
                headers[number] = (column[0], f"{letter} · {header}")
        present = {k for k, _ in headers.values()}
        for name, english, chinese, required in SHEETS[key]:
            if required and name not in present:
                problems.append(
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
            problems.append((key, MAX_ROWS + 2, "", str(_l("At most %(n)d rows a sheet.", n=MAX_ROWS))))
        for offset, cells in enumerate(table[1 : MAX_ROWS + 1], start=2):
            if not any(cells):
                continue
            values = {name: (cells[i] if i < len(cells) else "") for i, (name, _label) in headers.items()}
            columns = {name: label for (name, label) in headers.values()}
            found[key].append(Row(key, offset, values, columns))
    return found


def code_of(kind: str, typed: str) -> str:
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


def read(files: list[tuple[str, bytes]]) -> tuple[dict[str, list[Row]], list[Problem]]:
    """Each sheet's rows (blank ones skipped), and the problems of the headers: a column the sheet does not
    have, a required one missing, too many rows. ``InvalidInput`` for a file that is no workbook."""
    problems: list[Problem] = []
    return _rows(_tables(files), problems), problems


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
