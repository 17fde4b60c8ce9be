"""Every file link, clicked in Chromium as a person clicks it, saves the file: Playwright's download event
fires with the file's name and bytes, and the page stays as it was (no bytes pasted into it).

The pages visited hold every kind of download the portal has; the test ends by checking that every view
marked ``@sends_file`` in the app's own routes was clicked, so a new download joins or fails this test."""

from __future__ import annotations

import hashlib
import io
import zipfile
from urllib.parse import urlsplit

from flask import current_app
from pypdf import PdfReader
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Account,
    Attachment,
    Contract,
    Deliverable,
    ExportJob,
    InboundMail,
    Proposal,
    ServiceRequest,
    Statement,
    TimelineEvent,
)
from portal.services.pipeline import proposals
from tests.browser.test_journeys import sign_in, sign_out


def _stored(endpoint: str, args: dict) -> Attachment | InboundMail | None:
    """The stored file a download link names, or None for one generated on the fly."""
    if endpoint == "internal.mail_download":
        return db.session.get(InboundMail, args["mail_id"])
    if endpoint.endswith("download_attachment"):
        return db.session.get(Attachment, args["attachment_id"])
    if endpoint == "customer.download_report":
        return db.session.get(Deliverable, args["deliverable_id"]).attachment
    if endpoint == "customer.contract_document":
        contract = db.session.get(Contract, args["contract_id"])
        return db.session.get(Attachment, contract.signed_document_id)
    if endpoint == "admin.signed_copy":
        return db.session.get(Attachment, args["copy"])
    if endpoint == "finance.download_export":
        return db.session.get(Attachment, db.session.get(ExportJob, args["job_id"]).attachment_id)
    if endpoint == "finance.download_statement":
        return db.session.get(Attachment, db.session.get(Statement, args["statement_id"]).attachment_id)
    return None


def _check_generated(name: str, body: bytes) -> None:
    if name.endswith(".pdf"):
        assert body.startswith(b"%PDF") and PdfReader(io.BytesIO(body)).pages
    elif name.endswith(".xlsx"):
        from openpyxl import load_workbook

        assert load_workbook(io.BytesIO(body)).sheetnames
    elif name.endswith(".csv"):
        assert body.startswith("\ufeff".encode()) and b"," in body.splitlines()[0]
    else:
        raise AssertionError(f"unexpected download {name}")


class Downloads:
    def __init__(self, page) -> None:
        self.page = page
        self.adapter = current_app.url_map.bind("localhost")
        self.clicked: set[str] = set()

    def check(self, trigger, *, what: str) -> None:
        """Click ``trigger`` and check the download it starts, and that the page did not change."""
        before = self.page.url
        heading = self.page.get_by_role("heading", level=1).inner_text()
        with self.page.expect_download() as info:
            trigger.click()
        download = info.value
        path = urlsplit(download.url).path
        endpoint, args = self.adapter.match(path)
        with open(download.path(), "rb") as saved:
            body = saved.read()
        stored = _stored(endpoint, args)
        if stored is not None:
            name = f"mail-{stored.id}.eml" if isinstance(stored, InboundMail) else stored.original_name
            assert download.suggested_filename == name, what
            assert hashlib.sha256(body).hexdigest() == stored.sha256 and len(body) == stored.size_bytes, what
            if name.endswith(".zip"):
                assert zipfile.ZipFile(io.BytesIO(body)).namelist()
        else:
            _check_generated(download.suggested_filename, body)
        assert self.page.url == before, what
        assert self.page.get_by_role("heading", level=1).inner_text() == heading, what
        self.clicked.add(endpoint)

    def every_link(self, url: str, *, at_most: int = 3) -> None:
        """Visit ``url`` by a click-through-free goto, then click each file link in its main content."""
        self.page.goto(url)
        links = self.page.locator("main a[download]")
        assert links.count() > 0, f"no file link on {url}"
        for index in range(min(links.count(), at_most)):
            self.check(links.nth(index), what=f"{url} link {index}")


def _file_endpoints() -> set[str]:
    return {
        endpoint
        for endpoint, view in current_app.view_functions.items()
        if getattr(view, "sends_file", False)
    }


