"""Finance: the service summary PDF read back (real Chinese text in an embedded CJK font, no missing
glyphs, the dashboard's figures, nothing fetched), billable work CSV, audit, and who may download."""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.extensions import db
from portal.models import Account, AuditEvent
from portal.services import pdf
from portal.services.reporting import kpi, summaries
from tests.factories import make_account, make_contract, make_request, make_user

PERIOD = "period=custom&start=2026-06-01&end=2026-11-30"


@pytest.fixture
def weasyprint_log():
    """WeasyPrint's own warnings (a missing glyph is only logged), read straight off its logger so that
    nothing — such as a logging config that disables existing loggers — can hide them."""
    logger = logging.getLogger("weasyprint")
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # type: ignore[method-assign]
    disabled, level = logger.disabled, logger.level
    logger.disabled = False
    logger.setLevel(logging.WARNING)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.disabled, logger.level = disabled, level


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _fonts(data: bytes) -> list[tuple[str, bool]]:
    """(base font name, has an embedded font file) of every font the PDF uses."""
    found = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descriptors = [font.get("/FontDescriptor")]
            for descendant in font.get("/DescendantFonts") or []:
                descriptors.append(descendant.get_object().get("/FontDescriptor"))
            embedded = any(
                d is not None and any(k in d.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3"))
                for d in descriptors
            )
            found.append((str(font.get("/BaseFont")), embedded))
    return found


@pytest.mark.parametrize("role", ["customer", "customer_admin", "agent", "lead", "manager"])
def test_no_finance_url_for_other_roles(app, client, login_as, role):
    login_as(role)
    token = client.csrf_token("/profile")
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.startswith("finance.")]
    assert len(rules) >= 8
    for rule in rules:
        path = rule.rule.replace("<int:job_id>", "1").replace("<int:statement_id>", "1")
        if "GET" in rule.methods:
            assert client.get(f"{path}?account=1&{PERIOD}").status_code == 403, path
        if "POST" in rule.methods:
            assert client.post(path, data={"csrf_token": token, "account": "1"}).status_code == 403, path


@pytest.mark.demo_data
@pytest.mark.parametrize("language, heading", [("zh", "服务总结"), ("en", "Service summary")])
def test_the_huaxin_summary_is_real_chinese_text_in_an_embedded_font(
    client, weasyprint_log, language, heading
):
    from tests.conftest import sign_in

    huaxin = db.session.scalar(select(Account).where(Account.name == "华信银行"))
    assert sign_in(client, "finance@portal.example", "demo-Portal-2026").status_code == 303
    response = client.get(f"/finance/summary.pdf?account={huaxin.id}&{PERIOD}&language={language}")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    text = _pdf_text(response.data)
    assert heading in text and "华信银行" in text and "HX-2026-001" in text
    fonts = _fonts(response.data)
    assert fonts and all(embedded for _, embedded in fonts)
    assert any("WenQuanYi" in name for name, _ in fonts)
    assert not [r for r in weasyprint_log if "notdef" in r.getMessage() or "glyph" in r.getMessage().lower()]
    # The figures are the KPI service's, as on the manager dashboard.
    found = kpi.assess(kpi.Scope(date(2026, 6, 1), date(2026, 11, 30), account_id=huaxin.id))
    assert f"{found.within_sla} / {found.resolved}" in text
    assert f"{found.answered} / {found.invitations}" in text
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "finance.summary_downloaded"))
    assert event is not None and event.object_id == str(huaxin.id)


