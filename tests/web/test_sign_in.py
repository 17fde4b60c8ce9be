"""The login page, as people and attackers use it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.services.identity import auth
from tests.conftest import sign_in
from tests.factories import make_user

HOMES = {
    "customer_admin": "/my/",
    "customer": "/my/",
    "agent": "/staff/",
    "lead": "/staff/",
    "finance": "/finance/",
    "manager": "/manager/",
    "admin": "/admin/",
}


def test_the_login_page_in_both_languages(client):
    page = client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert page.status_code == 200
    assert "登录" in page.get_data(as_text=True) and 'lang="zh-CN"' in page.get_data(as_text=True)
    english = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(as_text=True)
    assert "Sign in" in english and 'lang="en"' in english


def test_anonymous_visitors_are_sent_to_sign_in_with_next(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/staff/")
    assert client.get("/").headers["Location"] == "/login"


@pytest.mark.parametrize("role, home", HOMES.items())
def test_each_role_lands_on_its_own_home(client, role, home):
    user = make_user(role, departments=["sales"] if role in ("agent", "lead") else None)
    response = sign_in(client, user.email)
    assert response.status_code == 303 and response.headers["Location"] == home
    assert client.get(home).status_code == 200
    assert client.get("/").headers["Location"] == home


def test_next_leads_to_a_page_of_this_site(client):
    user = make_user("agent", departments=["sales"])
    response = sign_in(client, user.email, next_path="/staff/?page=2")
    assert response.headers["Location"] == "/staff/?page=2"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        " //evil.example",
        "/\t/evil.example",
    ],
)
def test_next_to_another_host_is_refused(client, target):
    user = make_user("agent", departments=["sales"])
    response = sign_in(client, user.email, next_path=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"


def test_wrong_password_and_unknown_email_get_the_same_answer(client):
    make_user("agent", email="known@example.com")
    wrong = sign_in(client, "known@example.com", password="nope nope nope")
    unknown = sign_in(client, "unknown@example.com", password="nope nope nope")
    assert wrong.status_code == unknown.status_code == 422
    message = "邮箱或密码不正确"
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302  # still not signed in


def test_the_form_shows_field_errors_in_place(client):
    response = client.post_form(
        "/login", {"email": "not-an-email", "password": ""}, headers={"Accept-Language": "en"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter a valid email address." in page and "Enter your password." in page
    assert 'aria-describedby="email-error"' in page


@pytest.mark.parametrize("email", ["locked@example.com", "ghost@example.com"])
def test_repeated_failures_lock_without_revealing_the_address(client, email):
    make_user("agent", email="locked@example.com", departments=["sales"])
    for _ in range(5):
        sign_in(client, email, password="wrong password!")
    response = sign_in(client, email)  # the right password, too late
    assert response.status_code == 422
    assert "暂时锁定" in response.get_data(as_text=True)
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_email == email).order_by(AuditEvent.id)
    ).all()
    assert actions.count("auth.sign_in_failed") == 5 and actions[-1] == "auth.sign_in_locked"


def test_sign_in_is_rate_limited_per_client(client, app):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "127.0.0.9"
    try:
        answers = [sign_in(client, "someone@example.com", password="wrong password!") for _ in range(4)]
        elsewhere = sign_in(other, "someone@example.com", password="wrong password!")
    finally:
        app.config["LOGIN_RATE_LIMIT"] = "10000 per minute"
    assert [answer.status_code for answer in answers] == [422, 422, 422, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert "短时间内请求过多" in refused.get_data(as_text=True)
    assert elsewhere.status_code == 422  # another address is counted apart


def test_the_reset_link_is_rate_limited_too(client):
    codes = [
        client.post_form("/password/forgot", {"email": "someone@example.com"}, token_from="/password/forgot")
        for _ in range(6)
    ]
    assert [code.status_code for code in codes][-1] == 429
    assert 429 not in [code.status_code for code in codes][:5]


def test_signing_in_renews_the_session(client):
    user = make_user("agent", departments=["sales"])
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        before = dict(session)
    sign_in(client, user.email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["sid"] and session.get("csrf_token") != before.get("csrf_token")


def test_a_copied_session_cookie_is_useless_after_sign_out(client, app, login_as):
    login_as("agent", departments=["sales"])
    cookie = client.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", cookie)
    assert thief.get("/staff/").status_code == 200
    client.post_form("/logout", token_from="/staff/")
    assert client.get("/staff/").status_code == 302
    assert thief.get("/staff/").status_code == 302  # the copy died with the session


def test_a_deactivated_user_is_signed_out_on_their_next_request(client, login_as):
    user = login_as("agent", departments=["sales"])
    assert client.get("/staff/").status_code == 200
    auth.set_active(db.session.get(User, user.id), False)
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_sign_ins_and_sign_outs_are_audited_with_the_address(client, login_as):
    user = login_as("finance")
    client.post_form("/logout", token_from="/finance/")
    events = db.session.execute(
        select(AuditEvent.action, AuditEvent.actor_id, AuditEvent.ip_address).order_by(AuditEvent.id)
    ).all()
    assert [(a, actor) for a, actor, _ in events] == [("auth.sign_in", user.id), ("auth.sign_out", user.id)]
    assert all(ip == "127.0.0.1" for *_, ip in events)


def test_the_language_is_remembered_for_the_user(client, app, login_as):
    user = login_as("agent", departments=["sales"])
    assert "我的部门" in client.get("/staff/").get_data(as_text=True)
    response = client.post_form("/language", {"language": "en", "next": "/staff/"}, token_from="/staff/")
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert "My departments" in client.get("/staff/").get_data(as_text=True)
    assert db.session.get(User, user.id).locale == "en"
    # A new browser, after signing in, gets the user's language rather than the browser's.
    other = app.test_client()
    sign_in(other, user.email)
    assert "My departments" in other.get("/staff/", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )


def test_a_language_chosen_before_signing_in_is_kept(client):
    user = make_user("agent", departments=["sales"])
    client.post_form("/language", {"language": "en", "next": "/login"})
    assert "Sign in" in client.get("/login").get_data(as_text=True)
    sign_in(client, user.email)
    assert "My departments" in client.get("/staff/").get_data(as_text=True)
    assert db.session.get(User, user.id).locale == "en"
