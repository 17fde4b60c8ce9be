"""Search as a person uses it: the box in the header, Enter, the results; typing on the results page
updates them and the address; a result opens its request, and Back brings the results again."""

from __future__ import annotations

import re

from tests.browser.test_journeys import settled, sign_in


def test_a_customer_searches_from_the_header_opens_a_result_and_comes_back(page):
    sign_in(page, "li.na@huaxin-bank.example")
    page.wait_for_url("**/my/")
    box = page.get_by_role("search").get_by_label("搜索")
    box.fill("保修")
    box.press("Enter")
    page.wait_for_url("**/search/?q=*")
    results = page.locator("#search-results")
    first = results.get_by_role("link").first
    first.wait_for()
    settled(page)
    assert results.locator("mark", has_text="保修").count() >= 1
    assert "内部备注" not in results.inner_text()

    # Typing on the results page asks for new results after a pause, and the address follows.
    page.get_by_label("搜索", exact=True).fill("批处理")
    page.wait_for_url(re.compile(r".*/search/\?q=%E6%89%B9%E5%A4%84%E7%90%86$"))
    results.locator("mark", has_text="批处理").first.wait_for()
    assert results.locator("mark", has_text="保修").count() == 0

    link = results.get_by_role("link").first
    reference = link.locator(".ref").inner_text()
    link.click()
    page.wait_for_url("**/my/requests/*")
    assert reference in page.get_by_role("heading", level=1).inner_text()

    page.go_back()
    page.wait_for_url("**/search/?q=*")
    results.locator("mark", has_text="批处理").first.wait_for()
    assert page.get_by_label("搜索", exact=True).input_value() == "批处理"
    assert page.console_errors == []


def test_staff_search_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server, locale="zh-CN", java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    sign_in(page, "aftersales@portal.example")
    page.goto("/search/")
    page.get_by_label("搜索", exact=True).fill("批处理")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/search/?q=*")
    assert page.locator("#search-results mark", has_text="批处理").count() >= 1
    context.close()
