"""Staff screens: the queue (page and fragment), the workspace and its actions, and who may reach them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import ServiceRequest, TimeEntry, TimelineEvent
from portal.services.reference_data import ensure_reference_data
from tests.factories import department, make_request, make_user


@pytest.fixture(autouse=True)
def _reference_data():
    ensure_reference_data()


def _version(page: str) -> str:
    return re.search(r'name="version" (?:type="hidden" )?value="(\d+)"', page).group(1)


def _in_department(code: str, **kwargs):
    return make_request(make_user("customer"), department_id=department(code).id, **kwargs)


def test_the_queue_as_a_page_and_as_a_fragment(client, login_as):
    login_as("agent", departments=["after_sales"])
    ours = _in_department("after_sales", title="Storage controller broken")
    theirs = _in_department("marketing", title="Market report")
    page = client.get("/staff/queue", headers={"Accept-Language": "en"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert ours.reference in html and theirs.reference not in html
    fragment = client.htmx_get("/staff/queue?priority=urgent").get_data(as_text=True)
    assert "<html" not in fragment and 'class="filters' not in fragment
    assert "No requests match." in fragment or "没有符合" in fragment


def test_queue_filters_search_and_paging(client, login_as):
    login_as("agent", departments=["after_sales"])
    made = [_in_department("after_sales", title=f"Case {i:02d}") for i in range(30)]
    first = client.get("/staff/queue?sort=oldest").get_data(as_text=True)
    assert made[0].reference in first and made[29].reference not in first
    next_url = re.search(r'href="(/staff/queue\?[^"]*after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert made[29].reference in second and made[0].reference not in second
    found = client.get("/staff/queue?q=Case+07").get_data(as_text=True)
    assert made[7].reference in found and made[8].reference not in found


def test_the_queue_query_count_does_not_grow_with_rows(client, login_as, count_queries):
    agent = login_as("agent", departments=["after_sales"])
    _in_department("after_sales", assignee_id=agent.id)
    with count_queries() as few:
        client.get("/staff/queue")
    for _ in range(20):
        _in_department("after_sales", assignee_id=agent.id)
    with count_queries() as many:
        client.get("/staff/queue")
    assert many.n == few.n


ROW_BYTES = 880  # about 845 here; 910 while every row said its own htmx target and carried a class unused


def test_a_queue_row_sends_what_a_person_sees_and_not_more(client, login_as):
    """HTML proportional to what is seen: a lead's unassigned row (reference, account, title, badges, the
    claim button and "Assign…") costs its text and little else — no list of colleagues, no per-row token,
    no htmx targeting repeated on every row. The queue page's 25 rows were 61 KB of HTML once."""
    login_as("lead", departments=["after_sales"])
    _in_department("after_sales", status="submitted")
    one = len(client.get("/staff/queue?queue=unassigned").get_data())
    for _ in range(20):
        _in_department("after_sales", status="submitted")
    many = len(client.get("/staff/queue?queue=unassigned").get_data())
    assert (many - one) / 20 < ROW_BYTES


def test_claim_inline_returns_the_row(client, login_as):
    agent = login_as("agent", departments=["after_sales"])
    request = _in_department("after_sales", status="submitted")
    token = client.csrf_token("/staff/queue")
    response = client.post(
        f"/staff/requests/{request.id}/claim",
        data={"csrf_token": token, "version": "1"},
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.strip().startswith("<tr") and agent.full_name in body
    # The answer says what it replaces (the row), so that no row repeats it in the queue's HTML.
    assert (response.headers["HX-Retarget"], response.headers["HX-Reswap"]) == (
        f"#request-{request.id}",
        "outerHTML",
    )
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).assignee_id == agent.id
    # Without htmx the same form redirects back to the queue.
    other = _in_department("after_sales", status="submitted")
    plain = client.post(f"/staff/requests/{other.id}/claim", data={"csrf_token": token, "version": "1"})
    assert plain.status_code == 303


def test_a_stale_claim_says_so_and_changes_nothing(client, login_as):
    login_as("agent", departments=["after_sales"])
    colleague = make_user("agent", departments=["after_sales"])
    request = _in_department("after_sales", status="submitted")
    token = client.csrf_token("/staff/queue")
    request.assignee_id = colleague.id
    db.session.commit()  # the colleague was faster: the version moved on
    response = client.post(
        f"/staff/requests/{request.id}/claim",
        data={"csrf_token": token, "version": "1"},
        headers={"HX-Request": "true", "Accept-Language": "en"},
    )
    assert response.status_code == 409 and "changed since you opened it" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).assignee_id == colleague.id