class _Hits(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        _Hits.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # noqa: ANN002
        pass


def test_nothing_a_customer_typed_makes_the_server_fetch_or_read(app, tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Hits)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_port
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    try:
        customer = make_user("customer")
        make_request(  # listed as beyond the contract, which includes no on-site days
            customer,
            title=f'<img src="http://127.0.0.1:{port}/title">',
            category="on_site",
            subtype="installation",
            contract=make_contract(customer.account, entitlements={"custom_reports": 1}),
            over_entitlement=True,
            approval="approved",
        )
        summary = summaries.gather(customer.account, date(2020, 1, 1), date(2030, 12, 31), "en")
        text = _pdf_text(summaries.render_pdf(summary))
        assert f'<img src="http://127.0.0.1:{port}/title">' in text.replace("\n", "")  # shown as text
        hostile = (
            f'<html><head><link rel="stylesheet" href="http://127.0.0.1:{port}/css">'
            f'<link rel="stylesheet" href="file://{secret}"></head>'
            f'<body><img src="http://127.0.0.1:{port}/img"><img src="file://{secret}">'
            f'<p style="background: url(http://127.0.0.1:{port}/bg)">x</p></body></html>'
        )
        document = pdf.html_to_pdf(hostile)
        assert "TOP-SECRET" not in _pdf_text(document)
    finally:
        server.shutdown()
    assert _Hits.hits == []


def test_billable_work_csv(client, login_as, app):
    from portal.models import TimeEntry

    agent = make_user("agent", departments=["after_sales"], full_name="Agent Wang")
    request = make_request(make_user("customer"), title="Switch repair", over_entitlement=True)
    db.session.add(
        TimeEntry(
            request_id=request.id, user_id=agent.id, minutes=90, billable=True, work_date=date(2026, 11, 3)
        )
    )
    db.session.add(
        TimeEntry(
            request_id=request.id, user_id=agent.id, minutes=30, billable=False, work_date=date(2026, 10, 3)
        )
    )
    db.session.commit()
    login_as("finance")
    response = client.get("/finance/billable.csv?period=custom&start=2026-11-01&end=2026-11-30")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1
    assert (
        rows[0]["kind"],
        rows[0]["request"],
        rows[0]["minutes"],
        rows[0]["billable"],
        rows[0]["over_entitlement"],
    ) == (
        "time",
        request.reference,
        "90",
        "yes",
        "yes",
    )
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "finance.billable_exported"))


@pytest.mark.parametrize(
    "title", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx"]
)
def test_a_csv_cell_typed_by_a_customer_never_runs_as_a_formula(client, login_as, title):
    from portal.models import TimeEntry

    agent = make_user("agent", departments=["after_sales"])
    request = make_request(make_user("customer"), title=title)
    db.session.add(
        TimeEntry(
            request_id=request.id, user_id=agent.id, minutes=60, billable=True, work_date=date(2026, 11, 3)
        )
    )
    db.session.commit()
    login_as("finance")
    body = client.get("/finance/billable.csv?period=custom&start=2026-11-01&end=2026-11-30").get_data(
        as_text=True
    )
    (row,) = csv.DictReader(io.StringIO(body.lstrip("\ufeff")))
    assert row["title"] == "'" + title and row["minutes"] == "60"


def test_the_finance_home_offers_the_downloads(client, login_as):
    login_as("finance")
    page = client.get("/finance/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'action="/finance/summary.pdf"' in page and 'formaction="/finance/billable.csv"' in page


def test_the_missing_glyph_check_does_catch_a_missing_glyph(weasyprint_log):
    """The control for the check above: WeasyPrint only logs a missing glyph, and that log is what we read."""
    customer = make_user("customer")
    customer.account.name = "Hieroglyph 𓀀 Ltd"
    db.session.commit()
    summaries.render_pdf(summaries.gather(customer.account, date(2026, 11, 1), date(2026, 11, 30), "zh"))
    assert [r for r in weasyprint_log if "notdef" in r.getMessage()]


def test_all_accounts_as_one_zip_with_progress(client, login_as, app):
    import zipfile

    from portal.models import ExportJob

    for name in ("华信银行", "东方能源集团"):
        from tests.factories import make_account

        make_account(name=name)
    login_as("finance")
    response = client.post_form(
        "/finance/exports",
        token_from="/finance/",
        data={"period": "custom", "start": "2026-11-01", "end": "2026-11-30"},
    )
    assert response.status_code == 303
    job = db.session.scalar(select(ExportJob))
    assert (job.state, job.done, job.total) == ("done", 2, 2)  # immediate mode: built before the redirect
    page = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "2 summaries are ready." in page and 'hx-trigger="every 1s"' not in page
    fragment = client.htmx_get(f"/finance/exports/{job.id}").get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="export-progress"') and "<html" not in fragment
    download = client.get(f"/finance/exports/{job.id}/download")
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert sorted(names) == sorted(
        f"{n} 服务总结 2026-11-01–2026-11-30.pdf" for n in ("华信银行", "东方能源集团")
    )
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "finance.zip_downloaded"))


