"""The search page: the box in every page's header, the results page and its htmx fragment, for staff and
for customers, marked matches that are never HTML, and a constant number of statements."""

from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import TimelineEvent
from tests.factories import department, make_request, make_user

HTMX = {"HX-Request": "true"}


@pytest.fixture
def filed():
    customer = make_user("customer")
    request = make_request(
        customer, title="<script>alert(1)</script> 打印机维修", department_id=department("after_sales").id
    )
    db.session.add_all(
        [
            TimelineEvent(request_id=request.id, kind="public_reply", body="维修工程师明天上门"),
            TimelineEvent(request_id=request.id, kind="internal_note", internal=True, body="维修备件缺货"),
        ]
    )
    db.session.commit()
    return customer, request


def test_every_page_has_the_box_and_the_search_page_one(client, login_as, filed):
    customer, _request = filed
    login_as(customer)
    home = client.get("/my/").get_data(as_text=True)
    assert 'role="search" method="get" action="/search/"' in home
    page = client.get("/search/").get_data(as_text=True)
    assert page.count('type="search"') == 1 and "autofocus" in page


def test_a_customer_finds_their_request_by_a_reply_and_never_a_note(client, login_as, filed):
    customer, request = filed
    login_as(customer)
    page = client.get("/search/?q=维修").get_data(as_text=True)
    assert f'href="/my/requests/{request.id}"' in page
    assert "<mark>维修</mark>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    assert "备件" not in page
    assert "found-note" not in page


def test_staff_find_notes_and_open_the_workspace(client, login_as, filed):
    _customer, request = filed
    login_as("agent", departments=["after_sales"])
    page = client.get("/search/?q=备件").get_data(as_text=True)
    assert f'href="/staff/requests/{request.id}"' in page
    assert 'class="badge found-note"' in page and "<mark>备件</mark>" in page


def test_typing_gets_the_results_alone(client, login_as, filed):
    customer, request = filed
    login_as(customer)
    response = client.get("/search/?q=上门", headers=HTMX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and 'id="search-q"' not in body
    assert f"/my/requests/{request.id}" in body and "<mark>上门</mark>" in body
    assert "HX-Request" in response.headers["Vary"]


def test_nothing_found_and_punctuation_alone_say_so(client, login_as, filed):
    customer, _request = filed
    login_as(customer)
    nothing = client.get("/search/?q=不存在的词").get_data(as_text=True)
    assert 'id="search-nothing"' in nothing and "不存在的词" in nothing
    assert 'id="search-no-terms"' in client.get("/search/?q=%25%25").get_data(as_text=True)
    whole = client.get("/search/?q=").get_data(as_text=True)
    assert "search-nothing" not in whole and "search-no-terms" not in whole


def test_signing_in_comes_first(client):
    response = client.get("/search/?q=x")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_the_page_costs_the_same_statements_however_much_it_finds(client, login_as, count_queries):
    customer = make_user("customer")
    login_as(customer)

    def statements() -> int:
        client.get("/search/?q=网络")  # warm: the session's own statements are cached after the first
        with count_queries() as counted:
            assert client.get("/search/?q=网络").status_code == 200
        return counted.n

    make_request(customer, title="网络 0")
    few = statements()
    for n in range(25):
        make_request(customer, title=f"网络 {n + 1}")
    assert statements() == few
