"""The back office's workbook: the template, the check (row by row, every problem with its sheet, row and
column, nothing written), the import (all or nothing, the second time nothing changes), the export read
back unchanged, CSV files as well as XLSX, headers and list values in either language."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Account, AuditEvent, Contract, User
from portal.services.accounts import importing, workbook
from portal.services.errors import InvalidInput
from tests.factories import make_account, make_user

ACCOUNTS = [
    [
        "Code",
        "Name (Chinese)",
        "Name (English)",
        "Industry",
        "Size",
        "Classification",
        "Language",
        "Account manager (email)",
        "Email domains",
    ],
    ["nova", "新星科技", "Nova Tech", "telecom", "medium", "key", "en", "am@portal.example", "nova.example"],
]
CONTACTS = [
    ["Account code", "Email", "Name", "Role", "Phone", "Job title"],
    ["NOVA", "Qian@Nova.example", "钱多多", "customer_admin", "13900000000", "CIO"],
    ["NOVA", "sun@nova.example", "孙小", "Customer", "", ""],
]
CONTRACTS = [
    ["Account code", "Contract number", "Title", "First day", "Last day", "Amount", "Currency"],
    ["NOVA", "NOVA-2027-01", "年度服务合同", "2027-01-01", "2027-12-31", "80000", "CNY"],
]
ENTITLEMENTS = [
    ["Contract number", "Service", "Quantity", "Each contract year"],
    ["NOVA-2027-01", "on_site_days", "4", "yes"],
    ["NOVA-2027-01", "Support hours", "20", ""],
]


def _xlsx(**sheets: list[list[object]]) -> list[tuple[str, bytes]]:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return [("accounts.xlsx", out.getvalue())]


def _good() -> list[tuple[str, bytes]]:
    return _xlsx(accounts=ACCOUNTS, contacts=CONTACTS, contracts=CONTRACTS, entitlements=ENTITLEMENTS)


@pytest.fixture
def admin():
    make_user("agent", departments=["sales"], email="am@portal.example")
    return make_user("admin")


def _footprint():
    return tuple(
        db.session.scalar(select(func.count()).select_from(t)) for t in (Account, User, Contract, AuditEvent)
    )


def test_the_check_says_what_would_happen_and_writes_nothing(admin):
    before = _footprint()
    check, _plan = importing.check_workbook(admin, _good())
    assert check.valid and _footprint() == before
    assert [(r.sheet, r.row, r.action) for r in check.rows] == [
        ("accounts", 2, "create"),
        ("contacts", 2, "create"),
        ("contacts", 3, "create"),
        ("contracts", 2, "create"),
        ("entitlements", 2, "listed"),
        ("entitlements", 3, "listed"),
    ]


def test_an_import_creates_everything_and_the_second_changes_nothing(admin):
    check = importing.import_workbook(admin, _good())
    assert check.valid
    account = db.session.scalar(select(Account).where(Account.code == "NOVA"))
    assert (account.name_en, account.tier, account.account_manager.email) == (
        "Nova Tech",
        "key",
        "am@portal.example",
    )
    people = {u.email: u.role for u in account.users}
    assert people == {"qian@nova.example": "customer_admin", "sun@nova.example": "customer"}
    contract = db.session.scalar(select(Contract).where(Contract.number == "NOVA-2027-01"))
    assert contract.state == "draft" and contract.account_id == account.id
    assert {e.kind: e.quantity for e in contract.entitlements} == {"on_site_days": 4, "support_hours": 20}
    assert {e.kind: e.period for e in contract.entitlements} == {
        "on_site_days": "year",
        "support_hours": "contract",
    }
    before = _footprint()
    again = importing.import_workbook(admin, _good())
    assert {r.action for r in again.rows} <= {"unchanged", "listed"}
    assert _footprint()[:3] == before[:3]


def test_a_bad_workbook_names_every_problem_and_writes_nothing(admin):
    make_account(code="TAKEN", name="占用公司")
    bad = _xlsx(
        accounts=[
            ACCOUNTS[0],
            ["x", "", "", "mining", "medium", "key", "en", "nobody@else.example", "nova.example"],
            ["OTHER", "占用公司", "", "energy", "large", "key", "zh", "", "taken.example"],
            ["NOVA", "新星", "", "energy", "large", "key", "zh", "", "nova.example"],
            ["NOVA", "新星二", "", "energy", "large", "key", "zh", "", "nova.example"],
        ],
        contacts=[
            CONTACTS[0],
            ["NOVA", "eve@else.example", "Eve", "boss", "", ""],
            ["NONE", "a@nova.example", "", "customer", "", ""],
        ],
        contracts=[CONTRACTS[0], ["NOVA", "N-1", "", "2027-13-01", "2026-01-01", "-1", "CNY"]],
        entitlements=[ENTITLEMENTS[0], ["N-1", "gold", "1"], ["N-2", "on_site_days", "0"]],
    )
    before = _footprint()
    check = importing.import_workbook(admin, bad)
    assert not check.valid and _footprint()[:3] == before[:3]
    where = {(sheet, row, column.split(" · ")[0]) for sheet, row, column, _ in check.problems}
    assert {
        ("accounts", 2, "A"),  # the code
        ("accounts", 2, "B"),  # no name
        ("accounts", 2, "D"),  # not an industry
        ("accounts", 2, "H"),  # no such account manager
        ("accounts", 3, "B"),  # another account's name
        ("accounts", 5, "A"),  # the code twice in the sheet
        ("contacts", 2, "B"),  # outside the domains
        ("contacts", 2, "D"),  # not a role
        ("contacts", 3, "A"),  # no such account
        ("contacts", 3, "C"),  # no name
        ("contracts", 2, "C"),  # no title
        ("contracts", 2, "D"),  # not a day
        ("contracts", 2, "F"),  # a negative amount
        ("entitlements", 2, "B"),  # not a service
        ("entitlements", 3, "A"),  # a contract not on the contracts sheet
    } <= where, where


def test_the_export_reads_back_unchanged_and_in_chinese_too(admin):
    importing.import_workbook(admin, _good())
    for language in ("zh", "en"):
        exported = workbook.export(language)
        names = load_workbook(io.BytesIO(exported)).sheetnames
        assert names == (["客户", "联系人", "合同", "权益"] if language == "zh" else list(workbook.SHEETS))
        check, _ = importing.check_workbook(admin, [("export.xlsx", exported)])
        assert check.valid and {r.action for r in check.rows} <= {"unchanged", "listed"}, check.problems


def test_csv_files_and_words_in_chinese_are_read(admin):
    def csv_file(name, rows):
        text = "\n".join(",".join(str(c) for c in row) for row in rows)
        return (f"{name}.csv", ("\ufeff" + text).encode())

    zh = [
        ["代码", "名称（中文）", "行业", "规模", "客户分类", "邮箱域名"],
        ["MOON", "月亮公司", "通信", "中型企业", "重点客户", "moon.example"],
    ]
    check = importing.import_workbook(admin, [csv_file("accounts", zh)])
    assert check.valid, check.problems
    assert db.session.scalar(select(Account.tier).where(Account.code == "MOON")) == "key"


def test_a_file_that_is_no_workbook_is_refused(admin):
    with pytest.raises(InvalidInput):
        importing.check_workbook(admin, [("accounts.xlsx", b"not a zip")])


def test_the_template_has_the_four_sheets_in_either_language():
    book = load_workbook(io.BytesIO(workbook.template("zh")))
    assert book.sheetnames == ["客户", "联系人", "合同", "权益"]
    assert [c.value for c in book["客户"][1]][:3] == ["代码", "名称（中文）", "名称（英文）"]
    assert load_workbook(io.BytesIO(workbook.template("en")))["accounts"]["A1"].value == "Code"


def test_the_example_under_docs_imports(admin):
    from pathlib import Path

    make_user("agent", departments=["sales"], email="sales@portal.example")
    folder = Path(__file__).resolve().parents[2] / "docs" / "import-example"
    files = [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.csv"))]
    check = importing.import_workbook(admin, files)
    assert check.valid, check.problems
    assert check.counts() == {"create": 4, "listed": 3}


def test_two_new_accounts_with_one_name_are_refused_in_the_check(admin):
    rows = [
        ACCOUNTS[0],
        ["ONE", "同名公司", "", "energy", "large", "key", "zh", "", ""],
        ["TWO", "同名公司", "", "energy", "large", "key", "zh", "", ""],
    ]
    check = importing.import_workbook(admin, _xlsx(accounts=rows))
    assert [(sheet, row, column[0]) for sheet, row, column, _ in check.problems] == [("accounts", 3, "B")]
    assert db.session.scalar(select(func.count(Account.id))) == 0