def test_a_running_export_polls_and_shows_its_progress(client, login_as):
    from portal.models import ExportJob

    user = login_as("finance")
    job = ExportJob(
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        state="running",
        total=200,
        done=40,
        requested_by_id=user.id,
    )
    db.session.add(job)
    db.session.commit()
    fragment = client.htmx_get(f"/finance/exports/{job.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert 'hx-trigger="every 1s"' in fragment and "Preparing 40 of 200" in fragment
    assert client.get(f"/finance/exports/{job.id}/download").status_code == 404


def test_monthly_statements_are_issued_once_and_reissues_are_new_versions(client, login_as, app):
    from portal.models import Statement
    from portal.services.reporting import exports
    from portal.uploads import file_store
    from tests.factories import make_account

    account = make_account(name="华信银行")
    files = file_store()
    assert exports.monthly_statements(date(2026, 12, 1), files) == 1
    assert exports.monthly_statements(date(2026, 12, 15), files) == 0
    (first,) = db.session.scalars(select(Statement)).all()
    assert (first.period_start, first.period_end, first.version) == (date(2026, 11, 1), date(2026, 11, 30), 1)
    login_as("finance")
    response = client.post_form(
        "/finance/statements",
        token_from="/finance/",
        data={"account": str(account.id), "period": "custom", "start": "2026-11-01", "end": "2026-11-30"},
    )
    assert response.status_code == 303
    versions = sorted(s.version for s in db.session.scalars(select(Statement)))
    assert versions == [1, 2]
    download = client.get(f"/finance/statements/{first.id}/download")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")
    assert "华信银行" in _pdf_text(download.data)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("period=custom&start=2026-11-30&end=2026-11-01", "end", "The period ends before it starts."),
        ("period=custom&start=2026-11-01", "end", "Choose the last day."),
        ("period=custom&start=2026-11-01&end=not-a-day", "end", "Not a valid date value."),
    ],
)
def test_a_bad_period_is_a_field_error_in_place(client, login_as, query, field, message):
    account = make_account()
    login_as("finance")
    for path in ("/finance/summary.pdf", "/finance/billable.csv"):
        response = client.get(f"{path}?account={account.id}&{query}", headers={"Accept-Language": "en"})
        page = response.get_data(as_text=True)
        assert response.status_code == 422 and response.mimetype == "text/html", path
        assert re.search(
            rf'<div class="field has-error"><label for="{field}">.*?{re.escape(message)}', page
        ), path
        assert 'value="2026-11-01"' in page  # what was chosen stays


def test_a_summary_without_an_account_says_so(client, login_as):
    login_as("finance")
    response = client.get("/finance/summary.pdf?period=last_month", headers={"Accept-Language": "en"})
    assert response.status_code == 422 and "Choose an account." in response.get_data(as_text=True)


