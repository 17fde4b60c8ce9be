"""Journeys through a real browser: sign in, see one's home, switch language, sign out; and no serious
accessibility violation on the login page and the homes."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from sqlalchemy import select

from portal.extensions import db
from portal.models import User

DEMO_PASSWORD = "demo-Portal-2026"


def sign_in(page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("电子邮箱").fill(email)
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()


def settled(page) -> None:
    """Wait until htmx has finished swapping and settling. A boosted link pushes the new address while htmx
    is still settling (its default 20 ms), and only then are the new page's ``hx-`` attributes live: a
    change made in that window sends nothing."""
    page.wait_for_function(
        "() => window.htmx && !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def sign_out(page) -> None:
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login")


def test_a_customer_signs_in_switches_language_and_signs_out(page):
    sign_in(page, "li.na@huaxin-bank.example")
    page.wait_for_url("**/my/")
    assert page.get_by_role("heading", level=1).inner_text() == "华信银行"
    assert page.get_by_text("HX-2026-001").first.is_visible()

    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name="Open requests").wait_for()
    assert page.get_by_role("heading", level=1).inner_text() == "Huaxin Bank"
    assert page.locator("html").get_attribute("lang") == "en"

    # Open a request from the list: the detail shows its public timeline.
    page.get_by_role("table").get_by_role("link").first.click()
    page.get_by_role("heading", name="Timeline").wait_for()
    assert page.get_by_text("Request submitted").first.is_visible()

    # Back to Chinese while signed in, so that her saved language is as the demo has it for later tests
    # (the survey journey reads the emails she is sent).
    page.get_by_role("button", name="简体中文").click()
    page.get_by_role("heading", name="处理记录").wait_for()
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("您已退出登录。").is_visible()
    page.goto("/my/")
    page.wait_for_url("**/login?next=/my/")
    db.session.expire_all()
    assert db.session.scalar(select(User.locale).where(User.email == "li.na@huaxin-bank.example")) == "zh"
    assert page.console_errors == []


def test_staff_sign_in_to_their_department_queue(page):
    sign_in(page, "aftersales@portal.example")
    page.wait_for_url("**/staff/")
    assert "售后服务部" in page.locator("main").inner_text()
    rows = page.locator("main table tbody tr")
    assert rows.count() > 0
    sign_out(page)
    assert page.console_errors == []


def test_a_wrong_password_is_explained_in_place(page):
    page.goto("/login")
    page.get_by_label("电子邮箱").fill("li.na@huaxin-bank.example")
    page.get_by_label("密码").fill("not the password")
    page.get_by_role("button", name="登录").click()
    page.get_by_role("alert").wait_for()
    assert "邮箱或密码不正确" in page.get_by_role("alert").inner_text()
    assert page.url.endswith("/login")


HOMES = [
    (None, "/login"),
    ("li.na@huaxin-bank.example", "/my/"),
    ("aftersales@portal.example", "/staff/"),
    ("finance@portal.example", "/finance/"),
    ("manager@portal.example", "/manager/"),
    ("admin@portal.example", "/admin/"),
    ("li.na@huaxin-bank.example", "/my/new"),
    ("li.na@huaxin-bank.example", "/my/requests"),
    ("li.na@huaxin-bank.example", "/profile"),
    ("li.na@huaxin-bank.example", "/my/users"),
    ("li.na@huaxin-bank.example", "/my/contracts"),
    ("li.na@huaxin-bank.example", "/my/new/on_site/training"),
    ("li.na@huaxin-bank.example", "/my/contracts/{HX-2026-001}"),
    ("aftersales@portal.example", "/staff/queue"),
    ("admin@portal.example", "/admin/routing"),
    ("admin@portal.example", "/admin/accounts"),
    ("admin@portal.example", "/admin/accounts/{HUAXIN}"),
    ("admin@portal.example", "/admin/staff/new"),
    ("admin@portal.example", "/admin/departments"),
    ("admin@portal.example", "/admin/import"),
    ("marketing@portal.example", "/staff/prospects"),
    ("sales@portal.example", "/staff/prospects/1"),
    ("admin@portal.example", "/admin/contracts/{HX-2026-001}"),
    ("sales@portal.example", "/staff/proposals/2"),  # the demo's 云帆通信, version 2
    ("sales@portal.example", "/staff/prospects/4/proposals/new"),  # 金石证券, needs analysed
    ("sales@portal.example", "/staff/prospects/3"),  # 北辰能源, with its pre-sale request
    ("admin@portal.example", "/admin/jobs"),
    ("sales@portal.example", "/staff/prospects/3/requests/new"),
    ("wang.fang@dongfang-energy.example", "/my/proposals"),
    ("wang.fang@dongfang-energy.example", "/my/proposals/4"),
    ("manager@portal.example", "/manager/pipeline?measure=recorded"),
]


@pytest.mark.parametrize("email, path", HOMES)
def test_no_serious_accessibility_violations(page, email, path):
    if email:
        sign_in(page, email)
        page.wait_for_url("**/my/" if email.endswith(".example") and "portal" not in email else "**/*/")
        if "{" in path:
            from sqlalchemy import select

            from portal.extensions import db
            from portal.models import Account, Contract

            number = path[path.index("{") + 1 : -1]
            found = (
                select(Account.id).where(Account.code == number)
                if path.startswith("/admin/accounts")
                else select(Contract.id).where(Contract.number == number)
            )
            path = path[: path.index("{")] + str(db.session.scalar(found))
        response = page.goto(path)
        assert response.status == 200
    else:
        page.goto(path)
    results = Axe().run(page)
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    assert page.console_errors == []