def test_every_file_link_downloads_in_the_browser(page):
    downloads = Downloads(page)
    huaxin = db.session.scalar(select(Account).where(Account.name == "华信银行"))
    delivered = db.session.scalar(
        select(ServiceRequest)
        .join(TimelineEvent, TimelineEvent.request_id == ServiceRequest.id)
        .where(ServiceRequest.account_id == huaxin.id, TimelineEvent.kind == "deliverable_published")
        .order_by(ServiceRequest.id)
        .limit(1)
    )
    contract = db.session.scalar(
        select(Contract).where(Contract.account_id == huaxin.id, Contract.signed_document_id.is_not(None))
    )

    # The customer: the dashboard's latest reports, the library, the signed contract, a request's files.
    sign_in(page, "li.na@huaxin-bank.example")
    page.wait_for_url("**/my/")
    downloads.every_link("/my/")
    # Reached by clicking through the boosted navigation, as a person does, then the link.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="报告库").click()
    page.wait_for_url("**/my/reports**")
    downloads.check(page.locator("main a[download]").first, what="library after boosted navigation")
    downloads.every_link("/my/reports")
    downloads.every_link(f"/my/contracts/{contract.id}")
    downloads.every_link(f"/my/requests/{delivered.id}")
    sign_out(page)

    # The agent on that request: its timeline and its deliverables.
    sign_in(page, delivered.assignee.email)
    page.wait_for_url("**/staff/**")
    downloads.every_link(f"/staff/requests/{delivered.id}")
    sign_out(page)

    # The after-sales lead: a message that matched no request, reached from the navigation, as it arrived.
    sign_in(page, "aftersales@portal.example")
    page.wait_for_url("**/staff/**")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="未匹配邮件").click()
    page.wait_for_url("**/staff/mail")
    page.get_by_role("link", name="咨询：贵公司的存储扩容方案").click()
    page.wait_for_url("**/staff/mail/*")
    downloads.check(page.locator("main a[download]").first, what="unmatched mail")
    sign_out(page)

    # A proposal's PDF: for sales, from the emailed link, for the account's administrator.
    offer = db.session.scalar(
        select(Proposal).where(Proposal.number == "QT-DEMO-0001", Proposal.version == 2)
    )
    accepted = db.session.scalar(select(Proposal).where(Proposal.number == "QT-DEMO-0003"))
    sign_in(page, "sales@portal.example")
    page.wait_for_url("**/staff/**")
    downloads.every_link(f"/staff/proposals/{offer.id}")
    sign_out(page)
    downloads.every_link(f"/my/proposals/review/{proposals.review_token(offer)}")
    sign_in(page, "wang.fang@dongfang-energy.example")
    page.wait_for_url("**/my/")
    downloads.every_link(f"/my/proposals/{accepted.id}")
    sign_out(page)

    # Finance: the summary and billable work from the form, a statement, and the ZIP of all accounts.
    sign_in(page, "finance@portal.example")
    page.wait_for_url("**/finance/")
    page.get_by_label("客户", exact=True).select_option(label="华信银行")
    downloads.check(page.get_by_role("button", name="下载服务总结（PDF）"), what="summary")
    downloads.check(page.get_by_role("button", name="计费工作（CSV）"), what="billable")
    page.get_by_role("button", name="为该客户和期间生成对账单").click()
    page.wait_for_url("**/finance/")
    downloads.every_link("/finance/", at_most=1)
    page.get_by_role("button", name="所有客户打包为 ZIP").click()
    page.get_by_role("link", name="下载 ZIP").wait_for()
    downloads.check(page.get_by_role("link", name="下载 ZIP"), what="zip")
    sign_out(page)

    # The manager's KPI export.
    sign_in(page, "manager@portal.example")
    page.wait_for_url("**/manager/")
    downloads.check(page.get_by_role("link", name="导出 CSV"), what="kpi csv")
    sign_out(page)

    # The admin's audit log as CSV.
    sign_in(page, "admin@portal.example")
    page.wait_for_url("**/admin/")
    page.get_by_role("link", name="完整审计日志").click()
    page.wait_for_url("**/admin/audit")
    downloads.check(page.get_by_role("link", name="导出 CSV"), what="audit csv")
    # And a contract's signed copy in the back office, the import template and the export.
    downloads.every_link(f"/admin/contracts/{contract.id}")
    downloads.every_link("/admin/import")

    assert downloads.clicked == _file_endpoints()
    assert page.console_errors == []
