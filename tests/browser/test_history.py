"""Back and forward after htmx navigation, when htmx's history cache has no copy of the page (a cache miss:
htmx asks the server with ``HX-History-Restore-Request``): the whole page comes back, not a fragment."""

from __future__ import annotations

from tests.browser.test_journeys import settled, sign_in

# htmx keeps its copies of pages in sessionStorage; removing them makes the next back/forward a cache miss.
FORGET_CACHED_PAGES = "sessionStorage.removeItem('htmx-history-cache')"


def _whole_page(page) -> None:
    assert page.get_by_role("navigation", name="主导航").is_visible()
    assert page.locator("body > header.site-header").count() == 1
    assert page.locator("main#main").count() == 1


def test_back_and_forward_after_filtering_restore_whole_pages(page):
    sign_in(page, "li.na@huaxin-bank.example")
    page.wait_for_url("**/my/")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="请求").click()
    page.wait_for_url("**/my/requests")
    settled(page)
    page.get_by_label("状态").select_option(index=1)  # htmx swaps the results and pushes the URL
    page.wait_for_url("**/my/requests?*")
    filtered = page.url
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="合同").click()
    page.wait_for_url("**/my/contracts")

    page.evaluate(FORGET_CACHED_PAGES)
    page.go_back()
    page.wait_for_url(filtered)
    page.locator("#request-results").wait_for()
    _whole_page(page)
    assert page.locator("#request-results").count() == 1

    page.evaluate(FORGET_CACHED_PAGES)
    page.go_forward()
    page.wait_for_url("**/my/contracts")
    page.get_by_role("heading", level=1).wait_for()
    _whole_page(page)
    assert page.console_errors == []