def test_bulk_assign_by_a_lead(client, login_as):
    lead = login_as("lead", departments=["after_sales"])
    agent = make_user("agent", departments=["after_sales"])
    requests = [_in_department("after_sales", status="submitted") for _ in range(3)]
    token = client.csrf_token("/staff/queue")
    response = client.post(
        "/staff/queue/bulk-assign",
        data={
            "csrf_token": token,
            "assignee": str(agent.id),
            "request_ids": [f"{r.id}:{r.version}" for r in requests[:2]],
            "next": "/staff/queue?queue=unassigned",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/staff/queue?queue=unassigned"
    db.session.expire_all()
    assert [db.session.get(ServiceRequest, r.id).assignee_id for r in requests] == [agent.id, agent.id, None]
    assert lead.role == "lead"


def test_bulk_assign_is_all_or_nothing(client, login_as):
    """The defect found: [own department's request, another department's] answered 404 yet assigned the
    first. Now a foreign id refuses the whole batch, and so does one that changed since the queue was read."""
    login_as("lead", departments=["after_sales"])
    agent = make_user("agent", departments=["after_sales"])
    own = _in_department("after_sales", status="submitted")
    foreign = _in_department("tech_support", status="submitted")
    token = client.csrf_token("/staff/queue")

    def bulk(*pairs):
        return client.post(
            "/staff/queue/bulk-assign",
            data={
                "csrf_token": token,
                "assignee": str(agent.id),
                "request_ids": [f"{i}:{v}" for i, v in pairs],
            },
            headers={"Accept-Language": "en"},
        )

    assert bulk((own.id, own.version), (foreign.id, foreign.version)).status_code == 404
    other = _in_department("after_sales", status="submitted")
    stale = bulk((own.id, own.version), (other.id, other.version - 1))
    assert stale.status_code == 303
    db.session.expire_all()
    assert [db.session.get(ServiceRequest, r.id).assignee_id for r in (own, foreign, other)] == [None] * 3
    page = client.get("/staff/queue", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Nothing was assigned" in page and other.reference in page


def test_the_workspace_shows_everything_and_works(client, login_as):
    agent = login_as("agent", departments=["after_sales"])
    request = _in_department("after_sales", status="open", assignee_id=agent.id)
    page = client.get(f"/staff/requests/{request.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert request.reference in page and "Service level" in page and "Start work" in page
    version = _version(page)
    token = client.csrf_token(f"/staff/requests/{request.id}")

    response = client.post(
        f"/staff/requests/{request.id}/status",
        data={"csrf_token": token, "version": version, "action": "start"},
    )
    assert response.status_code == 303
    page = client.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    version = _version(page)
    client.post(
        f"/staff/requests/{request.id}/reply",
        data={"csrf_token": token, "version": version, "body": "Secret diagnosis", "internal": "y"},
    )
    page = client.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    client.post(
        f"/staff/requests/{request.id}/reply",
        data={"csrf_token": token, "version": _version(page), "body": "We found it"},
    )
    client.post(
        f"/staff/requests/{request.id}/time",
        data={"csrf_token": token, "minutes": "45", "work_date": "2026-01-05", "billable": "y"},
    )
    db.session.expire_all()
    fresh = db.session.get(ServiceRequest, request.id)
    assert fresh.status == "in_progress" and fresh.first_responded_at is not None
    kinds = db.session.scalars(
        select(TimelineEvent.kind).where(TimelineEvent.request_id == request.id).order_by(TimelineEvent.id)
    ).all()
    assert kinds[-3:] == ["internal_note", "public_reply", "time_logged"]
    assert db.session.scalar(select(TimeEntry.minutes)) == 45
    # The customer's view of the same request shows the reply but not the note.
    client.post_form("/logout", token_from=f"/staff/requests/{request.id}")
    from tests.conftest import sign_in

    sign_in(client, fresh.requester.email)
    mine = client.get(f"/my/requests/{request.id}").get_data(as_text=True)
    assert "We found it" in mine and "Secret diagnosis" not in mine


def test_refused_and_invalid_actions_explain_in_place_and_change_nothing(client, login_as):
    login_as("agent", departments=["after_sales"])
    request = _in_department("after_sales", status="resolved")
    page = client.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    token = client.csrf_token(f"/staff/requests/{request.id}")
    refused = client.post(
        f"/staff/requests/{request.id}/status",
        headers={"Accept-Language": "en"},
        data={"csrf_token": token, "version": _version(page), "action": "wait_for_customer"},
    )
    assert refused.status_code == 422 and "cannot do that" in refused.get_data(as_text=True)
    empty = client.post(
        f"/staff/requests/{request.id}/reply",
        headers={"Accept-Language": "en"},
        data={"csrf_token": token, "version": _version(page), "body": "  "},
    )
    assert empty.status_code == 422 and "Write a message first." in empty.get_data(as_text=True)
    stale = client.post(
        f"/staff/requests/{request.id}/status",
        headers={"Accept-Language": "en"},
        data={"csrf_token": token, "version": "999", "action": "reopen"},
    )
    assert stale.status_code == 409 and "changed since you opened it" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).status == "resolved"
    kinds = db.session.scalars(
        select(TimelineEvent.kind).where(TimelineEvent.request_id == request.id).order_by(TimelineEvent.id)
    ).all()
    assert kinds == ["created"]
    # A reply is appended whatever the version the page was opened at.
    appended = client.post(
        f"/staff/requests/{request.id}/reply",
        headers={"Accept-Language": "en"},
        data={"csrf_token": token, "version": "999", "body": "hello"},
    )
    assert appended.status_code == 303
    kinds = db.session.scalars(
        select(TimelineEvent.kind).where(TimelineEvent.request_id == request.id).order_by(TimelineEvent.id)
    ).all()
    assert kinds == ["created", "public_reply"]


def test_reroute_and_schedule_a_visit_through_the_screens(client, login_as):
    agent = login_as("agent", departments=["delivery"])
    request = _in_department(
        "delivery", status="in_progress", category="on_site", subtype="installation", assignee_id=agent.id
    )
    token = client.csrf_token(f"/staff/requests/{request.id}")
    page = client.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    response = client.post(
        f"/staff/requests/{request.id}/visit",
        data={
            "csrf_token": token,
            "version": _version(page),
            "day": "2099-03-02",
            "start": "10:00",
            "engineer": str(agent.id),
            "hours": "4",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    fresh = db.session.get(ServiceRequest, request.id)
    assert fresh.status == "scheduled" and fresh.visit_duration_minutes == 240
    assert fresh.scheduled_visit_at.isoformat() == "2099-03-02T02:00:00+00:00"  # 10:00 in Shanghai

    page = client.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    response = client.post(
        f"/staff/requests/{request.id}/reroute",
        data={
            "csrf_token": token,
            "version": _version(page),
            "department": str(department("after_sales").id),
            "reason": "Hardware fault",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).department_id == department("after_sales").id
    # Now it belongs to another department: the agent no longer sees it.
    assert client.get(f"/staff/requests/{request.id}").status_code == 404


STAFF_PAGES = ["/staff/requests/{id}"]
STAFF_POSTS = ["claim", "assign", "status", "reply", "reroute", "visit", "time", "attachments"]


@pytest.mark.parametrize("action", STAFF_POSTS)
def test_an_agent_of_another_department_gets_404(client, login_as, action):
    login_as("agent", departments=["marketing"])
    request = _in_department("after_sales")
    token = client.csrf_token("/staff/queue")
    assert client.get(f"/staff/requests/{request.id}").status_code == 404
    response = client.post(
        f"/staff/requests/{request.id}/{action}", data={"csrf_token": token, "version": "1"}
    )
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["customer", "customer_admin", "finance"])
@pytest.mark.parametrize("path", ["/staff/", "/staff/queue", "/staff/requests/{id}"])
def test_customers_and_finance_reach_no_staff_page(client, login_as, role, path):
    request = _in_department("after_sales")
    login_as(role)
    assert client.get(path.format(id=request.id)).status_code == 403


def test_managers_read_but_do_not_act(client, login_as):
    login_as("manager")
    request = _in_department("after_sales", status="open")
    page = client.get(f"/staff/requests/{request.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Start work" not in page.get_data(as_text=True)
    token = client.csrf_token("/staff/queue")
    response = client.post(
        f"/staff/requests/{request.id}/status", data={"csrf_token": token, "version": "1", "action": "start"}
    )
    assert response.status_code == 403


def test_a_lead_assigns_inline_on_a_row(client, login_as):
    login_as("lead", departments=["after_sales"])
    agent = make_user("agent", departments=["after_sales"], full_name="Agent Smith")
    request = _in_department("after_sales", status="submitted")
    page = client.get("/staff/queue").get_data(as_text=True)
    # "Assign…" opens the workspace's form; portal.js loads …/assign into the row (the choices only then).
    assert f'href="/staff/requests/{request.id}#assign" data-inline="assign"' in page
    assert "Agent Smith" not in page.split("<tbody")[1]  # not repeated on every row
    loaded = client.htmx_get(f"/staff/requests/{request.id}/assign").get_data(as_text=True)
    assert f'id="assign-{request.id}"' in loaded and "Agent Smith" in loaded
    # Without htmx, "Assign…" is the workspace's assign form.
    plain = client.get(f"/staff/requests/{request.id}/assign")
    assert plain.status_code == 302 and plain.location.endswith(f"/staff/requests/{request.id}#assign")
    token = client.csrf_token("/staff/queue")
    response = client.post(
        f"/staff/requests/{request.id}/assign",
        headers={"HX-Request": "true"},
        data={"csrf_token": token, "version": "1", "assignee": str(agent.id)},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.strip().startswith("<tr") and "Agent Smith" in body
    db.session.expire_all()
    assert db.session.get(ServiceRequest, request.id).assignee_id == agent.id


def test_upload_and_download_an_attachment_from_the_workspace(client, login_as):
    import io

    login_as("agent", departments=["after_sales"])
    request = _in_department("after_sales", status="in_progress")
    token = client.csrf_token(f"/staff/requests/{request.id}")
    pdf = b"%PDF-1.4\n%%EOF\n"
    response = client.post(
        f"/staff/requests/{request.id}/attachments",
        content_type="multipart/form-data",
        data={"csrf_token": token, "files": [(io.BytesIO(pdf), "diagnosis.pdf")]},
    )
    assert response.status_code == 303
    page = client.get(f"/staff/requests/{request.id}").get_data(as_text=True)
    link = re.search(r'href="(/staff/attachments/\d+)"', page).group(1)
    download = client.get(link)
    assert download.data == pdf
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Type"] == "application/pdf"
    bad = client.post(
        f"/staff/requests/{request.id}/attachments",
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
        data={"csrf_token": token, "files": [(io.BytesIO(b"<html>"), "page.html")]},
    )
    assert bad.status_code == 422 and "Only these kinds of file are accepted" in bad.get_data(as_text=True)
    # Staff of another department cannot download it.
    client.post_form("/logout", token_from=f"/staff/requests/{request.id}")
    login_as("agent", departments=["marketing"])
    assert client.get(link).status_code == 404


def test_column_headers_sort_the_queue(client, login_as):
    login_as("agent", departments=["after_sales"])
    low = _in_department("after_sales", priority="low", title="Low one")
    urgent = _in_department("after_sales", priority="urgent", title="Urgent one")
    page = client.get("/staff/queue?queue=all_open", headers={"Accept-Language": "en"}).get_data(as_text=True)
    link = re.search(r'href="(/staff/queue\?[^"]*sort=priority[^"]*)"', page).group(1).replace("&amp;", "&")
    ordered = client.htmx_get(link).get_data(as_text=True)
    assert ordered.index(urgent.reference) < ordered.index(low.reference)
    assert 'aria-sort="ascending"' in ordered


def test_the_workspace_shows_the_contracts_ledger(client, login_as):
    from decimal import Decimal

    from tests.factories import make_contract

    login_as("agent", departments=["delivery"])
    customer = make_user("customer")
    contract = make_contract(customer.account, entitlements={"on_site_days": 4})
    make_request(
        customer,
        category="on_site",
        subtype="installation",
        status="closed",
        visit_days=Decimal(3),
        contract_id=contract.id,
        department_id=department("delivery").id,
    )
    request = make_request(
        customer,
        category="on_site",
        subtype="delivery",
        status="open",
        visit_days=Decimal(2),
        contract_id=contract.id,
        department_id=department("delivery").id,
    )
    page = client.get(f"/staff/requests/{request.id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    ledger = page[page.index('class="ledger-compact"') :]
    assert "On-site days" in ledger and "1 day over the contract" in ledger  # 3 used + 2 held > 4 included


def test_a_closed_request_shows_no_empty_actions_card_and_the_assignee_is_selected(client, login_as):
    lead = login_as("lead", departments=["after_sales"])
    closed = _in_department("after_sales", status="closed", assignee_id=lead.id)
    page = client.get(f"/staff/requests/{closed.id}").get_data(as_text=True)
    assert 'id="actions-title"' not in page
    open_one = _in_department("after_sales", status="in_progress", assignee_id=lead.id)
    page = client.get(f"/staff/requests/{open_one.id}").get_data(as_text=True)
    assert 'id="actions-title"' in page
    assert re.search(rf'<option selected value="{lead.id}">|<option value="{lead.id}" selected', page)
    outsider = make_user("agent", departments=["delivery"], full_name="Delivery Dai")
    elsewhere = _in_department("after_sales", status="in_progress", assignee_id=outsider.id)
    page = client.get(f"/staff/requests/{elsewhere.id}").get_data(as_text=True)
    assert re.search(
        rf'<option selected value="{outsider.id}">Delivery Dai|<option value="{outsider.id}" selected', page
    )


def test_time_for_the_form_s_own_day_is_accepted_after_midnight_in_shanghai(client, login_as):
    """At 01:30 in Shanghai it is still yesterday in UTC: the day is the agent's, not the server's."""
    import time_machine

    with time_machine.travel(datetime(2026, 12, 1, 17, 30, tzinfo=UTC), tick=False):
        agent = login_as("agent", departments=["after_sales"])
        request = _in_department("after_sales", status="in_progress", assignee_id=agent.id)
        page = client.get(f"/staff/requests/{request.id}").get_data(as_text=True)
        tag = re.search(r'<input[^>]*id="work_date"[^>]*>', page).group(0)
        day = re.search(r'value="([\d-]+)"', tag).group(1)
        assert day == "2026-12-02"
        token = client.csrf_token(f"/staff/requests/{request.id}")
        response = client.post(
            f"/staff/requests/{request.id}/time",
            data={"csrf_token": token, "minutes": "45", "work_date": day, "billable": "y"},
        )
        assert response.status_code == 303
        refused = client.post(
            f"/staff/requests/{request.id}/time",
            data={"csrf_token": token, "minutes": "45", "work_date": "2026-12-03", "billable": "y"},
            headers={"Accept-Language": "en"},
        )
        assert refused.status_code == 422 and "future day" in refused.get_data(as_text=True)
    assert db.session.scalar(select(TimeEntry.work_date)) == date(2026, 12, 2)


def test_staff_and_customers_each_read_the_waiting_status_in_their_own_words(client, login_as):
    agent = login_as("agent", departments=["after_sales"])
    request = _in_department("after_sales", status="waiting_customer", assignee_id=agent.id)
    english = {"Accept-Language": "en"}
    staff_page = client.get(f"/staff/requests/{request.id}", headers=english).get_data(as_text=True)
    assert "Waiting for the customer" in staff_page and "Waiting for you" not in staff_page
    client.post_form("/logout", token_from=f"/staff/requests/{request.id}")
    login_as(request.requester)
    customer_page = client.get(f"/my/requests/{request.id}", headers=english).get_data(as_text=True)
    assert "Waiting for you" in customer_page


def test_a_notice_names_the_account_in_the_reader_s_language(client, login_as):
    from flask_babel import force_locale

    from portal.models import Notification
    from portal.services.messaging import notifications

    login_as("agent", departments=["after_sales"])
    customer = make_user("customer")
    customer.account.name, customer.account.name_en = "精工制造", "Jinggong Manufacturing"
    db.session.commit()
    from portal.services.requests import workflow

    ensure_reference_data()
    workflow.submit_request(
        customer.account,
        customer,
        workflow.NewRequest("after_sale", "troubleshooting", "Batch failures", details={"product": "X"}),
    )
    notice = db.session.scalar(select(Notification).where(Notification.kind == "new_request"))
    with force_locale("en"):
        english = notifications.describe(notice, str, str)
    with force_locale("zh"):
        chinese = notifications.describe(notice, str, str)
    assert "Jinggong Manufacturing" in english and "精工制造" not in english
    assert "精工制造" in chinese


def test_a_bulk_assignment_naming_a_number_beyond_the_database_is_refused(client, login_as):
    login_as("lead", departments=["after_sales"])
    agent = make_user("agent", departments=["after_sales"])
    token = client.csrf_token("/staff/queue")
    response = client.post(
        "/staff/queue/bulk-assign",
        data={"csrf_token": token, "assignee": str(agent.id), "request_ids": ["99999999999999999999:1"]},
    )
    assert response.status_code == 303