def test_a_summary_is_true_for_its_period(client, login_as):
    """The July–September summary once showed December's reservations, and nothing said that Jinggong used
    6 of its 4 on-site days; the CSV's over-entitlement column said "no" on every row."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from portal.models import TimeEntry

    customer = make_user("customer", account=make_account(name="精工制造", name_en="Jinggong"))
    contract = make_contract(
        customer.account,
        entitlements={"on_site_days": 4},
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
    )

    def visit(title: str, filed: datetime, done: datetime | None, days: str):
        return make_request(
            customer,
            title=title,
            category="on_site",
            subtype="installation",
            contract=contract,
            visit_days=Decimal(days),
            created_at=filed,
            status="closed" if done else "in_progress",
            resolved_at=done,
        )

    visit("July install", datetime(2026, 7, 2, 2, tzinfo=UTC), datetime(2026, 7, 10, 2, tzinfo=UTC), "3")
    august = visit(
        "August install", datetime(2026, 8, 3, 2, tzinfo=UTC), datetime(2026, 8, 20, 2, tzinfo=UTC), "3"
    )
    visit("December install", datetime(2026, 12, 1, 2, tzinfo=UTC), None, "2")  # after the period
    agent = make_user("agent", departments=["delivery"])
    db.session.add(
        TimeEntry(
            request_id=august.id, user_id=agent.id, minutes=60, billable=True, work_date=date(2026, 8, 5)
        )
    )
    db.session.commit()

    summary = summaries.gather(customer.account, date(2026, 7, 1), date(2026, 9, 30), "en")
    (line,) = summary.ledgers[contract.id]
    assert (line.used, line.reserved, line.overage) == (6, 0, 2)  # December's 2 days are not in it
    assert [(b.request.title, b.over_by) for b in summary.over_entitlement] == [("August install", 2)]
    text = _pdf_text(summaries.render_pdf(summary))
    assert "Beyond the contract" in text and "August install" in text and "December install" not in text
    assert "Service quality · score by month" in text  # charts carry a visible title

    login_as("finance")
    response = client.get("/finance/billable.csv?period=custom&start=2026-07-01&end=2026-09-30")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert {(r["title"], r["over_entitlement"]) for r in rows} == {("August install", "yes")}
    pdf = client.get(
        f"/finance/summary.pdf?account={customer.account.id}&period=custom&start=2026-07-01&end=2026-09-30&language=en"
    )
    assert "Jinggong%20service%20summary%202026-07-01" in pdf.headers["Content-Disposition"]


def test_a_failed_export_shows_failed_and_tries_again_for_the_same_period(client, login_as):
    from portal.models import ExportJob
    from tests.factories import make_account

    make_account(name="华信银行")
    user = login_as("finance")
    job = ExportJob(
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        state="failed",
        attempt=3,
        error="The worker building it stopped each time it was tried.",
        requested_by_id=user.id,
    )
    db.session.add(job)
    db.session.commit()
    page = client.get(f"/finance/exports/{job.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The export failed" in page and "Try again" in page and 'hx-trigger="every 1s"' not in page
    again = client.post_form(
        "/finance/exports",
        token_from=f"/finance/exports/{job.id}",
        data={"period": "custom", "start": "2026-10-01", "end": "2026-10-31"},
    )
    assert again.status_code == 303
    newest = db.session.scalar(select(ExportJob).order_by(ExportJob.id.desc()))
    assert newest.id != job.id and (newest.period_start, newest.state) == (date(2026, 10, 1), "done")


def test_an_admin_sees_the_background_work_and_runs_a_failed_export_again(client, login_as):
    from portal.models import ExportJob, Notification
    from tests.factories import make_account

    make_account(name="华信银行")
    admin = login_as("admin")
    failed = ExportJob(
        period_start=date(2026, 10, 1),
        period_end=date(2026, 10, 31),
        state="failed",
        attempt=3,
        error="The worker building it stopped each time it was tried.",
        requested_by_id=admin.id,
    )
    db.session.add(failed)
    db.session.add(Notification(user_id=admin.id, kind="request_resolved", email_state="failed", data={}))
    db.session.commit()
    page = client.get("/admin/jobs", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The worker building it stopped each time it was tried." in page and "Failed" in page
    assert re.search(r"Emails given up on</dt><dd>1<", page)
    again = client.post_form(f"/admin/jobs/{failed.id}/retry", token_from="/admin/jobs")
    assert again.status_code == 303
    job = db.session.get(ExportJob, failed.id)
    assert (job.state, job.attempt, job.done, job.total) == ("done", 1, 1, 1)  # immediate mode: built at once
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "finance.zip_retried"))
    twice = client.post_form(
        f"/admin/jobs/{failed.id}/retry", token_from="/admin/jobs", follow_redirects=True
    )
    assert "无需重试" in twice.get_data(as_text=True)  # pressed again a moment later (the page is in Chinese)


@pytest.mark.parametrize("role", ["finance", "manager", "agent"])
def test_only_admins_see_the_background_work(client, login_as, role):
    login_as(role)
    assert client.get("/admin/jobs").status_code == 403
