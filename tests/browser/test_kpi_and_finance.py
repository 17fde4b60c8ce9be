"""Finance downloads the service summary of 华信银行 in a real browser; a manager drills down from a KPI to
the requests behind it."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader

from tests.browser.test_journeys import sign_in, sign_out


def test_finance_downloads_the_summary_and_a_manager_drills_down(page):
    sign_in(page, "finance@portal.example")
    page.wait_for_url("**/finance/")
    page.get_by_label("客户", exact=True).select_option(label="华信银行")
    page.get_by_label("期间", exact=True).select_option(label="今年")
    with page.expect_download() as info:
        page.get_by_role("button", name="下载服务总结（PDF）").click()
    download = info.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read())).pages)
    assert "华信银行" in text and "服务总结" in text
    sign_out(page)

    sign_in(page, "manager@portal.example")
    page.wait_for_url("**/manager/")
    page.get_by_label("期间", exact=True).select_option(label="今年")
    page.get_by_role("button", name="查看").click()
    page.wait_for_url("**/manager/?*")
    quality = page.locator("section.kpi", has=page.get_by_role("heading", name=re.compile("服务质量")))
    resolved = int(quality.locator("dd a").first.inner_text())
    quality.locator("dd a").first.click()
    page.wait_for_url("**/manager/requests?*")
    page.get_by_role("heading", name="期内解决的请求").wait_for()
    assert page.locator("td.ref a").count() == resolved
    assert page.console_errors == []
