"""The bell in a real browser: a staff reply shows up in the customer's count without a reload, and the
notice leads to the request and is then read."""

from __future__ import annotations

import re

from sqlalchemy import select

from portal.extensions import db
from portal.models import ServiceRequest, User
from portal.services.messaging import notifications
from portal.services.requests import workflow
from tests.browser.test_journeys import sign_in


def test_the_bell_counts_a_new_reply_and_leads_to_it(page, app):
    # Whichever demo customer has a request in work today (the demo company is seeded relative to today).
    request = db.session.scalar(
        select(ServiceRequest)
        .join(User, User.id == ServiceRequest.requester_id)
        .where(User.role.in_(("customer", "customer_admin")), ServiceRequest.assignee_id.is_not(None))
        .where(ServiceRequest.status.in_(("open", "in_progress")))
        .order_by(ServiceRequest.id)
        .limit(1)
    )
    customer = request.requester
    notifications.mark_all_read(customer)
    saved = app.config["NOTIFICATION_POLL_SECONDS"]
    app.config["NOTIFICATION_POLL_SECONDS"] = 1
    try:
        sign_in(page, customer.email)
        page.wait_for_url("**/my/")
        bell = page.locator("#bell")
        assert bell.get_attribute("aria-label") == "通知：0 条未读"
        workflow.add_reply(request, request.assignee, "我们已经找到原因。")
        page.locator("#bell .bell-count", has_text="1").wait_for(timeout=10_000)  # no reload: htmx polled
        assert page.url.endswith("/my/")
    finally:
        app.config["NOTIFICATION_POLL_SECONDS"] = saved
    page.locator("#bell").click()
    page.wait_for_url("**/notifications/")
    page.get_by_role("link", name=re.compile(re.escape(request.reference))).first.click()
    page.wait_for_url(f"**/my/requests/{request.id}")
    page.get_by_text("我们已经找到原因。").wait_for()
    assert page.locator("#bell .bell-count").count() == 0
    assert page.console_errors == []
