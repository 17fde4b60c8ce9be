"""The import screen: the check answers htmx with its report only (the chosen file stays in the form), the
import writes only a valid workbook, the template and the export download as workbooks."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from sqlalchemy import select

from portal.extensions import db
from portal.models import Account
from tests.factories import make_user
from tests.services.test_workbook import ACCOUNTS, _good, _xlsx

EN = {"Accept-Language": "en"}


def _send(client, files, step, htmx=False):
    token = client.csrf_token("/admin/import")
    data = {"csrf_token": token, "step": step, "files": [(io.BytesIO(data), name) for name, data in files]}
    headers = {**EN, **({"HX-Request": "true"} if htmx else {})}
    return client.post("/admin/import", data=data, headers=headers, content_type="multipart/form-data")


def test_the_check_reports_in_place_and_the_import_writes(client, login_as):
    login_as("admin")
    make_user("agent", departments=["sales"], email="am@portal.example")
    checked = _send(client, _good(), "check", htmx=True)
    fragment = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "<html" not in fragment and 'id="import-report"' in fragment
    assert "Every row is valid." in fragment and "Created: 4" in fragment
    assert db.session.scalar(select(Account).where(Account.code == "NOVA")) is None
    imported = _send(client, _good(), "import")
    assert imported.status_code == 200 and "Imported." in imported.get_data(as_text=True)
    assert db.session.scalar(select(Account).where(Account.code == "NOVA")) is not None
    again = _send(client, _good(), "import").get_data(as_text=True)
    assert "Created: 0 · changed: 0 · unchanged: 4" in again


def test_a_bad_workbook_is_refused_with_its_problems(client, login_as):
    login_as("admin")
    bad = _xlsx(accounts=[ACCOUNTS[0], ["N", "", "", "", "", "", "", "", ""]])
    response = _send(client, bad, "import")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "nothing was written" in page
    assert "A · Code" in page and "B · Name (Chinese)" in page
    assert db.session.scalar(select(Account)) is None
    nothing = _send(client, [], "check")
    assert nothing.status_code == 422 and "Choose the workbook, or the CSV files." in nothing.get_data(
        as_text=True
    )


def test_the_template_and_the_export_are_workbooks(client, login_as):
    login_as("admin")
    template = client.get("/admin/import/template.xlsx", headers=EN)
    assert template.status_code == 200 and "attachment" in template.headers["Content-Disposition"]
    assert load_workbook(io.BytesIO(template.data)).sheetnames == [
        "accounts",
        "contacts",
        "contracts",
        "entitlements",
    ]
    exported = client.get("/admin/export.xlsx")
    assert load_workbook(io.BytesIO(exported.data)).sheetnames == ["客户", "联系人", "合同", "权益"]
